from __future__ import annotations

from sessionlint.lint_rules.analysis import lifecycle as L
from sessionlint.lint_rules.analysis import slow_io
from sessionlint.lint_rules.analysis.module import ModuleModel, call_name
from sessionlint.lint_rules.analysis.transactions import TransactionMap
from sessionlint.lint_rules.model import Severity
from sessionlint.lint_rules.rule import Rule, RuleReporter


class TransactionHeldAcrossIo(Rule):
    """## What it does
    Flags a slow call that is not a database call — an HTTP request (`httpx`,
    `aiohttp`, `requests`, `urllib.request.urlopen`), a sleep (`time.sleep`,
    `await asyncio.sleep(...)`), `smtplib.SMTP(...)`, `subprocess.run(...)` —
    made while the function's session has a transaction open: after a statement
    that checks out a connection (`execute`, `scalars`, `get`, `query`, `flush`,
    ..., awaited or not) and before `commit()`/`rollback()`/`close()` or the end
    of a `with session.begin():` / `with SessionLocal() as session:` block.

    `add()` alone does not count: it only marks the object pending, and no
    connection is checked out until the flush.

    ## Why is this bad?
    The session's first statement checks a connection out of the pool and opens a
    transaction. While the code waits for the payment provider, the mail server or
    a `sleep`, that connection sits "idle in transaction" (PostgreSQL's
    `pg_stat_activity`): its row locks block other writers, its snapshot goes
    stale, and it holds one of the pool's few slots. A slow upstream then turns
    into database trouble:

    ```
    sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached,
    connection timed out, timeout 30.00
    IdleInTransactionSessionTimeout: terminating connection due to idle-in-transaction timeout
    (sqlite3.OperationalError) database is locked
    ```

    ## Example
    ```python
    @router.post("/orders/{order_id}/charge")
    async def charge(order_id: int, db: AsyncSession = Depends(get_db)):
        order = await db.get(Order, order_id)  # transaction open
        result = await payments.post("/charges", json={"amount": order.total})
        order.status = result.json()["status"]
        await db.commit()
    ```

    ## Use instead
    ```python
    @router.post("/orders/{order_id}/charge")
    async def charge(order_id: int, db: AsyncSession = Depends(get_db)):
        order = await db.get(Order, order_id)
        amount = order.total
        await db.commit()  # release the connection before the slow call
        result = await payments.post("/charges", json={"amount": amount})
        order.status = result.json()["status"]
        await db.commit()
    ```

    (With `expire_on_commit=False`, or by reading what you need before the
    commit.) Alternatively do the I/O before the first query, or move it to a
    background task.

    ## Fix safety
    No automatic fix: moving a commit changes which writes are atomic together,
    and moving the I/O changes what it can see.
    """

    code = "SL016"
    name = "transaction-held-across-io"
    severity = Severity.WARNING

    def check(self, model: ModuleModel, report: RuleReporter) -> None:
        if not slow_io.may_have_slow_calls(model):
            return
        clients_possible = slow_io.may_have_clients(model)
        for func in model.functions:
            slow = slow_io.slow_calls(model, func, clients_possible)
            if not slow:
                continue
            refs = L.session_refs(model, func)
            if not refs:
                continue
            transactions = TransactionMap(model, func, refs, [s.node for s in slow])
            if not transactions.events:
                continue
            for call in slow:
                held_all = transactions.open_at(call.node)
                if not held_all:
                    continue
                # Prefer a session known here over one that depends on another file.
                held = min(held_all, key=lambda h: len(refs[h.key].requires))
                opener = f"`{held.key}.{call_name(held.opener)}(...)`"
                report(
                    call.node,
                    f"{call.what} runs while `{held.key}` has a transaction open (since {opener}): the "
                    f"connection sits idle in transaction, holding its locks and a pool slot, for as long "
                    f"as the call takes; commit (or finish with the session) before the slow call, or "
                    f"make it before the first query",
                    refs[held.key].requires,
                    func.qualname,
                )
