from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from rules.analysis.flow import (
    KnownBindings,
    TracksBindings,
    attribute_bindings,
    self_attribute,
    shadowed_here,
)
from rules.analysis.own_errors import awaited_future, catches_and_reports, single_value
from rules.analysis.syntax import (
    argument,
    callee_name,
    is_discarded,
)
from rules.model import Severity
from rules.rule import Context, Example, Rule
from rules.scope import Scope, suite_statements

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
_OPTIONAL = {"typing.Optional", "typing_extensions.Optional"}


@dataclass
class _Pending:
    call: cst.Call
    method: str  # "create_task" | "submit"
    scope: Scope
    receiver: str | None  # a plain-name receiver, decided once every binding is known
    function: str | None = None  # `submit(<name>, ...)`: is that name a function?
    class_scope: Scope | None = None  # `submit(self.<method>, ...)`: the class to look in
    method_name: str | None = None
    attribute: tuple[cst.ClassDef, str] | None = None  # a `self.<name>` receiver
    named_executor: bool = False  # the receiver is called `*executor*` / `*pool*`
    lowered: bool = False  # `create_task` of a coroutine that reports its own errors
    defined_in: tuple[cst.CSTNode, ...] = ()  # where the submitted function may be defined


class DiscardedFuture(TracksBindings, Rule):
    """A future or task thrown away as soon as it is made.

    What it flags:
    `executor.submit(...)`, `loop.run_in_executor(...)`, `asyncio.create_task(...)`,
    `asyncio.ensure_future(...)` or `loop.create_task(...)` as a statement of its own: the
    future or task is dropped as soon as it is made. A warning when the task's coroutine
    reports its own errors.

    Why it is risky:
    The exception raised by the work is stored in the dropped future: nobody sees it, so a
    failed write looks like a successful one. An unreferenced asyncio task may even be
    garbage-collected before it finishes. Bad: `executor.submit(upload, blob)`.

    How to fix:
    Keep the future and look at its result (`future.result()`, `await task`,
    `concurrent.futures.wait` then `.result()`), or run tasks in an `asyncio.TaskGroup`.
    Good: `futures.append(executor.submit(upload, blob))` and later
    `for f in futures: f.result()`.
    """

    code = "RG205"
    slug = "discarded-future"
    severity = Severity.ERROR
    ruff_codes = ("RUF006",)

    DETAILS = """
    `<executor>.submit(fn, ...)`, `<loop>.run_in_executor(...)`, `asyncio.create_task(...)`,
    `asyncio.ensure_future(...)` or `<loop>.create_task(coro)` as a whole expression
    statement, or as the element of a list or set comprehension that is one
    (`[pool.submit(work, x) for x in items]`). Awaited, stored or returned calls are not
    flagged. For precision, other APIs that share these names are told apart. `.submit` is
    flagged on a known `concurrent.futures` executor: a name bound to
    `ThreadPoolExecutor(...)` / `ProcessPoolExecutor(...)` or annotated as an `Executor`, or
    an attribute `self.<name>` that the class assigns one of those (also as
    `x or ThreadPoolExecutor()`) or annotates so. A receiver of unknown type is flagged only
    when its name says it is an executor (`executor`, `pool`, `self._io_pool`...) and it is
    handed a function (a lambda, a `functools.partial`, an imported name, a local `def` or a
    method of the same class): a worker object whose `submit` returns no future
    (`self._worker.submit(callback)`), `coordinator.submit(executor, task)` (which tracks
    its futures itself) and a form's `submit()` are not flagged. `.create_task` on a
    receiver not known to be an event loop (from `asyncio.get_event_loop()` and friends, or
    annotated) is flagged only with the shape of the asyncio call (one coroutine argument,
    then `name=` / `context=`), and never on an `asyncio.TaskGroup` or a name bound by
    `async with`, whose exit awaits the tasks. `submit(fn, ...)` is not flagged when `fn`
    (a function of this module, a local `def`, or a method of this class) is one `try`
    with an `except Exception` / `except BaseException` / bare handler that reports the
    failure (a status tracker, a callback, a log line) and does not re-raise: the future
    carries no exception to lose. `# noqa: RUF006` (ruff's code for dropped asyncio tasks)
    suppresses the finding like `# noqa: RG205`.

    A dropped task is an error, except when its coroutine reports its own errors: then it
    is a warning (only the reference is missing). That is when the coroutine is handed a
    future that the calling function awaits (`fut = loop.create_future()`,
    `loop.create_task(work(fut))`, `await fut`), or when it is an `async def` method of the
    same class whose body is one `try` (after plain assignments) with an
    `except Exception` / `except BaseException` / bare handler that does not re-raise and
    calls something other than a log or print function (`waiter.set_exception(exc)`,
    `self.call_exception_handler(context)`).

    When the coroutine hands its failure on itself the failure is seen, and only the risk of
    an unreferenced task remains: hence a warning. For such a task, keep a reference
    (`self._tasks.add(task)`, `task.add_done_callback(self._tasks.discard)`).
    """

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
        "class Transport:\n    def flush(self):\n        self._worker.submit(lambda: self._send(force=True))\n",
        "class Transport:\n    def __init__(self):\n        self._worker = BackgroundWorker()\n"
        "    def flush(self):\n        self._worker.submit(self._send)\n    def _send(self):\n        pass\n",
        "from jobs import upload\ndef f(worker, blob):\n    worker.submit(upload, blob)\n",
        # the submitted function catches `Exception` itself and reports it: nothing to lose
        "import concurrent.futures\npool = concurrent.futures.ThreadPoolExecutor(4)\n"
        "def run(job, tracker):\n    try:\n        job.execute()\n        tracker.done(job)\n"
        "    except Exception as exc:\n        tracker.failed(job, exc)\n"
        "def start(job, tracker):\n    pool.submit(run, job, tracker)\n",
        "import logging\nfrom concurrent.futures import ThreadPoolExecutor\nlog = logging.getLogger()\n"
        "class Sync:\n    def __init__(self):\n        self._executor = ThreadPoolExecutor(2)\n"
        "    def _push(self, item):\n        try:\n            self.remote.put(item)\n"
        "        except Exception:\n            log.exception('push failed')\n"
        "    def push(self, item):\n        self._executor.submit(self._push, item)\n",
        # book-keeping before the `try` of a status tracker
        "import threading\nfrom concurrent.futures import ThreadPoolExecutor\nclass Jobs:\n"
        "    def __init__(self):\n        self._pool = ThreadPoolExecutor(2)\n        self._lock = threading.Lock()\n"
        "    def _run(self, key, fn):\n        with self._lock:\n            self._pending[key] = 1\n"
        "        try:\n            fn()\n        except Exception as e:\n"
        "            self._errors[key] = str(e)\n"
        "    def start(self, key, fn):\n        self._pool.submit(self._run, key, fn)\n",
    ]
    INVALID = [
        "import asyncio\nasync def f(c):\n    asyncio.create_task(c())\n",
        # a local coroutine that logs its own failure: only the reference is missing
        Example(
            "import asyncio, logging\ndef attach(page):\n    async def handle(event):\n        try:\n"
            "            await page.send(event)\n        except Exception as exc:\n"
            "            logging.warning('could not handle %s', exc)\n"
            "    def on_event(event):\n        asyncio.ensure_future(handle(event))\n"
            "    page.on('event', on_event)\n",
            severity=Severity.WARNING,
        ),
        "from asyncio import ensure_future\nasync def f(c):\n    ensure_future(c())\n",
        "from storage import upload\ndef f(executor, blob):\n    executor.submit(upload, blob)\n",
        "import concurrent.futures as cf\ndef f(job, blob):\n    with cf.ThreadPoolExecutor() as pool:\n        pool.submit(job, blob)\n",
        "class Writer:\n    def flush(self):\n        self._pool.submit(self._write, self._buffer)\n\n"
        "    def _write(self, buffer):\n        pass\n",
        "from concurrent.futures import ThreadPoolExecutor\nclass Uploader:\n"
        "    def __init__(self, executor=None):\n        self._worker = executor or ThreadPoolExecutor(4)\n"
        "    def push(self, blob):\n        self._worker.submit(upload, blob)\n",
        "import concurrent.futures\nclass Uploader:\n    _worker: concurrent.futures.Executor | None = None\n"
        "    def push(self, job):\n        self._worker.submit(job)\n",
        "def f(executor, rows):\n    executor.submit(lambda: save(rows))\n",
        "import functools\ndef f(executor, rows):\n    executor.submit(functools.partial(save, rows))\n",
        "def f(pool, rows):\n    def save():\n        pass\n    pool.submit(save)\n",
        "import asyncio\nasync def f():\n    loop = asyncio.get_running_loop()\n    loop.run_in_executor(None, write)\n",
        "import asyncio\nloop = asyncio.get_event_loop()\nloop.create_task(main(), name='main')\n",
        "class A:\n    def start(self):\n        self._loop.create_task(self._flush())\n",
        "import asyncio\ndef f(loop: asyncio.AbstractEventLoop, c):\n    loop.create_task(c, name='x', context=None)\n",
        "import asyncio\nasync def f(c):\n    asyncio.get_running_loop().create_task(c())\n",
        Example(
            "import asyncio\nasync def f(work):\n    loop = asyncio.get_running_loop()\n"
            "    done = loop.create_future()\n    loop.create_task(work(done))\n    await done\n",
            severity=Severity.WARNING,
        ),
        Example(
            "class Transport:\n    def __init__(self, loop, waiter):\n"
            "        self._loop = loop\n        self._loop.create_task(self._connect(waiter))\n\n"
            "    async def _connect(self, waiter):\n        try:\n            await self._open()\n"
            "        except BaseException as exc:\n            waiter.set_exception(exc)\n"
            "        else:\n            waiter.set_result(None)\n",
            severity=Severity.WARNING,
        ),
        "def f(pool, jobs):\n    for job in jobs:\n        pool.submit(*job)\n",
        "from storage import upload\ndef f(pool, blobs):\n    [pool.submit(upload, b) for b in blobs]\n",
        "import concurrent.futures\npool = concurrent.futures.ThreadPoolExecutor(4)\n"
        "def run(job, tracker):\n    try:\n        job.execute()\n"
        "    except Exception as exc:\n        tracker.failed(job, exc)\n        raise\n"
        "def start(job, tracker):\n    pool.submit(run, job, tracker)\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.known = KnownBindings()
        self._pending: list[_Pending] = []
        self._function_names: frozenset[str] | None = None
        # (class, attribute) -> does the class assign an executor to `self.<attribute>`?
        self._executors: dict[tuple[cst.ClassDef, str], bool] = {}

    # -- what a name holds -----------------------------------------------------------------
    def value_kind(self, value: cst.BaseExpression) -> str | None:
        if isinstance(value, cst.BooleanOperation) and isinstance(value.operator, cst.Or):
            # `executor or ThreadPoolExecutor()`: a default executor, or one passed in
            kinds = {self.value_kind(value.left), self.value_kind(value.right)}
            return _EXECUTOR if _EXECUTOR in kinds else None
        if isinstance(value, cst.IfExp):
            kinds = {self.value_kind(value.body), self.value_kind(value.orelse)}
            return _EXECUTOR if _EXECUTOR in kinds else None
        if not isinstance(value, cst.Call):
            return None
        func = value.func
        short = callee_name(value)
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
        # `Executor | None`, `Optional[Executor]`: the kind of the value when there is one
        if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
            kinds = {self.annotation_kind(annotation.left), self.annotation_kind(annotation.right)} - {None}
            return kinds.pop() if len(kinds) == 1 else None
        if (
            isinstance(annotation, cst.Subscript)
            and len(annotation.slice) == 1
            and isinstance(annotation.slice[0].slice, cst.Index)
            and self.ctx.qualified_name(annotation.value) in _OPTIONAL
        ):
            return self.annotation_kind(annotation.slice[0].slice.value)
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
                self._report(node, method, self._reports_own_errors(node))
            elif method == "create_task":
                self._create_task(node, func.value)
        elif isinstance(func, cst.Name) and func.value in self._function_aliases():
            qualified = self.ctx.qualified_name(func) if self._dropped(node) else None
            if qualified in _TASK_FUNCTIONS:
                assert qualified is not None
                self._report(node, qualified.rpartition(".")[2], self._reports_own_errors(node))

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
            self._function_names = self.ctx.names_importing(*_TASK_FUNCTIONS)
        return self._function_names

    def _submit(self, node: cst.Call, receiver: cst.BaseExpression) -> None:
        """An executor's `submit(fn, /, *args, **kwargs)`. Other APIs share the name
        (`coordinator.submit(executor, task)`, `bounded.submit(Task(...))`, a worker's
        `submit(callback) -> bool`), so a receiver of unknown type must be named like an
        executor and be handed a function: a lambda, a `partial`, an imported name, a local
        `def` or a method of this class."""
        if not node.args or node.args[0].keyword is not None:
            return  # a form's `submit()`
        pending = _Pending(node, "submit", self.ctx.scope, None, named_executor=_named_executor(receiver))
        if isinstance(receiver, cst.Name) and self.ctx.qualified_name(receiver) is None:
            if shadowed_here(self.ctx, receiver.value):
                return
            pending.receiver = receiver.value
        elif isinstance(receiver, cst.Call) and self.value_kind(receiver) == _EXECUTOR:
            self._report(node, "submit")
            return
        else:
            pending.attribute = self_attribute(self.ctx, receiver)
        may_be_known = pending.receiver is not None or pending.attribute is not None
        if not may_be_known and not pending.named_executor:
            return
        first = node.args[0]
        fn = first.value
        if first.star:
            pass  # `pool.submit(*job)`: the function is in the tuple
        elif isinstance(fn, cst.Lambda):
            pass
        elif isinstance(fn, cst.Call):
            if not isinstance(fn.func, (cst.Name, cst.Attribute)) or self.ctx.qualified_name(fn.func) not in _PARTIAL:
                if not may_be_known:
                    return
                pending.function = ""  # only a known executor makes this a finding
        elif isinstance(fn, cst.Name):
            qualified = self.ctx.qualified_name(fn)
            if qualified is None or qualified.startswith("builtins."):
                pending.function = fn.value
            function = self.ctx.enclosing_function()
            pending.defined_in = (self.ctx.module,) if function is None else (function, self.ctx.module)
        elif (
            isinstance(fn, cst.Attribute)
            and isinstance(fn.value, cst.Name)
            and fn.value.value in ("self", "cls")
        ):
            pending.class_scope = self._class_scope()
            pending.method_name = fn.attr.value
            klass = next((n for n in reversed(self.ctx.ancestors) if isinstance(n, cst.ClassDef)), None)
            pending.defined_in = () if klass is None else (klass,)
        elif not may_be_known:
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
        lowered = self._reports_own_errors(node)
        if isinstance(receiver, cst.Name):
            if self.ctx.qualified_name(receiver) is None and not shadowed_here(self.ctx, receiver.value):
                self._pending.append(_Pending(node, "create_task", self.ctx.scope, receiver.value, lowered=lowered))
            return
        kind = self.value_kind(receiver)
        if kind == _LOOP or (kind is None and self._task_shape(node)):
            self._report(node, "create_task", lowered)

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

    # -- coroutines that report their own errors ---------------------------------------------
    def _reports_own_errors(self, node: cst.Call) -> bool:
        """The task's coroutine hands its failure to someone: a future that the calling
        function awaits, or (a method of this class) a catch-all handler that calls
        something other than a log function."""
        arg = argument(node, 0, "coro") or argument(node, 0, "coro_or_future")
        if arg is None or arg.star:
            return False
        coro: cst.BaseExpression | None = arg.value
        function = self.ctx.enclosing_function()
        body = function if isinstance(function, cst.FunctionDef) else None
        if isinstance(coro, cst.Name) and body is not None:
            coro = single_value(body, coro.value)  # `accept = self._accept(conn)` first
        if not isinstance(coro, cst.Call):
            return False
        if body is not None and any(
            isinstance(a.value, cst.Name) and awaited_future(self.ctx, body, a.value.value) for a in coro.args
        ):
            return True
        if isinstance(coro.func, cst.Name):
            # a coroutine function defined in an enclosing function (a callback's helper)
            for outer in reversed(self.ctx.ancestors):
                if isinstance(outer, cst.FunctionDef):
                    for statement in suite_statements(outer.body):
                        if (
                            isinstance(statement, cst.FunctionDef)
                            and statement.name.value == coro.func.value
                            and statement.asynchronous is not None
                        ):
                            return catches_and_reports(self.ctx, statement, logging_reports=True)
            return False
        method = self_attribute(self.ctx, coro.func)
        if method is None:
            return False
        klass, name = method
        for statement in suite_statements(klass.body):
            if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
                return statement.asynchronous is not None and catches_and_reports(self.ctx, statement)
        return False

    def finish(self) -> None:
        for pending in self._pending:
            kind = self.known.kind(pending.scope, pending.receiver) if pending.receiver else None
            if pending.method == "submit":
                if self._submitted_catches_itself(pending):
                    continue
                if kind is None and pending.attribute is not None:
                    kind = _EXECUTOR if self._holds_executor(pending.attribute) else None
                if kind == _EXECUTOR or (kind is None and pending.named_executor and self._passes_function(pending)):
                    self._report(pending.call, "submit")
            elif kind == _LOOP or (kind is None and self._task_shape(pending.call)):
                self._report(pending.call, "create_task", pending.lowered)

    def _submitted_catches_itself(self, pending: _Pending) -> bool:
        """`executor.submit(fn, ...)` where `fn` (a function of this module, a local `def`
        or a method of this class) catches `Exception` itself and reports it (a status
        tracker, a callback): the future carries no exception to lose."""
        call = pending.call
        if not call.args or call.args[0].star:
            return False
        fn = call.args[0].value
        name = fn.value if isinstance(fn, cst.Name) else fn.attr.value if isinstance(fn, cst.Attribute) else None
        if name is None:
            return False
        for owner in pending.defined_in:
            if isinstance(owner, cst.Module):
                statements: list[cst.CSTNode] = list(owner.body)
            elif isinstance(owner, (cst.FunctionDef, cst.ClassDef)):
                statements = suite_statements(owner.body)
            else:
                continue
            for statement in statements:
                if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
                    return catches_and_reports(self.ctx, statement, logging_reports=True)
        return False

    def _holds_executor(self, key: tuple[cst.ClassDef, str]) -> bool:
        """The class assigns `self.<name>` an executor (`ThreadPoolExecutor(...)`, also
        `x or ThreadPoolExecutor()`) or annotates it as one, in a method or its body. One
        such binding is enough: `self._pool = None` until `start()` is the usual companion."""
        if key not in self._executors:
            self._executors[key] = any(
                (annotation is not None and self.annotation_kind(annotation) == _EXECUTOR)
                or (value is not None and self.value_kind(value) == _EXECUTOR)
                for value, annotation in attribute_bindings(*key)
            )
        return self._executors[key]

    def _report(self, node: cst.Call, method: str, lowered: bool = False) -> None:
        if lowered:
            self.report(
                node,
                f"The task made by `{method}()` is dropped. Its coroutine reports its own "
                "errors, but nothing keeps a reference to the task, which may be "
                "garbage-collected before it finishes. Keep it in a set "
                "(`self._tasks.add(task)`, `task.add_done_callback(self._tasks.discard)`).",
                severity=Severity.WARNING,
            )
            return
        if method == "submit" or method == "run_in_executor":
            what = f"The future returned by `{method}()` is dropped"
            instead = "Keep it and call `.result()` on it (or use `executor.map`)"
        else:
            what = f"The task made by `{method}()` is dropped"
            instead = (
                "Keep a reference and await it, or create it in an `asyncio.TaskGroup`; "
                "an unreferenced task may even be garbage-collected before it finishes"
            )
        self.report(
            node,
            f"{what}: an exception raised by the work it runs is never seen. {instead}.",
        )


def _named_executor(receiver: cst.BaseExpression) -> bool:
    """The receiver's own name says it is an executor: `executor`, `pool`, `self._io_pool`,
    `get_executor()`."""
    if isinstance(receiver, cst.Call):
        receiver = receiver.func
    if isinstance(receiver, cst.Attribute):
        name = receiver.attr.value
    elif isinstance(receiver, cst.Name):
        name = receiver.value
    else:
        return False
    name = name.lower()
    return "executor" in name or "pool" in name
