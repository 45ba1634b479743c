"""Driving GitHub's App manifest flow as a browser does: read /setup's form, post it to
(fake) GitHub, follow GitHub's redirect back to the callback."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"method": values.get("method", "get").lower(), "action": values.get("action", ""),
                               "inputs": {}})
        elif tag == "input" and self.forms and "name" in values:
            self.forms[-1]["inputs"][values["name"]] = values.get("value", "")
        elif tag == "a" and "href" in values:
            self.links.append(values["href"])


def read_page(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


def registration_form(page: str) -> tuple[str, dict[str, Any]]:
    """The form that posts the manifest to GitHub: (action, manifest)."""
    (form,) = [f for f in read_page(page).forms if f["method"] == "post"]
    return form["action"], json.loads(form["inputs"]["manifest"])


def register_on_github(browser: requests.Session, setup_url: str) -> tuple[str, dict[str, Any], str]:
    """GET /setup, post its form to GitHub; (the form's action, the manifest, GitHub's redirect)."""
    page = browser.get(setup_url, timeout=10)
    assert page.status_code == 200, page.text
    action, manifest = registration_form(page.text)
    confirmed = browser.post(action, data={"manifest": json.dumps(manifest)}, allow_redirects=False, timeout=10)
    assert confirmed.status_code == 302, confirmed.text
    return action, manifest, confirmed.headers["Location"]


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
