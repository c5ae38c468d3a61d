"""Symptoms: failures that show in errors, probes and latency rather than in the data.

The checker finds *anomalies* in what requests read and what the database holds
(aborted reads, lost writes, ...). Many session bugs fail loudly or slowly instead:
a leaked session exhausts the pool, an un-rolled-back shared session turns every
later request into a 500, a sync session in ``async def`` stalls every other route.
Each detector here turns one such invariant (antipatterns.md §5, I2–I8) into a
`Symptom` with a count and a sentence a reader can check:

=====================  ====  ============================================================
name                   inv.  fires when
=====================  ====  ============================================================
``server_errors``      I2    any request was answered 5xx or not at all
``pool_timeouts``      I5    a request failed waiting for a pooled connection
``held_connections``   I5    connections were still checked out when the app was idle
``excess_connects``    I6    the run opened more DB connections than the pool can hold
``slow_unrelated``     I7    the p99 of the unrelated route exceeded the scenario's limit
``shared_sessions``    I8    two overlapping requests reported the same session identity
``idle_in_transaction``      a transaction was still open on the server after quiescence
``errors_after_response``    the app raised after it had answered a request below 500
``lost_background_work``     a background job's effect is missing after a 2xx (scenario probe)
``abandoned_connections``    connections open at rest in engines other than the app's
=====================  ====  ============================================================

A scenario lists the symptoms that make up its failure in ``SYMPTOMS``. The unsafe
arm must show at least one of them (or an anomaly); the safe arm must show none.

Everything here is a pure function of the checker's result and the child's probes,
so a saved run can be re-judged, and the tests can feed it planted evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_UNRELATED_P99_LIMIT = 0.25  # seconds; a scenario can set UNRELATED_P99_LIMIT


@dataclass(frozen=True)
class Symptom:
    name: str
    title: str
    count: int
    text: str  # one plain-English witness

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "count": self.count, "text": self.text}


@dataclass(frozen=True)
class Evidence:
    """What a detector may look at: the checker's result, the child's probes, the scenario's limits."""

    check: Any  # checker.CheckResult
    probes: Mapping[str, Any]
    unrelated_p99_limit: float = DEFAULT_UNRELATED_P99_LIMIT
    history: Any = None  # checker.HistoryIndex or History, for detectors that need events


Detector = Callable[[Evidence], "Symptom | None"]
DETECTORS: dict[str, tuple[str, Detector]] = {}


def detector(name: str, title: str):
    def register(fn: Detector) -> Detector:
        DETECTORS[name] = (title, fn)
        return fn

    return register


def detect(names: Iterable[str], evidence: Evidence) -> list[Symptom]:
    """Run the named detectors; the symptoms that fired, in the order asked."""
    found = []
    for name in names:
        if name not in DETECTORS:
            raise KeyError(f"unknown symptom {name!r}; known: {', '.join(DETECTORS)}")
        symptom = DETECTORS[name][1](evidence)
        if symptom is not None and symptom.count > 0:
            found.append(symptom)
    return found


def unchecked(names: Iterable[str], probes: Mapping[str, Any]) -> dict[str, str]:
    """Declared symptoms whose probe failed (the runner records ``<name>_error``): name -> error.
    Their absence proves nothing, and the report says so."""
    return {name: str(probes[f"{name}_error"]) for name in names if f"{name}_error" in probes}


def title_of(name: str) -> str:
    return DETECTORS[name][0] if name in DETECTORS else name.replace("_", " ")


def _server_error_groups(check) -> list:
    """Error groups of requests answered 5xx, or with no answer at all (info outcomes)."""
    groups = []
    for group in check.errors:
        statuses = group.statuses or {}
        server = sum(n for status, n in statuses.items() if status.startswith("5"))
        if server > 0 or statuses.get("none", 0) > 0:
            groups.append(group)
    return groups


@detector("server_errors", "server errors (5xx / no answer)")
def server_errors(evidence: Evidence) -> Symptom | None:
    groups = _server_error_groups(evidence.check)
    if not groups:
        return None
    total = sum(g.count for g in groups)
    top = groups[0]
    example = f" (e.g. request {top.requests[0]})" if top.requests else ""
    kinds = len(groups)
    more = f"; {kinds - 1} other kind(s)" if kinds > 1 else ""
    return Symptom("server_errors", title_of("server_errors"), total,
                   f"{top.count:,} × {top.label}{example}{more}")


# SQLAlchemy's pool timeout (QueuePool and AsyncAdaptedQueuePool): "QueuePool limit of size N
# overflow N reached, connection timed out, timeout N". Only this text: a driver's network
# connect timeout also says "timed out" but is not a pool waiting for a leaked connection.
_POOL_TIMEOUT_MARKERS = ("QueuePool limit",)


@detector("pool_timeouts", "pool exhausted (timeouts)")
def pool_timeouts(evidence: Evidence) -> Symptom | None:
    groups = [g for g in evidence.check.errors
              if any(marker in f"{g.type}: {g.message} {g.example or ''}" for marker in _POOL_TIMEOUT_MARKERS)]
    if not groups:
        return None
    total = sum(g.count for g in groups)
    first = groups[0]
    example = f"request {first.requests[0]}: " if first.requests else ""
    return Symptom("pool_timeouts", title_of("pool_timeouts"), total, f"{example}{first.label}")


@detector("held_connections", "connections held at rest")
def held_connections(evidence: Evidence) -> Symptom | None:
    held = evidence.probes.get("pool_checked_out_at_quiescence")
    if not isinstance(held, int) or held <= 0:
        return None
    capacity = evidence.probes.get("pool_capacity")
    of = f" of {capacity}" if isinstance(capacity, int) else ""
    return Symptom("held_connections", title_of("held_connections"), held,
                   f"{held}{of} pooled connection(s) still checked out after every request had returned "
                   "(nothing closed their sessions)")


@detector("excess_connects", "connections opened beyond the pool")
def excess_connects(evidence: Evidence) -> Symptom | None:
    connects = evidence.probes.get("connects_during_run")
    capacity = evidence.probes.get("pool_capacity")
    if not isinstance(connects, int) or not isinstance(capacity, int) or connects <= capacity:
        return None
    return Symptom("excess_connects", title_of("excess_connects"), connects - capacity,
                   f"{connects} new database connections during the run, but one pool holds at most "
                   f"{capacity}: something made a new engine (and pool) per request")


@detector("slow_unrelated", "unrelated route stalled")
def slow_unrelated(evidence: Evidence) -> Symptom | None:
    stats = evidence.check.unrelated_latency
    limit = evidence.unrelated_p99_limit
    if stats is None or stats.p99 <= limit:
        return None
    slow = stats.p99
    return Symptom("slow_unrelated", title_of("slow_unrelated"), 1,
                   f"p99 of /{evidence.check.unrelated} was {slow * 1000:.0f} ms over {stats.count} request(s) "
                   f"(limit {limit * 1000:.0f} ms): the event loop was blocked")


@detector("shared_sessions", "one session served overlapping requests")
def shared_sessions(evidence: Evidence) -> Symptom | None:
    overlaps = evidence.probes.get("session_identity_overlaps")
    if not isinstance(overlaps, Mapping) or not overlaps.get("count"):
        return None
    return Symptom("shared_sessions", title_of("shared_sessions"), int(overlaps["count"]),
                   str(overlaps.get("example") or "two requests in flight at once used one Session"))


@detector("idle_in_transaction", "transactions left open")
def idle_in_transaction(evidence: Evidence) -> Symptom | None:
    rows = evidence.probes.get("idle_in_transaction")
    if not isinstance(rows, int) or rows <= 0:
        return None
    source = evidence.probes.get("idle_in_transaction_source", "the server")
    return Symptom("idle_in_transaction", title_of("idle_in_transaction"), rows,
                   f"{rows} connection(s) 'idle in transaction' according to {source} after every request "
                   "had returned")


def session_identity_overlaps(history, f: str = "whoami") -> dict[str, Any]:
    """Overlapping ``f`` requests (in time) whose ok answers carry the same session identity.

    A per-request session gives every request in flight its own identity (I8); a
    shared or thread/loop-scoped one hands the same one to requests that overlap.
    Works on any iterable of history events; linear after one sort.
    """
    from .history import INVOKE, OK

    starts: dict[int, float] = {}
    spans: list[tuple[float, float, Any, int]] = []
    for event in history:
        if event.f != f:
            continue
        if event.type == INVOKE:
            starts[event.request] = event.time
        elif event.type == OK and event.request in starts and event.value is not None:
            spans.append((starts[event.request], event.time, event.value, event.request))
    spans.sort()
    # For each identity, the latest-ending span seen so far: a new span that starts
    # before it ends overlaps it.
    open_until: dict[Any, tuple[float, int]] = {}
    count, example = 0, None
    for start, end, identity, request in spans:
        key = identity if not isinstance(identity, list) else tuple(identity)
        previous = open_until.get(key)
        if previous is not None and start < previous[0]:
            count += 1
            if example is None:
                example = (f"requests {previous[1]} and {request} were in flight at the same time and both "
                           f"used session {identity}")
        if previous is None or end > previous[0]:
            open_until[key] = (end, request)
    return {"count": count, "example": example, "requests": len(spans),
            "distinct": len({(s[2] if not isinstance(s[2], list) else tuple(s[2])) for s in spans})}


@detector("lost_background_work", "background work lost after the response")
def lost_background_work(evidence: Evidence) -> Symptom | None:
    """Writes a background job should have made after a 2xx but did not (SL010, FastAPI 0.106-0.117).

    The scenario's ``probe(app)`` reports ``background_work_lost = {"count", "example"}``:
    the client saw success, the job's exception went nowhere, its effect is missing.
    """
    lost = evidence.probes.get("background_work_lost")
    if not isinstance(lost, Mapping) or not lost.get("count"):
        return None
    return Symptom("lost_background_work", title_of("lost_background_work"), int(lost["count"]),
                   str(lost.get("example") or "a background job's write is missing after a 2xx answer"))


@detector("abandoned_connections", "connections left open by abandoned pools")
def abandoned_connections(evidence: Evidence) -> Symptom | None:
    """Open connections at rest in engines other than the app's own (SL011).

    The scenario's ``probe(app)`` reports ``abandoned_pool_connections`` (connections
    held by pools of engines other than ``app.state.engine``) and
    ``abandoned_engines_with_connections``. An engine made per request and never
    disposed keeps its pool's connection open until the garbage collector frees the
    pool's reference cycles.
    """
    held = evidence.probes.get("abandoned_pool_connections")
    if not isinstance(held, int) or held <= 0:
        return None
    engines = evidence.probes.get("abandoned_engines_with_connections")
    where = f" in {engines} engine(s)" if isinstance(engines, int) else ""
    return Symptom("abandoned_connections", title_of("abandoned_connections"), held,
                   f"{held} database connection(s) still open at rest{where} other than the app's own: "
                   "engines nobody disposed keep their pools' connections until the garbage collector "
                   "frees them")


@detector("errors_after_response", "exceptions after a successful answer")
def errors_after_response(evidence: Evidence) -> Symptom | None:
    """The app raised for a request it had already answered below 500 (a background task or
    a teardown step failed after the response; SL007/SL010). The runner records these from
    the exceptions the instrumented app saw (probe ``errors_after_response``)."""
    late = evidence.probes.get("errors_after_response")
    if not isinstance(late, Mapping) or not late.get("count"):
        return None
    examples = late.get("examples") or []
    return Symptom("errors_after_response", title_of("errors_after_response"), int(late["count"]),
                   str(examples[0]) if examples else "an exception after the response was sent")
