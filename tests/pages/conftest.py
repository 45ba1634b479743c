"""Fixtures: the app with its pages over real HTTP, fakehub as GitHub (and its OAuth web flow)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.harness import Bot
from tests.fakehub import FakeHub
from tests.pages.browser import browser, chromium  # noqa: F401
from tests.pages.site import make_site


@pytest.fixture
def site(fakehub: FakeHub, tmp_path: Path) -> Iterator[Bot]:  # noqa: F811
    instance = make_site(fakehub, tmp_path)
    try:
        yield instance
    finally:
        instance.close()
