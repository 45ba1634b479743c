"""The verdict's inline Markdown (from `bot.render`: backslash escapes, code spans, `**bold**`)
as HTML for the pages. Everything else is text: the output is built from escaped pieces only,
so no input can add a tag or an attribute. Pure."""

from __future__ import annotations

from markupsafe import Markup, escape

_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# Bidirectional overrides and isolates can make text read differently from what it is, and
# control characters (but tab and line feed) have no business on a page: shown as U+FFFD.
_HIDDEN = {
    **{c: "\ufffd" for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)},
    **{ord(c): "\ufffd" for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"},
}


def visible(value: str) -> str:
    return value.translate(_HIDDEN)


def quoted(value: str) -> Markup:
    """Prose in which `like this` marks code, as rule messages and the bot's replies are
    written: the quoted parts as code, the rest as text. Unpaired backticks are text."""
    pieces = visible(value).split("`")
    if len(pieces) % 2 == 0:
        return escape("`".join(pieces))
    out = []
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            out.append(str(escape(piece)))
        elif piece.strip():
            out.append(f"<code>{escape(piece)}</code>")
        else:
            out.append(str(escape(f"`{piece}`")))
    return Markup("".join(out))


def to_html(markdown: str) -> Markup:
    markdown = visible(markdown)
    out: list[str] = []
    text: list[str] = []
    bold = False
    i, n = 0, len(markdown)

    def flush() -> None:
        if text:
            out.append(str(escape("".join(text))))
            text.clear()

    while i < n:
        c = markdown[i]
        if c == "\\" and i + 1 < n and markdown[i + 1] in _PUNCTUATION:
            text.append(markdown[i + 1])
            i += 2
            continue
        if c == "`":
            run = i
            while run < n and markdown[run] == "`":
                run += 1
            fence = markdown[i:run]
            close = _closing(markdown, run, fence)
            if close < 0:
                text.append(fence)  # no closing fence: the backticks are text
                i = run
                continue
            content = markdown[run:close]
            if len(content) > 1 and content[0] == " " and content[-1] == " " and content.strip(" "):
                content = content[1:-1]
            flush()
            out.append(f"<code>{escape(content)}</code>")
            i = close + len(fence)
            continue
        if markdown.startswith("**", i):
            flush()
            out.append("</strong>" if bold else "<strong>")
            bold = not bold
            i += 2
            continue
        text.append(c)
        i += 1
    flush()
    if bold:
        out.append("</strong>")
    return Markup("".join(out))


def _closing(markdown: str, start: int, fence: str) -> int:
    """Where a run of exactly `fence`'s backticks starts after `start`, or -1."""
    i = markdown.find(fence, start)
    while i >= 0:
        end = i + len(fence)
        if (i == 0 or markdown[i - 1] != "`") and (end >= len(markdown) or markdown[end] != "`"):
            return i
        while end < len(markdown) and markdown[end] == "`":
            end += 1
        i = markdown.find(fence, end)
    return -1
