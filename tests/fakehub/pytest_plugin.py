"""pytest fixtures for FakeHub.

In a conftest: ``from tests.fakehub.pytest_plugin import fakehub, fakehub_factory  # noqa: F401``
(or put ``"tests.fakehub.pytest_plugin"`` in the root conftest's ``pytest_plugins``).

``fakehub`` validates every response it serves against GitHub's OpenAPI subset and, at
teardown, fails the test when the fake served something off-schema or crashed. A test that
means to provoke odd answers can opt out with ``fakehub.strict = False``. Without GitHub's
fixtures (``tests/fixtures/github``) a test using these fixtures fails: it never skips.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from . import openapi
from .hub import FakeHub


def _check(hub: FakeHub) -> None:
    if not hub.strict:
        return
    problems = []
    if hub.server_errors:
        problems.append("fakehub crashed:\n" + "\n".join(hub.server_errors))
    if hub.schema_violations:
        problems.append("fakehub served responses off GitHub's schema:\n" + "\n".join(hub.schema_violations[:20]))
    if hub.concurrency_violations:
        problems.append("too many requests in flight:\n" + "\n".join(hub.concurrency_violations[:20]))
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def fakehub_factory() -> Iterator[Callable[..., FakeHub]]:
    """Start extra hubs (``fakehub_factory(token_ttl=30)``); all are stopped and checked at teardown."""
    if not openapi.available():
        pytest.fail(openapi.MISSING_REASON, pytrace=False)
    hubs: list[FakeHub] = []

    def start(**kwargs: Any) -> FakeHub:
        kwargs.setdefault("validate", True)
        hub = FakeHub(**kwargs)
        hub.strict = True
        hubs.append(hub)
        return hub

    yield start
    for hub in hubs:
        hub.stop()
    for hub in hubs:
        _check(hub)


@pytest.fixture
def fakehub(fakehub_factory: Callable[..., FakeHub]) -> FakeHub:
    """A running FakeHub with response validation on, stopped after the test."""
    return fakehub_factory()
