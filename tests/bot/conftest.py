"""Fixtures for the end-to-end tests: the app over real HTTP, a real queue, fakehub as GitHub."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.harness import SCALE_OUT, SQLITE, Bot, make_app, parametrize_backends
from tests.fakehub import FakeHub


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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_backends(metafunc)
