"""Fixtures: the app over real HTTP, a real queue and database, fakehub as GitHub.

Every test runs on SQLite with the consumer in the app's process; those of the modules in
`SCALE_OUT` run also on PostgreSQL + Redis with two `python -m bot.worker` processes: the
verdict, the sticky comment, commands, suggestions, merge groups, one evaluation at a time,
old deliveries (the whole suite twice would double its time)."""

from __future__ import annotations

import pytest

from tests.bot.conftest import backend, bot  # noqa: F401
from tests.bot.harness import BACKENDS
from tests.fakehub.pytest_plugin import fakehub, fakehub_factory  # noqa: F401

SCALE_OUT = {
    "test_acceptance", "test_sticky_comment", "test_commands", "test_suggestions_and_merge_queue",
    "test_one_evaluation_at_a_time", "test_old_deliveries",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames and metafunc.module.__name__.rsplit(".", 1)[-1] in SCALE_OUT:
        metafunc.parametrize("backend", BACKENDS)
