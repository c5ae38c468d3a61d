"""Driver overhead: requests/s of the stress harness's driver beside a bare httpx loop.

    python bench/driver_overhead.py [--requests 2000] [--concurrency 16] [--repeat 3] [--json]

Both fire the shared-session scenario's load-mode mix (reads, appends, rejected
appends) at the *safe* arm of its sample app, in process, through
``httpx.ASGITransport``, with the same number of closed-loop workers, one
``httpx.AsyncClient`` per worker:

* driver: `Driver.run_load` -- the harness as `sessionlint stress --mode load` runs
  it: the instrumenting ASGI wrapper, a History event before and after every
  request, response classification;
* bare: a plain loop of ``await client.request(...)`` on the unwrapped app.

Each measurement gets a fresh app on a fresh SQLite file (``GET /items`` returns
every row, so a database that grew in an earlier run would slow a later one), the
two alternate (bare, driver, bare, driver, ...) so drift in the machine's load hits
both, and the median of ``--repeat`` runs is reported.
Overhead = bare requests/s ÷ driver requests/s − 1.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path

try:
    from sessionlint.harness import driver as harness_driver
    from sessionlint.harness.history import History
    from sessionlint.harness.scenarios import shared_session as scenario
except ImportError:  # run from a source checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from sessionlint.harness import driver as harness_driver
    from sessionlint.harness.history import History
    from sessionlint.harness.scenarios import shared_session as scenario

ARM = "safe"
RUN_TIMEOUT = 120.0  # seconds: one measurement never takes longer


class _Values:
    """What `load_op` needs from a driver in the bare loop: unique values."""

    def __init__(self) -> None:
        self._next = 0

    def unique(self) -> int:
        self._next += 1
        return self._next


@asynccontextmanager
async def _fresh_app():
    with tempfile.TemporaryDirectory(prefix="sessionlint-driver-overhead-") as tmp:
        app = scenario.create_app(ARM, f"sqlite:///{Path(tmp) / 'bench.db'}")
        async with harness_driver.lifespan(app) as state:
            yield app, state


async def run_driver(requests: int, concurrency: int, seed: int) -> float:
    """Requests/s of the harness driver in load mode."""
    async with _fresh_app() as (app, state):
        config = harness_driver.DriverConfig(mode="load", requests=requests, concurrency=concurrency,
                                             duration=RUN_TIMEOUT, seed=seed)
        driver = harness_driver.Driver(app, History(), config, lifespan_state=state)
        try:
            stats = await driver.run_load(scenario.load_op)
        finally:
            await driver.aclose()
        if stats.stopped_by != "requests":
            raise RuntimeError(f"the driver stopped by {stats.stopped_by} after {stats.sent} requests")
        return stats.sent / stats.elapsed


async def run_bare(requests: int, concurrency: int, seed: int) -> float:
    """Requests/s of a bare httpx.AsyncClient loop: same app, mix, workers and transport."""
    import anyio
    import httpx

    async with _fresh_app() as (app, _state):
        values = _Values()
        budget = iter(range(requests))
        clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                     base_url=harness_driver.BASE_URL, timeout=RUN_TIMEOUT)
                   for _ in range(concurrency)]
        failures = []

        async def worker(slot: int) -> None:
            rng = random.Random(f"{seed}/{slot}")
            client = clients[slot]
            for _ in budget:  # shared iterator: `requests` in total across workers
                op = scenario.load_op(rng, values)
                response = await client.request(op.method, op.path, json=op.json)
                if response.status_code >= 500:
                    failures.append(response.status_code)

        started = time.perf_counter()
        try:
            with anyio.fail_after(RUN_TIMEOUT):
                async with anyio.create_task_group() as tg:
                    for slot in range(concurrency):
                        tg.start_soon(worker, slot)
        finally:
            elapsed = time.perf_counter() - started
            for client in clients:
                await client.aclose()
        if failures:
            raise RuntimeError(f"the bare loop got {len(failures)} server errors from the safe arm")
        return requests / elapsed


def measure(requests: int, concurrency: int, repeat: int, seed: int = 0) -> dict:
    import anyio

    # One short warm-up of each: imports, SQLAlchemy's compiled-statement cache.
    anyio.run(run_bare, min(requests, 200), concurrency, seed)
    anyio.run(run_driver, min(requests, 200), concurrency, seed)
    bare, driven = [], []
    for _ in range(repeat):
        bare.append(anyio.run(run_bare, requests, concurrency, seed))
        driven.append(anyio.run(run_driver, requests, concurrency, seed))
    bare_rps, driver_rps = statistics.median(bare), statistics.median(driven)
    return {
        "requests": requests, "concurrency": concurrency, "repeat": repeat,
        "bare_rps": round(bare_rps, 1), "driver_rps": round(driver_rps, 1),
        "bare_runs": [round(x, 1) for x in bare], "driver_runs": [round(x, 1) for x in driven],
        "overhead": round(bare_rps / driver_rps - 1, 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per measurement (default 2000)")
    parser.add_argument("--concurrency", type=int, default=16, help="workers (default 16, as `stress --mode load`)")
    parser.add_argument("--repeat", type=int, default=3, help="measurements of each, median reported (default 3)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    result = measure(args.requests, args.concurrency, args.repeat)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"bare httpx loop: {result['bare_rps']:,.0f} req/s {result['bare_runs']}; "
              f"harness driver: {result['driver_rps']:,.0f} req/s {result['driver_runs']}; "
              f"overhead {result['overhead']:+.1%} ({args.concurrency} workers, {args.requests} requests, "
              f"median of {args.repeat})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
