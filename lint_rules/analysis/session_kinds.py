"""Sync or async: which kind of session a name, annotation or factory gives.

`ModuleModel` answers "is this a session?" and treats `Session` and
`AsyncSession` alike.  Rules about the event loop (SL012) need the other half of
the answer: does calling `db.execute(...)` block, or return a coroutine?

Every helper answers `SYNC`, `ASYNC` or `None` ("can't tell from this file").
Only this file's text is consulted: a factory, alias or dependency imported from
another project file is `None`, so a rule that needs `SYNC` stays quiet there
unless an annotation in this file names the session class itself.
"""

from __future__ import annotations

import libcst as cst
from sessionlint.lint_rules.analysis import names as N
from sessionlint.lint_rules.analysis.module import (
    FunctionInfo,
    ModuleModel,
    call_name,
    dotted,
)

SYNC = "sync"
ASYNC = "async"

ASYNC_MAKERS = frozenset(
    {"sqlalchemy.ext.asyncio.async_sessionmaker", "sqlalchemy.ext.asyncio.session.async_sessionmaker"}
)
SYNC_MAKERS = N.SESSION_MAKERS - ASYNC_MAKERS

# Annotations of generators/iterators whose first argument is what they yield.
_YIELDING_GENERICS = frozenset(
    {
        "Generator", "Iterator", "Iterable", "AsyncGenerator", "AsyncIterator", "AsyncIterable",
        "ContextManager", "AsyncContextManager", "AbstractContextManager",
        "AbstractAsyncContextManager",
    }
)

_MAX_DEPTH = 6


def class_kind(qualname: str | None) -> str | None:
    """The kind of a session class given by its qualified name."""
    if qualname in N.ASYNC_SESSION_CLASSES:
        return ASYNC
    if qualname in N.SESSION_CLASSES:
        return SYNC
    return None


def _local_class_kind(model: ModuleModel, name: str, depth: int) -> str | None:
    """A class of this module that subclasses a session class."""
    cls = model.top_classes.get(name)
    if cls is None:
        return None
    for base in cls.bases:
        kind = class_kind(base)
        if kind is not None:
            return kind
        local = model.is_local_qualname(base) if base else None
        if local is not None and local != name and depth < _MAX_DEPTH:
            kind = _local_class_kind(model, local, depth + 1)
            if kind is not None:
                return kind
    return None


# --------------------------------------------------------------------------- annotations
def annotation_kind(model: ModuleModel, ann: cst.BaseExpression | None, depth: int = 0) -> str | None:
    """`Session` -> SYNC, `Annotated[AsyncSession, Depends(...)]` -> ASYNC, a local
    alias of either -> its kind, `Optional[...]`/`X | None` -> the session's kind."""
    if ann is None or depth > _MAX_DEPTH:
        return None
    if isinstance(ann, cst.SimpleString):
        text = ann.evaluated_value if isinstance(ann.evaluated_value, str) else ""
        try:
            return annotation_kind(model, cst.parse_expression(text), depth + 1)
        except cst.ParserSyntaxError:
            return None
    if isinstance(ann, cst.BinaryOperation) and isinstance(ann.operator, cst.BitOr):
        return _one_kind(
            annotation_kind(model, ann.left, depth + 1), annotation_kind(model, ann.right, depth + 1)
        )
    if isinstance(ann, cst.Subscript):
        outer = model.resolve(ann.value)
        elements = [e.slice.value for e in ann.slice if isinstance(e.slice, cst.Index)]
        if not elements:
            return None
        if outer in N.ANNOTATED:
            return annotation_kind(model, elements[0], depth + 1)
        if outer in N.OPTIONAL_WRAPPERS or (outer or "").endswith("Optional"):
            return _one_kind(*(annotation_kind(model, e, depth + 1) for e in elements))
        return None
    qualname = model.resolve(ann)
    kind = class_kind(qualname)
    if kind is not None or qualname is None:
        return kind
    local = model.is_local_qualname(qualname)
    if local is None:
        return None  # imported from another file (or unknown): can't tell here
    if local in model.top_classes:
        return _local_class_kind(model, local, depth + 1)
    value = model.top_values.get(local)
    alias_types = (cst.Subscript, cst.Name, cst.Attribute, cst.BinaryOperation, cst.SimpleString)
    if isinstance(value, alias_types) and dotted(value) != local:
        return annotation_kind(model, value, depth + 1)
    return None


def yielded_annotation_kind(model: ModuleModel, ann: cst.BaseExpression | None) -> str | None:
    """The session kind in `Generator[Session, None, None]`, `AsyncIterator[AsyncSession]`."""
    if not isinstance(ann, cst.Subscript):
        return annotation_kind(model, ann)
    outer = model.resolve(ann.value) or ""
    if outer.rsplit(".", 1)[-1] in _YIELDING_GENERICS:
        for element in ann.slice:
            if isinstance(element.slice, cst.Index):
                return annotation_kind(model, element.slice.value)
        return None
    return annotation_kind(model, ann)


def _one_kind(*kinds: str | None) -> str | None:
    found = {k for k in kinds if k is not None}
    return found.pop() if len(found) == 1 else None


# --------------------------------------------------------------------------- factories
def maker_call_kind(model: ModuleModel, call: cst.Call, depth: int = 0) -> str | None:
    """`async_sessionmaker(...)` -> ASYNC; `sessionmaker(...)` -> its `class_` (SYNC by default)."""
    qualname = model.resolve(call.func)
    if qualname in ASYNC_MAKERS:
        return ASYNC
    if qualname not in SYNC_MAKERS:
        return None
    class_arg = None
    positional = [a for a in call.args if a.keyword is None and not a.star]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "class_":
            class_arg = arg.value
    if class_arg is None and len(positional) >= 2:
        class_arg = positional[1].value  # sessionmaker(bind, class_, ...)
    if class_arg is None:
        return SYNC
    return annotation_kind(model, class_arg, depth + 1)


def factory_kind(
    model: ModuleModel, expr: cst.BaseExpression, func: FunctionInfo | None = None, depth: int = 0
) -> str | None:
    """The kind of session that calling `expr` returns (`SessionLocal`, `Session`,
    `async_sessionmaker(engine)`, a local `def new_session(): return ...`)."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(expr, cst.Call):
        return maker_call_kind(model, expr, depth)
    name = dotted(expr)
    if name is None:
        return None
    if func is not None and "." not in name:
        scope: FunctionInfo | None = func
        while scope is not None:
            if name in scope.locals:
                value = scope.locals[name]
                return maker_call_kind(model, value, depth) if isinstance(value, cst.Call) else None
            for param in scope.params:
                if param.name.value == name:
                    ann = param.annotation.annotation if param.annotation else None
                    return _maker_annotation_kind(model, ann)
            scope = scope.parent
    qualname = model.resolve(expr)
    kind = class_kind(qualname)
    if kind is not None or qualname is None:
        return kind
    local = model.is_local_qualname(qualname)
    if local is None:
        return None
    if local in model.top_classes:
        return _local_class_kind(model, local, depth + 1)
    if local in model.top_defs:
        return function_session_kind(model, model.top_defs[local], depth + 1)
    value = model.top_values.get(local)
    if isinstance(value, cst.Call):
        return maker_call_kind(model, value, depth)
    if isinstance(value, (cst.Name, cst.Attribute)) and dotted(value) != local:
        return factory_kind(model, value, None, depth + 1)
    return None


def _maker_annotation_kind(model: ModuleModel, ann: cst.BaseExpression | None) -> str | None:
    """`async_sessionmaker[...]` -> ASYNC, `sessionmaker[Session]` -> SYNC, bare
    `sessionmaker` -> None (1.4-style code passes `class_=AsyncSession`)."""
    if ann is None:
        return None
    if isinstance(ann, cst.Subscript):
        outer = model.resolve(ann.value)
        if outer in ASYNC_MAKERS:
            return ASYNC
        if outer in SYNC_MAKERS:
            for element in ann.slice:
                if isinstance(element.slice, cst.Index):
                    return annotation_kind(model, element.slice.value)
        return None
    return ASYNC if model.resolve(ann) in ASYNC_MAKERS else None


# --------------------------------------------------------------------------- values
def ctor_kind(model: ModuleModel, expr: cst.BaseExpression, func: FunctionInfo | None) -> str | None:
    """The kind of the session a constructor call creates (`SessionLocal()`,
    `maker.begin()`), else None."""
    if not isinstance(expr, cst.Call):
        return None
    # `with SessionLocal.begin() as s` (a session) -- but not `db.begin()`
    if (
        call_name(expr) == "begin"
        and isinstance(expr.func, cst.Attribute)
        and model.factory(expr.func.value, func) is not None
    ):
        return factory_kind(model, expr.func.value, func)
    if model.factory(expr.func, func) is None:
        return None
    return factory_kind(model, expr.func, func)


def value_kind(model: ModuleModel, expr: cst.BaseExpression, func: FunctionInfo) -> str | None:
    """The kind of a session value in `func`: a constructor call, or a local bound
    to one (`db = SessionLocal()`, `with Session(engine) as db`)."""
    kind = ctor_kind(model, expr, func)
    if kind is not None:
        return kind
    key = dotted(expr)
    return bound_kind(model, func, key) if key else None


def bound_kind(model: ModuleModel, func: FunctionInfo, key: str) -> str | None:
    """The kind of the session `func` binds to `key` by assignment or `with ... as`."""
    for node in func.of_type(cst.Assign, cst.AnnAssign, cst.With):
        if isinstance(node, cst.Assign):
            if node.value is not None and any(dotted(t.target) == key for t in node.targets):
                kind = ctor_kind(model, node.value, func)
                if kind is not None:
                    return kind
        elif isinstance(node, cst.AnnAssign):
            if dotted(node.target) == key:
                kind = ctor_kind(model, node.value, func) if node.value is not None else None
                if kind is None:
                    kind = annotation_kind(model, node.annotation.annotation)
                if kind is not None:
                    return kind
        else:
            for item in node.items:
                if item.asname is not None and dotted(item.asname.name) == key:
                    kind = ctor_kind(model, item.item, func)
                    if kind is not None:
                        return kind
    return None


def function_session_kind(model: ModuleModel, func: FunctionInfo, depth: int = 0) -> str | None:
    """The kind of session a function yields (generator) or returns."""
    if depth > _MAX_DEPTH:
        return None
    nodes = func.of_type(cst.Yield) if func.is_generator else func.of_type(cst.Return)
    for node in nodes:
        value = node.value
        if isinstance(value, cst.BaseExpression):
            kind = value_kind(model, value, func)
            if kind is not None:
                return kind
    returns = func.node.returns.annotation if func.node.returns is not None else None
    if func.is_generator:
        return yielded_annotation_kind(model, returns)
    return annotation_kind(model, returns)


def dependency_kind(model: ModuleModel, target: cst.BaseExpression) -> str | None:
    """The kind of session `Depends(target)` gives, when this file can tell."""
    if model.factory(target) is not None:
        return factory_kind(model, target)
    qualname = model.resolve(target)
    local = model.is_local_qualname(qualname) if qualname else None
    if local is not None and local in model.top_defs:
        return function_session_kind(model, model.top_defs[local])
    return None


def param_kind(model: ModuleModel, param: cst.Param) -> str | None:
    """The kind of a session parameter: what its dependency gives, when this
    file defines the dependency, else what its annotation says."""
    target = model.param_dependency(param)
    if target is not None:
        kind = dependency_kind(model, target)
        if kind is not None:
            return kind
    ann = param.annotation.annotation if param.annotation else None
    return annotation_kind(model, ann)


def class_attribute_kind(model: ModuleModel, cls, attr: str) -> str | None:
    """The kind of `self.<attr>` in class `cls`: its class-body annotation, or the
    parameter / constructor an `__init__`-style method assigns to it."""
    body = cls.node.body.body if isinstance(cls.node.body, cst.IndentedBlock) else []
    for line in body:
        if isinstance(line, cst.SimpleStatementLine):
            for small in line.body:
                if isinstance(small, cst.AnnAssign) and dotted(small.target) == attr:
                    kind = annotation_kind(model, small.annotation.annotation)
                    if kind is not None:
                        return kind
    target_key = f"self.{attr}"
    for method in cls.methods:
        params = {p.name.value: p for p in method.params}
        for node in method.of_type(cst.Assign, cst.AnnAssign):
            targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            if not any(dotted(t) == target_key for t in targets) or node.value is None:
                continue
            value = node.value
            if isinstance(value, cst.Name) and value.value in params:
                kind = param_kind(model, params[value.value])
            else:
                kind = ctor_kind(model, value, method)
            if kind is not None:
                return kind
    return None


def ref_kind(model: ModuleModel, func: FunctionInfo, key: str) -> str | None:
    """The kind of the session a `lifecycle.session_refs` key holds in `func`."""
    for param in func.params:
        if param.name.value == key:
            return param_kind(model, param)
    if key.startswith("self.") and key.count(".") == 1 and func.cls is not None:
        kind = class_attribute_kind(model, func.cls, key[5:])
        if kind is not None:
            return kind
    kind = bound_kind(model, func, key)
    if kind is not None:
        return kind
    if "." not in key and key not in func.locals:
        value = model.top_values.get(key)  # a module-level session
        if isinstance(value, cst.Call):
            return ctor_kind(model, value, None)
    return None


def awaits(kind: str | None) -> bool | None:
    """Whether methods of a session of this kind must be awaited (None: unknown)."""
    return None if kind is None else kind == ASYNC
