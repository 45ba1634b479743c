"""The one reading of configuration globs, shared by `paths:` (the engine) and `owners:` (the gate)."""

from __future__ import annotations

import pytest

from rules import RulesConfig, glob_match


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("src/a.py", "src/", True),
        ("src/deep/a.py", "src/", True),
        ("srcx/a.py", "src/", False),
        ("src/a.py", "/src/", True),  # anchored at the root, which every path already is
        ("src/a.py", "./src/**", True),
        ("./src/a.py", "src/*.py", True),
        ("src\\win\\a.py", "src/win/*.py", True),
        ("a.py", "**/a.py", True),
        ("x/y/a.py", "**/a.py", True),
        ("x/y/a.py", "*.py", True),  # fnmatch's `*` crosses `/`
        ("x/y/a.txt", "*.py", False),
        ("Src/a.py", "src/", False),  # case matters, as in git
    ],
)
def test_glob_match(path: str, pattern: str, expected: bool) -> None:
    assert glob_match(path, pattern) is expected


def test_paths_exclude_reads_a_root_anchored_folder() -> None:
    config = RulesConfig(exclude=("/vendor/",))
    assert not config.wants_path("vendor/lib.py")
    assert config.wants_path("src/vendor.py")
