"""Is a session (or the factory that makes it) an AsyncSession?

Fixes need it to decide between `db.close()` and `await db.close()`.  `None`
means the model cannot tell (the factory lives in another module).
"""

from __future__ import annotations

import libcst as cst

from sessionlint.lint_rules.analysis import names as N
from sessionlint.lint_rules.analysis.module import ModuleModel

_ASYNC_MAKERS = frozenset(
    {"sqlalchemy.ext.asyncio.async_sessionmaker", "sqlalchemy.ext.asyncio.session.async_sessionmaker"}
)


def factory_is_async(model: ModuleModel, func_expr: cst.BaseExpression) -> bool | None:
    qualname = model.resolve(func_expr)
    if qualname in N.ASYNC_SESSION_CLASSES or qualname in _ASYNC_MAKERS:
        return True
    if qualname in N.SESSION_CLASSES:
        return False
    if isinstance(func_expr, cst.Call):  # sessionmaker(...)() in place
        return _maker_call_is_async(model, func_expr)
    local = model.is_local_qualname(qualname or "")
    if local is not None and local in model.top_values:
        value = model.top_values[local]
        if isinstance(value, cst.Call):
            return _maker_call_is_async(model, value)
    return None


def _maker_call_is_async(model: ModuleModel, call: cst.Call) -> bool | None:
    maker = model.resolve(call.func)
    if maker in _ASYNC_MAKERS:
        return True
    if maker in N.SESSION_MAKERS:
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "class_":
                return model.resolve(arg.value) in N.ASYNC_SESSION_CLASSES
        return False
    return None


def annotation_is_async(model: ModuleModel, ann: cst.BaseExpression | None) -> bool | None:
    """`AsyncSession`, `Annotated[AsyncSession, ...]`, `Optional[AsyncSession]`..."""
    if ann is None:
        return None
    if isinstance(ann, cst.Subscript):
        elements = [e.slice.value for e in ann.slice if isinstance(e.slice, cst.Index)]
        for element in elements[:1] if model.resolve(ann.value) in N.ANNOTATED else elements:
            found = annotation_is_async(model, element)
            if found is not None:
                return found
        return None
    qualname = model.resolve(ann)
    if qualname in N.ASYNC_SESSION_CLASSES:
        return True
    if qualname in N.SESSION_CLASSES:
        return False
    local = model.is_local_qualname(qualname or "")
    if local is not None and local in model.top_values:
        return annotation_is_async(model, model.top_values[local])
    return None
