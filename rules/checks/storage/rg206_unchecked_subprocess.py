from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from rules.analysis.uses import (
    assigned_from,
    examined,
    in_condition,
    reads_only_attributes,
    references,
    value_use,
)
from rules.model import Severity
from rules.rule import Context, Example, FixSpec, Rule

_FUNCTIONS = {"subprocess.run", "subprocess.call"}
# What a result offers besides its exit status; reading only these never notices a failure.
_OUTPUT = frozenset({"stdout", "stderr", "args"})


@dataclass
class _Assigned:
    call: cst.Call
    function: str
    target: cst.Name
    body: cst.FunctionDef | None
    fix: FixSpec
    output: bool  # the name holds the output (`out = run(...).stdout`), not the result


def _add_keyword(call: cst.Call, keyword: str, value: cst.BaseExpression) -> cst.Call:
    """`call` with `keyword=value` appended, following its layout (one line, or one argument
    per line with a trailing comma)."""
    new = cst.Arg(value=value, keyword=cst.Name(keyword), equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
    args = list(call.args)
    if not args:
        return call.with_changes(args=[new])
    last = args[-1]
    if isinstance(last.comma, cst.Comma):  # trailing comma: the new argument goes on its own line
        between = args[-2].comma.whitespace_after if len(args) > 1 and isinstance(args[-2].comma, cst.Comma) else call.whitespace_before_args
        if not isinstance(between, cst.ParenthesizedWhitespace):
            between = cst.SimpleWhitespace(" ")
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=between))
        args.append(new.with_changes(comma=last.comma))
    else:  # the space before `)` stays before `)`
        args[-1] = last.with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
            whitespace_after_arg=cst.SimpleWhitespace(""),
        )
        args.append(new.with_changes(whitespace_after_arg=last.whitespace_after_arg))
    return call.with_changes(args=args)


class UncheckedSubprocess(Rule):
    """A command whose exit status is never looked at.

    What it flags:
    `subprocess.run(...)` without a `check=` argument, and `subprocess.call(...)`, whose
    result is discarded or whose exit status is never read (only its output).

    Why it is risky:
    A failing command does not raise: `run` and `call` return normally with a non-zero
    `returncode`, so a failed copy, upload or migration looks like a successful one. Bad:
    `subprocess.run(["rsync", src, dest])`.

    How to fix:
    Pass `check=True` (or call `check_call`), so that a failure raises
    `CalledProcessError`, or read `returncode` and handle it. Good:
    `subprocess.run(["rsync", src, dest], check=True)`. The offered fix changes behaviour
    (a failure now raises), so it is applied only with unsafe fixes.
    """

    code = "RG206"
    slug = "unchecked-subprocess"
    severity = Severity.WARNING
    ruff_codes = ("PLW1510",)

    DETAILS = """
    `subprocess.run(...)` without a `check=` argument, and `subprocess.call(...)`, when the
    result is discarded, when only its output is read straight away
    (`subprocess.run(...).stdout`), or when it is assigned to a name that is then never used
    except for its `.stdout` / `.stderr` (line of the call). Output that is tested or
    compared (`if "ok" in out:`), directly or through a name assigned from it, counts as a
    check, since some commands report failure only there. A `run` with an explicit
    `check=...` (even `False`: a decision) or `**kwargs` (which may carry it) is not
    flagged; a result that is returned, passed on, tested or whose `returncode` is read
    counts as checked, and `_ = subprocess.call(...)` as deliberately ignored.
    """

    VALID = [
        "import subprocess\nsubprocess.run(cmd, check=True)\n",
        "import subprocess\nsubprocess.run(cmd, check=False)\n",
        "import subprocess\ndef f(cmd):\n    rc = subprocess.call(cmd)\n    if rc:\n        raise SystemExit(rc)\n",
        "import subprocess\ndef f(cmd):\n    p = subprocess.run(cmd)\n    return p.returncode == 0\n",
        "import subprocess\ndef f(cmd):\n    p = subprocess.run(cmd, capture_output=True)\n"
        "    p.check_returncode()\n    return p.stdout\n",
        "import subprocess\ndef f(cmd):\n    return subprocess.call(cmd)\n",
        "import subprocess\ndef f(cmd):\n    sys.exit(subprocess.call(cmd))\n",
        "import subprocess\ndef f(cmd, **kw):\n    subprocess.run(cmd, **kw)\n",
        "import subprocess\ndef f(cmd):\n    if subprocess.run(cmd).returncode:\n        fail()\n",
        "import subprocess\ndef f(cmd):\n    _ = subprocess.call(cmd)\n",
        "import subprocess\ndef f(cmd):\n    p = subprocess.run(cmd)\n    log(p)\n",
        "def run(cmd):\n    pass\nrun('ls')\n",
        "import asyncio\nasyncio.run(main())\n",
        "import subprocess\ndef f(subprocess):\n    subprocess.run(cmd)\n",
        "import subprocess\nsubprocess.check_call(cmd)\n",
        "import subprocess\nresult = subprocess.run(cmd)\n",
        "import subprocess\ndef f(cmd):\n    out = subprocess.run(cmd, capture_output=True).stdout\n    if not out:\n        fail()\n",
        "import subprocess\ndef f(cmd):\n    p = subprocess.run(cmd, capture_output=True, text=True)\n"
        "    lines = p.stdout.splitlines()\n    assert lines\n",
        "import subprocess\nif b'ok' in subprocess.run(cmd, capture_output=True).stdout:\n    go()\n",
    ]
    INVALID = [
        Example(
            "import subprocess\nsubprocess.run(['rsync', src, dest])\n",
            fix="import subprocess\nsubprocess.run(['rsync', src, dest], check=True)\n",
            unsafe=True,
        ),
        Example(
            "import subprocess\n\nsubprocess.run(\n    ['rsync', src, dest],\n    cwd=root,\n)\n",
            fix="import subprocess\n\nsubprocess.run(\n    ['rsync', src, dest],\n    cwd=root,\n    check=True,\n)\n",
            unsafe=True,
        ),
        Example(
            "import subprocess as sp\ndef f(cmd):\n    sp.call(cmd)\n",
            fix="import subprocess as sp\ndef f(cmd):\n    sp.check_call(cmd)\n",
            unsafe=True,
        ),
        Example(
            "from subprocess import call\ncall('make')\n",
            fix="from subprocess import call, check_call\ncheck_call('make')\n",
            unsafe=True,
        ),
        Example(
            "from subprocess import run\ndef f(cmd):\n    out = run(cmd, capture_output=True).stdout\n    return out\n",
            fix="from subprocess import run\ndef f(cmd):\n    out = run(cmd, capture_output=True, check=True).stdout\n    return out\n",
            unsafe=True,
        ),
        Example(
            "import subprocess\ndef f(cmd):\n    p = subprocess.run(cmd, capture_output=True)\n    return p.stdout\n",
            fix="import subprocess\ndef f(cmd):\n    p = subprocess.run(cmd, capture_output=True, check=True)\n    return p.stdout\n",
            unsafe=True,
        ),
        "import subprocess\ndef f(cmd):\n    rc = subprocess.call(cmd)\n",
        "import subprocess\nasync def f(cmd):\n    subprocess.run(cmd, text=True)\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._assigned: list[_Assigned] = []
        self._function_names: frozenset[str] | None = None

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            if func.attr.value not in ("run", "call"):
                return
        elif not (isinstance(func, cst.Name) and func.value in self._function_aliases()):
            return
        qualified = self.ctx.qualified_name(func)
        if qualified not in _FUNCTIONS:
            return
        function = qualified.rpartition(".")[2]
        if function == "run" and any(
            arg.star == "**" or (arg.keyword is not None and arg.keyword.value == "check")
            for arg in node.args
        ):
            return
        use, where = value_use(self.ctx, node)
        if use == "attribute":
            assert isinstance(where, cst.Attribute)
            if function == "call" or where.attr.value not in _OUTPUT or in_condition(self.ctx, node):
                return  # `if b"ok" in run(...).stdout:` examines the outcome
            output = assigned_from(self.ctx, where)
            if output is not None and not isinstance(self.ctx.enclosing_function(), cst.Lambda):
                self._assigned.append(
                    _Assigned(node, function, output, self._body(), self._fix(node, function), True)
                )
                return
        elif use == "assigned":
            assert isinstance(where, cst.Name)
            body = self.ctx.enclosing_function()
            if (
                where.value == "_"
                or isinstance(body, cst.Lambda)
                or self.ctx.scope.kind == "class"
                or where.value in self.ctx.scope.globals
                or where.value in self.ctx.scope.nonlocals
            ):
                return
            self._assigned.append(_Assigned(node, function, where, body, self._fix(node, function), False))
            return
        elif use != "discarded":
            return
        self._report(node, function, self._fix(node, function))

    def _body(self) -> cst.FunctionDef | None:
        function = self.ctx.enclosing_function()
        return function if isinstance(function, cst.FunctionDef) else None

    def _function_aliases(self) -> frozenset[str]:
        if self._function_names is None:
            self._function_names = self.ctx.names_importing(*_FUNCTIONS)
        return self._function_names

    def _fix(self, node: cst.Call, function: str) -> FixSpec:
        if function == "run":
            new = _add_keyword(node, "check", cst.Name("True"))
            return FixSpec("Raise when the command fails (check=True)", ((node, new),), safe=False)
        func = node.func
        imports: tuple[tuple[str, str], ...] = ()
        if isinstance(func, cst.Attribute):
            new_func: cst.BaseExpression = func.with_changes(attr=cst.Name("check_call"))
        else:
            new_func, imports = self.ctx.name_for("subprocess.check_call")
        return FixSpec(
            "Raise when the command fails (check_call)",
            ((func, new_func),),
            safe=False,
            imports=imports,
        )

    def finish(self) -> None:
        for item in self._assigned:
            root: cst.CSTNode = item.body or self.ctx.module
            name = item.target.value
            if item.output:
                if not examined(root, name):
                    self._report(item.call, item.function, item.fix)
                continue
            if not reads_only_attributes(root, name, item.target, _OUTPUT) or examined(root, name):
                continue
            if item.body is None and not any(n is not item.target for n, _ in references(root, name)):
                continue  # a module attribute may be checked by whoever imports it
            self._report(item.call, item.function, item.fix)

    def _report(self, node: cst.Call, function: str, fix: FixSpec) -> None:
        if function == "run":
            message = (
                "`subprocess.run()` without `check=True` returns normally when the command "
                "fails, and its `returncode` is never read here. Pass `check=True`, or read "
                "`returncode` and handle a failure."
            )
        else:
            message = (
                "`subprocess.call()` returns the exit status, and it is never looked at "
                "here: a failing command goes unnoticed. Use `subprocess.check_call()` or "
                "`run(..., check=True)`, or handle the status."
            )
        self.report(node, message, fix)
