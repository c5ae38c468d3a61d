"""lost-update: the honest control (SL015). NOT a session-scope bug.

Both arms of the sample app (``sample_apps/lost_update``) use a correct Session per
request (``Depends(get_db)``, closed in ``finally``). ``POST /accounts/{id}/deposit
{"amount": n}`` adds n cents to an account that starts at 0: the unsafe arm reads the
balance and writes ``balance + n`` back from Python (read-modify-write), the safe arm
runs ``UPDATE accounts SET balance = balance + :n``. Each account is a counter
(``deposit`` ops) under the key ``"account-<id>"``; the final state is every
account's balance, and the checker's lost-update check (P4, family ``"isolation"``)
compares it with the sum of the acknowledged deposits.

This scenario exists so that nobody concludes per-request sessions are sufficient:
its failure is a transaction-isolation anomaly, and only the isolation family counts
for its verdict.

Staged round (Hermitage's P4 "lost update": r1(x) r2(x) w1(x) c1 w2(x) c2)::

    A: deposit a  -- unsafe: reads the balance x; parks at "before_write"
    B: deposit b  -- unsafe: reads the same x;    parks at "before_write"
    A released    -- unsafe: writes x + a, commits (200)
    B released    -- unsafe: writes x + b over it, commits (200): a is lost

The safe arm parks both before its UPDATE (nothing read, nothing locked yet), then
each UPDATE adds to the balance it finds: x + a + b. B is released only after A has
answered, so neither arm ever waits on a lock the other holds while parked -- no
deadlock and no lock wait on SQLite (pysqlite runs the SELECT outside a transaction,
so B holds no SHARED lock), PostgreSQL (READ COMMITTED: B's later UPDATE simply
overwrites A's committed row) or MariaDB (REPEATABLE READ: B's UPDATE is a "current"
read of A's committed row and overwrites it). So every staged run of the unsafe arm
loses exactly A's amount per round, on every database; the safe arm loses nothing.

Caveat: with ``innodb_snapshot_isolation=ON`` (off on the MariaDB 10.11 we test; the
default in newer MariaDB releases) B's UPDATE fails with error 1020 "Record has changed
since last read" instead of losing A's deposit -- a 500, not a lost update (measured
with the variable set per session); PostgreSQL at SERIALIZABLE fails B likewise with a
serialization failure. The unsafe arm then needs retries it does not have; the safe
arm is unaffected, since it reads nothing before its UPDATE.

Load mode: closed-loop workers deposit random amounts into two hot accounts (so
requests collide), with a few ``/health`` calls.
"""

from __future__ import annotations

import random

from sqlalchemy import text

from ..driver import Driver, Op, Round
from ._common import health, sample_module

NAME = "lost-update"
TITLE = "Lost update (control: not a session-scope bug)"
CODES = ("SL015",)
ARMS = ("unsafe", "safe")
DESCRIPTION = (
    "Not a session-scope bug: both arms use a correct per-request Session (Depends(get_db)). "
    "Read-modify-write deposits (read the balance, add in Python, commit) (unsafe) vs an atomic "
    "UPDATE ... SET balance = balance + :amount (safe). Per-request sessions are necessary but "
    "not sufficient."
)
EXPECTED_FAILURE = (
    "lost updates (P4): every deposit answers 200 but the final balance is short -- an isolation "
    "anomaly that per-request sessions do not prevent, not a session-scope bug"
)
SYMPTOMS: tuple[str, ...] = ()
# What every staged run of the unsafe arm shows, on every database (tests hold it to this).
STAGED_SHOWS = ("lost_update",)
# Only isolation anomalies make up this scenario's failure (checker.ANOMALY_KINDS).
ANOMALY_FAMILIES = ("isolation",)

# The accounts the app opens at startup (ids 1..4, balance 0: the checker's default
# initial value). Load mode uses the first two, so concurrent deposits collide.
ACCOUNTS = (1, 2, 3, 4)
HOT_ACCOUNTS = (1, 2)
HEALTH_SHARE = 0.1


def create_app(arm: str, database_url: str):
    return sample_module("lost_update", arm, "main", ARMS).create_app(database_url)


def metadata(arm: str):
    return sample_module("lost_update", arm, "models", ARMS).Base.metadata


def key_of(account_id: int) -> str:
    return f"account-{account_id}"


def read_final_state(connection) -> dict[str, int]:
    rows = connection.execute(text("SELECT id, balance FROM accounts ORDER BY id")).all()
    return {key_of(int(account_id)): int(balance) for account_id, balance in rows}


def deposit(account_id: int, amount: int) -> Op:
    return Op("deposit", "POST", f"/accounts/{account_id}/deposit", json={"amount": amount},
              key=key_of(account_id), value=amount)


def load_op(rng: random.Random, driver: Driver) -> Op:
    if rng.random() < HEALTH_SHARE:
        return health()
    return deposit(rng.choice(HOT_ACCOUNTS), rng.randint(1, 100))


async def staged_round(r: Round) -> None:
    import anyio

    account = ACCOUNTS[(r.number - 1) % len(ACCOUNTS)]
    # Distinct amounts, so the lost amount names the deposit that was overwritten.
    amount_a, amount_b = r.unique(), r.unique()
    barrier_a = r.arm("A", "before_write")
    barrier_b = r.arm("B", "before_write")
    async with anyio.create_task_group() as tg:
        pending_a = r.start(tg, 0, deposit(account, amount_a), tag=r.tag("A"))
        parked_a = await r.reached(barrier_a, pending_a)
        pending_b = r.start(tg, 1, deposit(account, amount_b), tag=r.tag("B"))
        await r.reached(barrier_b, pending_b)
        # Both have read (unsafe) or are about to write (safe). A writes and
        # commits first; only then does B write. Waiting for A's answer is bounded
        # by the request timeout.
        barrier_a.release()
        if parked_a:
            await pending_a.done.wait()
        barrier_b.release()
