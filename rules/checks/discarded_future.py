from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from rules.engine import Context
from rules.helpers import (
    KnownBindings,
    TracksBindings,
    is_discarded,
    names_importing_any,
    shadowed_here,
)
from rules.model import Severity
from rules.rule import Rule
from rules.scope import Scope

_TASK_FUNCTIONS = {
    "asyncio.create_task", "asyncio.ensure_future", "asyncio.tasks.create_task",
    "asyncio.tasks.ensure_future",
}
_LOOP_GETTERS = {
    "asyncio.get_event_loop", "asyncio.get_running_loop", "asyncio.new_event_loop",
    "asyncio.events.get_event_loop", "asyncio.events.get_running_loop",
    "asyncio.events.new_event_loop",
}
_LOOP_TYPES = {
    "asyncio.AbstractEventLoop", "asyncio.BaseEventLoop", "asyncio.events.AbstractEventLoop",
    "asyncio.base_events.BaseEventLoop",
}
_TASK_GROUPS = {"asyncio.TaskGroup", "asyncio.taskgroups.TaskGroup"}
_EXECUTORS = {
    f"concurrent.futures.{name}"
    for name in ("Executor", "ThreadPoolExecutor", "ProcessPoolExecutor")
} | {"concurrent.futures.thread.ThreadPoolExecutor", "concurrent.futures.process.ProcessPoolExecutor"}
_PARTIAL = {"functools.partial"}
_CONSTRUCTOR_NAMES = {q.rpartition(".")[2] for q in (*_LOOP_GETTERS, *_TASK_GROUPS, *_EXECUTORS)}
_LOOP, _GROUP, _EXECUTOR, _FUNCTION = "event-loop", "task-group", "executor", "function"
# keywords `loop.create_task` takes besides the coroutine
_TASK_KEYWORDS = {"name", "context", "eager_start"}
_METHODS = {"submit", "run_in_executor", "create_task", "ensure_future"}


@dataclass
class _Pending:
    call: cst.Call
    method: str  # "create_task" | "submit"
    scope: Scope
    receiver: str | None  # a plain-name receiver, decided once every binding is known
    function: str | None = None  # `submit(<name>, ...)`: is that name a function?
    class_scope: Scope | None = None  # `submit(self.<method>, ...)`: the class to look in
    method_name: str | None = None


class DiscardedFuture(TracksBindings, Rule):
    """A future or task thrown away as soon as it is made.

    What it flags:
    `<anything>.submit(fn, ...)` (an executor's), `<loop>.run_in_executor(...)`,
    `asyncio.create_task(...)`, `asyncio.ensure_future(...)` or `<loop>.create_task(coro)`
    as a whole expression statement, or as the element of a list or set comprehension that
    is one (`[pool.submit(work, x) for x in items]`). Awaited, stored or returned calls are
    not flagged. For precision, other APIs that share these names are told apart: `.submit`
    on a receiver not known to be a `concurrent.futures` executor must be handed a function
    (a lambda, a `functools.partial`, an imported name, a local `def` or a method of the
    same class), not an executor or a task object (`coordinator.submit(executor, task)`
    tracks its futures itself) and not nothing (a form's `submit()`). `.create_task` on a
    receiver not known to be an event loop (from `asyncio.get_event_loop()` and friends, or
    annotated) is flagged only with the shape of the asyncio call (one coroutine argument,
    then `name=` / `context=`), and never on an `asyncio.TaskGroup` or a name bound by
    `async with`, whose exit awaits the tasks.

    Why it is risky:
    The exception raised by the work is stored in the dropped future: nobody sees it, so a
    failed write looks like a successful one. An unreferenced asyncio task may even be
    garbage-collected before it finishes. Bad: `executor.submit(upload, blob)`.

    How to fix:
    Keep the future and look at its result (`future.result()`, `await task`,
    `concurrent.futures.wait` then `.result()`), or run tasks in an `asyncio.TaskGroup`. Good:
    `futures.append(executor.submit(upload, blob))` and later `for f in futures: f.result()`.
    """

    code = "RG205"
    slug = "discarded-future"
    severity = Severity.ERROR

    VALID = [
        "import asyncio\nasync def f(c):\n    await asyncio.create_task(c())\n",
        "import asyncio\nasync def f(c):\n    task = asyncio.create_task(c())\n    await task\n",
        "import asyncio\ndef f(c):\n    return asyncio.ensure_future(c())\n",
        "def f(pool, fn):\n    futures.append(pool.submit(fn))\n",
        "from storage import upload\ndef f(pool, blobs):\n    return [pool.submit(upload, b) for b in blobs]\n",
        "def f(form):\n    form.submit()\n",
        "def f(coordinator, executor, blob):\n    coordinator.submit(executor, Task(blob))\n",
        "class A:\n    def f(self, blob):\n        self._coordinator.submit(self._executor, blob)\n",
        "def f(bounded, blob):\n    bounded.submit(Task(blob))\n",
        "from concurrent.futures import ThreadPoolExecutor\npool = ThreadPoolExecutor()\nfuture = pool.submit(print, 1)\n",
        "import asyncio\nasync def f(c):\n    async with asyncio.TaskGroup() as tg:\n        tg.create_task(c())\n",
        "async def f(make, c):\n    async with make() as group:\n        group.create_task(c())\n",
        "import asyncio\ndef f(c):\n    tg = asyncio.TaskGroup()\n    tg.create_task(c())\n",
        "def f(client, task):\n    client.create_task(parent='p', task=task)\n",
        "def f(api):\n    api.create_task('write the report', project=3)\n",
        "def create_task(c):\n    pass\ncreate_task(1)\n",
        "from trio import ensure_future\nensure_future(c)\n",
        "def f(x):\n    x.ensure_future(c())\n",
        "import asyncio\ndef f(tg: asyncio.TaskGroup, c):\n    tg.create_task(c())\n",
        "import asyncio\nloop = asyncio.get_event_loop()\nfut = loop.run_in_executor(None, work)\n",
    ]
    INVALID = [
        "import asyncio\nasync def f(c):\n    asyncio.create_task(c())\n",
        "from asyncio import ensure_future\nasync def f(c):\n    ensure_future(c())\n",
        "from storage import upload\ndef f(executor, blob):\n    executor.submit(upload, blob)\n",
        "import concurrent.futures as cf\ndef f(job, blob):\n    with cf.ThreadPoolExecutor() as pool:\n        pool.submit(job, blob)\n",
        "class Writer:\n    def flush(self):\n        self._pool.submit(self._write, self._buffer)\n\n"
        "    def _write(self, buffer):\n        pass\n",
        "def f(executor, rows):\n    executor.submit(lambda: save(rows))\n",
        "import functools\ndef f(executor, rows):\n    executor.submit(functools.partial(save, rows))\n",
        "def f(pool, rows):\n    def save():\n        pass\n    pool.submit(save)\n",
        "import asyncio\nasync def f():\n    loop = asyncio.get_running_loop()\n    loop.run_in_executor(None, write)\n",
        "import asyncio\nloop = asyncio.get_event_loop()\nloop.create_task(main(), name='main')\n",
        "class A:\n    def start(self):\n        self._loop.create_task(self._flush())\n",
        "import asyncio\ndef f(loop: asyncio.AbstractEventLoop, c):\n    loop.create_task(c, name='x', context=None)\n",
        "import asyncio\nasync def f(c):\n    asyncio.get_running_loop().create_task(c())\n",
        "def f(pool, jobs):\n    for job in jobs:\n        pool.submit(*job)\n",
        "from storage import upload\ndef f(pool, blobs):\n    [pool.submit(upload, b) for b in blobs]\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.known = KnownBindings()
        self._pending: list[_Pending] = []
        self._function_names: frozenset[str] | None = None

    # -- what a name holds -----------------------------------------------------------------
    def value_kind(self, value: cst.BaseExpression) -> str | None:
        if not isinstance(value, cst.Call):
            return None
        func = value.func
        short = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if short in _CONSTRUCTOR_NAMES:
            name = self.ctx.qualified_name(func)
            if name in _LOOP_GETTERS:
                return _LOOP
            if name in _TASK_GROUPS:
                return _GROUP
            if name in _EXECUTORS:
                return _EXECUTOR
        return None

    def annotation_kind(self, annotation: cst.BaseExpression) -> str | None:
        if isinstance(annotation, (cst.Name, cst.Attribute)):
            name = self.ctx.qualified_name(annotation)
            if name in _LOOP_TYPES:
                return _LOOP
            if name in _TASK_GROUPS:
                return _GROUP
            if name in _EXECUTORS:
                return _EXECUTOR
        return None

    def with_kind(self, value: cst.BaseExpression, node: cst.With) -> str | None:
        # `async with <anything> as group`: a task group or nursery awaits its tasks on exit
        return _GROUP if node.asynchronous is not None else self.value_kind(value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        # `submit(work, ...)` passes a function: remember which names are defs
        self.known.record(self.ctx.scope, node.name.value, _FUNCTION)
        super().visit_FunctionDef(node)

    # -- the dropped futures ---------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method not in _METHODS or not self._dropped(node):
                return
            if method == "submit":
                self._submit(node, func.value)
            elif method == "run_in_executor":
                self._report(node, method)
            elif self.ctx.qualified_name(func) in _TASK_FUNCTIONS:
                self._report(node, method)
            elif method == "create_task":
                self._create_task(node, func.value)
        elif isinstance(func, cst.Name) and func.value in self._function_aliases():
            qualified = self.ctx.qualified_name(func) if self._dropped(node) else None
            if qualified in _TASK_FUNCTIONS:
                assert qualified is not None
                self._report(node, qualified.rpartition(".")[2])

    def _dropped(self, node: cst.Call) -> bool:
        """A statement of its own, or the element of a list or set comprehension that is
        (`[pool.submit(work, x) for x in items]`)."""
        if is_discarded(self.ctx):
            return True
        chain = self.ctx.ancestors
        return (
            len(chain) >= 2
            and isinstance(chain[-1], (cst.ListComp, cst.SetComp))
            and chain[-1].elt is node
            and isinstance(chain[-2], cst.Expr)
        )

    def _function_aliases(self) -> frozenset[str]:
        if self._function_names is None:
            self._function_names = names_importing_any(self.ctx, _TASK_FUNCTIONS)
        return self._function_names

    def _submit(self, node: cst.Call, receiver: cst.BaseExpression) -> None:
        """An executor's `submit(fn, /, *args, **kwargs)`. Other APIs share the name
        (`coordinator.submit(executor, task)`, `bounded.submit(Task(...))`) and track their
        futures themselves, so an executor of unknown type must be handed a function: a
        lambda, a `partial`, an imported name, a local `def` or a method of this class."""
        if not node.args or node.args[0].keyword is not None:
            return  # a form's `submit()`
        pending = _Pending(node, "submit", self.ctx.scope, None)
        if isinstance(receiver, cst.Name) and self.ctx.qualified_name(receiver) is None:
            if shadowed_here(self.ctx, receiver.value):
                return
            pending.receiver = receiver.value
        elif isinstance(receiver, cst.Call) and self.value_kind(receiver) == _EXECUTOR:
            self._report(node, "submit")
            return
        first = node.args[0]
        fn = first.value
        if first.star:
            pass  # `pool.submit(*job)`: the function is in the tuple
        elif isinstance(fn, cst.Lambda):
            pass
        elif isinstance(fn, cst.Call):
            if not isinstance(fn.func, (cst.Name, cst.Attribute)) or self.ctx.qualified_name(fn.func) not in _PARTIAL:
                if pending.receiver is None:
                    return
                pending.function = ""  # only a known executor makes this a finding
        elif isinstance(fn, cst.Name):
            qualified = self.ctx.qualified_name(fn)
            if qualified is None or qualified.startswith("builtins."):
                pending.function = fn.value
        elif (
            isinstance(fn, cst.Attribute)
            and isinstance(fn.value, cst.Name)
            and fn.value.value in ("self", "cls")
        ):
            pending.class_scope = self._class_scope()
            pending.method_name = fn.attr.value
        elif pending.receiver is None:
            return
        else:
            pending.function = ""
        self._pending.append(pending)

    def _class_scope(self) -> Scope | None:
        for node in reversed(self.ctx.ancestors):
            if isinstance(node, cst.ClassDef):
                return self.ctx.scope_of(node)
        return None

    def _passes_function(self, pending: _Pending) -> bool:
        if pending.method_name is not None:
            scope = pending.class_scope
            return scope is not None and self.known.kind(scope, pending.method_name) == _FUNCTION
        if pending.function is not None:
            return bool(pending.function) and self.known.kind(pending.scope, pending.function) == _FUNCTION
        return True

    def _create_task(self, node: cst.Call, receiver: cst.BaseExpression) -> None:
        if isinstance(receiver, cst.Name):
            if self.ctx.qualified_name(receiver) is None and not shadowed_here(self.ctx, receiver.value):
                self._pending.append(_Pending(node, "create_task", self.ctx.scope, receiver.value))
            return
        kind = self.value_kind(receiver)
        if kind == _LOOP or (kind is None and self._task_shape(node)):
            self._report(node, "create_task")

    @staticmethod
    def _task_shape(node: cst.Call) -> bool:
        """`create_task(coro, name=..., context=...)`: the asyncio signature, not some
        API's `create_task(title, project=...)`."""
        positional = [a for a in node.args if a.keyword is None]
        if len(positional) != 1 or positional[0].star:
            return False
        if not isinstance(positional[0].value, (cst.Call, cst.Name, cst.Attribute, cst.Await)):
            return False
        return all(a.keyword is None or a.keyword.value in _TASK_KEYWORDS for a in node.args)

    def finish(self) -> None:
        for pending in self._pending:
            kind = self.known.kind(pending.scope, pending.receiver) if pending.receiver else None
            if pending.method == "submit":
                if kind == _EXECUTOR or (kind is None and self._passes_function(pending)):
                    self._report(pending.call, "submit")
            elif kind == _LOOP or (kind is None and self._task_shape(pending.call)):
                self._report(pending.call, "create_task")

    def _report(self, node: cst.Call, method: str) -> None:
        if method == "submit" or method == "run_in_executor":
            what = f"The future returned by `{method}()` is dropped"
            instead = "keep it and call `.result()` on it (or use `executor.map`)"
        else:
            what = f"The task made by `{method}()` is dropped"
            instead = (
                "keep a reference and await it, or create it in an `asyncio.TaskGroup`; "
                "an unreferenced task may even be garbage-collected before it finishes"
            )
        self.report(
            node,
            f"{what}: an exception raised by the work it runs is never seen. {instead}.",
        )
