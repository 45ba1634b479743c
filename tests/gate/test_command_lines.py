"""Which lines of a comment are commands: only those GitHub shows as plain lines of their own."""

from __future__ import annotations

import pytest

from bot.policy.commands import parse_commands


def names(body: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(c.name, c.args) for c in parse_commands(body)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # Not line breaks to GitHub: the command stays inside the quote, or on the line before.
        *[(f"> quoted{c}/gate unhold", []) for c in ("\u2028", "\u2029", "\x85", "\f", "\v", "\x1c", "\x1d", "\x1e")],
        ("ok\u2028/gate hold", []),
        ("/gate hold a\u2028b", [("hold", ("a b",))]),
        ("/gate recheck\r\n/gate unhold\r\n", [("recheck", ()), ("unhold", ())]),
        # HTML comments are never displayed.
        ("<!-- /gate waive RG201 hidden -->", []),
        ("<!--\n/gate waive RG201 hidden\n-->\n/gate recheck", [("recheck", ())]),
        ("a note <!-- starts here\n/gate unhold\nand ends --> here\n/gate recheck", [("recheck", ())]),
        ("<!-- one --> <!-- two\n/gate unhold\n-->", []),
        ("<!-- never closed\n/gate unhold", []),
        ("/gate hold for the release <!-- and a hidden note -->", [("hold", ("for the release",))]),
        # Inside a code block, "<!--" is text.
        ("```\n<!--\n```\n/gate recheck", [("recheck", ())]),
        # Readings that disagree on what is code: nothing from there on is a command.
        ("<!--\n```\n-->\n```\n/gate unhold", []),
        ("/gate recheck\nx\r```\n/gate unhold\n```", [("recheck", ())]),
        ("x\r/gate unhold", []),
    ],
)
def test_only_displayed_lines_are_commands(body: str, expected: list[tuple[str, tuple[str, ...]]]) -> None:
    assert names(body) == expected
