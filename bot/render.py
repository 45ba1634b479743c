"""User-controlled text in what the bot writes: shown literally, on one line, bounded.

File names, rule messages quoting code, waiver and hold reasons, command text, logins, team
names and configuration errors reach the check run, the sticky comment and the command
replies only through these functions, so none of them can add a heading, HTML, a link, an
image, a table cell, a `@mention` or a `#reference` to what the bot says. Pure, no I/O.

- `text(s)`: prose, as inline Markdown that renders as exactly `s` (whitespace collapsed).
- `code(s)`: a code span that nothing in `s` can close.
- `quoted(s)`: prose whose backtick-quoted parts are code (rule messages, config errors).
- `login(name)`: the bot's own `@mention` of a GitHub account.
- `cell(markdown)`: inline Markdown made safe inside a table cell.
- `plain(s)`: one line of plain text, for fields GitHub does not render as Markdown.
- `bounded(body, limit)`: a body cut to GitHub's size limit, saying so.
- `short(sha)`: a commit as the bot names it.
"""

from __future__ import annotations

import re
import unicodedata

COMMENT_LIMIT = 65_536  # GitHub refuses a longer issue comment body
SUMMARY_LIMIT = 65_535  # and a longer check run `output.summary`
TITLE_LIMIT = 1_000  # a check run's one-line title: longer is unreadable
ANNOTATION_TITLE_LIMIT = 255  # GitHub's limit on an annotation's title
ANNOTATION_MESSAGE_LIMIT = 16_000  # GitHub's limit is 64 KB; a character is at most 4 bytes
PIECE_LIMIT = 1_000  # one interpolated value (a path, a reason, a message)

# Breaks what GitHub links in text (mentions, issue references, bare URLs) without showing.
_JOINER = "\u200b"
# A GitHub login, as GitHub allows it: these are the only names the bot mentions live.
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
# Characters that start inline Markdown or HTML wherever they are; escaped with a backslash.
_ESCAPE = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|~&#$"})
# What GitHub links in text: @mentions and emails, #123 and GH-123 references, URLs.
_LINKED = re.compile(r"(@|#)(?=[A-Za-z0-9])|(?i:(?<![A-Za-z0-9])(gh-)(?=[0-9])|(:)(?=//)|(?<![A-Za-z0-9])(www)(?=\.))")
# Blocks a line can start with that the escapes above leave: lists, breaks, setext headings.
_LINE_START = re.compile(r"^(?:([-+=])|([0-9]+)([.)]))")
# Bidirectional overrides and isolates can make displayed text read differently from what it is.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_TRUNCATED = "\n\n… (truncated: GitHub shows at most {limit:,} characters here)"


def _visible(char: str) -> str:
    if char in _BIDI or unicodedata.category(char) == "Cc":
        return "\ufffd"
    return char


def plain(value: object, limit: int = PIECE_LIMIT) -> str:
    """One line of plain text: every run of whitespace or line breaks (including `\\r`,
    U+2028 and U+2029) is one space; control characters show as U+FFFD; at most `limit`
    characters."""
    one_line = " ".join(str(value).split())
    if any(_visible(c) != c for c in one_line):
        one_line = "".join(_visible(c) for c in one_line)
    if len(one_line) > limit:
        one_line = one_line[: max(0, limit - 1)] + "…"
    return one_line


def _escape(s: str) -> str:
    """`s` (already one line) as inline Markdown that renders as `s`."""
    linked = _LINKED.sub(lambda m: m.group(0) + _JOINER, s)
    return linked.translate(_ESCAPE)


def _line_start(markdown: str) -> str:
    return _LINE_START.sub(lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3), markdown)


def text(value: object, limit: int = PIECE_LIMIT) -> str:
    """Prose that renders literally: no emphasis, HTML, links, images, mentions, references or
    table cell breaks, on one line, also at the start of one."""
    return _line_start(_escape(plain(value, limit)))


def _span(s: str) -> str:
    """`s` as one code span: the fence is longer than any run of backticks inside."""
    if not s:
        return "` `"
    fence = "`" * (max((len(run) for run in re.findall("`+", s)), default=0) + 1)
    # The parser strips one space from each side when both have one, and a backtick at an
    # edge would join the fence; padding keeps the content as it is.
    pad = " " if s[0] == "`" or s[-1] == "`" or (s[0] == " " and s[-1] == " " and s.strip(" ")) else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def code(value: object, limit: int = PIECE_LIMIT) -> str:
    """A code span showing `value` on one line; nothing inside can end it early."""
    return _span(plain(value, limit))


def quoted(value: object, limit: int = PIECE_LIMIT) -> str:
    """Prose in which `like this` marks code, as rule messages and configuration errors are
    written: the quoted parts become code spans, the rest `text`. Unpaired backticks are text."""
    s = plain(value, limit)
    pieces = s.split("`")
    if len(pieces) % 2 == 0:
        return _line_start(_escape(s))
    out = []
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            out.append(_escape(piece))
        else:
            out.append(_span(piece) if piece.strip() else _escape(f"`{piece}`"))
    return _line_start("".join(out))


def login(name: str) -> str:
    """`@name`, live, for an account the bot means to mention; anything that is not a GitHub
    login is shown as text and mentions nobody."""
    if _LOGIN.match(name):
        return f"@{name}"
    return _escape(plain(f"@{name}"))


def cell(markdown: str) -> str:
    """Inline Markdown (from the functions above) safe in a table cell: on one line, and every
    `|` escaped (in a table, a code span's `\\|` shows as `|`)."""
    out = []
    backslashes = 0
    for char in " ".join(markdown.split()):
        if char == "|" and backslashes % 2 == 0:
            out.append("\\")
        backslashes = backslashes + 1 if char == "\\" else 0
        out.append(char)
    return "".join(out)


def bounded(body: str, limit: int = COMMENT_LIMIT) -> str:
    """`body`, or as much of it as fits in `limit` characters with a note that it was cut.

    The cut falls at a line break where one is near, so a line is not left half-rendered.
    """
    if len(body) <= limit:
        return body
    note = _TRUNCATED.format(limit=limit)
    kept = body[: max(0, limit - len(note))]
    newline = kept.rfind("\n")
    if newline >= len(kept) // 2:
        kept = kept[:newline]
    return kept + note



def short(sha: str) -> str:
    """A commit as the bot names it: the first 7 characters of its sha, as GitHub shows it."""
    return sha[:7]


__all__ = [
    "ANNOTATION_MESSAGE_LIMIT", "ANNOTATION_TITLE_LIMIT", "COMMENT_LIMIT", "PIECE_LIMIT", "SUMMARY_LIMIT",
    "TITLE_LIMIT", "bounded", "cell", "code", "login", "plain", "quoted", "short", "text",
]
