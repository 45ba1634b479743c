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
from rules.analysis.syntax import (
    argument,
    callee_name,
    child_nodes,
    is_none,
    iter_nodes,
    literal_value,
)
from rules.analysis.uses import (
    assigned_from,
    examined,
    in_condition,
    reads_only_attributes,
    references,
    value_use,
)
from rules.analysis.writes import HTTP_CLIENTS
from rules.model import Severity
from rules.rule import Context, Example, FixSpec, Rule
from rules.scope import Scope

_METHODS = ("post", "put", "patch", "delete")
_MODULES = ("requests", "requests.api", "httpx")
_FUNCTIONS = {f"{module}.{method}" for module in _MODULES for method in (*_METHODS, "request")}
_CLIENT_NAMES = {name.rpartition(".")[2] for name in HTTP_CLIENTS}
_CLIENT = "http-client"
# The parts of a response that carry its answer: a POST whose answer is used is a query.
_DATA = frozenset({"json", "text", "content"})
_SHOWN = frozenset({"print", "debug", "info", "warning", "error", "exception", "log"})
# Reading these says nothing about whether the write succeeded; any other use of the
# response (a status attribute, `if r:`, returning or passing it on) counts as a check.
_BODY = frozenset({
    "json", "text", "content", "headers", "cookies", "url", "encoding", "apparent_encoding",
    "elapsed", "iter_content", "iter_lines", "iter_bytes", "iter_text", "iter_raw", "raw",
    "links", "history", "request", "close", "aclose", "read", "aread", "http_version",
    "charset_encoding", "extensions", "stream", "num_bytes_downloaded",
})


@dataclass
class _Candidate:
    call: cst.Call
    method: str
    use: str  # "discarded" | "assigned" | "attribute"
    scope: Scope
    receiver: str | None  # a name whose binding decides whether this is an HTTP client
    attribute: tuple[cst.ClassDef, str] | None = None  # or a `self.<name>` receiver
    target: cst.Name | None = None
    statement: cst.CSTNode | None = None
    function: cst.FunctionDef | None = None
    awaited: bool = False


class UncheckedHttpWrite(TracksBindings, Rule):
    """An HTTP write whose response status nobody looks at.

    What it flags:
    `post`, `put`, `patch` and `delete` of `requests` / `httpx` (the module functions and
    the methods of their client objects) whose response status is never looked at: the
    response is discarded, only its body is read, or it is kept in a name that is never
    checked, returned or passed on.

    Why it is risky:
    Neither library raises on a 4xx or 5xx answer: the call returns normally and the write
    that the server refused is forgotten. Bad: `requests.post(url, json=record)`.

    How to fix:
    Check the response: `requests.post(url, json=record).raise_for_status()`, or keep it and
    test `response.status_code`, or return it to a caller that does. Good:
    `response = session.put(url, data=blob); response.raise_for_status()`.
    """

    code = "RG202"
    slug = "unchecked-http-write"
    severity = Severity.ERROR

    DETAILS = """
    `post`, `put`, `patch` and `delete` of `requests` / `httpx`, and `request("POST", ...)`
    with one of those methods as a literal: the module functions, and the methods of
    `Session` / `Client` / `AsyncClient` objects bound in the same function or module (by
    assignment, `with ... as`, or a parameter annotation) or held in an attribute
    `self.<name>` that the class only ever assigns such an object (or `None`) or annotates
    as one. Reported when the response is discarded (line of the call), when only its body
    is read straight away (`requests.post(...).json()`, line of the call), or when it is
    assigned to a name that is then never checked (`raise_for_status()`, `.ok`,
    `.status_code`, `.is_success`...), returned or passed on (line of the assignment). For
    precision, a response used in any way other than reading its body (`.json()`, `.text`,
    `.headers`...) counts as checked, as does a body (or a value assigned from it) that
    appears in a test or a comparison, since some APIs report a failure in a 200 body
    (`{"ok": false}`); clients given response `hooks` / `event_hooks` (which may raise for
    status, at construction or later) are not recognised; receivers of unknown type (an
    attribute the class also assigns something else, or never assigns; a parameter
    without annotation) and a method that is not a literal (`request(method, url)`) are
    skipped. A `post` whose answer is used as data is a query, not a write (GraphQL,
    search endpoints): its `.json()`, `.text` or `.content` is returned or yielded
    (possibly indexed), or kept in a name that is returned, iterated or handed to a call
    other than a log line or `print`. A `put`/`patch`/`delete`, and a `post` whose answer
    is only logged or never read, stay errors.
    """

    VALID = [
        "import requests\ndef f(u, d):\n    r = requests.post(u, json=d)\n    r.raise_for_status()\n    return r.json()\n",
        "import requests\ndef f(u):\n    return requests.post(u)\n",
        "import httpx\nclient = httpx.Client()\ndef f(u):\n    resp = client.put(u)\n"
        "    if resp.status_code != 200:\n        raise RuntimeError(resp.text)\n",
        "import requests\ndef f(u):\n    r = requests.delete(u)\n    if not r.ok:\n        log(r)\n",
        "import requests\ndef f(u):\n    r = requests.post(u)\n    handle(r)\n",
        "import requests\ndef f(u):\n    r = requests.post(u)\n    if r:\n        return r.json()\n",
        "import requests\ndef f(u):\n    requests.post(u).raise_for_status()\n",
        "import requests\ndef f(u):\n    requests.get(u)\n",
        "def post(u):\n    pass\npost('x')\n",
        "import requests\ndef f(api, u):\n    api.post(u)\n",
        "import requests\ndef f(u, session):\n    session.post(u)\n",
        "import requests\ndef f(u, hook):\n    s = requests.Session(hooks={'response': hook})\n    s.post(u)\n",
        "import requests\ndef f(u):\n    s = requests.Session()\n    s = Wrapper(s)\n    s.post(u)\n",
        "import requests\ndef f(u):\n    requests.post(u, hooks={'response': check})\n",
        "import httpx\nasync def f(u):\n    async with httpx.AsyncClient() as c:\n"
        "        r = await c.post(u)\n        return r.is_success\n",
        "import requests\nr = requests.post(u)\n",
        "import requests\nclass A:\n    r = requests.post(u)\n",
        "import requests\ndef f(u):\n    results.append(requests.post(u))\n",
        "import requests\ndef f(u):\n    global r\n    r = requests.post(u)\n",
        "from requests import post\ndef f(post, u):\n    post(u)\n",
        "import requests\ns = requests.Session()\ns.hooks['response'].append(check)\ndef f(u):\n    s.post(u)\n",
        "import requests\ndef f(u):\n    r = requests.post(u)\n    if not r.json()['ok']:\n        raise Failed(r.text)\n",
        "import requests\ndef f(u):\n    r = requests.post(u)\n    data = r.json()\n    assert data.get('ok'), data\n",
        "import requests\ndef f(u):\n    data = requests.post(u).json()\n    if 'error' in data:\n        raise Failed(data)\n",
        "import requests\ndef f(u):\n    if requests.post(u).json()['ok']:\n        done()\n",
        "import requests\nclass Api:\n    def __init__(self, session=None):\n"
        "        self.session = session or requests.Session()\n    def put(self, u):\n        self.session.put(u)\n",
        "import requests\nclass Api:\n    def __init__(self):\n        self.session = requests.Session()\n"
        "        self.session.hooks['response'] = [check]\n    def put(self, u):\n        self.session.put(u)\n",
        "class Api:\n    def put(self, u):\n        self.session.put(u)\n",
        "import requests\ndef f(u, method):\n    requests.request(method, u)\n",
        "import requests\ndef f(u):\n    requests.request('GET', u)\n",
        # a query sent as a POST: the answer is the data
        "import requests\ndef search(u, q):\n    r = requests.post(u, json={'query': q})\n"
        "    return r.json()['data']\n",
    ]
    INVALID = [
        Example(
            "import requests\ndef save(u, d):\n    requests.post(u, json=d)\n",
            fix="import requests\ndef save(u, d):\n    requests.post(u, json=d).raise_for_status()\n",
            unsafe=True,
        ),
        "import requests\ndef save(u, d):\n    r = requests.put(u, data=d)\n    return r.json()\n",
        "import requests\ndef save(u, d):\n    r = requests.patch(u, data=d)\n",
        "from requests import post as p\ndef f(u):\n    data = p(u).json()\n",
        "import requests\nsession = requests.Session()\ndef f(u):\n    session.delete(u)\n",
        "import httpx\nasync def f(u):\n    async with httpx.AsyncClient() as c:\n        await c.post(u)\n",
        "import httpx\nasync def f(u):\n    async with httpx.AsyncClient() as c:\n"
        "        r = await c.post(u)\n        print(r.text)\n",
        "import requests\ndef f(s: requests.Session, u):\n    s.put(u)\n",
        "import httpx\ndef f(u):\n    with httpx.Client() as c:\n        c.post(u)\n",
        "import requests\nr = requests.post(u)\nprint(r.json())\n",
        "import requests\ndef f(u):\n    requests.Session().post(u)\n",
        "import requests\ndef f(u, d):\n    requests.request('POST', u, json=d)\n",
        "import httpx\ndef f(u):\n    with httpx.Client() as c:\n        c.request(method='delete', url=u)\n",
        "import requests\nclass Api:\n    def __init__(self):\n        self.session = None\n"
        "    def connect(self):\n        self.session = requests.Session()\n"
        "    def save(self, u, d):\n        self.session.post(u, json=d)\n",
        "import httpx\nclass Api:\n    client: httpx.AsyncClient\n"
        "    async def save(self, u, d):\n        r = await self.client.put(u, json=d)\n        return r.json()\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.known = KnownBindings()
        self._candidates: list[_Candidate] = []
        self._function_names: frozenset[str] | None = None
        # (class, attribute) -> does the class only ever give `self.<attribute>` a client?
        self._clients: dict[tuple[cst.ClassDef, str], bool] = {}

    # -- what a name holds -----------------------------------------------------------------
    def value_kind(self, value: cst.BaseExpression) -> str | None:
        if not isinstance(value, cst.Call):
            return None
        func = value.func
        name = callee_name(value)
        if name not in _CLIENT_NAMES or self.ctx.qualified_name(func) not in HTTP_CLIENTS:
            return None
        if any(arg.star == "**" or (arg.keyword and arg.keyword.value in ("hooks", "event_hooks")) for arg in value.args):
            return None  # a response hook may raise for status on every call
        return _CLIENT

    def annotation_kind(self, annotation: cst.BaseExpression) -> str | None:
        if isinstance(annotation, (cst.Name, cst.Attribute)) and self.ctx.qualified_name(annotation) in HTTP_CLIENTS:
            return _CLIENT
        return None

    # -- the writes ------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        receiver: str | None = None
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method == "request":
                method = _literal_method(node)
            if method not in _METHODS:
                return
            value = func.value
            if isinstance(value, cst.Name):
                qualified = self.ctx.qualified_name(func)
                if qualified is None:
                    if shadowed_here(self.ctx, value.value):
                        return
                    receiver = value.value  # decided at the end, once every binding is known
                elif qualified not in _FUNCTIONS:
                    return
            elif isinstance(value, cst.Call):
                if self.value_kind(value) is None:
                    return
            elif self.ctx.qualified_name(func) not in _FUNCTIONS:
                attribute = self_attribute(self.ctx, value)
                if attribute is None:
                    return
                receiver = attribute[1]  # decided at the end, from the class's assignments
        elif isinstance(func, cst.Name) and func.value in self._function_aliases():
            qualified = self.ctx.qualified_name(func)
            if qualified not in _FUNCTIONS:
                return
            method = qualified.rpartition(".")[2]
            if method == "request":
                method = _literal_method(node)
                if method not in _METHODS:
                    return
        else:
            return
        if any(arg.keyword and arg.keyword.value == "hooks" for arg in node.args):
            return
        use, where = value_use(self.ctx, node)
        candidate = _Candidate(node, method, use, self.ctx.scope, receiver)
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Attribute):
            candidate.attribute = self_attribute(self.ctx, func.value)
        candidate.awaited = isinstance(self.ctx.parent, cst.Await)
        if use == "attribute":
            assert isinstance(where, cst.Attribute)
            if where.attr.value not in _BODY or in_condition(self.ctx, node):
                return  # `if requests.post(u).json()["ok"]:` examines the answer
            if method == "post" and where.attr.value in _DATA:
                root = self.ctx.enclosing_function() or self.ctx.module
                if _used_as_data(where, _parents(root), root):
                    return  # a query sent as a POST (GraphQL, search): its answer is the data
            function = self.ctx.enclosing_function()
            target = assigned_from(self.ctx, where)
            if target is not None and not isinstance(function, cst.Lambda):
                candidate.target, candidate.function = target, function
        elif use == "assigned":
            assert isinstance(where, cst.Name)
            function = self.ctx.enclosing_function()
            if isinstance(function, cst.Lambda) or self.ctx.scope.kind == "class":
                return
            if where.value in self.ctx.scope.globals or where.value in self.ctx.scope.nonlocals:
                return
            candidate.target, candidate.function = where, function
            candidate.statement = next(
                a for a in reversed(self.ctx.ancestors) if isinstance(a, (cst.Assign, cst.AnnAssign))
            )
        elif use != "discarded":
            return
        self._candidates.append(candidate)

    def _function_aliases(self) -> frozenset[str]:
        if self._function_names is None:
            self._function_names = self.ctx.names_importing(*_FUNCTIONS)
        return self._function_names

    def finish(self) -> None:
        hooked: set[str] | None = None
        for candidate in self._candidates:
            if candidate.attribute is not None:
                if not self._holds_client(candidate.attribute):
                    continue
            elif candidate.receiver is not None:
                if self.known.kind(candidate.scope, candidate.receiver) != _CLIENT:
                    continue
            if candidate.receiver is not None:
                if hooked is None:
                    hooked = self._hooked_names()
                if candidate.receiver in hooked:
                    continue
            if candidate.use == "assigned":
                self._check_assigned(candidate)
            elif candidate.use == "discarded":
                self._report_discarded(candidate)
            elif candidate.target is None or not examined(
                candidate.function or self.ctx.module, candidate.target.value
            ):
                self.report(
                    candidate.call,
                    f"Only the body of this HTTP `{candidate.method}` response is read, never "
                    "its status: a refused write (4xx/5xx) goes unnoticed. Keep the response "
                    "and call `raise_for_status()` first.",
                )

    def _holds_client(self, key: tuple[cst.ClassDef, str]) -> bool:
        """Every binding of `self.<name>` in the class is an HTTP client (or `None`, the
        "not yet" value), by value or annotation; there is at least one."""
        if key not in self._clients:
            kinds: set[str | None] = set()
            for value, annotation in attribute_bindings(*key):
                if annotation is not None and self.annotation_kind(annotation) == _CLIENT:
                    kinds.add(_CLIENT)
                elif value is None:
                    kinds.add(None)  # bound some other way: not known
                elif not is_none(value):
                    kinds.add(self.value_kind(value))
            self._clients[key] = kinds == {_CLIENT}
        return self._clients[key]

    def _hooked_names(self) -> set[str]:
        """Names (and attribute names: `self.session.hooks`) whose `hooks` / `event_hooks`
        are touched anywhere in the file: a response hook added after construction may
        raise for status on every call."""
        return {
            node.value.value if isinstance(node.value, cst.Name) else node.value.attr.value
            for node in iter_nodes(self.ctx.module)
            if isinstance(node, cst.Attribute)
            and node.attr.value in ("hooks", "event_hooks")
            and isinstance(node.value, (cst.Name, cst.Attribute))
        }

    def _report_discarded(self, candidate: _Candidate) -> None:
        call = candidate.call
        fix = None
        if not candidate.awaited:
            checked = cst.Call(func=cst.Attribute(value=call, attr=cst.Name("raise_for_status")))
            fix = FixSpec("Raise on an error status", ((call, checked),), safe=False)
        self.report(
            call,
            f"The response of this HTTP `{candidate.method}` is discarded: a refused write "
            "(4xx/5xx) goes unnoticed. Call `raise_for_status()` on it or check its "
            "`status_code`.",
            fix,
        )

    def _check_assigned(self, candidate: _Candidate) -> None:
        target = candidate.target
        assert target is not None and candidate.statement is not None
        root: cst.CSTNode = candidate.function or self.ctx.module
        if not reads_only_attributes(root, target.value, target, _BODY):
            return
        if examined(root, target.value):
            return
        if candidate.method == "post":
            parents = _parents(root)
            for node, parent in references(root, target.value):
                if (
                    node is not target and isinstance(parent, cst.Attribute)
                    and parent.attr.value in _DATA and _used_as_data(parent, parents, root)
                ):
                    return  # a query sent as a POST: its answer is the data
        if candidate.function is None and not any(n is not target for n, _ in references(root, target.value)):
            return  # a module attribute may be checked by whoever imports it
        self.report(
            candidate.statement,
            f"`{target.value}` holds the response of an HTTP `{candidate.method}` but its "
            "status is never checked, returned or passed on: a refused write (4xx/5xx) goes "
            f"unnoticed. Call `{target.value}.raise_for_status()` or check "
            f"`{target.value}.status_code`.",
        )


def _parents(root: cst.CSTNode) -> dict[cst.CSTNode, cst.CSTNode]:
    parents: dict[cst.CSTNode, cst.CSTNode] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        for child in child_nodes(node):
            parents[child] = node
            stack.append(child)
    return parents


def _used_as_data(
    read: cst.Attribute, parents: dict[cst.CSTNode, cst.CSTNode], root: cst.CSTNode, depth: int = 0
) -> bool:
    """The body read by `read` (`r.json`, `r.text`) is the function's result: returned
    (possibly indexed: `r.json()["data"]`), or kept in a name that is itself returned,
    yielded, iterated or handed to another call than a log line."""
    current: cst.CSTNode = read
    call = parents.get(read)
    if isinstance(call, cst.Call) and call.func is read:
        current = call
    while True:
        parent = parents.get(current)
        if isinstance(parent, (cst.Subscript, cst.SubscriptElement, cst.Index)) or (
            isinstance(parent, cst.Attribute) and parent.value is current
        ):
            current = parent
            continue
        if isinstance(parent, cst.Call) and isinstance(current, cst.Attribute) and parent.func is current:
            current = parent  # `r.json().get("data")`
            continue
        break
    if isinstance(parent, (cst.Return, cst.Yield)):
        return True
    if isinstance(parent, cst.Arg):
        outer = parents.get(parent)
        return isinstance(outer, cst.Call) and callee_name(outer) not in _SHOWN
    if isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is current and depth < 2:
        targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
        for target in targets:
            if not isinstance(target, cst.Name):
                return True  # stored in an attribute or a container: kept as data
            for node, up in references(root, target.value):
                if node is target or up is None:
                    continue
                if isinstance(up, (cst.Return, cst.Yield, cst.For, cst.CompFor)):
                    return True
                if isinstance(up, cst.Arg):
                    outer = parents.get(up)
                    if isinstance(outer, cst.Call) and callee_name(outer) not in _SHOWN:
                        return True
                if isinstance(up, (cst.Subscript, cst.Attribute)) and _value_flows(up, parents):
                    return True
    return False


def _value_flows(node: cst.CSTNode, parents: dict[cst.CSTNode, cst.CSTNode]) -> bool:
    """`data["items"]` / `data.get(...)` is returned or handed on."""
    current = node
    for _ in range(6):
        parent = parents.get(current)
        if isinstance(parent, (cst.Return, cst.Yield, cst.For, cst.CompFor)):
            return True
        if isinstance(parent, cst.Arg):
            outer = parents.get(parent)
            return isinstance(outer, cst.Call) and callee_name(outer) not in _SHOWN
        if not isinstance(parent, (cst.Subscript, cst.SubscriptElement, cst.Index, cst.Attribute, cst.Call)):
            return False
        current = parent
    return False


def _literal_method(call: cst.Call) -> str:
    """`post` for `request("POST", url)` / `request(method="post", ...)`; "" when the method
    is not a literal (then whether it writes is unknown)."""
    arg = argument(call, 0, "method")
    value = literal_value(arg.value) if arg is not None else None
    return value.lower() if isinstance(value, str) else ""
