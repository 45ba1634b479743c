"""Suite-wide rule: a test that cannot run fails; it never skips.

A skipped test looks like a pass in a summary line, and a missing fixture or tool on a
fresh clone must be noticed, not hidden.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped tests fail in this suite: {reason}"


# Throwaway PostgreSQL and Redis for the tests that run on them (tests/servers.py).
from tests.servers import servers  # noqa: E402, F401

# The fake GitHub's fixtures (`fakehub`, `fakehub_factory`), registered here, before any test
# module imports the package, so that pytest rewrites the asserts in it.
pytest_plugins = ["tests.fakehub.pytest_plugin"]
