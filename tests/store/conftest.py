"""The state database on each engine: a fresh SQLite file, or a fresh PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.servers import Servers


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    servers: Servers = request.getfixturevalue("servers")
    return servers.database_url()
