from __future__ import annotations

import libcst as cst

from rules.analysis.syntax import child_nodes, iter_nodes
from rules.analysis.writes import opened_path, write_open_mode
from rules.model import Severity
from rules.rule import Context, Rule
from rules.scope import NESTED_SCOPES

# Functions that use a file object they are given and keep no reference to it: a handle passed
# to them is still this function's to close.
_CONSUMERS = frozenset({
    "builtins.print", "json.dump", "pickle.dump", "marshal.dump", "shutil.copyfileobj",
    "os.fsync", "yaml.dump", "yaml.safe_dump", "traceback.print_exc",
    "traceback.print_exception", "traceback.print_stack",
})
_STATEMENTS = (cst.BaseSmallStatement, cst.BaseCompoundStatement, cst.SimpleStatementLine)


class UnclosedWriteHandle(Rule):
    """A file opened for writing that is not closed on every path.

    What it flags:
    `open(...)` (also `io.open`, `Path.open`) with a writing mode whose handle is used and
    dropped in one expression (`open(p, "w").write(x)`), or kept in a local name that the
    function never closes.

    Why it is risky:
    Written data sits in a buffer until the file is closed. Without a close the flush happens
    whenever the object is collected, where an error (disk full, quota, network filesystem) is
    silently discarded, and on other interpreters maybe never. Bad:
    `open(path, "w").write(report)`.

    How to fix:
    Use the file as a context manager so it is flushed and closed, with errors raised, at a
    known point. Good: `with open(path, "w") as fh: fh.write(report)`, or
    `Path(path).write_text(report)`.
    """

    code = "RG204"
    slug = "unclosed-write-handle"
    severity = Severity.ERROR
    ruff_codes = ("SIM115",)

    DETAILS = """
    `open(...)`, `io.open(...)` and `Path(...).open(...)` with a literal writing mode (`w`,
    `a`, `x` or `+`), reported on the `open` call, when the handle is used and dropped in one
    expression (`open(p, "w").write(x)`, `json.dump(obj, open(p, "w"))`), or assigned to a
    local name that the function (or module) never closes: no `with` on it and no `.close()`
    anywhere in the same function (a `finally` or a plain call; the rule does not follow paths).

    Not flagged, because whoever holds the handle next is responsible for it: a handle returned
    or yielded, stored on an attribute or in a container, assigned to another name, passed to a
    call that may keep it (`csv.writer(fh)`, `TextIOWrapper(fh)`), declared `global`, or used
    in a nested function. Handles passed to `print(file=)`, `json.dump`, `pickle.dump`,
    `shutil.copyfileobj`, `os.fsync` stay the caller's to close. A bare `open(p, "w")`
    statement (truncating a file) writes no data and is not flagged, nor is `os.devnull`,
    a mode that is not a literal, or a class attribute.
    """

    VALID = [
        "def f(p, data):\n    with open(p, 'w') as fh:\n        fh.write(data)\n",
        "def f(p, data):\n    fh = open(p, 'w')\n    try:\n        fh.write(data)\n"
        "    finally:\n        fh.close()\n",
        "def f(p, data):\n    fh = open(p, 'a')\n    fh.write(data)\n    fh.close()\n",
        "def f(p):\n    return open(p, 'w')\n",
        "class Log:\n    def __init__(self, p):\n        self.fh = open(p, 'a')\n",
        "def f(p):\n    fh = open(p, 'w')\n    return fh\n",
        "import csv\ndef f(p):\n    fh = open(p, 'w', newline='')\n    return csv.writer(fh)\n",
        "def f(p):\n    return open(p).read()\n",
        "def f(p):\n    data = open(p, 'rb').read()\n    return data\n",
        "from contextlib import closing\ndef f(p):\n    with closing(open(p, 'w')) as fh:\n"
        "        fh.write('x')\n",
        "def f(p, mode):\n    open(p, mode).write('x')\n",
        "def f(p):\n    open(p, 'w').close()\n",
        "import os\ndef f():\n    fh = open(os.devnull, 'w')\n    fh.write('x')\n",
        "import os\ndef f(p):\n    fd = os.open(p, os.O_WRONLY)\n    os.write(fd, b'x')\n",
        "def f(p, stack):\n    fh = stack.enter_context(open(p, 'w'))\n    fh.write('x')\n",
        "import atexit\ndef f(p):\n    fh = open(p, 'w')\n    atexit.register(fh.close)\n"
        "    fh.write('x')\n",
    ]
    INVALID = [
        "def f(p, data):\n    open(p, 'w').write(data)\n",
        "from pathlib import Path\ndef f(p, data):\n    Path(p).open('a').write(data)\n",
        "import io\ndef f(p, lines):\n    io.open(p, mode='w').writelines(lines)\n",
        "import json\ndef f(p, obj):\n    json.dump(obj, open(p, 'w'))\n",
        "def f(p, data):\n    fh = open(p, 'wb')\n    fh.write(data)\n    fh.flush()\n",
        "def f(p, rows):\n    fh = open(p, 'a')\n    for row in rows:\n        print(row, file=fh)\n",
        "fh = open('out.txt', 'x')\nfh.write('x')\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._fates: dict[cst.CSTNode, tuple[set[str], set[str]]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name):
            if not func.value.endswith("open"):
                return
        elif not isinstance(func, cst.Attribute) or func.attr.value != "open":
            return
        mode = write_open_mode(self.ctx, node)
        if mode is None:
            return
        path = opened_path(self.ctx, node)
        if path is not None and self.ctx.qualified_name(path) == "os.devnull":
            return
        if self._dropped(node):
            opener = "open" if isinstance(func, cst.Name) else "." + func.attr.value
            self.report(
                node,
                f"`{opener}(..., {mode!r})` is not closed on every path: its buffered data is "
                "flushed whenever the object is collected, where a write error is silently "
                "lost. Use `with open(...) as fh:` (or close it in a `finally`).",
            )

    def _dropped(self, node: cst.Call) -> bool:
        chain = self.ctx.ancestors
        for ancestor in reversed(chain):
            if isinstance(ancestor, cst.WithItem):
                return False
            if isinstance(ancestor, _STATEMENTS):
                break
        parent = chain[-1] if chain else None
        grand = chain[-2] if len(chain) > 1 else None
        if isinstance(parent, cst.Attribute) and parent.value is node:
            # `open(p, "w").write(x)`: used once, then left to the garbage collector
            return (
                isinstance(grand, cst.Call)
                and grand.func is parent
                and parent.attr.value not in ("close", "__enter__")
            )
        if isinstance(parent, cst.Arg) and isinstance(grand, cst.Call):
            return self.ctx.qualified_name(grand.func) in _CONSUMERS
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            target = parent.targets[0].target
        elif isinstance(parent, cst.AnnAssign):
            target = parent.target
        else:
            return False
        if not isinstance(target, cst.Name) or self.ctx.scope.kind == "class":
            return False
        name = target.value
        if name in self.ctx.scope.globals or name in self.ctx.scope.nonlocals:
            return False
        owner: cst.CSTNode = self.ctx.enclosing_function() or self.ctx.module
        if isinstance(owner, cst.Lambda):
            return False
        closed, escaped = self._fate(owner)
        return name not in closed and name not in escaped

    def _fate(self, owner: cst.CSTNode) -> tuple[set[str], set[str]]:
        """Names in `owner` that are closed (`.close`, `with name`), and names whose value may
        leave it (returned, stored, aliased, passed on, used by a nested function)."""
        cached = self._fates.get(owner)
        if cached is not None:
            return cached
        closed: set[str] = set()
        escaped: set[str] = set()
        body = owner.body if isinstance(owner, cst.FunctionDef) else owner
        stack: list[tuple[cst.CSTNode, cst.CSTNode | None]] = [(body, None)]
        while stack:
            node, parent = stack.pop()
            if isinstance(node, NESTED_SCOPES):
                escaped.update(n.value for n in iter_nodes(node) if isinstance(n, cst.Name))
                continue
            if isinstance(node, cst.Name):
                _classify(node, parent, closed, escaped)
            elif isinstance(node, cst.Call):
                consumer = self.ctx.qualified_name(node.func) in _CONSUMERS
                for arg in node.args:
                    if isinstance(arg.value, cst.Name):
                        if not consumer:
                            escaped.add(arg.value.value)
                        continue
                    stack.append((arg.value, arg))
                stack.append((node.func, node))
                continue
            stack.extend((child, node) for child in child_nodes(node))
        self._fates[owner] = (closed, escaped)
        return closed, escaped


def _classify(name: cst.Name, parent: cst.CSTNode | None, closed: set[str], escaped: set[str]) -> None:
    value = name.value
    if isinstance(parent, cst.Attribute):
        if parent.value is name and parent.attr.value == "close":
            closed.add(value)
        return
    if isinstance(parent, cst.WithItem) and parent.item is name:
        closed.add(value)
        return
    if isinstance(parent, (cst.AssignTarget, cst.AsName, cst.Comparison, cst.ComparisonTarget)):
        return
    if isinstance(parent, (cst.AnnAssign, cst.AugAssign, cst.For)) and parent.target is name:
        return
    if isinstance(parent, (cst.If, cst.While)) and parent.test is name:
        return
    if isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Not):
        return
    escaped.add(value)
