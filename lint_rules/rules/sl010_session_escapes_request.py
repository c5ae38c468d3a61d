from __future__ import annotations

import libcst as cst
from sessionlint.lint_rules.analysis import tasks as T
from sessionlint.lint_rules.analysis.module import (
    FunctionInfo,
    ModuleModel,
    call_name,
    dotted,
)
from sessionlint.lint_rules.model import Severity
from sessionlint.lint_rules.rule import Rule, RuleReporter

_THREADS = frozenset({"threading.Thread", "threading.Timer"})
_BACKGROUND_TASK = frozenset(
    {"starlette.background.BackgroundTask", "fastapi.background.BackgroundTask"}
)
# Cheap textual pre-filter: a file without any of these can't escape a session.
_TOKENS = ("add_task", "Thread", "Timer", "submit", "run_in_executor", "BackgroundTask", "create_task", "ensure_future")
_METHODS = frozenset({"add_task", "submit", "run_in_executor"})


class SessionEscapesRequest(Rule):
    """## What it does
    Flags a session handed to work that outlives the function holding it:
    `background_tasks.add_task(fn, ..., db)` (also `db=db`, or a nested function
    that closes over `db`), `BackgroundTask(fn, db)`, `threading.Thread(target=...,
    args=(db,))`/`kwargs={"db": db}`, `executor.submit(fn, db)`,
    `loop.run_in_executor(None, fn, db)` whose future is not awaited, and a
    fire-and-forget `asyncio.create_task(fn(db))`/`ensure_future(...)`: a task that
    the function never awaits, gathers or returns (a bare statement, or kept in a
    module-level set or on `self`).

    ## Why is this bad?
    The request's session belongs to the request: its dependency closes it when the
    request ends. What happens to a task that still holds it depends on the FastAPI
    version and is wrong in every one of them:

    * FastAPI 0.106–0.117 closes yield dependencies *before* background tasks run.
      ORM objects are detached and the closed session silently opens a new
      connection that nobody closes:
      `sqlalchemy.orm.exc.DetachedInstanceError: Instance <User at 0x...> is not
      bound to a Session; attribute refresh operation cannot proceed`
    * FastAPI ≥ 0.118 runs background tasks first: the task works, but the request's
      pooled connection stays checked out for the whole background job, and under
      load `QueuePool limit of size 5 overflow 10 reached, connection timed out`.
    * Threads, executors and un-awaited tasks have no ordering at all: they use the
      session while the request (and its teardown) keeps using it, giving the
      concurrency errors of a shared session (`IllegalStateChangeError: Method
      'close()' can't be called here; method '_connection_for_bind()' is already in
      progress ...`).

    FastAPI's docs: a background task "should be handled separately, with its own
    resources (e.g. its own database connection)".

    Near-misses (not flagged): tasks given ids and the sessionmaker that open their
    own session; `await run_in_threadpool(fn, db)`, `await asyncio.to_thread(fn, db)`,
    `await anyio.to_thread.run_sync(fn, db)` and `await loop.run_in_executor(None, fn,
    db)` (awaited inside the request: the session is used by one thread at a time);
    `executor.submit(fn, db).result()`; `BackgroundTask(db.close)` (deferring the
    close of a streamed response's session); a `create_task` whose task is awaited or
    gathered before the function returns — when two or more such joined tasks share
    the session, that is SL008 (async-session-shared-across-tasks) instead.

    ## Example
    ```python
    @router.post("/signup")
    def signup(tasks: BackgroundTasks, db: Session = Depends(get_db)):
        user = create_user(db)
        tasks.add_task(send_welcome, db, user)
        return {"id": user.id}
    ```

    ## Use instead
    ```python
    def send_welcome(user_id: int) -> None:
        with SessionLocal() as db:
            user = db.get(User, user_id)
            ...


    @router.post("/signup")
    def signup(tasks: BackgroundTasks, db: Session = Depends(get_db)):
        user = create_user(db)
        tasks.add_task(send_welcome, user.id)
        return {"id": user.id}
    ```

    ## Fix safety
    No automatic fix yet: the task has to be rewritten to open (and commit) its own
    session.
    """

    code = "SL010"
    name = "session-escapes-request"
    severity = Severity.ERROR

    def check(self, model: ModuleModel, report: RuleReporter) -> None:
        source = model.source
        if source and not any(t in source for t in _TOKENS):
            return
        for func in model.functions:
            calls = [c for c in func.of_type(cst.Call) if _candidate(c)]
            spawns = T.may_spawn(func)
            if not calls and not spawns:
                continue
            refs = T.visible_session_refs(model, func)
            if not refs:
                continue
            nested = T.nested_functions(model, func)

            if spawns:
                for spawn in T.task_facts(model, func).spawns:
                    if not spawn.forgotten:
                        continue
                    keys = [k for k in refs if T.uses(spawn.children, k, nested)]
                    if keys:
                        message = (
                            f"Session `{keys[0]}` is used by a fire-and-forget task "
                            f"(`{dotted(spawn.call.func) or 'create_task'}`) that nothing awaits: it "
                            f"runs on after the request's session is closed, or alongside its other "
                            f"uses (IllegalStateChangeError); await the task, or pass ids and open a "
                            f"session inside it"
                        )
                        requires = refs[keys[0]].requires
                        report(spawn.call, message, requires, func.qualname)
            for call in calls:
                kind = _escape_kind(model, call)
                if kind is None:
                    continue
                if kind == "executor" and _joined_in_place(func, call):
                    continue
                args = [a.value for a in call.args]
                keys = [k for k in refs if T.uses(args, k, nested)]
                if not keys:
                    continue
                key = keys[0]
                what = dotted(call.func) or "..."
                if kind == "background":
                    message = (
                        f"Session `{key}` is passed to a background task (`{what}`), which runs "
                        f"after the response: the request's session is closed by then (FastAPI "
                        f"0.106–0.117: DetachedInstanceError) or holds its connection for the whole "
                        f"task (≥ 0.118); pass ids and open a session inside the task"
                    )
                else:
                    message = (
                        f"Session `{key}` is handed to another thread (`{what}`) that runs alongside "
                        f"the rest of the request and its teardown; a session is not thread-safe "
                        f"(IllegalStateChangeError); pass ids and the sessionmaker, and open a "
                        f"session in the thread"
                    )
                report(call, message, refs[key].requires, func.qualname)


def _candidate(call: cst.Call) -> bool:
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value in _METHODS or func.attr.value in ("Thread", "Timer", "BackgroundTask")
    return isinstance(func, cst.Name) and func.value in ("Thread", "Timer", "BackgroundTask")


def _escape_kind(model: ModuleModel, call: cst.Call) -> str | None:
    name = call_name(call)
    if name == "add_task":
        return "background"
    if name in ("submit", "run_in_executor"):
        return "executor"
    qualname = model.resolve(call.func)
    if qualname in _THREADS:
        return "thread"
    if qualname in _BACKGROUND_TASK:
        return "background"
    return None


def _joined_in_place(func: FunctionInfo, call: cst.Call) -> bool:
    """`await loop.run_in_executor(...)`, `await asyncio.wrap_future(ex.submit(...))`,
    `ex.submit(...).result()`: the caller waits for the thread right there."""
    for node in func.of_type(cst.Await):
        expr = node.expression
        if expr is call:
            return True
        if isinstance(expr, cst.Call) and any(arg.value is call for arg in expr.args):
            return True  # wrap_future / wait_for / shield
    for node in func.calls("result"):
        if isinstance(node.func, cst.Attribute) and node.func.value is call:
            return True
    return False
