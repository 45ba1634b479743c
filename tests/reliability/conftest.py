"""Fixtures for the reliability drills: the app over real HTTP (tests/bot/harness.py), a real
SQLite queue and database, fakehub as GitHub. Settings that make the drills quick (short
backoffs and limits) are passed as settings, the way an operator would set them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bot.harness import Bot, make_app
from tests.fakehub import FakeHub
from tests.fakehub.pytest_plugin import fakehub, fakehub_factory  # noqa: F401

REPO = "octo/demo"
OLD = "from datetime import datetime, timezone\n\n\ndef now():\n    return datetime.now(timezone.utc)\n"
NAIVE = OLD + "\n\ndef naive():\n    return datetime.now()\n"


@pytest.fixture
def make_bot(fakehub: FakeHub, tmp_path: Path) -> Iterator[Callable[..., Bot]]:  # noqa: F811
    """`make_bot(**settings)`: the app on a fresh data directory, with these settings."""
    made: list[Bot] = []
    fakehub.add_repo(REPO, default_branch="main", installation_id=42)

    def make(**overrides: Any) -> Bot:
        overrides.setdefault("github_secondary_rate_wait", 1)
        overrides.setdefault("github_max_rate_limit_wait", 5)
        instance = make_app(fakehub, tmp_path / f"data{len(made)}", **overrides)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.close()


@pytest.fixture
def bot(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot()
