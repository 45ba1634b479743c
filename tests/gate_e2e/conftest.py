"""Fixtures: the app over real HTTP, a real SQLite queue and database, fakehub as GitHub."""

from __future__ import annotations

from tests.bot.conftest import bot  # noqa: F401
from tests.fakehub.pytest_plugin import fakehub, fakehub_factory  # noqa: F401
