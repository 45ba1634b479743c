"""Fixtures: fakehub as GitHub (the setup flow, the operation tests, replay)."""

from __future__ import annotations

