"""Checker throughput: generate a large concurrent history, time `check()` on it, print events/s.

    python bench/checker_throughput.py                 # 1,000,000 events
    python bench/checker_throughput.py --events 200000 --jsonl

The history imitates a load-mode run of the shared-session scenario: 16 overlapping workers;
40 % appends (a fifth of them two-value transactions), 10 % rejects, 35 % reads, 10 % counter
increments, 5 % health checks; 1 % of operations end ``info``.  Keys rotate Jepsen-style (a key
is retired after 100 appended values), so reads return lists of up to 100 values, as a real run
with many keys would; with a handful of keys and a million events every read would return
tens of thousands of values and the cost would be the reads' size, not the event count.  A few
anomalies are planted (dirty reads of rejected values, lost writes, lost increments) so the
slow paths run too.  Generation is not timed; the check is, best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import random
import sys
import time
from pathlib import Path

try:
    from sessionlint.harness.checker import check
    from sessionlint.harness.history import Event, History
except ImportError:  # run from a source checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from sessionlint.harness.checker import check
    from sessionlint.harness.history import Event, History

WORKERS = 16
MAX_VALUES_PER_KEY = 100
ACTIVE_KEYS = 16


def generate(n_events: int, seed: int) -> tuple[History, dict]:
    """A valid concurrent history of about ``n_events`` events plus its final state."""
    rng = random.Random(seed)
    n_ops = n_events // 2
    state: dict[str, list[int]] = {}
    active = [f"k{i}" for i in range(ACTIVE_KEYS)]
    for key in active:
        state[key] = []
    next_key = ACTIVE_KEYS
    last_rejected: dict[str, int] = {}
    value = 0
    counter = 0
    timeline: list[tuple[float, int, Event]] = []
    add = timeline.append
    for i in range(n_ops):
        serial = i * 0.001
        start = serial - rng.random() * 0.008
        end = serial + rng.random() * 0.008
        process = i % WORKERS
        slot = rng.randrange(len(active))
        key = active[slot]
        roll = rng.random()
        info = rng.random() < 0.01
        if roll < 0.40:                                   # append (one or two values)
            n = 2 if rng.random() < 0.2 else 1
            written = list(range(value + 1, value + 1 + n))
            value += n
            written_value = written[0] if n == 1 else written
            if not info or rng.random() < 0.5:
                state[key].extend(written)
            add((start, 0, Event("invoke", process, start, "append", key=key, value=written_value, request=i)))
            add((end, 1, Event("info" if info else "ok", process, end, "append", key=key, request=i,
                               status=500 if info else 201, latency=end - start,
                               error="OperationalError: database is locked" if info else None)))
            if len(state[key]) >= MAX_VALUES_PER_KEY:     # retire the key
                active[slot] = f"k{next_key}"
                state[active[slot]] = []
                next_key += 1
        elif roll < 0.50:                                 # reject: flush, roll back, 409
            value += 1
            last_rejected[key] = value
            add((start, 0, Event("invoke", process, start, "reject", key=key, value=value, request=i)))
            add((end, 1, Event("fail", process, end, "reject", key=key, request=i, status=409, latency=end - start)))
        elif roll < 0.85:                                 # read
            observed = list(state[key])
            if key in last_rejected and rng.random() < 0.002:
                observed.append(last_rejected[key])      # a planted dirty read (G1a)
            add((start, 0, Event("invoke", process, start, "read", key=key, request=i)))
            if info:
                add((end, 1, Event("info", process, end, "read", key=key, request=i, latency=end - start,
                                   error="ReadTimeout: timed out")))
            else:
                add((end, 1, Event("ok", process, end, "read", key=key, value=observed, request=i,
                                   status=200, latency=end - start)))
        elif roll < 0.95:                                 # counter increment
            counter += 1
            add((start, 0, Event("invoke", process, start, "increment", key="c", request=i)))
            add((end, 1, Event("ok", process, end, "increment", key="c", request=i, status=200, latency=end - start)))
        else:                                             # unrelated route
            add((start, 0, Event("invoke", process, start, "health", request=i)))
            add((end, 1, Event("ok", process, end, "health", request=i, status=200, latency=end - start)))
    timeline.sort(key=lambda item: (item[0], item[1]))
    history = History(event for _, _, event in timeline)
    final: dict = {key: list(values) for key, values in state.items()}
    for key in list(final)[:50]:                          # planted lost writes
        if final[key]:
            final[key].pop()
    final["c"] = counter - 7                              # planted lost update
    return history, final


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jsonl", action="store_true", help="also time the JSONL write and read")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the results (for bench/run.py)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    history, final = generate(args.events, args.seed)
    print(f"generated {len(history):,} events in {time.perf_counter() - started:.1f} s (not timed)")

    timings = []
    cpu = []
    result = None
    for _ in range(args.repeat):
        gc.collect()
        started, started_cpu = time.perf_counter(), time.process_time()
        result = check(history, final)
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    best = min(timings)
    assert result is not None
    print(f"check(): best {best:.2f} s wall of {args.repeat} "
          f"({', '.join(f'{t:.2f}' for t in timings)}) -> {len(history) / best:,.0f} events/s; "
          f"best CPU time {min(cpu):.2f} s -> {len(history) / min(cpu):,.0f} events/s per core")
    found = ", ".join(f"{name} {n}" for name, n in result.counts.items() if n)
    print(f"status {result.status}; availability {result.availability:.3f}; anomalies: {found or 'none'}")

    if args.jsonl:
        buffer = io.StringIO()
        started = time.perf_counter()
        history.to_jsonl(buffer)
        written = time.perf_counter() - started
        size = buffer.tell()
        buffer.seek(0)
        started = time.perf_counter()
        History.from_jsonl(buffer)
        read = time.perf_counter() - started
        print(f"JSONL: {size / 1e6:.0f} MB; write {written:.2f} s ({len(history) / written:,.0f} events/s), "
              f"read {read:.2f} s ({len(history) / read:,.0f} events/s)")
    if args.json:
        print(json.dumps({"events": len(history), "best_wall": round(best, 3), "best_cpu": round(min(cpu), 3),
                          "runs": [round(t, 3) for t in timings], "status": result.status}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
