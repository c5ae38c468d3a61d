"""What runs once per request: routes, dependencies, middlewares, lifespans.

Shared by the rules that care *when* code runs (SL007 commit-in-teardown, SL009
scoped-session-in-async, SL011 engine-per-request): a `create_engine()` at module
level is right and the same call in a dependency is a bug.

The module-wide facts (every `Depends(...)`, `lifespan=`, endpoint registration,
`contextmanager(fn)` wrapping) come from one walk of the tree, done lazily and
memoised per model: only files where a rule actually has a candidate pay for it.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from pathlib import PurePath

import libcst as cst

from sessionlint.lint_rules.analysis import lifecycle as L
from sessionlint.lint_rules.analysis import names as N
from sessionlint.lint_rules.analysis.module import FunctionInfo, ModuleModel, Reqs, dotted

# Calls that register their (second / `endpoint=`) argument as a request handler.
_ENDPOINT_REGISTRARS = frozenset(
    {"add_api_route", "add_api_websocket_route", "add_route", "add_websocket_route",
     "Route", "APIRoute", "WebSocketRoute", "APIWebSocketRoute"}
)


@dataclass(slots=True)
class DependsUse:
    """One `Depends(target)` / `Security(target)` call of the module."""

    call: cst.Call
    target: str | None  # dotted spelling of the target (`get_db`, `deps.get_db`)
    qualname: str | None  # resolved through imports
    scope: str | None  # the literal `scope="..."` argument, if any


@dataclass(slots=True)
class ModuleScan:
    depends: list[DependsUse] = field(default_factory=list)
    #: names passed as `lifespan=` anywhere (FastAPI(...), Starlette(...), APIRouter(...))
    lifespans: set[str] = field(default_factory=set)
    #: names registered with `add_api_route(path, fn)`, `Route(path, fn)`, ...
    endpoints: set[str] = field(default_factory=set)
    #: names wrapped as `contextmanager(fn)` / `asynccontextmanager(fn)`
    wrapped_as_cm: set[str] = field(default_factory=set)
    #: names registered as `app.middleware("http")(fn)` / `add_middleware(..., dispatch=fn)`
    middlewares: set[str] = field(default_factory=set)


_SCANS: "weakref.WeakKeyDictionary[ModuleModel, ModuleScan]" = weakref.WeakKeyDictionary()


def scan(model: ModuleModel) -> ModuleScan:
    """The module-wide facts, computed once per model."""
    found = _SCANS.get(model)
    if found is None:
        found = _SCANS[model] = _scan(model)
    return found


def _scan(model: ModuleModel) -> ModuleScan:
    out = ModuleScan()
    source = model.source
    wants_depends = "Depends" in source or "Security" in source or not source
    wants_lifespan = "lifespan" in source or not source
    wants_endpoints = "Route" in source or "_route" in source or not source
    wants_cm = "contextmanager" in source or not source
    wants_middleware = "middleware" in source or not source
    if not (wants_depends or wants_lifespan or wants_endpoints or wants_cm or wants_middleware):
        return out
    for node in model.nodes_of(cst.Call):
        if wants_depends:
            target = model.depends_target(node)
            if target is not None:
                out.depends.append(
                    DependsUse(node, dotted(target), model.resolve(target), _string_kwarg(node, "scope"))
                )
                continue
        for arg in node.args:
            if arg.keyword is None:
                continue
            if arg.keyword.value == "lifespan" and wants_lifespan:
                name = dotted(arg.value)
                if name:
                    out.lifespans.add(name.rsplit(".", 1)[-1])
            elif arg.keyword.value == "dispatch" and wants_middleware:
                name = dotted(arg.value)
                if name:
                    out.middlewares.add(name.rsplit(".", 1)[-1])
        if wants_middleware and type(node.func) is cst.Call and node.args:
            inner = node.func.func  # app.middleware("http")(fn)
            if isinstance(inner, cst.Attribute) and inner.attr.value == "middleware":
                name = dotted(node.args[0].value)
                if name:
                    out.middlewares.add(name.rsplit(".", 1)[-1])
        callee = dotted(node.func) or ""
        short = callee.rsplit(".", 1)[-1]
        if wants_endpoints and short in _ENDPOINT_REGISTRARS:
            endpoint = _endpoint_arg(node)
            name = dotted(endpoint) if endpoint is not None else None
            if name:
                out.endpoints.add(name.rsplit(".", 1)[-1])
        if wants_cm and model.resolve(node.func) in N.CONTEXT_MANAGER_DECORATORS and node.args:
            name = dotted(node.args[0].value)
            if name:
                out.wrapped_as_cm.add(name)
    return out


def _string_kwarg(call: cst.Call, keyword: str) -> str | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            value = arg.value
            if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
                return value.evaluated_value
            return "?"  # set, but not to a literal we can read
    return None


def _endpoint_arg(call: cst.Call) -> cst.BaseExpression | None:
    positional = [a for a in call.args if a.keyword is None and not a.star]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in ("endpoint", "route"):
            return arg.value
    return positional[1].value if len(positional) >= 2 else None


# --------------------------------------------------------------------------- kinds of function
def is_test_module(model: ModuleModel) -> bool:
    name = PurePath(model.path).name
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def is_context_manager(func: FunctionInfo) -> bool:
    """`@contextmanager` / `@asynccontextmanager`: called by `with`, not by FastAPI."""
    return func.has_decorator(N.CONTEXT_MANAGER_DECORATORS, "contextmanager", "asynccontextmanager")


def is_cached(func: FunctionInfo) -> bool:
    return func.has_decorator(N.CACHE_DECORATORS, "lru_cache", "cache", "alru_cache", "cached")


def is_lifespan(model: ModuleModel, func: FunctionInfo) -> bool:
    if func.parent is not None or func.cls is not None:
        return False
    return func.name == "lifespan" or func.name in scan(model).lifespans


def has_depends_param(model: ModuleModel, func: FunctionInfo) -> bool:
    """A parameter declared with `Depends(...)`: only FastAPI calls such a function."""
    if "Depends" not in model.source and "Security" not in model.source and model.source:
        return False
    return any(model.param_dependency(p) is not None for p in func.params)


def is_middleware(model: ModuleModel, func: FunctionInfo) -> bool:
    """`@app.middleware("http")`, `BaseHTTPMiddleware.dispatch`, or a pure ASGI
    middleware's `__call__(self, scope, receive, send)`."""
    if L.is_http_middleware(model, func):
        return True
    if func.parent is None and func.cls is None and func.name in scan(model).middlewares:
        return True
    if func.cls is not None and func.name == "__call__":
        names = [p.name.value for p in func.params]
        return names[1:4] == ["scope", "receive", "send"]
    return False


def is_route(model: ModuleModel, func: FunctionInfo) -> bool:
    """Decorated path operation, or an endpoint registered with `add_api_route` & co."""
    if model.is_route(func):
        return True
    return func.parent is None and func.cls is None and func.name in scan(model).endpoints


def yielded_session(model: ModuleModel, func: FunctionInfo, refs=None) -> Reqs | None:
    """Does the generator `func` yield a session (a constructor, or a name holding one)?"""
    if not func.is_generator:
        return None
    for node in func.of_type(cst.Yield):
        value = node.value
        if not isinstance(value, cst.BaseExpression):
            continue
        key = dotted(value)
        if refs is not None and key is not None and key in refs:
            return refs[key].requires
        reqs = model.session_value(value, func)
        if reqs is not None:
            return reqs
    return None


def is_session_dependency_shape(model: ModuleModel, func: FunctionInfo, refs=None) -> Reqs | None:
    """A generator that yields a session and is not a `with`-helper or pytest fixture:
    the shape of a FastAPI yield dependency, whoever uses it."""
    if not func.is_generator or is_context_manager(func) or L.is_pytest_fixture(func):
        return None
    if func.name in scan(model).wrapped_as_cm or is_lifespan(model, func):
        return None
    return yielded_session(model, func, refs)


def local_depends_uses(model: ModuleModel, func: FunctionInfo) -> list[DependsUse]:
    """This module's `Depends(...)` calls whose target is `func`."""
    if func.parent is not None:
        return [u for u in scan(model).depends if u.target == func.name]
    if func.cls is not None:
        return [u for u in scan(model).depends if u.target and u.target.endswith("." + func.name)]
    return [u for u in scan(model).depends if u.qualname == func.qualname or u.target == func.name]
