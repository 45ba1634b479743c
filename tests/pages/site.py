"""The app with its pages over real HTTP, signed in through fakehub's OAuth web flow."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import requests

from tests.bot.harness import Bot, make_app
from tests.fakehub import FakeHub
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import comment

# The acceptance test's module: a naive now() (RG101) and a swallowed commit() (RG201) added.
from tests.gate_e2e.test_acceptance import AFTER, BEFORE

ADMIN_TOKEN = "pages-admin-token-0123456789"


def make_site(hub: FakeHub, data_dir: Path, **overrides: Any) -> Bot:
    bot = make_app(
        hub, data_dir, client_id=hub.client_id, client_secret=hub.client_secret, github_url=hub.url,
        admin_token=ADMIN_TOKEN, **overrides,
    )
    if "public_url" not in overrides:
        # The public URL is where the server listens, known once it does.
        bot.runtime.settings.public_url = bot.url
    return bot


def sign_in(bot: Bot, login: str, to: str = "/status") -> requests.Session:
    """A browser-like session signed in as `login` (GitHub's redirects followed)."""
    bot.hub.browser_user = login
    session = requests.Session()
    answer = session.get(f"{bot.url}/login", params={"next": to}, timeout=30)
    assert answer.history, "the sign-in was not redirected through GitHub"
    return session


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


class Tags(HTMLParser):
    """Every element and attribute of a page, and its text as a reader sees it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


# The elements the pages are made of; anything else came from someone's text.
OUR_TAGS = {
    "html", "head", "meta", "title", "link", "body", "a", "header", "span", "nav", "strong", "form", "input",
    "button", "main", "p", "h1", "h2", "h3", "section", "ul", "li", "div", "table", "caption", "thead", "tr",
    "th", "tbody", "td", "code", "article", "pre", "time", "q", "dl", "dt", "dd", "figure", "figcaption",
    "svg", "line", "rect", "text", "label",
}


def read_page(html: str) -> tuple[list[tuple[str, dict[str, str | None]]], str]:
    parser = Tags()
    parser.feed(html)
    return parser.tags, " ".join("".join(parser.text).split()).replace("\u200b", "")


def assert_only_our_markup(html: str) -> str:
    """No element or attribute a user's text could have added; returns the page's text."""
    tags, text = read_page(html)
    for tag, attrs in tags:
        assert tag in OUR_TAGS, f"an element the page does not write: <{tag} {attrs}>"
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            if name in ("href", "src", "action"):
                assert value is not None and not re.match(r"(?i)\s*(javascript|data):", value), (tag, value)
                assert "evil" not in value, (tag, value)
    return text


REPO = "octo/demo"


def blocked_pull(bot: Bot, *, path: str = "app/models.py", reason: str = "the caller retries") -> str:
    """octo/demo#7 by alice, blocked (no approval, RG101 not waived) with RG201 waived by bob
    for `reason`; octo is an organisation whose admin is olga. Returns the head sha."""
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.add_org_member("octo", "olga", "admin")
    hub.add_collaborator(REPO, "alice", "write")
    hub.add_collaborator(REPO, "bob", "write")
    head = hub.add_pull(REPO, 7, author="alice", files=[FileChange(path, before=BEFORE, after=AFTER)]).head_sha
    assert bot.open_pull(REPO, 7).status_code == 202
    bot.wait()
    comment(bot, 7, "bob", f"/gate waive RG201 {reason}")
    bot.wait()
    return head


class _Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[int] = []
        self.inputs: list[dict[str, str | None]] = []
        self.labels: set[str] = set()
        self.buttons: list[tuple[dict[str, str | None], str]] = []
        self.lang: str | None = None
        self.images: list[dict[str, str | None]] = []
        self._button: dict[str, str | None] | None = None
        self._button_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.lang = found.get("lang")
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        elif tag == "input" and found.get("type") != "hidden":
            self.inputs.append(found)
        elif tag == "label" and found.get("for"):
            self.labels.add(str(found["for"]))
        elif tag == "button":
            self._button, self._button_text = found, ""
        elif tag in ("img", "svg"):
            self.images.append(found)

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None:
            self.buttons.append((self._button, self._button_text.strip()))
            self._button = None


def assert_accessible(html: str) -> None:
    """The basics: a language, one h1 and no skipped heading level, a label for every field and
    a name for every button, a text alternative for every image."""
    page = _Outline()
    page.feed(html)
    assert page.lang == "en"
    assert page.headings.count(1) == 1 and page.headings[0] == 1
    for before, after in zip(page.headings, page.headings[1:], strict=False):
        assert after <= before + 1, f"heading h{before} followed by h{after}"
    for field in page.inputs:
        assert field.get("id") in page.labels or field.get("aria-label"), f"a field without a label: {field}"
    for attrs, text in page.buttons:
        assert text or attrs.get("aria-label"), f"a button without a name: {attrs}"
    for image in page.images:
        assert image.get("alt") or (image.get("role") == "img" and image.get("aria-label")), image
