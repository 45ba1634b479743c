"""bot.render: user text comes out of the bot's Markdown as literal text, on one line."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot import render
from tests.bot.markdown_reader import JOINER, blocks, read_inline, table_cells

# Characters Markdown and GitHub give a meaning, in every mix: hypothesis leans on these.
_MEANINGFUL = st.text(
    alphabet=st.sampled_from(list("`\\*_[]()<>!|~&#$@:/.-+= \n\r\t\u2028\u2029\x85\x00\u202eaZ09ghw")),
    max_size=60,
)
ANY_TEXT = st.one_of(st.text(max_size=80), _MEANINGFUL)

HOSTILE = [
    "` `` ``` ```` `````",
    "``",
    "`",
    "a\nb",
    "a\r# b",
    "a\u2028b\u2029c\x85d",
    "<details><summary>x</summary>",
    "<img src=x>",
    "[x](javascript:alert(1))",
    "![i](https://evil.example/p.png)",
    "@org/team",
    "@someone",
    "#123",
    "GH-12 and gh-12",
    "owner/repo#9",
    "## ✅ Passed",
    "| a | b |",
    "-->",
    "<!-- reviewgate:sticky -->",
    "- item",
    "1. item",
    "===",
    "> [!NOTE]",
    "**bold** _it_ ~~no~~",
    "&amp; &#64;",
    "$x^2$",
    "https://evil.example www.evil.example",
    "\\",
    "trailing \\",
    "\u202eevil",
]


def _unjoined(s: str) -> str:
    return s.replace(JOINER, "")


def _assert_literal(markdown: str, original: object) -> None:
    """`markdown` shows `original` (on one line) and nothing else, with nothing live."""
    assert "\n" not in markdown and "\r" not in markdown
    assert not blocks(markdown), markdown
    read = read_inline(markdown)
    assert _unjoined(read.shown) == _unjoined(render.plain(original)), markdown
    assert not read.html and not read.links and not read.unclosed, markdown
    assert not read.mentions and not read.references and not read.urls, markdown


@pytest.mark.parametrize("hostile", HOSTILE)
def test_text_shows_hostile_text_literally(hostile: str) -> None:
    _assert_literal(render.text(hostile), hostile)
    assert not read_inline(render.text(hostile)).codes


@given(ANY_TEXT)
@example("@a#1 www.x https://y")
def test_text_has_no_newline_live_mention_or_html(value: str) -> None:
    _assert_literal(render.text(value), value)
    # Every character that could start inline Markdown is escaped.
    markdown = render.text(value)
    i = 0
    while i < len(markdown):
        if markdown[i] == "\\":
            i += 2
            continue
        assert markdown[i] not in "`*_[]<>|~&#$", (markdown, i)
        i += 1


@given(ANY_TEXT.filter(lambda s: render.plain(s) != ""))
@example("`")
@example(" ` ")
@example("a ``` b")
def test_code_is_one_code_span_holding_the_text(value: str) -> None:
    markdown = render.code(value)
    assert "\n" not in markdown and "\r" not in markdown
    read = read_inline(markdown)
    assert read.codes == [render.plain(value)], markdown
    assert read.shown == render.plain(value) and not read.html and not read.unclosed


@pytest.mark.parametrize("hostile", HOSTILE)
def test_code_in_prose_cannot_be_broken_out_of(hostile: str) -> None:
    markdown = f"see {render.code(hostile)} here"
    read = read_inline(markdown)
    assert read.codes == [render.plain(hostile)]
    assert read.shown == f"see {render.plain(hostile)} here"


@given(ANY_TEXT)
@example("`now()` returns `a` but `b")
@example("`` odd `")
def test_quoted_shows_the_message_with_its_code_as_code(value: str) -> None:
    markdown = render.quoted(value)
    read = read_inline(markdown)
    assert "\n" not in markdown and not blocks(markdown)
    assert not read.html and not read.links and not read.unclosed and not read.mentions and not read.references


def test_quoted_keeps_the_rules_code_quotes() -> None:
    markdown = render.quoted("`datetime.now()` returns a naive datetime; use `now(timezone.utc)`.")
    read = read_inline(markdown)
    assert read.codes == ["datetime.now()", "now(timezone.utc)"]
    assert read.shown == "datetime.now() returns a naive datetime; use now(timezone.utc)."
    hostile = read_inline(render.quoted("`x` <img src=x> `` ` @bob `"))
    assert not hostile.html and not hostile.mentions and not hostile.unclosed


@pytest.mark.parametrize(
    ("name", "live"),
    [("bob", True), ("a-1", True), ("x" * 39, True), ("x" * 40, False), ("-bob", False),
     ("dependabot[bot]", False), ("org/team", False), ("bob\n# x", False), ("", False)],
)
def test_login_mentions_only_github_logins(name: str, live: bool) -> None:
    markdown = render.login(name)
    read = read_inline(markdown)
    assert read.mentions == ([name] if live else [])
    assert "\n" not in markdown and not read.links and not read.html


@given(ANY_TEXT, ANY_TEXT)
@example("a | b", "`|`")
@example("\\", "|")
def test_a_cell_never_splits_a_table_row(left: str, right: str) -> None:
    row = f"| {render.cell(render.text(left))} | {render.cell(render.code(right) if render.plain(right) else '')} |"
    assert len(table_cells(row)) == 2, row
    assert "\n" not in row


@pytest.mark.parametrize("limit", [render.COMMENT_LIMIT, render.SUMMARY_LIMIT, 500])
def test_bounded_cuts_to_the_limit_and_says_so(limit: int) -> None:
    body = "<!-- marker -->\n" + "\n".join(f"- line {i} " + "x" * 50 for i in range(5000))
    cut = render.bounded(body, limit)
    assert len(cut) <= limit
    assert cut.startswith("<!-- marker -->\n") and cut.endswith(f"(truncated: GitHub shows at most {limit:,} characters here)")
    assert render.bounded("short", limit) == "short"
    one_line = "y" * (limit * 2)
    assert len(render.bounded(one_line, limit)) <= limit


def test_plain_is_one_bounded_line() -> None:
    assert render.plain("a\r\nb\u2028c\td") == "a b c d"
    assert render.plain("x\x00y\u202ez") == "x\ufffdy\ufffdz"
    assert render.plain("z" * 10, 5) == "zzzz…"
    assert len(render.text("q" * 5000)) == render.PIECE_LIMIT
