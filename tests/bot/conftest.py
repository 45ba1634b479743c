"""Fixtures for the end-to-end tests: the app over real HTTP, a real queue, fakehub as GitHub."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.harness import SCALE_OUT, SQLITE, Bot, make_app, parametrize_backends
from tests.fakehub import FakeHub
from tests.fakehub.pytest_plugin import fakehub, fakehub_factory  # noqa: F401


@pytest.fixture
def backend() -> str:
    """The state and queue the `bot` runs on; a directory's `pytest_generate_tests` may run
    its tests on both (`parametrize_backends`)."""
    return SQLITE


@pytest.fixture
def bot(fakehub: FakeHub, tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[Bot]:  # noqa: F811
    servers = request.getfixturevalue("servers") if backend == SCALE_OUT else None
    instance = make_app(fakehub, tmp_path, servers=servers)
    try:
        yield instance
    finally:
        instance.close()


# These run also on PostgreSQL + Redis with two `python -m bot.worker` processes: the verdict
# on the changed lines, a redelivery, retries and giving up, the sticky comment, recovery.
SCALE_OUT_TESTS = {
    "test_app_e2e::test_naive_now_and_swallowed_commit_fail_on_exactly_the_changed_lines",
    "test_app_e2e::test_a_redelivered_guid_is_acknowledged_but_not_evaluated_twice",
    "test_evaluation::test_after_the_last_retry_the_check_fails_with_the_reason",
    "test_evaluation::test_a_transient_github_error_is_retried_and_the_verdict_is_right",
    "test_evaluation::test_the_sticky_comment_is_edited_in_place_and_only_on_change",
    "test_evaluation::test_an_evaluation_lost_with_the_queue_is_recovered_at_start_up",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_backends(metafunc, SCALE_OUT_TESTS)
