"""Where a function opens, closes, hands out and frames its sessions.

Shared by the lifecycle rules (SL003–SL006): they differ in which combination of
these facts is a bug, not in how the facts are found.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from sessionlint.lint_rules.analysis.module import FunctionInfo, ModuleModel, Reqs, call_name, dotted, receiver
from sessionlint.lint_rules.analysis.walk import walk, walk_with_parents

# Calls that take over a session's lifetime when given the session (or its close).
_OWNERSHIP_SINKS = frozenset(
    {
        "closing", "aclosing", "enter_context", "enter_async_context", "push",
        "push_async_exit", "callback", "push_async_callback", "addCleanup",
        "addAsyncCleanup", "add_finalizer", "finalize", "append", "add", "put",
        "put_nowait", "setdefault", "extend", "insert",
    }
)


@dataclass(slots=True)
class OwnedSession:
    """A session a function creates and binds to `key` (`db`, `request.state.db`)."""

    key: str
    ctor: cst.Call
    requires: Reqs


@dataclass(slots=True)
class CloseCall:
    node: cst.CSTNode
    in_finally: bool
    in_catch_all: bool


def owned_sessions(model: ModuleModel, func: FunctionInfo) -> list[OwnedSession]:
    out: list[OwnedSession] = []
    for node in func.of_type(cst.Assign, cst.AnnAssign):
        targets: list[cst.BaseExpression] = []
        value = None
        if isinstance(node, cst.Assign) and len(node.targets) == 1:
            targets, value = [node.targets[0].target], node.value
        elif isinstance(node, cst.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        if value is None:
            continue
        reqs = model.session_ctor(value, func)
        if reqs is None:
            continue
        for target in targets:
            key = dotted(target)
            if key is not None and key.split(".")[0] not in func.globals_declared:
                out.append(OwnedSession(key, value, reqs))
    return out


def close_calls(func: FunctionInfo, key: str, methods=("close",)) -> list[CloseCall]:
    out: list[CloseCall] = []
    for node, parents in walk_with_parents(func.node.body):
        if isinstance(node, cst.Call) and call_name(node) in methods and receiver(node) == key:
            out.append(
                CloseCall(
                    node,
                    in_finally=any(isinstance(p, cst.Finally) for p in parents),
                    in_catch_all=any(_is_catch_all(p) for p in parents),
                )
            )
    return out


def managed_by_with(func: FunctionInfo, key: str) -> bool:
    """`with db:` / `async with db:` / `with db.begin():` somewhere in the function."""
    for node in func.of_type(cst.With):
        for item in node.items:
            expr = item.item
            if dotted(expr) == key:
                return True
            if isinstance(expr, cst.Call) and receiver(expr) == key and call_name(expr) in ("begin",):
                return True
    return False


def escapes(func: FunctionInfo, key: str) -> bool:
    """Does the function hand the session (or its `close`) to someone else?"""
    for node in func.of_type(cst.Return, cst.Yield, cst.Assign, cst.Call, cst.Attribute):
        if isinstance(node, (cst.Return, cst.Yield)) and node.value is not None and _hands_over(node.value, key):
            return True
        if isinstance(node, cst.Assign) and _mentions(node.value, key, exact=True):
            if any(dotted(t.target) != key for t in node.targets):
                return True
        if isinstance(node, cst.Call):
            name = call_name(node) or dotted(node.func) or ""
            if name.rsplit(".", 1)[-1] in _OWNERSHIP_SINKS and receiver(node) != key:
                if any(_mentions(arg.value, key) for arg in node.args):
                    return True
        if isinstance(node, cst.Attribute) and node.attr.value == "close" and dotted(node.value) == key:
            if not _is_called(func, node):
                return True  # `db.close` passed as a callback
    return False


def yields_session(func: FunctionInfo, key: str) -> bool:
    return any(
        node.value is not None and dotted(node.value) == key
        for node in func.of_type(cst.Yield)
    )


def _hands_over(expr: cst.CSTNode, key: str) -> bool:
    """Does `expr` pass the session itself on (`return db`, `return Repo(db)`),
    rather than something computed with it (`return db.query(...)`)?"""
    for node, parents in walk_with_parents(expr):
        if isinstance(node, (cst.Name, cst.Attribute)) and dotted(node) == key:
            parent = parents[-1] if parents else None
            if isinstance(parent, cst.Attribute) and parent.value is node:
                continue  # `db.query(...)`: a use, not a hand-over
            return True
    return False


def _mentions(expr: cst.CSTNode, key: str, exact: bool = False) -> bool:
    if exact:
        return dotted(expr) == key if isinstance(expr, (cst.Name, cst.Attribute)) else False
    return any(
        isinstance(n, (cst.Name, cst.Attribute)) and dotted(n) == key for n in walk(expr)
    )


def _is_called(func: FunctionInfo, attr: cst.Attribute) -> bool:
    return any(n.func is attr for n in func.of_type(cst.Call))


def _is_catch_all(node: cst.CSTNode) -> bool:
    if not isinstance(node, cst.ExceptHandler):
        return False
    if node.type is None:
        return True
    return dotted(node.type) in ("BaseException", "Exception") and _reraises(node)


def _reraises(handler: cst.ExceptHandler) -> bool:
    return any(isinstance(n, cst.Raise) for n in walk(handler.body))


def handler_reraises(handler: cst.ExceptHandler) -> bool:
    return _reraises(handler)


def is_pytest_fixture(func: FunctionInfo) -> bool:
    from sessionlint.lint_rules.analysis import names as N

    return func.has_decorator(N.PYTEST_FIXTURES, "fixture")


def is_http_middleware(model: ModuleModel, func: FunctionInfo) -> bool:
    """`@app.middleware("http")` functions and `BaseHTTPMiddleware.dispatch` methods."""
    for deco in func.node.decorators:
        expr = deco.decorator
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "middleware":
            return True
    if func.cls is not None and func.name == "dispatch":
        return any(b is not None and b.endswith("BaseHTTPMiddleware") for b in func.cls.bases)
    return False


@dataclass(slots=True)
class SessionRef:
    """A name through which a function reaches a session, and how it got it."""

    key: str
    requires: Reqs
    shared: bool  # a module-level/global session: its state outlives the call


def session_refs(model: ModuleModel, func: FunctionInfo) -> dict[str, SessionRef]:
    """Every name (`db`, `self.session`) that holds a session inside `func`."""
    refs: dict[str, SessionRef] = {}
    for param in func.params:
        reqs = model.session_param(param)
        if reqs is not None:
            refs[param.name.value] = SessionRef(param.name.value, reqs, shared=False)
    for owned in owned_sessions(model, func):
        refs.setdefault(owned.key, SessionRef(owned.key, owned.requires, shared=False))
    for node in func.of_type(cst.With):
        for item in node.items:
            if item.asname is None:
                continue
            key = dotted(item.asname.name)
            reqs = model.session_ctor(item.item, func)
            if reqs is None and isinstance(item.item, cst.Call) and call_name(item.item) == "begin":
                reqs = model.factory(item.item.func.value, func)  # `with SessionLocal.begin() as s`
            if key and reqs is not None:
                refs.setdefault(key, SessionRef(key, reqs, shared=False))
    if func.cls is not None:
        for attr, reqs in class_session_attributes(model, func.cls).items():
            refs.setdefault(f"self.{attr}", SessionRef(f"self.{attr}", reqs, shared=False))
    # Module-level session objects used directly.
    assigned_here = set(func.locals) | {p.name.value for p in func.params}
    for node in func.of_type(cst.Call):
        if isinstance(node.func, cst.Attribute):
            base = node.func.value
            if isinstance(base, cst.Name) and base.value not in refs:
                name = base.value
                if name in assigned_here and name not in func.globals_declared:
                    continue
                reqs = module_session(model, name)
                if reqs is not None:
                    refs[name] = SessionRef(name, reqs, shared=True)
    return refs


def module_session(model: ModuleModel, name: str) -> Reqs | None:
    """Is module-level `name` (defined here or imported) a live session object?"""
    sym = model.symbol(name)
    if sym is None:
        return None
    if sym.kind == "session":
        return sym.requires
    if sym.kind == "alias" and sym.target:
        return model._external("session", sym.target)
    return None


def class_session_attributes(model: ModuleModel, cls) -> dict[str, Reqs]:
    """`attr` -> requirements, for `self.attr` that hold a session in `cls`."""
    if cls.session_attributes is None:
        cls.session_attributes = _class_session_attributes(model, cls)
    return cls.session_attributes


def _class_session_attributes(model: ModuleModel, cls) -> dict[str, Reqs]:
    found: dict[str, Reqs] = {}
    body = cls.node.body.body if isinstance(cls.node.body, cst.IndentedBlock) else []
    for line in body:
        if isinstance(line, cst.SimpleStatementLine):
            for small in line.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    reqs = model.session_annotation(small.annotation.annotation)
                    if reqs is not None:
                        found[small.target.value] = reqs
    for method in cls.methods:
        params = {p.name.value: p for p in method.params}
        for node in method.of_type(cst.Assign):
            if len(node.targets) != 1:
                continue
            target = dotted(node.targets[0].target) or ""
            if not target.startswith("self.") or target.count(".") != 1:
                continue
            attr = target[5:]
            value = node.value
            reqs = None
            if isinstance(value, cst.Name) and value.value in params:
                reqs = model.session_param(params[value.value])
            elif isinstance(value, cst.Call):
                reqs = model.session_ctor(value, method)
            if reqs is not None:
                found.setdefault(attr, reqs)
    return found
