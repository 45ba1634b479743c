"""Fixtures for the end-to-end tests: the app over real HTTP, a real queue, fakehub as GitHub."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.harness import Bot, make_app
from tests.fakehub import FakeHub
from tests.fakehub.pytest_plugin import fakehub, fakehub_factory  # noqa: F401


@pytest.fixture
def bot(fakehub: FakeHub, tmp_path: Path) -> Iterator[Bot]:  # noqa: F811
    instance = make_app(fakehub, tmp_path)
    try:
        yield instance
    finally:
        instance.close()
