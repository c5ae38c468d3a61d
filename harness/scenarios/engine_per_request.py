"""engine-per-request: ``create_engine`` in a dependency, per request (SL011) vs one engine per app.

The sample app (``sample_apps/engine_per_request``) stores unique integer values:
``POST /items {"value": v}`` appends v (201), ``GET /items`` lists every value. Its
engines all use a pool of at most 3 connections. The unsafe arm's ``get_db`` makes a
new engine -- a new pool -- for every request and never disposes it; the safe arm's
uses the one engine the lifespan made.

Invariant I6: over a run, the database connections opened never exceed one pool's
capacity (the runner counts every pool's ``connect`` events). A new engine per
request breaks it on the fourth request, whatever the timing: that is what every
staged run shows.

The abandoned engines also keep their connections open: a pool is a web of
reference cycles (pool <-> connection records), so dropping the engine frees
nothing until the cyclic garbage collector gets to it (measured: 5 of 9 abandoned
connections were still open on PostgreSQL at rest, unstaged). On PostgreSQL that is
one server process per connection, and enough of them end in ``FATAL: sorry, too
many clients already``. As in leaked-session, an engine that was alive during a
young collection (a request in flight while others allocate) is promoted to the
oldest generation and lingers until the next full collection; the round makes
that certain for request A, so every run also shows abandoned connections.

Staged round::

    (round 1)          -- gc.collect(): a settled heap, as in a server that has been
                          up a while (see leaked-session)
    A: POST /items a   -- flushes, parks at "after_flush" holding a connection
                          (unsafe: from a brand-new engine: connect #1)
    B: GET /items      -- while A is parked: safe: the pool's second connection
                          (at most once per run); unsafe: another new engine, connect #2
    gc.collect(1)      -- the young collection a busy server would have run by now:
                          A's engine, in flight, moves to the oldest generation
    A released         -- commits, 201
    C: GET /items      -- safe: reuses a pooled connection; unsafe: connect #3

So the unsafe arm opens 3 connections per round (9 in 3 rounds, over a capacity of
3), and at rest still holds at least one open connection per round in pools nobody
references; the safe arm opens at most 2 in the whole run and abandons none.
``probe`` also reports, on PostgreSQL and MariaDB, how many connections the server
sees for the run's database at rest (the app's own pool included).
"""

from __future__ import annotations

import gc
import random

from sqlalchemy import text

from ..driver import Driver, Op, Round
from ._items import append, read
from ._items import read_final_state  # noqa: F401 -- part of this scenario's interface
from ._common import health, pick, sample_module

NAME = "engine-per-request"
TITLE = "Engine per request"
CODES = ("SL011",)
ARMS = ("unsafe", "safe")
PAIR = "engine_per_request"
DESCRIPTION = (
    "A new engine (and connection pool) created in the get_db dependency for every request and "
    "never disposed (unsafe) vs one engine made in the lifespan and shared by every request (safe)."
)
EXPECTED_FAILURE = ("more database connections opened than one pool holds, and connections left open "
                    "by pools nobody disposed")
SYMPTOMS = ("excess_connects", "abandoned_connections")
# What every staged run of the unsafe arm shows, on every database (tests hold it to this).
STAGED_SHOWS = ("excess_connects", "abandoned_connections")
ANOMALY_FAMILIES = ("session", "integrity")

# Load mode's mix: reads, appends, and the unrelated route.
MIX = (("read", 0.45), ("append", 0.45), ("health", 0.10))


def create_app(arm: str, database_url: str):
    return sample_module(PAIR, arm, "main", ARMS).create_app(database_url)


def metadata(arm: str):
    return sample_module(PAIR, arm, "models", ARMS).Base.metadata


def load_op(rng: random.Random, driver: Driver) -> Op:
    kind = pick(rng, MIX)
    if kind == "read":
        return read()
    if kind == "health":
        return health()
    return append(driver.unique())


async def staged_round(r: Round) -> None:
    import anyio

    if r.number == 1:
        gc.collect()  # a settled heap (see the module docstring)
    barrier = r.arm("A", "after_flush")
    async with anyio.create_task_group() as tg:
        pending_a = r.start(tg, 0, append(r.unique()), tag=r.tag("A"))
        try:
            if await r.reached(barrier, pending_a):
                # B runs while A holds its connection: a second one, either way.
                await r.call(1, read())
                # A is in flight: the young collection promotes what it holds.
                gc.collect(1)
        finally:
            barrier.release()
    await r.call(2, read())


def probe(app) -> dict:
    """Connections still open at rest in pools other than the app's own, and what the server sees."""
    from sqlalchemy import Engine

    own = app.state.engine
    engines = connections = 0
    # Engines nobody references any more are still here until the collector frees
    # them, and so are the connections their pools hold. Only engines on this app's
    # database count: a process may hold others (a test suite does).
    for obj in gc.get_objects():
        if isinstance(obj, Engine) and obj is not own and obj.url == own.url:
            held = _pool_connections(obj.pool)
            if held:
                engines += 1
                connections += held
    out = {"abandoned_pool_connections": connections, "abandoned_engines_with_connections": engines}
    out.update(_server_connections(app.state.database_url))
    return out


def _pool_connections(pool) -> int:
    """Open connections a pool holds (idle in it or checked out); 0 for pools that keep none."""
    checkedin, checkedout = getattr(pool, "checkedin", None), getattr(pool, "checkedout", None)
    if not callable(checkedin) or not callable(checkedout):
        return 0
    return checkedin() + checkedout()


def _server_connections(url: str) -> dict:
    """Connections to the run's database as the server counts them (not this probe's own)."""
    from sqlalchemy import create_engine, make_url
    from sqlalchemy.pool import NullPool

    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        query = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND pid <> pg_backend_pid()")
    elif backend in ("mysql", "mariadb"):
        query = ("SELECT count(*) FROM information_schema.processlist "
                 "WHERE db = DATABASE() AND id <> CONNECTION_ID()")
    else:
        return {}  # SQLite: no server to ask
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return {"server_connections_at_rest": int(connection.execute(text(query)).scalar_one())}
    except Exception as exc:  # evidence, not a verdict: report why it is missing
        return {"server_connections_error": f"{type(exc).__name__}: {exc}"}
    finally:
        engine.dispose()
