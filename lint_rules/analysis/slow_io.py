"""Slow, non-database calls: HTTP requests, sleeps, subprocesses, SMTP.

Used by SL016 (transaction-held-across-io).  Names are resolved through the
file's imports, and HTTP client *instances* are followed from where they are
made: a local or module-level `httpx.AsyncClient(...)`, `async with
aiohttp.ClientSession() as http`, a parameter annotated `httpx.AsyncClient`, or
`self.client` set to one in the class.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import libcst as cst

from sessionlint.lint_rules.analysis.module import ClassInfo, FunctionInfo, ModuleModel, dotted

_HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")

# Module-level functions that block (or, awaited, suspend) for a while.
SLOW_FUNCTIONS = frozenset(
    {
        "time.sleep", "asyncio.sleep", "anyio.sleep", "trio.sleep", "gevent.sleep",
        "urllib.request.urlopen", "smtplib.SMTP", "smtplib.SMTP_SSL",
        "subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output",
        "requests.stream",
        *(f"requests.{verb}" for verb in _HTTP_VERBS),
        *(f"requests.api.{verb}" for verb in _HTTP_VERBS),
        *(f"httpx.{verb}" for verb in _HTTP_VERBS), "httpx.stream",
    }
)
SLEEPS = frozenset({"time.sleep", "asyncio.sleep", "anyio.sleep", "trio.sleep", "gevent.sleep"})

# Classes whose instances make HTTP requests.
CLIENT_CLASSES = frozenset(
    {
        "httpx.AsyncClient", "httpx.Client", "aiohttp.ClientSession",
        "aiohttp.client.ClientSession", "requests.Session", "requests.sessions.Session",
        "requests.session",
    }
)
_CLIENT_ROOTS = ("httpx", "aiohttp", "requests")
CLIENT_METHODS = frozenset({*_HTTP_VERBS, "send", "stream", "ws_connect"})

# Text one of which a file must contain for `slow_calls` to find anything.
TOKENS = ("sleep", "requests", "httpx", "aiohttp", "urlopen", "urllib", "smtplib", "subprocess", "SMTP")


@dataclass(slots=True)
class SlowCall:
    node: cst.Call
    what: str  # how the message names it, e.g. "`await client.post(...)`"


def may_have_slow_calls(model: ModuleModel) -> bool:
    source = model.source
    return not source or any(token in source for token in TOKENS)


def may_have_clients(model: ModuleModel) -> bool:
    """A client class is imported from one of these, so its name is in the text."""
    source = model.source
    return not source or any(root in source for root in _CLIENT_ROOTS)


def slow_calls(model: ModuleModel, func: FunctionInfo, clients_possible: bool = True) -> list[SlowCall]:
    """The slow non-DB calls in `func`'s body, in source order (`clients_possible`:
    the answer of `may_have_clients`, computed once per file)."""
    out: list[SlowCall] = []
    clients: set[str] | None = None if clients_possible else set()
    awaited = {id(n.expression) for n in func.of_type(cst.Await)}
    for call in func.of_type(cst.Call):
        target = call.func
        qualname = model.resolve(target)
        slow = False
        if qualname in SLOW_FUNCTIONS:
            slow = _imported(model, func, target) and not (qualname in SLEEPS and _is_zero(call))
        elif isinstance(target, cst.Attribute) and target.attr.value in CLIENT_METHODS:
            base = target.value
            if isinstance(base, cst.Call):
                slow = _is_client_ctor(model, base)  # httpx.Client().get(...)
            else:
                if clients is None:
                    clients = client_names(model, func)
                slow = dotted(base) in clients
        if slow:
            name = dotted(target) or qualname or "call"
            prefix = "await " if id(call) in awaited else ""
            out.append(SlowCall(call, f"`{prefix}{name}(...)`"))
    return out


def _imported(model: ModuleModel, func: FunctionInfo | None, expr: cst.BaseExpression) -> bool:
    """Does `expr`'s first name come from an import (not a local that happens to be
    called `time` or `requests`)?"""
    head = (dotted(expr) or "").split(".")[0]
    if head not in model.imports:
        return False
    scope = func
    while scope is not None:
        if head in scope.locals or any(p.name.value == head for p in scope.params):
            return False
        scope = scope.parent
    return True


def _is_zero(call: cst.Call) -> bool:
    """`asyncio.sleep(0)` only yields to the event loop."""
    if not call.args:
        return False
    value = call.args[0].value
    return isinstance(value, (cst.Integer, cst.Float)) and float(value.value.replace("_", "")) == 0


def _is_client_ctor(model: ModuleModel, expr: cst.BaseExpression | None) -> bool:
    while isinstance(expr, cst.Await):
        expr = expr.expression
    return (
        isinstance(expr, cst.Call)
        and model.resolve(expr.func) in CLIENT_CLASSES
        and _imported(model, None, expr.func)
    )


def _is_client_annotation(model: ModuleModel, ann: cst.BaseExpression | None) -> bool:
    if isinstance(ann, cst.Subscript):  # Optional[httpx.AsyncClient], Annotated[...]
        return any(
            isinstance(e.slice, cst.Index) and _is_client_annotation(model, e.slice.value) for e in ann.slice
        )
    if isinstance(ann, cst.BinaryOperation):  # httpx.AsyncClient | None
        return _is_client_annotation(model, ann.left) or _is_client_annotation(model, ann.right)
    return ann is not None and model.resolve(ann) in CLIENT_CLASSES and _imported(model, None, ann)


def client_names(model: ModuleModel, func: FunctionInfo) -> set[str]:
    """Names (`client`, `self.http`) that hold an HTTP client inside `func`."""
    names: set[str] = set()
    scope: FunctionInfo | None = func
    while scope is not None:
        for name, value in scope.locals.items():
            if _is_client_ctor(model, value):
                names.add(name)
        for param in scope.params:
            ann = param.annotation.annotation if param.annotation else None
            if _is_client_annotation(model, ann):
                names.add(param.name.value)
        for node in scope.of_type(cst.With):
            for item in node.items:
                if item.asname is not None and _is_client_ctor(model, item.item):
                    name = dotted(item.asname.name)
                    if name:
                        names.add(name)
        for node in scope.of_type(cst.AnnAssign):
            if isinstance(node.target, cst.Name) and _is_client_annotation(model, node.annotation.annotation):
                names.add(node.target.value)
        scope = scope.parent
    for name, value in model.top_values.items():
        if name not in func.locals and _is_client_ctor(model, value):
            names.add(name)
    if func.cls is not None:
        names.update(f"self.{attr}" for attr in _class_clients(model, func.cls))
    return names


_CLASS_CLIENTS: "weakref.WeakKeyDictionary[ClassInfo, set[str]]" = weakref.WeakKeyDictionary()


def _class_clients(model: ModuleModel, cls: ClassInfo) -> set[str]:
    """Attributes of `cls` holding an HTTP client (memoised per class)."""
    found = _CLASS_CLIENTS.get(cls)
    if found is None:
        found = _CLASS_CLIENTS[cls] = _find_class_clients(model, cls)
    return found


def _find_class_clients(model: ModuleModel, cls: ClassInfo) -> set[str]:
    found: set[str] = set()
    body = cls.node.body.body if isinstance(cls.node.body, cst.IndentedBlock) else []
    for line in body:
        if isinstance(line, cst.SimpleStatementLine):
            for small in line.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    if _is_client_annotation(model, small.annotation.annotation) or _is_client_ctor(model, small.value):
                        found.add(small.target.value)
                elif isinstance(small, cst.Assign):
                    for t in small.targets:
                        if isinstance(t.target, cst.Name) and _is_client_ctor(model, small.value):
                            found.add(t.target.value)
    for method in cls.methods:
        params = {p.name.value: p for p in method.params}
        for node in method.of_type(cst.Assign, cst.AnnAssign):
            targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            for target in targets:
                name = dotted(target) or ""
                if not name.startswith("self.") or name.count(".") != 1:
                    continue
                value = node.value
                is_client = _is_client_ctor(model, value)
                if not is_client and isinstance(value, cst.Name) and value.value in params:
                    ann = params[value.value].annotation
                    is_client = _is_client_annotation(model, ann.annotation if ann else None)
                if not is_client and isinstance(node, cst.AnnAssign):
                    is_client = _is_client_annotation(model, node.annotation.annotation)
                if is_client:
                    found.add(name[5:])
    return found
