"""blocking-in-async: a sync Session in ``async def`` routes (SL012) vs the same body as ``def``.

The sample app (``sample_apps/blocking_in_async``) has ``GET /reports/sales``, a
report whose query takes about ``REPORT_SECONDS`` (one second) on the database,
``POST /orders`` (recorded as an ``append`` of the order's unique reference to the
key ``"orders"``) and an unrelated ``GET /health`` (a ``def`` route, no database). The
failure is latency, not data: in the unsafe arm the report's query runs on the
event loop thread, so ``/health`` waits for it. The ``slow_unrelated`` symptom
judges the p99 of the ``health`` ops against ``UNRELATED_P99_LIMIT``.

Staged round::

    A: GET /reports/sales  -- parks at checkpoint "before_report_query" (off the loop)
    H: GET /health         -- sent now, parks at checkpoint "health_check" (a worker thread)
    A released             -- A checks a pooled connection out for its query; that
                              checkout (a Pool "checkout" event) releases H, so H is
                              let go while A's query is certainly running:
                              unsafe: A holds the loop for the whole query, H's answer
                              waits for it (about a second);
                              safe: A's query runs on a worker thread, H answers at once

H's latency therefore includes the blocked time only in the unsafe arm, whatever
the machine's speed: the checkout and the query run back to back in A's
synchronous ``db.execute()``, with no await in between. The harness shares the
loop with the app (ASGITransport), which is why H must be *in flight* before A
blocks: a request sent after the loop is blocked would start its clock only once
the loop is free again.
"""

from __future__ import annotations

import random

from sqlalchemy import text

from ..driver import Driver, Op, Round
from ._common import health, pick, sample_module

NAME = "blocking-in-async"
TITLE = "Sync session blocks the event loop"
CODES = ("SL012",)
ARMS = ("unsafe", "safe")
KEY = "orders"
DESCRIPTION = (
    "A slow report run through a sync Session in an async def route (unsafe) vs the "
    "same body in a def route, on FastAPI's threadpool (safe)."
)
EXPECTED_FAILURE = "an unrelated route (/health) stalled while a slow query ran on the event loop"
SYMPTOMS = ("slow_unrelated", "server_errors")
STAGED_SHOWS = ("slow_unrelated",)
ANOMALY_FAMILIES = ("session", "integrity")
# The report takes about 1 s; a free loop answers /health in milliseconds even on a
# loaded 2-core box. 0.3 s sits far from both.
UNRELATED_P99_LIMIT = 0.3

PAIR = "blocking_in_async"
# Load mode's mix: a few slow reports keep the loop busy in the unsafe arm; health
# checks measure it; orders keep some writes going.
MIX = (("report", 0.25), ("health", 0.5), ("order", 0.25))


def create_app(arm: str, database_url: str):
    return sample_module(PAIR, arm, "main").create_app(database_url)


def metadata(arm: str):
    return sample_module(PAIR, arm, "models").Base.metadata


def read_final_state(connection) -> dict[str, list[int]]:
    references = connection.execute(text("SELECT reference FROM orders ORDER BY id")).scalars().all()
    return {KEY: [int(r) for r in references]}


def report() -> Op:
    return Op("report", "GET", "/reports/sales")


def order(reference: int) -> Op:
    return Op("append", "POST", "/orders", json={"reference": reference, "amount_cents": 100 * reference},
              key=KEY, value=reference)


def load_op(rng: random.Random, driver: Driver) -> Op:
    kind = pick(rng, MIX)
    if kind == "report":
        return report()
    if kind == "order":
        return order(driver.unique())
    return health()


async def staged_round(r: Round) -> None:
    import anyio
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    report_parked = r.arm("A", "before_report_query")
    health_parked = r.arm("H", "health_check")

    def release_health_once_the_query_starts(dbapi_connection, connection_record, connection_proxy) -> None:
        # Runs synchronously inside A's db.execute(), just before its query: on the
        # loop thread in the unsafe arm, on a worker thread in the safe one.
        if report_parked.released.is_set():
            health_parked.release()

    event.listen(Pool, "checkout", release_health_once_the_query_starts)
    try:
        async with anyio.create_task_group() as tg:
            pending_report = r.start(tg, 0, report(), tag=r.tag("A"))
            if not await r.reached(report_parked, pending_report):
                health_parked.release()
                return
            pending_health = r.start(tg, 1, health(), tag=r.tag("H"))
            await r.reached(health_parked, pending_health)
            report_parked.release()
            # Should A fail before its query, H must not wait for its barrier timeout.
            await pending_report.done.wait()
            health_parked.release()
    finally:
        event.remove(Pool, "checkout", release_health_once_the_query_starts)
