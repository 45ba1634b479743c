from __future__ import annotations

import re

import libcst as cst

from rules.analysis.syntax import argument, callee_name, iter_nodes
from rules.analysis.writes import opened_path, write_open_mode
from rules.model import Severity
from rules.rule import Context, Rule

_MOVES = frozenset({"os.replace", "os.rename", "shutil.move"})
_MOVE_NAMES = frozenset(name.rpartition(".")[2] for name in _MOVES)
_TEMP_FILES = frozenset({"tempfile.NamedTemporaryFile"})
_TEMP_PATHS = frozenset({"tempfile.mkstemp"})
_PATH_WRITES = frozenset({"write_text", "write_bytes"})
_TEMP_DIRS = frozenset({"tempfile.mkdtemp", "tempfile.gettempdir", "tempfile.TemporaryDirectory"})
# Words of a callee's name that say it makes data durable: `os.fsync`, `_fsync_dir`, `sync_file`.
_SYNC_WORDS = frozenset({"fsync", "fdatasync", "sync", "durable"})
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")


def _syncs(call: cst.Call) -> bool:
    name = callee_name(call)
    return bool(name) and not _SYNC_WORDS.isdisjoint(w.lower() for w in _WORDS.findall(name))


def _mentions(expr: cst.CSTNode, names: set[str]) -> bool:
    return bool(names) and any(isinstance(n, cst.Name) and n.value in names for n in iter_nodes(expr))


class RenameWithoutFsync(Rule):
    """A file written and renamed over its target without being synced to disk first.

    What it flags:
    `os.replace(tmp, path)`, `os.rename`, `shutil.move` or `Path.replace`/`rename` of a file
    that the same function has just written, when nothing calls `os.fsync()` before.

    Why it is risky:
    The rename is the classic atomic write, but the file system may commit the rename before
    the data: after a power cut or a kernel crash the target is empty or truncated, and the old
    content is gone too. Bad: `tmp.write_text(data); tmp.replace(path)`.

    How to fix:
    Flush and sync the data before the rename: `fh.flush(); os.fsync(fh.fileno())` inside
    the `with`, then `os.replace(tmp, path)` (and `fsync` the directory to make the rename
    itself durable).
    """

    code = "RG208"
    slug = "rename-without-fsync"
    severity = Severity.WARNING

    DETAILS = """
    A move is `os.replace`, `os.rename`, `shutil.move` (resolved through the imports) or a
    method `.replace(target)` / `.rename(target)` with one argument (`pathlib.Path`'s; the
    two-argument `str.replace` is not one). It is reported when the function (or module) that
    makes it wrote the moved file earlier in its code: `open(src, "w")` (any mode that writes
    the content anew, `x` and `r+` too, also `io.open` and `src.open("w")`; a file opened to
    append is a log being rotated), `src.write_text()`/`write_bytes()`, a
    `tempfile.NamedTemporaryFile(...)` whose `.name` is moved, or a path from
    `tempfile.mkstemp()`. The file is matched by its expression (`tmp`, `self.tmp_path`,
    `path + ".tmp"`), not by its value.

    Not flagged when any call before the move has a name with the word `fsync`, `fdatasync`,
    `sync` or `durable` in it (`os.fsync(fh.fileno())`, `self._fsync(fh)`,
    `write_durably(...)`): the function takes care of it, perhaps through a helper. Moves of
    files the function did not write (log rotation, moving an upload) are left alone, and so
    are moves into a temporary directory the function made (`tempfile.mkdtemp()`,
    `TemporaryDirectory()`, or a path built from one), which is scratch space. A
    warning: the data is lost only on a crash of the machine, not of the process. No fix is
    offered, since it adds statements; the docs above show it.
    """

    VALID = [
        "import os\ndef save(path, data):\n    tmp = path + '.tmp'\n    with open(tmp, 'w') as fh:\n"
        "        fh.write(data)\n        fh.flush()\n        os.fsync(fh.fileno())\n"
        "    os.replace(tmp, path)\n",
        "import os\ndef rotate(path):\n    os.rename(path, path + '.1')\n",
        "import os\ndef log_and_rotate(path, line):\n    with open(path, 'a') as fh:\n"
        "        fh.write(line)\n    os.rename(path, path + '.1')\n",
        "import shutil\ndef archive(src, dst):\n    shutil.move(src, dst)\n",
        "import os\ndef save(self, data):\n    with open(self.tmp, 'wb') as fh:\n        fh.write(data)\n"
        "        self._fsync(fh)\n    os.replace(self.tmp, self.path)\n",
        "def clean(name):\n    return name.replace('-', '_')\n",
        "import os\ndef save(path, data):\n    with open(path, 'w') as fh:\n        fh.write(data)\n",
        "import os\ndef move(src, dst):\n    with open(dst + '.log', 'a') as log:\n        log.write(src)\n"
        "    os.replace(src, dst)\n",
        "from pathlib import Path\ndef save(path: Path, text):\n    tmp = path.with_suffix('.tmp')\n"
        "    with tmp.open('w') as fh:\n        fh.write(text)\n        fh.flush()\n"
        "        os.fsync(fh.fileno())\n    tmp.replace(path)\n",
        "import os\ndef swap(a, b):\n    with open(a) as fh:\n        data = fh.read()\n    os.replace(a, b)\n",
        "import os\ndef save(path, data):\n    tmp = path + '.tmp'\n"
        "    write_durably(tmp, data)\n    os.replace(tmp, path)\n",
        # `os` here is a parameter, not the module
        "def save(os, tmp, path):\n    with open(tmp, 'w') as fh:\n        fh.write('x')\n"
        "    os.replace(tmp, path)\n",
        "import dataclasses\ndef bump(cfg, tmp):\n    with open(tmp, 'w') as fh:\n        fh.write('x')\n"
        "    return dataclasses.replace(cfg, path=tmp)\n",
    ]
    INVALID = [
        "import os\ndef save(path, data):\n    tmp = path + '.tmp'\n    with open(tmp, 'w') as fh:\n"
        "        fh.write(data)\n    os.replace(tmp, path)\n",
        "from pathlib import Path\ndef save(path: Path, text):\n    tmp = path.with_suffix('.tmp')\n"
        "    tmp.write_text(text)\n    tmp.replace(path)\n",
        "import json, os\ndef dump(state, path):\n    with open(path + '.new', 'w') as fh:\n"
        "        json.dump(state, fh)\n    os.rename(path + '.new', path)\n",
        "import os, tempfile\ndef save(path, data):\n"
        "    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))\n"
        "    with os.fdopen(fd, 'wb') as fh:\n        fh.write(data)\n    os.replace(tmp, path)\n",
        "import os, tempfile\ndef save(path, data):\n"
        "    with tempfile.NamedTemporaryFile('w', delete=False, dir='.') as fh:\n"
        "        fh.write(data)\n        fh.flush()\n    os.replace(fh.name, path)\n",
        "import shutil\ndef publish(self, blob):\n    with open(self.staging, 'wb') as fh:\n"
        "        fh.write(blob)\n    shutil.move(self.staging, self.target)\n",
        "from os import replace as atomic_move\ndef save(p, data):\n"
        "    with open(p + '~', 'wb') as fh:\n        fh.write(data)\n    atomic_move(p + '~', p)\n",
        "def save(tmp, path, data):\n    tmp.write_bytes(data)\n    tmp.rename(path)\n",
        "import os\ndef save(path, rows):\n    tmp = f'{path}.part'\n    fh = open(tmp, 'w')\n"
        "    fh.writelines(rows)\n    fh.close()\n    os.replace(tmp, path)\n",
        "import io, os\ndef save(path, text):\n    with io.open(path + '.tmp', mode='w') as fh:\n"
        "        fh.write(text)\n    os.replace(path + '.tmp', path)\n",
        "import os\nwith open('state.tmp', 'w') as fh:\n    fh.write('{}')\nos.replace('state.tmp', 'state.json')\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._moves = ctx.names_importing(*_MOVES)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        source: cst.BaseExpression | None = None
        if isinstance(func, cst.Attribute) and func.attr.value in ("replace", "rename"):
            qualified = self.ctx.qualified_name(func)
            if qualified is None:
                if len(node.args) == 1 and node.args[0].keyword is None and not node.args[0].star:
                    source = func.value
                label = f"`.{func.attr.value}()`"
            elif qualified in _MOVES:
                source, label = self._source(node), f"`{qualified}()`"
            else:
                return
            method = qualified is None
        elif (isinstance(func, cst.Attribute) and func.attr.value == "move") or (
            isinstance(func, cst.Name) and func.value in self._moves
        ):
            qualified = self.ctx.qualified_name(func)
            if qualified not in _MOVES:
                return
            source, label = self._source(node), f"`{qualified}()`"
            method = False
        else:
            return
        if source is None:
            return
        target = argument(node, 0, "target") if method else argument(node, 1, "dst")
        owner = self.ctx.enclosing_function() or self.ctx.module
        if isinstance(owner, cst.Lambda):
            return
        if self._written_unsynced(owner, node, source) and not (
            target is not None and self._scratch(owner, target.value)
        ):
            self.report(
                node,
                f"{label} of a file written just before, without `flush()` and `os.fsync()` of "
                "it first: after a power cut the target can be empty or truncated. Sync the data "
                "before the rename.",
            )

    @staticmethod
    def _source(node: cst.Call) -> cst.BaseExpression | None:
        arg = argument(node, 0, "src")
        return arg.value if arg is not None else None

    def _written_unsynced(self, owner: cst.CSTNode, move: cst.Call, source: cst.BaseExpression) -> bool:
        """`owner` writes `source` before `move` (in source order), and syncs nothing."""
        written = False
        temp_handles: list[cst.BaseExpression] = []
        for node in iter_nodes(owner, local=True):
            if node is move:
                break
            if isinstance(node, cst.Call):
                if _syncs(node):
                    return False
                if not written:
                    written = self._writes(node, source)
            elif isinstance(node, (cst.WithItem, cst.Assign)) and not written:
                value = node.item if isinstance(node, cst.WithItem) else node.value
                targets = self._bound(node)
                if isinstance(value, cst.Call):
                    made = self.ctx.qualified_name(value.func)
                    if made in _TEMP_PATHS:
                        written = any(
                            isinstance(t, cst.Tuple) and len(t.elements) == 2
                            and t.elements[1].value.deep_equals(source)
                            for t in targets
                        )
                    elif made in _TEMP_FILES or self._fresh_write(value):
                        temp_handles.extend(targets)
                if isinstance(source, cst.Attribute) and source.attr.value == "name":
                    written = written or any(h.deep_equals(source.value) for h in temp_handles)
        return written

    def _scratch(self, owner: cst.CSTNode, target: cst.BaseExpression) -> bool:
        """The target lies in a temporary directory the function made (`tempfile.mkdtemp()`,
        `TemporaryDirectory() as d`, or a name built from one): scratch space, nothing to keep."""
        scratch: set[str] = set()
        for node in iter_nodes(owner, local=True):
            if isinstance(node, cst.Assign):
                made = node.value.func if isinstance(node.value, cst.Call) else None
                if (made is not None and self.ctx.qualified_name(made) in _TEMP_DIRS) or _mentions(node.value, scratch):
                    scratch.update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))
            elif isinstance(node, cst.WithItem) and isinstance(node.item, cst.Call) and node.asname is not None:
                if self.ctx.qualified_name(node.item.func) in _TEMP_DIRS and isinstance(node.asname.name, cst.Name):
                    scratch.add(node.asname.name.value)
        return _mentions(target, scratch)

    def _fresh_write(self, call: cst.Call) -> bool:
        """`call` opens a file to write its content anew (`w`, `x`, `r+`), not to append to it:
        a file appended to and then renamed is a log being rotated, not a new version."""
        mode = write_open_mode(self.ctx, call)
        return mode is not None and not ("a" in mode and "+" not in mode)

    @staticmethod
    def _bound(node: cst.WithItem | cst.Assign) -> list[cst.BaseExpression]:
        if isinstance(node, cst.WithItem):
            return [node.asname.name] if node.asname is not None else []
        return [t.target for t in node.targets]

    def _writes(self, call: cst.Call, source: cst.BaseExpression) -> bool:
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in _PATH_WRITES:
            return func.value.deep_equals(source)
        if not self._fresh_write(call):
            return False
        path = opened_path(self.ctx, call)
        return path is not None and path.deep_equals(source)
