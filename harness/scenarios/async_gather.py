"""async-gather: one AsyncSession shared by ``asyncio.gather`` tasks (SL008) vs a session per task.

The sample app (``sample_apps/async_gather``) is a deposit ledger:
``POST /accounts/{account}/deposits {"amounts": [...]}`` records every amount of the
batch concurrently -- ``asyncio.gather`` over a service function that adds one
deposit and commits -- and ``GET /accounts/{account}`` answers the balance (the sum
of the account's deposits). Each account is a counter key; a batch is recorded as a
``deposit`` of the batch's total, so the checker holds the final balances to the
acknowledged batches (no lost or phantom deposits).

Staged round::

    A: POST /accounts/<k>/deposits [1, 2, 3]
         gather starts three tasks at once. Task 1 awaits the database inside
         commit() (aiosqlite, asyncpg and aiomysql all suspend there); the event
         loop then runs task 2, which was scheduled before task 1 even started:
         unsafe: task 2 calls commit() on the same AsyncSession while task 1's is
                 in progress -> IllegalStateChangeError (and the dependency's
                 close() fails the same way): 500, the session's connection is
                 left checked out;
         safe:   each task has its own session and connection: 201
    B: GET /accounts/<k>         -- the balance, through a per-request session
    H: GET /health

No barrier is needed, and none could help: the race is inside one request, and
the event loop's FIFO order makes it certain -- the second task always runs while
the first is parked inside ``commit()``. SQLAlchemy's state check fires before any
SQL, so the error is the same on SQLite, PostgreSQL and MariaDB. (Read-only gathers
on a warm aiosqlite pool can pass -- aiosqlite serialises a connection's calls --
which is why the batch writes and commits.)
"""

from __future__ import annotations

import random

from sqlalchemy import text

from ..driver import Driver, Op, Round
from ._common import async_url, health, pick, sample_module

NAME = "async-gather"
TITLE = "AsyncSession shared by gathered tasks"
CODES = ("SL008",)
ARMS = ("unsafe", "safe")
DESCRIPTION = (
    "A batch of deposits recorded by asyncio.gather tasks that all use the request's one "
    "AsyncSession (unsafe) vs tasks that each open their own session from the "
    "async_sessionmaker (safe)."
)
EXPECTED_FAILURE = "server errors (IllegalStateChangeError) from concurrent use of one AsyncSession"
# Connections a failed batch leaves checked out are part of the same failure.
SYMPTOMS = ("server_errors", "held_connections")
# Garbage collection may hand some leaked connections back before the probe, so
# only the 500s are certain.
STAGED_SHOWS = ("server_errors",)
ANOMALY_FAMILIES = ("session", "integrity")

PAIR = "async_gather"
ACCOUNTS = ("alice", "bob", "carol")
STAGED_BATCH = (1, 2, 3)
# Load mode's mix: batches (one to three deposits), balance reads, health checks.
MIX = (("deposit", 0.7), ("balance", 0.2), ("health", 0.1))


def create_app(arm: str, database_url: str):
    # The harness provisions a sync URL; the app runs on the async driver of the same database.
    return sample_module(PAIR, arm, "main").create_app(async_url(database_url))


def metadata(arm: str):
    return sample_module(PAIR, arm, "models").Base.metadata


def read_final_state(connection) -> dict[str, int]:
    rows = connection.execute(text("SELECT account, SUM(amount) FROM deposits GROUP BY account")).all()
    # SUM is NUMERIC on PostgreSQL and DECIMAL on MariaDB: the checker wants ints.
    return {account: int(total) for account, total in rows}


def _balance(body) -> int:
    return int(body["balance"])


def deposit(account: str, amounts: list[int]) -> Op:
    return Op("deposit", "POST", f"/accounts/{account}/deposits", json={"amounts": list(amounts)},
              key=account, value=sum(amounts))


def balance(account: str) -> Op:
    return Op("balance", "GET", f"/accounts/{account}", key=account, observe=_balance)


def load_op(rng: random.Random, driver: Driver) -> Op:
    kind = pick(rng, MIX)
    account = rng.choice(ACCOUNTS)
    if kind == "deposit":
        return deposit(account, [rng.randint(1, 9) for _ in range(rng.randint(1, 3))])
    return balance(account) if kind == "balance" else health()


async def staged_round(r: Round) -> None:
    account = ACCOUNTS[(r.number - 1) % len(ACCOUNTS)]
    await r.call(0, deposit(account, list(STAGED_BATCH)))
    await r.call(1, balance(account))
    await r.call(2, health())
