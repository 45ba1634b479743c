"""Fixtures for the reliability drills: the app over real HTTP (tests/bot/harness.py), a real
queue and database, fakehub as GitHub; each drill that uses `bot` or `make_bot` runs on SQLite
and on PostgreSQL + Redis with two worker processes. Settings that make the drills quick (short
backoffs and limits) are passed as settings, the way an operator would set them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bot.conftest import backend  # noqa: F401
from tests.bot.harness import SCALE_OUT, Bot, make_app, parametrize_backends
from tests.fakehub import FakeHub

REPO = "octo/demo"
OLD = "from datetime import datetime, timezone\n\n\ndef now():\n    return datetime.now(timezone.utc)\n"
NAIVE = OLD + "\n\ndef naive():\n    return datetime.now()\n"


@pytest.fixture
def make_bot(
    fakehub: FakeHub, tmp_path: Path, backend: str, request: pytest.FixtureRequest  # noqa: F811
) -> Iterator[Callable[..., Bot]]:
    """`make_bot(**settings)`: the app on a fresh data directory (on PostgreSQL + Redis, a
    fresh database and queue), with these settings."""
    made: list[Bot] = []
    fakehub.add_repo(REPO, default_branch="main", installation_id=42)
    servers = request.getfixturevalue("servers") if backend == SCALE_OUT else None

    def make(**overrides: Any) -> Bot:
        overrides.setdefault("github_secondary_rate_wait", 1)
        overrides.setdefault("github_max_rate_limit_wait", 5)
        instance = make_app(fakehub, tmp_path / f"data{len(made)}", servers=servers, **overrides)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.close()


@pytest.fixture
def bot(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_backends(metafunc)
