"""Fixtures: the app over real HTTP, a real queue and database, fakehub as GitHub.

Every test runs on SQLite with the consumer in the app's process; those listed in
`SCALE_OUT` (whole modules, or single tests) run also on PostgreSQL + Redis with two
`python -m bot.worker` processes: the verdict and approvals, the sticky comment, the commands
that change state (hold, waive, recheck, their order, a retried job), suggestions, merge
groups, one evaluation at a time, old deliveries. The whole suite twice would double its time."""

from __future__ import annotations

import pytest

from tests.bot.conftest import backend, bot  # noqa: F401
from tests.bot.harness import parametrize_backends
from tests.fakehub.pytest_plugin import fakehub, fakehub_factory  # noqa: F401
from tests.pages.conftest import site  # noqa: F401  # the app with its pages (dry run, bots' audit)

SCALE_OUT = {
    "test_acceptance", "test_sticky_comment", "test_suggestions_and_merge_queue",
    "test_one_evaluation_at_a_time", "test_old_deliveries",
    "test_commands::test_hold_blocks_until_unhold",
    "test_commands::test_unwaive_takes_a_waiver_back",
    "test_commands::test_a_recheck_by_a_writer_evaluates_again",
    "test_commands::test_the_re_check_button_and_a_dismissed_review",
    "test_commands::test_commands_on_one_pull_request_take_effect_in_the_order_written",
    "test_commands::test_a_command_job_retried_after_a_failed_reply_applies_and_replies_once",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_backends(metafunc, SCALE_OUT)
