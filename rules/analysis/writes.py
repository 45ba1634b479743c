"""Storage knowledge about writes: which calls open a file for writing, and where output
goes to the console rather than to storage."""

from __future__ import annotations

import libcst as cst

from rules.analysis.syntax import argument, literal_value
from rules.rule import Context

STD_STREAMS = frozenset({"sys.stdout", "sys.stderr", "sys.__stdout__", "sys.__stderr__"})
_OPEN_FUNCTIONS = frozenset({"builtins.open", "io.open"})
_MODE_LETTERS = frozenset("rwxabtU+")
_WRITE_LETTERS = frozenset("wxa+")


def is_std_stream(ctx: Context, expr: cst.BaseExpression | None) -> bool:
    """`sys.stdout`, `sys.stderr` (and the `__stdout__`/`__stderr__` originals)."""
    return expr is not None and ctx.qualified_name(expr) in STD_STREAMS


def _is_open_mode(text: str) -> bool:
    return 0 < len(text) <= 4 and set(text) <= _MODE_LETTERS and sum(c in "rwxa" for c in text) == 1


def write_open_mode(ctx: Context, call: cst.Call) -> str | None:
    """The mode when `call` opens a file for writing: `open(p, "w")`, `io.open(p, mode="a")`,
    `Path(p).open("x")` / `path.open(mode="r+")`. None for reading, for a mode that is not a
    literal, and for other `open` APIs (`os.open`, `gzip.open`, `webbrowser.open`...).

    A method `.open(...)` counts only with a literal that reads as a file mode as its first
    argument or `mode=`: `ZipFile.open(name, "w")` and the like are left alone."""
    func = call.func
    if isinstance(func, cst.Name):
        # cheap first: `open`, or an alias such as `from io import open as io_open`
        if not func.value.endswith("open") or ctx.qualified_name(func) not in _OPEN_FUNCTIONS:
            return None
        mode = argument(call, 1, "mode")
    elif isinstance(func, cst.Attribute) and func.attr.value == "open":
        name = ctx.qualified_name(func)
        if name is None:
            mode = argument(call, 0, "mode")
        elif name in _OPEN_FUNCTIONS:
            mode = argument(call, 1, "mode")
        else:
            return None
    else:
        return None
    if mode is None:
        return None
    text = literal_value(mode.value)
    if not isinstance(text, str) or not _is_open_mode(text) or not set(text) & _WRITE_LETTERS:
        return None
    return text


def opened_path(ctx: Context, call: cst.Call) -> cst.BaseExpression | None:
    """What a `write_open_mode` call opens: the file argument, or the receiver of `.open()`."""
    func = call.func
    if isinstance(func, cst.Attribute) and ctx.qualified_name(func) is None:
        return func.value
    arg = argument(call, 0, "file")
    return arg.value if arg is not None else None
