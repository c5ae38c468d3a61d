"""scoped-async: a thread-scoped session registry in ``async def`` routes (SL009) vs per request.

The sample app (``sample_apps/scoped_async``) is an async item store:
``POST /items {"value": v}`` adds v (201), ``POST /items {"value": v, "reject":
true}`` flushes v and rolls back (409), ``GET /items`` lists every value, and
``GET /whoami`` answers a number identifying the session that served it. Items
form one append-only set under the key ``"items"``. The unsafe arm's ``get_db``
hands out ``async_scoped_session(..., scopefunc=threading.get_ident)()`` and awaits
``remove()`` in ``finally``; every async request runs on the event loop's thread,
so every request in flight gets the same session.

Staged round (three Hermitage-style steps; only one request is ever parked, and it
holds no database lock while parked, so nothing in the safe arm waits)::

    A:  POST reject a   -- add(a), parks at checkpoint "after_add" (not flushed yet)
    B:  GET /items      -- unsafe: same session; the query autoflushes A's a and
                           sees it (aborted read, G1a); B's remove() then closes
                           the session, rolling a back
    A released          -- 409
    A2: POST append a2  -- add(a2), parks at "after_add"
    R:  POST reject r   -- unsafe: same session; its flush sends a2 too and its
                           rollback discards both; its remove() closes the session
    A2 released         -- unsafe: flush and commit find nothing to do, yet answer
                           201: a2 is an acknowledged write that was lost
    W1: GET /whoami     -- takes its session's number, parks at "whoami"
    W2: GET /whoami     -- answers while W1 is in flight: unsafe, the same number
    W1 released         -- answers: two overlapping requests, one session (I8)

So every unsafe round shows an aborted read, a lost write and a shared session;
the safe arm, whose requests each have their own session, shows none. No step
depends on timing: each waits for the previous request's answer or barrier.
"""

from __future__ import annotations

import random

from ..driver import Driver, Op, Round
from ._items import append, read, reject
from ._items import read_final_state  # noqa: F401 -- part of this scenario's interface
from ._common import async_url, pick, sample_module

NAME = "scoped-async"
TITLE = "Thread-scoped session in async routes"
CODES = ("SL009",)
ARMS = ("unsafe", "safe")
DESCRIPTION = (
    "async_scoped_session keyed by thread, removed at the end of each request (unsafe), "
    "vs a new AsyncSession per request from a yield dependency (safe)."
)
EXPECTED_FAILURE = "overlapping requests sharing one session, aborted reads and lost writes"
SYMPTOMS = ("shared_sessions", "server_errors")
STAGED_SHOWS = ("aborted_read", "lost_write", "shared_sessions")
ANOMALY_FAMILIES = ("session", "integrity")

PAIR = "scoped_async"
# Load mode's mix: reads, appends, appends the app rolls back, and session probes.
MIX = (("read", 0.35), ("append", 0.35), ("reject", 0.1), ("whoami", 0.2))


def create_app(arm: str, database_url: str):
    # The harness provisions a sync URL; the app runs on the async driver of the same database.
    return sample_module(PAIR, arm, "main").create_app(async_url(database_url))


def metadata(arm: str):
    return sample_module(PAIR, arm, "models").Base.metadata


def _session(body) -> int:
    return int(body["session"])


def whoami() -> Op:
    """Which session served the request (harness.symptoms.session_identity_overlaps reads these)."""
    return Op("whoami", "GET", "/whoami", observe=_session)


def load_op(rng: random.Random, driver: Driver) -> Op:
    kind = pick(rng, MIX)
    if kind == "read":
        return read()
    if kind == "whoami":
        return whoami()
    value = driver.unique()
    return append(value) if kind == "append" else reject(value)


async def _while_parked(r: Round, index: int, op: Op, checkpoint: str, during) -> None:
    """Send `op` as process `index`, park it at `checkpoint`, run `during()`, then let it finish."""
    import anyio

    tag = r.tag(f"P{index}")
    barrier = r.arm(f"P{index}", checkpoint)
    async with anyio.create_task_group() as tg:
        pending = r.start(tg, index, op, tag=tag)
        await r.reached(barrier, pending)
        try:
            await during()
        finally:
            barrier.release()


async def staged_round(r: Round) -> None:
    # 1. G1a: B reads while A's rejected value sits in A's session, unflushed.
    await _while_parked(r, 0, reject(r.unique()), "after_add", lambda: r.call(1, read()))
    # 2. Lost write: R's rollback, on the session A2 is parked in, discards A2's value.
    await _while_parked(r, 2, append(r.unique()), "after_add", lambda: r.call(3, reject(r.unique())))
    # 3. I8: two whoami requests in flight at once.
    await _while_parked(r, 4, whoami(), "whoami", lambda: r.call(5, whoami()))
