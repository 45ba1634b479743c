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


def test_vendored_folders_are_left_out_by_default_and_configurable():
    default = RulesConfig()
    for path in ("_vendored/a.py", "pkg/_vendor/six.py", "src/x/vendor/y/z.py", "a/vendored/b.py"):
        assert not default.wants_path(path) and default.is_vendored(path), path
    assert default.wants_path("pkg/vendors.py") and default.wants_path("vendor.py")
    assert RulesConfig.from_text("paths:\n  vendored: []\n").wants_path("pkg/_vendor/six.py")
    custom = RulesConfig.from_text("paths:\n  vendored: ['third_party/']\n")
    assert not custom.wants_path("third_party/x.py") and custom.wants_path("pkg/_vendor/six.py")
