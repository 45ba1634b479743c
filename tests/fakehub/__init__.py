"""A fake GitHub REST API over real HTTP for the test-suite (see README.md beside this file)."""

from .hub import FakeHub, FakeHubUnavailable
from .model import FakePull, FakeRepo, FileChange, LoggedRequest, blob_sha

__all__ = [
    "FakeHub",
    "FakeHubUnavailable",
    "FakePull",
    "FakeRepo",
    "FileChange",
    "LoggedRequest",
    "blob_sha",
]
