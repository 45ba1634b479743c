"""Fixtures: fakehub as GitHub (the setup flow, the operation tests, replay)."""

from __future__ import annotations

from tests.fakehub.pytest_plugin import fakehub, fakehub_factory  # noqa: F401
