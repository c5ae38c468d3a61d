"""leaked-session: sessions nobody closes (SL003/SL004/SL005) vs ``with`` / ``try/finally``.

The sample app (``sample_apps/leaked_session``) stores unique integer values on a
pool of 3 connections (no overflow, 1 s timeout). Its unsafe arm leaks a Session
on three routes, one per rule:

* ``GET /items`` -- its dependency *returns* the Session (SL005): leaks every time;
* ``POST /items {"value": v, "reject": true}`` -- refused with 409 after a SELECT;
  the yield dependency's ``close()`` is not in ``finally`` (SL004), so the error
  path skips it;
* ``GET /stats`` -- a Session opened in the route and never closed (SL003).

A leaked Session is *not* freed by reference counting: it and its
SessionTransaction refer to each other, so its connection stays checked out until
the cyclic garbage collector frees the cycle (measured: ``pool.checkedout()`` stays
1 after the last reference goes and drops to 0 at ``gc.collect()``, whose weakref
callback ``_finalize_fairy`` checks the connection back in). When that happens
depends on the collector:

* a Session still in a young generation is freed by the next young collection,
  which a busy server runs every few requests (unstaged, the same round leaked on
  some runs and got its connections back mid-round on others);
* a Session that was alive during a young collection -- any request in flight
  while other requests allocate -- is promoted to the oldest generation, which
  CPython collects only once it has grown by a quarter since the last full
  collection: minutes to hours in a steady server. Those leaks are the ones that
  drain a real pool, and the round makes every leak one of them.

Staged round::

    (round 1)           -- gc.collect(): a settled heap, as in a server that has
                           been up a while (start-up's full collections are over;
                           the next is ~20,000 objects away, a run adds ~2,000)
    L1 GET /items, L2 POST reject, L3 GET /stats  -- concurrently; each parks at
                           "after_query" holding its session's connection (3 = pool)
    gc.collect(1)       -- the young collection a busy server would have run by
                           now: the three live sessions move to the oldest generation
    release L1..L3      -- 200, 409, 200. unsafe: three connections stay checked out
    V  POST /items v    -- unsafe: waits 1 s for a connection, then 500 "QueuePool
                           limit of size 3 overflow 0 reached, connection timed out";
                           safe: 201

From round 2 on the unsafe arm's pool is still empty: L1..L3 time out before they
reach the checkpoint, and the round ends there (V would only wait 1 s more to show
the same). After the run the unsafe arm still has all 3 connections checked out
(on PostgreSQL and MariaDB also 3 transactions idle in transaction); the safe arm
has none. ``probe`` reports the unclosed Connection objects still alive (one per
leaked session) and the collections since the heap was settled (gen2 stays 0).
"""

from __future__ import annotations

import gc
import random

from ..driver import Driver, Op, Round
from ._items import append, read, reject
from ._items import read_final_state  # noqa: F401 -- part of this scenario's interface
from ._common import health, pick, sample_module

NAME = "leaked-session"
TITLE = "Leaked sessions"
CODES = ("SL003", "SL004", "SL005")
ARMS = ("unsafe", "safe")
PAIR = "leaked_session"
DESCRIPTION = (
    "Sessions never closed (SL003), closed after `yield` but not in `finally` (SL004) and "
    "returned from a dependency (SL005) (unsafe) vs `with` blocks and try/finally (safe), "
    "on a pool of 3 connections with a 1 s timeout."
)
EXPECTED_FAILURE = "pool exhaustion: requests time out waiting for a connection that leaked sessions still hold"
SYMPTOMS = ("pool_timeouts", "held_connections", "server_errors", "idle_in_transaction")
# What every staged run of the unsafe arm shows, on every database (tests hold it to this).
# idle_in_transaction shows on PostgreSQL and MariaDB only (SQLite has no server to ask).
STAGED_SHOWS = ("pool_timeouts", "held_connections", "server_errors")
ANOMALY_FAMILIES = ("session", "integrity")

# Load mode's mix: each leaking route, healthy writes, and the unrelated route.
MIX = (("read", 0.25), ("append", 0.30), ("reject", 0.15), ("stats", 0.15), ("health", 0.15))

# gc.get_stats() when the run started (app built; staged: heap settled), for the probe.
_gc_at_start: list[dict] = []


def create_app(arm: str, database_url: str):
    _gc_at_start[:] = gc.get_stats()
    return sample_module(PAIR, arm, "main", ARMS).create_app(database_url)


def metadata(arm: str):
    return sample_module(PAIR, arm, "models", ARMS).Base.metadata


def stats() -> Op:
    """GET /stats: a session opened in the route (SL003 in the unsafe arm)."""
    return Op("stats", "GET", "/stats")


def load_op(rng: random.Random, driver: Driver) -> Op:
    kind = pick(rng, MIX)
    if kind == "read":
        return read()
    if kind == "stats":
        return stats()
    if kind == "health":
        return health()
    value = driver.unique()
    return append(value) if kind == "append" else reject(value)


async def staged_round(r: Round) -> None:
    import anyio

    if r.number == 1:
        # Start from a settled heap, as a server that has been up a while does: the
        # full collections of start-up (imports, first connects) are behind it, and
        # the next one is due only when the heap has grown by a quarter (~20,000
        # objects here; a staged run promotes about 2,000).
        gc.collect()
        _gc_at_start[:] = gc.get_stats()
    leaks = {"L1": read(), "L2": reject(r.unique()), "L3": stats()}
    barriers = []
    parked = 0
    async with anyio.create_task_group() as tg:
        for index, (name, op) in enumerate(leaks.items()):
            barrier = r.arm(name, "after_query")
            pending = r.start(tg, index, op, tag=r.tag(name))
            barriers.append((barrier, pending))
        try:
            for barrier, pending in barriers:
                parked += await r.reached(barrier, pending)
            # Every leaking request is in flight and holds its session: collect the
            # young generations, as a busy server would have by now (see above).
            gc.collect(1)
        finally:
            for barrier, _ in barriers:
                barrier.release()
    if parked == 0:
        # None of the three got a connection: earlier rounds' leaks still hold the
        # whole pool, and these three timed out proving it. A healthy write would
        # only wait another pool_timeout to show the same.
        return
    # All three have answered. A healthy write needs a connection of its own.
    await r.call(len(leaks), append(r.unique()))


def probe(app) -> dict:
    """Connections still held by sessions at quiescence, and the collector's work during the run."""
    from sqlalchemy.engine import Connection

    engine = app.state.engine
    # A leaked Session reaches its pooled connection through an open Connection
    # object; closed sessions leave none behind.
    held = sum(1 for obj in gc.get_objects()
               if isinstance(obj, Connection) and obj.engine is engine and _is_open(obj))
    now = gc.get_stats()
    collections = {f"gen{g}": now[g]["collections"] - (_gc_at_start[g]["collections"] if _gc_at_start else 0)
                   for g in range(len(now))}
    return {"unclosed_connection_objects": held, "gc_collections_during_run": collections}


def _is_open(connection) -> bool:
    try:
        return not connection.closed
    except AttributeError:  # its checkout timed out: it never got a DBAPI connection
        return False
