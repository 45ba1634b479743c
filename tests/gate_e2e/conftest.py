"""Fixtures: the app over real HTTP, a real queue and database, fakehub as GitHub.

Every test that uses `bot` runs twice: on SQLite with the consumer in the app's process, and
on PostgreSQL + Redis with two `python -m bot.worker` processes (tests/bot/harness.py)."""

from __future__ import annotations

import pytest

from tests.bot.conftest import backend, bot  # noqa: F401
from tests.bot.harness import parametrize_backends
from tests.pages.conftest import site  # noqa: F401  # the app with its pages (dry run, bots' audit)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_backends(metafunc)
