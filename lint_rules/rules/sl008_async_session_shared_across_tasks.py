from __future__ import annotations

import libcst as cst
from sessionlint.lint_rules.analysis import tasks as T
from sessionlint.lint_rules.analysis.module import ModuleModel, dotted
from sessionlint.lint_rules.model import Severity
from sessionlint.lint_rules.rule import Rule, RuleReporter


class AsyncSessionSharedAcrossTasks(Rule):
    """## What it does
    Flags one session used by two or more tasks that run at the same time:
    `asyncio.gather(...)`, `asyncio.wait([...])`/`as_completed`, tasks made with
    `asyncio.create_task`/`ensure_future` and awaited later, `TaskGroup.create_task`
    and anyio's `tg.start_soon(...)` — when two or more of the children call methods
    on the same session (`gather(db.get(A, 1), db.get(B, 2))`) or are passed it
    (`gather(load_users(db), load_orders(db))`). One call site that starts many
    children (a `create_task` in a `for` loop, `gather(*(f(db, x) for x in xs))`)
    counts as two or more. Closures count too: `gather(work(1), work(2))` where the
    nested `work` uses the enclosing function's `db`.

    ## Why is this bad?
    An `AsyncSession` "is only a thin proxy on top of a Session, and the same rules
    apply; it is an unsynchronized, mutable, stateful object": SQLAlchemy's model is
    "AsyncSession per task". Tasks interleave at every `await`, so two of them run
    SQL on the same connection and transaction at once. SQLAlchemy 2.0 detects some
    of this; the rest surfaces as driver errors or lost writes:

    ```
    sqlalchemy.exc.InvalidRequestError: This session is provisioning a new
    connection; concurrent operations are not permitted
    sqlalchemy.exc.IllegalStateChangeError: Method 'commit()' can't be called here;
    method '_prepare_impl()' is already in progress ...
    asyncpg.exceptions._base.InterfaceError: cannot perform operation: another
    operation is in progress
    ```

    On aiosqlite, read-only gathers on a warm pool often pass (aiosqlite serialises
    calls on one connection), so tests on SQLite can hide the bug. A sync `Session`
    shared by `asyncio.to_thread(...)` children is flagged as well: that is two
    threads on one session.

    Near-misses (not flagged): passing the *sessionmaker* and opening
    `async with maker() as session:` inside each task (the fix); gathers where only
    one child touches the session; tasks awaited one at a time; different sessions
    per child. A task that nobody awaits (`asyncio.create_task(audit(db))` as a
    statement, or added to a module-level set) outlives the function: that is
    SL010 (session-escapes-request), not this rule, even in a loop. Not detected:
    the parent itself using the session while a single child task does
    (`t = create_task(f(db)); await db.commit(); await t`), and sessions reached
    only through another object (`gather(repo.get(1), repo.get(2))`).

    ## Example
    ```python
    @router.get("/dashboard")
    async def dashboard(db: AsyncSession = Depends(get_db)):
        users, orders = await asyncio.gather(
            db.scalars(select(User)),
            db.scalars(select(Order)),
        )
    ```

    ## Use instead
    ```python
    async def scalars_all(maker: async_sessionmaker[AsyncSession], stmt):
        async with maker() as session:
            return (await session.scalars(stmt)).all()


    @router.get("/dashboard")
    async def dashboard():
        users, orders = await asyncio.gather(
            scalars_all(AsyncSessionLocal, select(User)),
            scalars_all(AsyncSessionLocal, select(Order)),
        )
    ```
    (or simply await the two queries one after the other on the request's session).

    ## Fix safety
    No automatic fix yet: each task needs its own session and transaction, which
    changes what the tasks see of each other's uncommitted work.
    """

    code = "SL008"
    name = "async-session-shared-across-tasks"
    severity = Severity.ERROR

    def check(self, model: ModuleModel, report: RuleReporter) -> None:
        source = model.source
        if source and not any(t in source for t in T.SPAWN_NAMES):
            return
        for func in model.functions:
            if not T.may_spawn(func):
                continue
            refs = T.visible_session_refs(model, func)
            if not refs:
                continue
            facts = T.task_facts(model, func)
            if not facts.batches:
                continue
            nested = T.nested_functions(model, func)
            # node id -> (where to report, the shared sessions, started many at once?)
            found: dict[int, tuple[cst.CSTNode, list[str], bool]] = {}
            for batch in facts.batches:
                ordered = sorted(batch, key=lambda c: facts.order.get(id(c.node), 0))
                for key in refs:
                    total = 0
                    for child in ordered:
                        if not T.child_uses(child, key, nested):
                            continue
                        total += child.weight
                        if total >= 2:
                            node, keys, many = found.get(id(child.node), (child.node, [], False))
                            found[id(child.node)] = (node, keys + [key], many or child.weight > 1)
                            break
            for node, keys, many in found.values():
                key = keys[0]
                what = dotted(node.func) if isinstance(node, cst.Call) else None
                where = f" (`{what}(...)`)" if what else ""
                count = "many tasks" if many else "two or more tasks"
                message = (
                    f"Session `{key}` is used by {count} running concurrently{where}; a session "
                    f"can't be shared between tasks (IllegalStateChangeError, 'concurrent operations "
                    f"are not permitted'); open one per task from the sessionmaker "
                    f"(`async with maker() as session:`) or await the queries one by one"
                )
                report(node, message, refs[key].requires, func.qualname)

