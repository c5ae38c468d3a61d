"""Session sanitizer overhead: requests/s of the safe shared-session arm with and without it.

    python bench/sanitizer_overhead.py                  # 6 alternating rounds of 600 requests, 8 workers
    python bench/sanitizer_overhead.py --requests 2000 --rounds 10 --json

Both variants run the same in-process traffic (httpx.ASGITransport, the arm's own
load mix: reads, appends, rejected appends) against a fresh SQLite database, with the
app's lifespan run. "with" installs the sanitizer and wraps the app in its request
tagger, exactly as ``sessionlint stress --app`` does. Rounds alternate (off, on, off,
on, ...) so drift on a shared machine hits both; the medians are compared, and the
overhead is given both as a ratio and as microseconds per request.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path


async def _one_round(sanitize: bool, requests: int, concurrency: int, seed: int) -> tuple[float, int]:
    import anyio
    import httpx

    from sessionlint.harness.app_loading import lifespan
    from sessionlint.harness.sanitizer import Sanitizer
    from sessionlint.harness.scenarios import shared_session

    sanitizer = Sanitizer() if sanitize else None
    if sanitizer is not None:
        sanitizer.install()
    try:
        with tempfile.TemporaryDirectory(prefix="sessionlint-bench-") as tmp:
            app = shared_session.create_app("safe", f"sqlite:///{Path(tmp) / 'bench.db'}")
            async with lifespan(app):
                target = sanitizer.wrap(app) if sanitizer is not None else app
                transport = httpx.ASGITransport(app=target)
                values = iter(range(1, 10**9))
                budget = iter(range(requests))
                async with httpx.AsyncClient(transport=transport, base_url="http://bench.invalid") as client:

                    async def worker(slot: int) -> None:
                        rng = random.Random(f"{seed}/{slot}")
                        for _ in budget:
                            roll = rng.random()
                            if roll < 0.4:
                                await client.get("/items/1")
                            else:
                                await client.post("/items", json={"value": next(values), "reject": roll > 0.85})

                    started = time.perf_counter()
                    async with anyio.create_task_group() as tg:
                        for slot in range(concurrency):
                            tg.start_soon(worker, slot)
                    elapsed = time.perf_counter() - started
            findings = len(sanitizer.report().groups) if sanitizer is not None else 0
    finally:
        if sanitizer is not None:
            sanitizer.uninstall()
    return requests / elapsed, findings


def session_lifecycle_cost(repeats: int = 7, n: int = 1000) -> tuple[float, float]:
    """Seconds per (request tag + session create/execute/commit/close) in one thread, without and
    with the sanitizer: the minimum of `repeats` runs, which a busy machine disturbs far less
    than the HTTP round above."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import sessionmaker

    from sessionlint.harness.sanitizer import Sanitizer
    from sessionlint.harness.sanitizer.context import RequestInfo, enter_request, leave_request
    from sessionlint.harness.sanitizer.tracker import active

    factory = sessionmaker(create_engine("sqlite://"))

    def loop() -> float:
        started = time.perf_counter()
        for _ in range(n):
            request, tracker = RequestInfo("GET", "/x"), active()
            token = enter_request(request)
            if tracker is not None:
                tracker.request_started(request)
            with factory() as session:
                session.execute(text("select 1"))
                session.commit()
            leave_request(token)
            if tracker is not None:
                tracker.request_ended(request)
        return (time.perf_counter() - started) / n

    loop()
    without, with_ = [], []
    sanitizer = Sanitizer()
    for _ in range(repeats):
        without.append(loop())
        sanitizer.install()
        try:
            with_.append(loop())
        finally:
            sanitizer.uninstall()
    return min(without), min(with_)


def main(argv: list[str] | None = None) -> int:
    import anyio

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=6, help="rounds per variant (alternating)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)

    anyio.run(_one_round, False, 50, args.concurrency, 99)  # warm-up: imports, first connections
    rates: dict[str, list[float]] = {"without": [], "with": []}
    findings = 0
    for number in range(args.rounds):
        for variant in ("without", "with"):
            rate, found = anyio.run(_one_round, variant == "with", args.requests, args.concurrency, number)
            rates[variant].append(rate)
            findings += found
    without, with_ = statistics.median(rates["without"]), statistics.median(rates["with"])
    bare, sanitized = session_lifecycle_cost()
    result = {
        "requests_per_round": args.requests,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "without_rps": round(without, 1),
        "with_rps": round(with_, 1),
        "slowdown": round(without / with_, 3),
        "overhead_us_per_request": round((1 / with_ - 1 / without) * 1e6, 1),
        "findings_on_safe_arm": findings,
        "session_lifecycle_us": {"without": round(bare * 1e6, 1), "with": round(sanitized * 1e6, 1),
                                 "overhead": round((sanitized - bare) * 1e6, 1)},
        "all_rounds": {k: [round(v, 1) for v in vs] for k, vs in rates.items()},
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"safe shared-session arm, {args.requests} requests x {args.rounds} rounds, {args.concurrency} workers")
        print(f"  without sanitizer: {without:8.1f} req/s (median)")
        print(f"  with sanitizer:    {with_:8.1f} req/s (median)")
        print(f"  slowdown {result['slowdown']:.3f}x, {result['overhead_us_per_request']:.0f} us per request; "
              f"findings on the safe arm: {findings}")
        print(f"  one session per request, single thread (min of 7): {bare * 1e6:.0f} us -> {sanitized * 1e6:.0f} us "
              f"(+{(sanitized - bare) * 1e6:.0f} us per request)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
