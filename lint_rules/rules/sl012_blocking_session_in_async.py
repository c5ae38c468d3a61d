from __future__ import annotations

from pathlib import PurePath

import libcst as cst
from sessionlint.lint_rules.analysis import lifecycle as L
from sessionlint.lint_rules.analysis import names as N
from sessionlint.lint_rules.analysis import session_kinds as K
from sessionlint.lint_rules.analysis.module import (
    FunctionInfo,
    ModuleModel,
    dotted,
    receiver,
)
from sessionlint.lint_rules.model import Severity
from sessionlint.lint_rules.rule import Rule, RuleReporter

# Methods of a sync Session that talk to the database (and so block the thread).
# `add`, `add_all`, `expunge`, `is_active`, ... only touch the identity map.
BLOCKING_METHODS = frozenset(
    {
        "execute", "scalars", "scalar", "get", "get_one", "query", "commit", "flush",
        "exec", "refresh", "delete", "merge", "rollback", "connection", "bulk_save_objects",
        "bulk_insert_mappings", "bulk_update_mappings",
    }
)


class BlockingSessionInAsync(Rule):
    """## What it does
    Flags database I/O on a synchronous `Session` inside an `async def`: a route
    handler (`@router.get(...) async def ...`) or async dependency that takes a sync
    session (`db: Session = Depends(get_db)`, `Annotated[Session, Depends(...)]`, an
    alias of one, or `Depends(get_db)` on a generator yielding a sync session), or
    any `async def` that creates one (`with SessionLocal() as db:`) or reaches one
    through `self.<attr>`. The finding is at the first un-awaited `.execute()`,
    `.scalars()`, `.scalar()`, `.get()`, `.query()`, `.commit()`, `.flush()`,
    `.exec()`, `.refresh()`, `.delete()`, `.merge()` or `.rollback()` call on it,
    one per session and function: that is the line that blocks, and the line to
    move into a thread.

    ## Why is this bad?
    FastAPI runs `def` handlers in a threadpool but `async def` handlers on the event
    loop itself. A sync session's query blocks the loop thread for its whole
    duration, so every other request of the worker waits, including health checks.
    Nothing raises; the symptom is latency: in a reproduction, ten concurrent
    requests each running a 200 ms query took 2.05 s as `async def` (a concurrent
    `/health` took 2038 ms) and 0.22 s as `def` (`/health`: 4 ms).

    Near-misses (not flagged): `AsyncSession` (from `sqlalchemy.ext.asyncio` or
    `sqlmodel.ext.asyncio.session`; imports are resolved, so sqlmodel's `Session`
    vs `AsyncSession` naming is told apart) and `sessionmaker(class_=AsyncSession)`
    / `async_sessionmaker` sessions; `def` handlers; work wrapped in
    `await run_in_threadpool(...)`, `await asyncio.to_thread(...)`,
    `await anyio.to_thread.run_sync(...)` or a nested `def`; `db.add(...)` alone
    (no I/O); lifespan/startup handlers, pytest fixtures and tests, and scripts
    (a `__main__` guard, no web framework import), where nothing else waits on the
    loop. When the session's type is only known in another file (an imported
    `SessionDep` alias, an unannotated `Depends(get_db)` on an imported
    dependency), the rule stays quiet unless the annotation here names the sync
    `Session` class itself.

    ## Example
    ```python
    @router.get("/report")
    async def report(db: Session = Depends(get_db)):
        return db.execute(text("SELECT slow_report()")).all()
    ```

    ## Use instead
    ```python
    @router.get("/report")
    def report(db: Session = Depends(get_db)):
        return db.execute(text("SELECT slow_report()")).all()
    ```
    or use an `AsyncSession` from `async_sessionmaker` and `await` the call.

    ## Fix safety
    No automatic fix yet (dropping `async` is only safe when the body awaits
    nothing else).
    """

    code = "SL012"
    name = "blocking-session-in-async"
    severity = Severity.WARNING

    def check(self, model: ModuleModel, report: RuleReporter) -> None:
        if _exempt_module(model):
            return
        lifespans = None
        for func in model.functions:
            if not func.is_async:
                continue
            first: dict[str, cst.Call] = {}
            awaited = None
            for call in func.of_type(cst.Call):
                func_expr = call.func
                if not isinstance(func_expr, cst.Attribute) or func_expr.attr.value not in BLOCKING_METHODS:
                    continue
                key = receiver(call)
                if key is None or key in first:
                    continue
                if awaited is None:
                    awaited = {id(a.expression) for a in func.of_type(cst.Await)}
                if id(call) in awaited:
                    continue
                first[key] = call
            if not first:
                continue
            if lifespans is None:
                lifespans = _lifespan_names(model)
            if _exempt_function(model, func, lifespans):
                continue
            refs = L.session_refs(model, func)
            for key, call in first.items():
                ref = refs.get(key)
                if ref is None or K.ref_kind(model, func, key) != K.SYNC:
                    continue
                where = "route handler" if model.is_route(func) else "`async def`"
                report(
                    call,
                    f"`{key}` is a synchronous Session: `{key}.{call.func.attr.value}(...)` in "
                    f"{where} `{func.name}` blocks the event loop (and every other request) for "
                    f"the whole query; make the function a plain `def` (FastAPI runs it in a "
                    f"threadpool), use an AsyncSession, or `await run_in_threadpool(...)`",
                    ref.requires,
                    func.qualname,
                )


def _exempt_module(model: ModuleModel) -> bool:
    name = PurePath(model.path).name
    if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
        return True
    return model.has_main_guard and not model.imports_web_framework


def _lifespan_names(model: ModuleModel) -> set[str]:
    """Functions passed as `lifespan=` somewhere in this module."""
    names: set[str] = set()
    if "lifespan" not in model.source and model.source:
        return names
    for node in model.nodes_of(cst.Arg):
        if node.keyword is not None and node.keyword.value == "lifespan":
            name = dotted(node.value)
            if name:
                names.add(name.rsplit(".", 1)[-1])
    return names


def _exempt_function(model: ModuleModel, func: FunctionInfo, lifespans: set[str]) -> bool:
    """Code that runs while nothing else waits on the loop: startup/shutdown,
    fixtures and tests."""
    if func.name in lifespans or L.is_pytest_fixture(func) or func.name.startswith("test_"):
        return True
    for deco in func.node.decorators:
        expr = deco.decorator
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "on_event":
            return True
    if func.has_decorator(N.CONTEXT_MANAGER_DECORATORS, "asynccontextmanager"):
        # `@asynccontextmanager async def lifespan(app): ...`
        return "lifespan" in func.name or any(
            model.resolve(p.annotation.annotation) in ("fastapi.FastAPI", "starlette.applications.Starlette")
            for p in func.params
            if p.annotation is not None
        )
    return False
