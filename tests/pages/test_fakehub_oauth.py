"""fakehub's OAuth web flow answers as GitHub documents it ("Generating a user access token for
a GitHub App"): a code is good once, errors are 200 answers naming the error, and a user token
sees only what its user may read."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

from tests.fakehub import FakeHub


def _code(hub: FakeHub, redirect_uri: str = "http://app.example/cb") -> str:
    answer = requests.get(f"{hub.url}/login/oauth/authorize", allow_redirects=False, timeout=10,
                          params={"client_id": hub.client_id, "redirect_uri": redirect_uri, "state": "s1"})
    assert answer.status_code == 302
    sent = urlsplit(answer.headers["Location"])
    assert f"{sent.scheme}://{sent.netloc}{sent.path}" == redirect_uri
    query = parse_qs(sent.query)
    assert query["state"] == ["s1"]
    return query["code"][0]


def _exchange(hub: FakeHub, code: str, *, secret: str | None = None, json: bool = True, **extra: str) -> requests.Response:
    return requests.post(
        f"{hub.url}/login/oauth/access_token", timeout=10,
        data={"client_id": hub.client_id, "client_secret": secret or hub.client_secret, "code": code, **extra},
        headers={"Accept": "application/json"} if json else {},
    )


def test_the_web_flow_gives_a_user_token_once_per_code(fakehub: FakeHub) -> None:
    fakehub.add_repo("octo/private", installation_id=42)
    fakehub.add_repo("octo/open", installation_id=42, private=False)
    fakehub.add_collaborator("octo/private", "bob", "read")
    fakehub.browser_user = "carol"
    assert requests.get(f"{fakehub.url}/login/oauth/authorize", params={"client_id": "other"},
                        timeout=10).status_code == 404

    code = _code(fakehub)
    assert _exchange(fakehub, code, secret="wrong").json()["error"] == "incorrect_client_credentials"
    assert _exchange(fakehub, code, redirect_uri="http://elsewhere/").json()["error"] == "redirect_uri_mismatch"
    code = _code(fakehub)
    form = _exchange(fakehub, code, json=False)
    assert form.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    token = parse_qs(form.text)["access_token"][0]
    assert token.startswith("ghu_") and parse_qs(form.text)["token_type"] == ["bearer"]
    assert _exchange(fakehub, code).json()["error"] == "bad_verification_code"  # used already

    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{fakehub.url}/user", headers=auth, timeout=10).json()["login"] == "carol"
    assert requests.get(f"{fakehub.url}/repos/octo/open", headers=auth, timeout=10).status_code == 200
    assert requests.get(f"{fakehub.url}/repos/octo/private", headers=auth, timeout=10).status_code == 404
    bob = {"Authorization": f"Bearer {fakehub.user_token('bob')}"}
    assert requests.get(f"{fakehub.url}/repos/octo/private", headers=bob, timeout=10).status_code == 200
    assert requests.get(f"{fakehub.url}/user/memberships/orgs/octo", headers=bob, timeout=10).status_code == 404
    fakehub.add_org_member("octo", "bob", "admin")
    membership = requests.get(f"{fakehub.url}/user/memberships/orgs/octo", headers=bob, timeout=10).json()
    assert (membership["state"], membership["role"]) == ("active", "admin")
    fakehub.revoke_user_tokens()
    assert requests.get(f"{fakehub.url}/user", headers=bob, timeout=10).status_code == 401
