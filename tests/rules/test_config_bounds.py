"""`load_document` reads `.github/reviewgate.yml` within fixed bounds: no anchors or aliases,
at most 64 KiB, bounded nesting, list and mapping sizes and value lengths. Each refusal names
the file and the line, like every other configuration error."""

from __future__ import annotations

import time

import pytest

from rules import ConfigError, RulesConfig, load_document
from rules.config import MAX_CONFIG_BYTES, MAX_ENTRIES, MAX_NESTING, MAX_VALUE_CHARS


def _bomb(levels: int) -> str:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_document(text)
    return caught.value


def test_an_alias_bomb_is_refused_before_anything_is_expanded() -> None:
    started = time.perf_counter()
    error = _refused(_bomb(7))
    assert time.perf_counter() - started < 0.5
    assert str(error) == ".github/reviewgate.yml:1: anchors and aliases are not allowed"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("rules:\n  select: &codes [RG1]\n", 2),  # an anchor alone
        ("rules:\n  select: [RG1]\n  ignore: *codes\n", 3),  # an alias alone (undefined)
        ("base: &b {select: [RG1]}\nrules:\n  <<: *b\n", 1),  # a merge key needs both
        ("rules:\n  select:\n    - RG1\n    - &x RG2\n", 4),  # on a scalar inside a list
    ],
)
def test_anchors_and_aliases_are_refused_with_their_line(text: str, line: int) -> None:
    error = _refused(text)
    assert (error.line, error.problem) == (line, "anchors and aliases are not allowed")


def test_a_file_over_64_kib_is_refused_before_parsing() -> None:
    text = "rules:\n  select: [RG1]\n" + "#" * MAX_CONFIG_BYTES
    error = _refused(text)
    assert error.line is None
    assert str(error) == (
        f".github/reviewgate.yml: the file is {len(text):,} bytes; the limit is {MAX_CONFIG_BYTES:,}"
    )
    # Bytes, not characters: a multi-byte character counts for its encoded size.
    exact = "# " + "é" * ((MAX_CONFIG_BYTES - 2) // 2)
    assert len(exact.encode()) == MAX_CONFIG_BYTES
    assert load_document(exact).data == {}
    assert "the file is" in _refused(exact + "é").problem


def test_lists_and_mappings_are_bounded() -> None:
    at_limit = "paths:\n  exclude:\n" + "".join(f"    - d{i}/\n" for i in range(MAX_ENTRIES))
    assert len(RulesConfig.from_text(at_limit).exclude) == MAX_ENTRIES
    error = _refused(at_limit + "    - one-more/\n")
    assert (error.line, error.problem) == (3 + MAX_ENTRIES, f"a list with more than {MAX_ENTRIES} entries")
    flow = "rules:\n  select: [" + ", ".join(["RG1"] * (MAX_ENTRIES + 1)) + "]\n"
    assert _refused(flow).line == 2
    keys = "rules:\n  severity:\n" + "".join(f"    RG{i}: off\n" for i in range(MAX_ENTRIES + 1))
    error = _refused(keys)
    assert (error.line, error.problem) == (3 + MAX_ENTRIES, f"a mapping with more than {MAX_ENTRIES} keys")


def test_values_and_keys_are_bounded_in_length() -> None:
    glob = "a" * MAX_VALUE_CHARS
    assert RulesConfig.from_text(f"paths:\n  exclude: ['{glob}']\n").exclude == (glob,)
    error = _refused(f"paths:\n  exclude:\n    - '{glob}a'\n")
    assert (error.line, error.problem) == (3, f"a value longer than {MAX_VALUE_CHARS} characters")
    assert _refused(f"{'k' * (MAX_VALUE_CHARS + 1)}: 1\n").line == 1
    # Also what would otherwise reach int(): a 5,000-digit number.
    assert _refused("rules:\n  max_bytes: " + "9" * 5000 + "\n").line == 2


def test_nesting_is_bounded() -> None:
    ok = "a: " + "[" * (MAX_NESTING - 1) + "]" * (MAX_NESTING - 1) + "\n"
    load_document(ok)
    error = _refused("a: " + "[" * 10_000 + "]" * 10_000 + "\n")
    assert (error.line, error.problem) == (1, f"nested more than {MAX_NESTING} levels deep")


def test_the_bounded_loader_reads_what_safe_load_reads() -> None:
    import yaml

    text = (
        "rules:\n  select: [RG1, RG2]\n  severity:\n    RG101: off\n    RG201: warning\n"
        "  max_bytes: 1000\n  timeout_seconds: 2.5\npaths:\n  exclude: ['tests/**']\n"
        "comment: off\nsuggestions: yes\nowners:\n  - paths: app/\n    users: ['@bob']\n"
    )
    doc = load_document(text)
    assert doc.data == yaml.safe_load(text)
    assert doc.line("owners", 0, "users") == 14
    assert load_document("").data == {}
    assert load_document("# only a comment\n").data == {}
    assert "another document" in _refused("a: 1\n---\nb: 2\n").problem
