"""How GitHub reads the bot's Markdown, as far as the escaping tests need: block starts, code
spans, backslash escapes, table rows, and what GitHub turns into links or mentions in text.

No Markdown parser is installed, so this follows the CommonMark and GFM specs for exactly
those constructs (https://spec.commonmark.org/0.31.2/, https://github.github.com/gfm/).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field

PUNCTUATION = frozenset(string.punctuation)
JOINER = "\u200b"
# In text (not code), GitHub links these after parsing: the text node still holds a joiner
# the bot put in, which is what stops them.
MENTION = re.compile(r"(?<![A-Za-z0-9`])@([A-Za-z0-9][A-Za-z0-9-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)?)")
REFERENCE = re.compile(r"(?<![A-Za-z0-9])(?:#|(?i:gh-))[0-9]")
URL = re.compile(r"(?i)(?:https?|ftp)://|(?<![A-Za-z0-9])www\.")
# Lines that open a block other than a paragraph (within a list item's text too).
BLOCK_START = re.compile(r"^ {0,3}(?:#{1,6}(?:[ \t]|$)|>|<|[-+*][ \t]|[0-9]{1,9}[.)](?:[ \t]|$)|(?:[-*_=][ \t]*){3,}$|```|~~~)")


@dataclass
class Inline:
    """One line of inline Markdown, read: what it shows and what in it is live."""

    shown: str = ""  # the text a reader sees (escapes resolved, code spans' content)
    text: str = ""  # the text outside code spans, as GitHub's link filters see it
    codes: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)  # unescaped `<` starting a tag or comment
    links: list[str] = field(default_factory=list)  # unescaped `[...](target)`: the targets
    unclosed: list[str] = field(default_factory=list)  # backtick runs no code span closes

    @property
    def mentions(self) -> list[str]:
        return MENTION.findall(self.text)

    @property
    def references(self) -> list[str]:
        return REFERENCE.findall(self.text)

    @property
    def urls(self) -> list[str]:
        return URL.findall(self.text)


def _run(s: str, i: int, char: str = "`") -> int:
    j = i
    while j < len(s) and s[j] == char:
        j += 1
    return j - i


def read_inline(line: str) -> Inline:
    out = Inline()
    shown: list[str] = []
    text: list[str] = []
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line) and line[i + 1] in PUNCTUATION:
            shown.append(line[i + 1])
            text.append(line[i + 1])
            i += 2
            continue
        if c == "`":
            n = _run(line, i)
            j = i + n
            close = None
            while j < len(line):
                if line[j] == "`":
                    m = _run(line, j)
                    if m == n:
                        close = j
                        break
                    j += m
                else:
                    j += 1
            if close is None:
                out.unclosed.append(line[i : i + n])
                shown.append(line[i : i + n])
                text.append(line[i : i + n])
                i += n
                continue
            content = line[i + n : close]
            if content.startswith(" ") and content.endswith(" ") and content.strip(" "):
                content = content[1:-1]
            out.codes.append(content)
            shown.append(content)
            text.append(" ")  # code is not linked; keeps words on either side apart
            i = close + n
            continue
        if c == "<" and re.match(r"<(?:[A-Za-z/!?]|[A-Za-z][A-Za-z0-9+.-]*:)", line[i:]):
            out.html.append(line[i : i + 30])
        if c == "[":
            target = re.match(r"\[[^\]]*\]\(([^)]*)\)", line[i:])
            if target:
                out.links.append(target.group(1))
        shown.append(c)
        text.append(c)
        i += 1
    out.shown = "".join(shown).replace(JOINER, "")
    out.text = "".join(text)
    return out


def table_cells(row: str) -> list[str]:
    """A GFM table row's cells: split at every `|` that no backslash escapes."""
    inner = row.strip()
    inner = inner.removeprefix("|")
    if inner.endswith("|") and not inner.endswith("\\|"):
        inner = inner[:-1]
    return re.split(r"(?<!\\)\|", inner)


def blocks(body: str) -> list[str]:
    """The lines of `body` that open a block other than a paragraph (headings, HTML, quotes,
    lists, breaks, fences)."""
    return [line for line in body.split("\n") if BLOCK_START.match(line)]
