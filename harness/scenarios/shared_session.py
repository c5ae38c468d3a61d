"""shared-session: one module-level Session for every request (SL001/SL002) vs ``Depends(get_db)``.

The sample app (``sample_apps/shared_session``) stores unique integer values:
``POST /items {"value": v}`` appends v (201), ``POST /items {"value": v, "reject":
true}`` flushes v and then rolls back (409), ``GET /items`` lists every value. All
items form one append-only set, recorded under the single key ``"items"``.

Staged round (Hermitage's G1a, then the shared session's "ghost write")::

    A: POST reject a   -- flushes a, parks at checkpoint "after_flush"
    B: GET /items      -- unsafe: same Session, same transaction: sees a (aborted read)
    C: POST append c   -- unsafe: commits the shared transaction, a included;
                          safe: waits for A's write lock on SQLite ("BLOCKS"), fine
    A released         -- rolls back (409): unsafe: nothing left to roll back, a persists

So every round of the unsafe arm shows an aborted read (G1a) and an aborted write
that persisted; the safe arm shows neither, on every database.
"""

from __future__ import annotations

import random

from ..driver import Driver, Op, Round
from ._common import pick, sample_module
from ._items import append, read, reject
from ._items import read_final_state  # noqa: F401 -- part of this scenario's interface

NAME = "shared-session"
TITLE = "Shared session"
CODES = ("SL001", "SL002")
ARMS = ("unsafe", "safe")
DESCRIPTION = (
    "One module-level Session used by every request (unsafe) vs a Session per request "
    "from a Depends(get_db) yield dependency (safe)."
)
EXPECTED_FAILURE = "aborted reads (G1a) and/or aborted writes that persisted"
SYMPTOMS = ("server_errors",)
# What every staged run of the unsafe arm shows, on every database (tests hold it to this).
STAGED_SHOWS = ("aborted_read", "aborted_write_persisted")
# Anomaly families that count for the verdict (checker.ANOMALY_KINDS): session-scope
# bugs and data integrity; isolation anomalies (lost update) are another scenario's.
ANOMALY_FAMILIES = ("session", "integrity")

# Load mode's mix: reads, appends, and appends the app rolls back (409).
MIX = (("read", 0.40), ("append", 0.45), ("reject", 0.15))


def create_app(arm: str, database_url: str):
    return sample_module("shared_session", arm, "main", ARMS).create_app(database_url)


def metadata(arm: str):
    return sample_module("shared_session", arm, "models", ARMS).Base.metadata


def load_op(rng: random.Random, driver: Driver) -> Op:
    kind = pick(rng, MIX)
    if kind == "read":
        return read()
    value = driver.unique()
    return append(value) if kind == "append" else reject(value)


async def staged_round(r: Round) -> None:
    import anyio

    a, c = r.unique(), r.unique()
    tag_a = r.tag("A")
    barrier = r.arm("A", "after_flush")
    async with anyio.create_task_group() as tg:
        pending_a = r.start(tg, 0, reject(a), tag=tag_a)
        parked = await r.reached(barrier, pending_a)
        # B reads while A is parked between its flush and its rollback.
        await r.call(1, read())
        if parked:
            # C writes and commits. In the safe arm on SQLite it waits for A's write
            # lock, so give it a bounded window, then let A go either way.
            pending_c = r.start(tg, 2, append(c))
            await r.settle(pending_c)
        else:
            await r.call(2, append(c))
        barrier.release()
