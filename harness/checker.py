"""Check a recorded history (plus the final database state) for session anomalies, in linear time.

Input: a :class:`~sessionlint.harness.history.History` (or any iterable of events) and ``final``,
the ground truth read through a fresh connection after the run went quiet: ``{key: [values]}``
for list keys, ``{key: int}`` for counters.  A key missing from ``final`` is taken to be empty
(``[]``, or the counter's initial value): the final read is authoritative, so pass every key the
run touched.  Without ``final`` the final-state checks are skipped (and marked unchecked).

What is checked (all passes are O(events + total size of the lists read)):

``aborted_read`` -- Adya G1a
    An ``ok`` read of key k contains a value whose writer was aborted: its completion is ``fail``,
    or it is a ``reject`` (the application always rolls those back, whatever it answered).
    ``info`` writers are never treated as aborted (they may have committed), as in Elle.
    One finding per (reading request, aborted writer).
``intermediate_read`` -- Adya G1b, as far as our operation model shows it
    An ``append`` whose value is a list appends those values to one key in one transaction, in
    order.  Appends only ever add at the end and a committed transaction is all-or-nothing, so
    any state of k -- any read -- contains either all of a request's values or none of them.
    Finding: an ``ok`` read contains some but not all values of another, non-aborted request
    (``ok`` or ``info``).  This covers Elle's G1b exactly (the read ends in a non-final append
    of the writer: it read the writer's intermediate version) and also reads where the writer's
    values are interleaved with another request's (Elle would report that as a G0/G1c cycle),
    or where earlier values are missing.  For an ``info`` writer either outcome is an anomaly
    (committed: intermediate read; aborted: aborted read), so it is reported too.  A request
    that writes a single value can never be observed half-done, so single-value appends
    cannot show G1b: to detect it, the driver must send multi-value appends.
    One finding per (reading request, writer).
``lost_write`` -- acknowledged write lost (Jepsen set ``:lost``)
    An ``append`` that completed ``ok`` has a value missing from the final state.
``aborted_write_persisted`` -- a ``fail`` or ``reject`` write has a value in the final state
    (another request's commit on a shared Session made it durable).
``torn_write`` -- an ``append`` without a definite answer (``info`` or never completed) left only
    part of its values in the final state: whatever happened, a transaction is all-or-nothing.
    (Indeterminate writes that persisted whole, or not at all, are fine; they are counted in
    :class:`WriteSummary`.)
``lost_update`` -- P4 on counters (``increment``/``deposit``)
    The final counter is below ``initial + sum(ok amounts)`` (+ negative indeterminate amounts):
    ``lost`` is by how much.  This is an *isolation* anomaly (read-modify-write race) that
    per-request sessions do not prevent; its family is ``"isolation"`` so reports can keep it
    apart from session-scope bugs.
``counter_overcount`` -- the final counter is above every amount that could have taken effect
    (``initial + sum(ok) + sum(positive indeterminate)``): a failed increment was applied.
``garbage_read`` -- a read (or the final state) contains a value that no request ever wrote to
    that key (never invoked).  Final-state findings have ``request=None``.
``duplicate_element`` -- a read (or the final state) lists one value more than once, although
    every value is appended once.

Besides anomalies the result carries what tells a broken run from a clean one:

* availability -- the share of operations *served as intended* (``ok``, or ``fail`` for a
  ``reject``, whose 409 is the intended answer), overall and per ``f``; operations that never
  completed count as not served.  Also the number of indeterminate operations (``info`` +
  never completed) and of those without any HTTP response (timeouts, connection errors).
* an error taxonomy -- operations not served as intended, grouped by (exception type,
  normalised message): addresses (``0x7f…``), numbers and UUIDs are masked and SQLAlchemy's echo
  of the statement and its parameter values dropped, so that one bug makes one group; with
  counts, statuses, outcomes and example request ids (see :func:`normalize_error`).
* latency per ``f`` (p50/p90/p99/max over every completion, whatever its outcome), and for the
  designated unrelated route (``f == "health"`` by default).

Status: ``"anomalous"`` if any anomaly was found; otherwise ``"unknown"`` when the history has no
operations or availability is below ``availability_threshold`` (default 0.9) -- zero anomalies
among the 3 % of requests that succeeded proves nothing; otherwise ``"clean"``.  ``valid`` is
``status == "clean"``.

Witnesses are plain English ("request 17 read key 'k1' and saw 175, written by request 12, which
was rolled back (answered 409)"), in the order the anomalies were observed (completion order),
capped per class (``max_witnesses``, default 5) while counts and times are always complete.
Assumptions: one request is one transaction; written values are unique per key (duplicates are
reported in ``warnings``, and attribution then keeps the first writer).

Cost: one pass pairs and indexes the events, one pass over the ``ok`` reads does its work in
C-level set operations (a read that holds nothing suspicious costs one dict-view intersection,
plus a successor check on keys with multi-value writers), one pass over the writes checks the
final state.  About 1M events in 3-4 s on a 2-core VM (``bench/checker_throughput.py``).  The
cyclic garbage collector is paused while the index is built and scanned.

Re-check a saved history from the command line::

    python -m sessionlint.harness.checker history.jsonl --final final.json [--json]
"""

from __future__ import annotations

import gc
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .history import (
    ABORT_OPS,
    COMPLETION_TYPES,
    COUNTER_OPS,
    FAIL,
    INVOKE,
    OK,
    PROBE,
    READ_OPS,
    WRITE_OPS,
    Event,
    History,
)

__all__ = [
    "ANOMALY_KINDS",
    "AnomalyKind",
    "AnomalyResult",
    "CheckResult",
    "CounterSummary",
    "ErrorGroup",
    "HistoryIndex",
    "LatencyStats",
    "OpStats",
    "Verdict",
    "Witness",
    "WriteSummary",
    "aborted_reads",
    "aborted_writes_persisted",
    "availability",
    "check",
    "counter_overcounts",
    "duplicate_elements",
    "error_taxonomy",
    "garbage_reads",
    "index_history",
    "intermediate_reads",
    "latencies",
    "lost_updates",
    "lost_writes",
    "normalize_error",
    "torn_writes",
]

INCOMPLETE = "incomplete"  # pseudo completion type of an operation that never completed
SESSION, ISOLATION, INTEGRITY = "session", "isolation", "integrity"


@dataclass(frozen=True)
class AnomalyKind:
    """One anomaly class: its key, a title for tables, its family and what it means."""

    name: str
    title: str
    family: str
    description: str


ANOMALY_KINDS: dict[str, AnomalyKind] = {kind.name: kind for kind in (
    AnomalyKind("aborted_read", "aborted read (G1a)", SESSION,
                "A successful read saw a value written by a request that failed or was rolled back: "
                "data that never existed."),
    AnomalyKind("intermediate_read", "intermediate read (G1b)", SESSION,
                "A successful read saw another request's transaction half-done: some of the values it "
                "appended to the key, but not all of them."),
    AnomalyKind("lost_write", "lost acknowledged write", SESSION,
                "A write was acknowledged (2xx) but its value is missing from the final state."),
    AnomalyKind("aborted_write_persisted", "aborted write persisted", SESSION,
                "A write failed or was rolled back, yet its value is in the final state: another "
                "request's commit made it durable."),
    AnomalyKind("torn_write", "torn write", SESSION,
                "A write without a definite answer (5xx, timeout) left only part of its transaction in "
                "the final state."),
    AnomalyKind("lost_update", "lost update (P4)", ISOLATION,
                "A counter ended below the sum of its acknowledged increments: concurrent "
                "read-modify-write cycles overwrote each other. Per-request sessions do not prevent "
                "this; an atomic UPDATE, SELECT ... FOR UPDATE, a version column or SERIALIZABLE with "
                "retries does."),
    AnomalyKind("counter_overcount", "phantom increment", SESSION,
                "A counter ended above every increment that could have taken effect: a failed "
                "increment was applied."),
    AnomalyKind("garbage_read", "garbage read", INTEGRITY,
                "A read (or the final state) holds a value that no request ever wrote to that key."),
    AnomalyKind("duplicate_element", "duplicate element", INTEGRITY,
                "A read (or the final state) lists the same unique value more than once."),
)}

_FINAL_CLASSES = ("lost_write", "aborted_write_persisted", "torn_write", "garbage_read", "duplicate_element")


# --------------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Witness:
    """One anomaly, in plain English plus the ids a test or a report needs.

    ``request`` is the observing read for read anomalies and the write itself for write
    anomalies (``None`` for findings about the final state or a counter); ``writer`` is the write
    a read observed.  ``time`` is when the anomaly became visible (the completion time of the
    observing request), when known.
    """

    anomaly: str
    text: str
    request: int | None = None
    writer: int | None = None
    key: Any = None
    values: list[int] = field(default_factory=list)
    time: float | None = None
    details: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"anomaly": self.anomaly, "text": self.text, "request": self.request,
                               "writer": self.writer, "key": self.key, "values": list(self.values),
                               "time": self.time}
        if self.details:
            out["details"] = dict(self.details)
        return out


@dataclass
class AnomalyResult:
    """All findings of one anomaly class: the full count, capped witnesses, every time seen."""

    kind: AnomalyKind
    checked: bool = False
    count: int = 0
    witnesses: list[Witness] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    max_witnesses: int | None = 5

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def title(self) -> str:
        return self.kind.title

    @property
    def family(self) -> str:
        return self.kind.family

    @property
    def first_time(self) -> float | None:
        return min(self.times) if self.times else None

    def _record(self, time: float | None) -> bool:
        """Count one finding; True if its witness should be kept (the cap is not reached)."""
        self.count += 1
        if time is not None:
            self.times.append(time)
        return self.max_witnesses is None or len(self.witnesses) < self.max_witnesses

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "family": self.family,
                "description": self.kind.description, "checked": self.checked, "count": self.count,
                "first_time": self.first_time, "witnesses": [w.to_dict() for w in self.witnesses],
                "witnesses_omitted": self.count - len(self.witnesses), "times": list(self.times)}


@dataclass
class OpStats:
    """Outcomes of one operation type (``f``)."""

    f: str
    total: int = 0
    ok: int = 0
    fail: int = 0
    info: int = 0
    incomplete: int = 0
    served: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def availability(self) -> float | None:
        """Share of operations served as intended (``None`` when there were none)."""
        return self.served / self.total if self.total else None

    @property
    def indeterminate(self) -> int:
        return self.info + self.incomplete

    def to_dict(self) -> dict[str, Any]:
        return {"f": self.f, "total": self.total, "ok": self.ok, "fail": self.fail, "info": self.info,
                "incomplete": self.incomplete, "served": self.served, "availability": self.availability,
                "statuses": dict(self.statuses)}


@dataclass
class LatencyStats:
    """Latency distribution (seconds) of one operation type; nearest-rank percentiles."""

    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, samples: list[float], *, in_place: bool = False) -> LatencyStats | None:
        """Statistics of ``samples`` (``None`` if empty); ``in_place`` sorts the list given."""
        if not samples:
            return None
        ordered = samples if in_place else sorted(samples)
        if in_place:
            ordered.sort()
        n = len(ordered)

        def rank(q: float) -> float:
            return ordered[max(0, math.ceil(q * n) - 1)]

        return cls(n, sum(ordered) / n, rank(0.50), rank(0.90), rank(0.99), ordered[-1])

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "mean": self.mean, "p50": self.p50, "p90": self.p90,
                "p99": self.p99, "max": self.max}


@dataclass
class ErrorGroup:
    """Operations that were not served as intended and failed the same way."""

    type: str
    message: str
    count: int = 0
    requests: list[int] = field(default_factory=list)
    example: str | None = None
    statuses: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    ops: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.type}: {self.message}" if self.message else self.type

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, "count": self.count,
                "requests": list(self.requests), "example": self.example, "statuses": dict(self.statuses),
                "outcomes": dict(self.outcomes), "ops": dict(self.ops)}


@dataclass
class CounterSummary:
    """What a counter should hold after the run, and what it holds."""

    key: Any
    initial: int
    acknowledged: int          # sum of ok amounts
    ok_ops: int
    indeterminate_ops: int
    failed_ops: int
    expected_min: int
    expected_max: int
    actual: int | None         # None when not checked (no final state, or not an int)
    lost: int = 0              # expected_min - actual, when positive
    excess: int = 0            # actual - expected_max, when positive

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "initial": self.initial, "acknowledged": self.acknowledged,
                "ok_ops": self.ok_ops, "indeterminate_ops": self.indeterminate_ops,
                "failed_ops": self.failed_ops, "expected_min": self.expected_min,
                "expected_max": self.expected_max, "actual": self.actual, "lost": self.lost,
                "excess": self.excess}


@dataclass
class WriteSummary:
    """List writes by outcome; ``indeterminate_persisted``/``_absent`` need the final state."""

    ok: int = 0
    aborted: int = 0
    indeterminate: int = 0
    indeterminate_persisted: int = 0
    indeterminate_absent: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "aborted": self.aborted, "indeterminate": self.indeterminate,
                "indeterminate_persisted": self.indeterminate_persisted,
                "indeterminate_absent": self.indeterminate_absent}


@dataclass(frozen=True)
class Verdict:
    """Whether a run met an expectation, and why, in one sentence.  Truthy when it passed."""

    passed: bool
    expect: str
    status: str
    reason: str

    def __bool__(self) -> bool:
        return self.passed


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


@dataclass
class CheckResult:
    """Everything the checker found about one run; see the module docstring for the semantics."""

    status: str
    valid: bool
    availability: float | None
    availability_threshold: float
    events: int
    ops: int
    indeterminate: int
    no_response: int
    anomalies: dict[str, AnomalyResult]
    by_f: dict[str, OpStats]
    latency: dict[str, LatencyStats]
    unrelated: str | None
    errors: list[ErrorGroup]
    counters: dict[Any, CounterSummary]
    writes: WriteSummary
    probes: dict[Any, Any]
    warnings: list[str]
    final_checked: bool

    @property
    def counts(self) -> dict[str, int]:
        """Findings per anomaly class (every class, zeros included)."""
        return {name: result.count for name, result in self.anomalies.items()}

    def anomaly_count(self, families: Iterable[str] | None = None) -> int:
        """Total findings, optionally only of some families (``"session"``, ``"isolation"``, ``"integrity"``)."""
        wanted = None if families is None else set(families)
        return sum(r.count for r in self.anomalies.values() if wanted is None or r.family in wanted)

    @property
    def unrelated_latency(self) -> LatencyStats | None:
        return self.latency.get(self.unrelated) if self.unrelated is not None else None

    def status_for(self, families: Iterable[str] | None = None) -> str:
        """The status counting only anomalies of ``families`` (all by default)."""
        if self.anomaly_count(families):
            return "anomalous"
        if not self.ops or self.availability is None or self.availability < self.availability_threshold:
            return "unknown"
        return "clean"

    def _found(self, families: Iterable[str] | None) -> str:
        wanted = None if families is None else set(families)
        parts = [f"{r.count:,} × {r.title}" for r in self.anomalies.values()
                 if r.count and (wanted is None or r.family in wanted)]
        return ", ".join(parts)

    def verdict(self, expect: str = "clean", *, families: Iterable[str] | None = None,
                accept_unavailable: bool = True) -> Verdict:
        """Did the run meet ``expect``?

        * ``expect="clean"`` (a safe arm, or a user's app): passes only when the status is
          ``"clean"`` -- no anomalies *and* availability at or above the threshold.
        * ``expect="anomalous"`` (an unsafe arm, the demo): passes when anomalies were found, or,
          with ``accept_unavailable`` (the default), when the run failed by erroring instead
          (status ``"unknown"`` on a non-empty history): a shared Session fails either silently
          (anomalies) or loudly (error cascades), and a leaked session only loudly.

        ``families`` restricts which anomaly families count, e.g. ``("session",)`` so a lost
        update (an isolation anomaly) does not fail the safe arm of a session-scope scenario.
        """
        if expect not in ("clean", "anomalous"):
            raise ValueError(f"expect must be 'clean' or 'anomalous', not {expect!r}")
        status = self.status_for(families)
        served = (f"{_pct(self.availability)} of {_plural(self.ops, 'request')} served "
                  f"(threshold {_pct(self.availability_threshold)})")
        if status == "anomalous":
            found = self._found(families)
            if expect == "anomalous":
                return Verdict(True, expect, status, f"anomalies found, as expected: {found}")
            return Verdict(False, expect, status, f"expected a clean run, found {found}")
        if status == "unknown":
            if not self.ops:
                return Verdict(False, expect, status, "the history has no operations: nothing was tested")
            if expect == "anomalous" and accept_unavailable:
                return Verdict(True, expect, status,
                               f"the failure showed as errors instead of anomalies: only {served}")
            return Verdict(False, expect, status,
                           f"inconclusive: only {served}, so zero anomalies proves nothing")
        if expect == "clean":
            return Verdict(True, expect, status, f"no anomalies; {served}")
        return Verdict(False, expect, status, f"expected anomalies, but the run was clean; {served}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (keys that are not strings are converted with ``str``)."""
        return {
            "status": self.status,
            "valid": self.valid,
            "availability": self.availability,
            "availability_threshold": self.availability_threshold,
            "events": self.events,
            "ops": self.ops,
            "indeterminate": self.indeterminate,
            "no_response": self.no_response,
            "anomaly_count": self.anomaly_count(),
            "counts": self.counts,
            "anomalies": {name: r.to_dict() for name, r in self.anomalies.items()},
            "by_f": {str(f): s.to_dict() for f, s in self.by_f.items()},
            "latency": {str(f): s.to_dict() for f, s in self.latency.items()},
            "unrelated": self.unrelated,
            "unrelated_latency": None if self.unrelated_latency is None else self.unrelated_latency.to_dict(),
            "errors": [g.to_dict() for g in self.errors],
            "counters": {str(k): c.to_dict() for k, c in self.counters.items()},
            "writes": self.writes.to_dict(),
            "probes": {str(k): v for k, v in self.probes.items()},
            "warnings": list(self.warnings),
            "final_checked": self.final_checked,
        }

    def summary(self) -> str:
        """A short plain-text report: status, availability, anomalies with witnesses, top errors."""
        lines = [(f"status: {self.status} ({_plural(self.ops, 'operation')}, {_pct(self.availability)} served, "
                  f"{self.indeterminate:,} indeterminate)")]
        for r in self.anomalies.values():
            if r.count:
                lines.append(f"  {r.title}: {r.count:,}")
                lines.extend(f"    - {w.text}" for w in r.witnesses)
                if r.count > len(r.witnesses):
                    lines.append(f"    ... and {r.count - len(r.witnesses):,} more")
        for group in self.errors[:5]:
            lines.append(f"  error ×{group.count:,}: {group.label} (e.g. request {group.requests[0]})"
                         if group.requests else f"  error ×{group.count:,}: {group.label}")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


# --------------------------------------------------------------------------------------------
# Error normalisation
# --------------------------------------------------------------------------------------------

_ERROR_TYPE = re.compile(r"[A-Za-z_][\w.]*")
_BACKGROUND = re.compile(r"\(Background on this error at: \S*?/(\w+)\)")
_SQL_ECHO = re.compile(r"\[(?:SQL|parameters): .*", re.DOTALL)  # SQLAlchemy appends these after the message
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_HEX = re.compile(r"\b0x[0-9a-fA-F]+\b")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?!\w|\.\d)")
_SPACE = re.compile(r"\s+")
_MAX_MESSAGE = 240


def normalize_error(raw: str) -> tuple[str, str]:
    """Split ``"ExcType: message"`` and mask what varies between occurrences of one bug.

    SQLAlchemy's echo of the statement and its parameters (``[SQL: ...]``, ``[parameters: ...]``,
    which it appends after the message) is dropped and its "Background on this error" link
    becomes ``(code 7s2a)`` at the end; UUIDs become ``<uuid>``, hexadecimal addresses ``0x…``
    and free-standing numbers -- object ids, session numbers, sizes, timeouts -- ``N``.  Whitespace is collapsed and the message cut at
    240 characters (the error code is kept).  The raw text stays available as each group's
    ``example``.
    """
    head, sep, tail = raw.partition(": ")
    if sep and _ERROR_TYPE.fullmatch(head):
        type_, message = head, tail
    elif _ERROR_TYPE.fullmatch(raw.strip()):
        type_, message = raw.strip(), ""
    else:
        type_, message = "Error", raw
    code = _BACKGROUND.search(message)
    if code is not None:
        message = _BACKGROUND.sub("", message)
    message = _SQL_ECHO.sub("", message)
    message = _UUID.sub("<uuid>", message)
    message = _HEX.sub("0x…", message)
    message = _NUMBER.sub("N", message)
    message = _SPACE.sub(" ", message).strip()
    suffix = f" (code {code.group(1)})" if code is not None else ""
    room = _MAX_MESSAGE - len(suffix)
    if len(message) > room:
        message = message[: room - 1].rstrip() + "…"
    return type_, (message + suffix).strip()


# --------------------------------------------------------------------------------------------
# Indexing: one pass over the events
# --------------------------------------------------------------------------------------------

# A write: (request, f, key, values, completion type, completion event or None, aborted?)
_Write = tuple[int, str, Any, tuple, str, "Event | None", bool]


class HistoryIndex:
    """What every check needs, gathered in one linear pass over a history.

    Build it with :func:`index_history` and pass it to the individual check functions to avoid
    re-reading a large history; :func:`check` does this for you.
    """

    __slots__ = (
        "aborted",
        "counters",
        "error_groups",
        "events",
        "no_response",
        "ops",
        "probes",
        "reads",
        "stats",
        "successor",
        "warnings",
        "write_by_request",
        "writes",
        "written",
    )

    def __init__(self) -> None:
        self.events = 0
        self.ops = 0
        # f -> [ok, fail, info, incomplete, {status: n}, [latencies]]
        self.stats: dict[str, list] = {}
        self.reads: list[tuple[int, Any, list, float]] = []     # ok reads: (request, key, list, time)
        self.writes: list[_Write] = []
        self.write_by_request: dict[int, _Write] = {}
        self.written: dict[Any, dict[int, int]] = {}            # key -> value -> writer, writes not aborted
        self.aborted: dict[Any, dict[int, int]] = {}            # key -> value -> aborted writer
        self.successor: dict[Any, dict[int, int]] = {}          # key -> value -> next value of its (multi-value,
        #                                                         not aborted) writer, cyclically
        self.counters: dict[Any, list[int]] = {}                # key -> [ok sum, info -, info +, n ok, n info, n fail]
        self.probes: dict[Any, Any] = {}
        self.error_groups: dict[tuple[str, str], ErrorGroup] = {}
        self.warnings: list[str] = []
        self.no_response = 0


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building large acyclic structures.

    Indexing allocates millions of tuples, lists and sets and no reference cycles; left on, the
    collector rescans them over and over (about a quarter of the checker's time on a 1M-event
    history).  The previous state is restored on exit.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def index_history(history: History | Iterable[Event] | HistoryIndex) -> HistoryIndex:
    """Pair invocations with completions and index writes, reads, counters and errors (O(n)).

    Assumes a well-formed history (see :meth:`History.validate`); what does not pair -- a
    completion without an open invoke, an id invoked again while in flight -- is counted in
    ``warnings`` and ignored.  Operations still open at the end count as never completed.
    """
    if isinstance(history, HistoryIndex):
        return history
    events = history.events if isinstance(history, History) else list(history)
    with _gc_paused():
        return _index(events)


def _index(events: list[Event]) -> HistoryIndex:
    idx = HistoryIndex()
    idx.events = len(events)
    stats = idx.stats
    reads_append = idx.reads.append
    writes_append = idx.writes.append
    write_by_request = idx.write_by_request
    written, aborted_idx, successor = idx.written, idx.aborted, idx.successor
    counters = idx.counters
    groups = idx.error_groups
    memo: dict[str, tuple[str, str]] = {}
    abort_ops, write_ops, read_ops, counter_ops = ABORT_OPS, WRITE_OPS, READ_OPS, COUNTER_OPS
    in_flight: dict[int, Event] = {}
    pop = in_flight.pop
    ops = duplicate_invokes = orphans = unknown_types = 0
    duplicate_values = bad_values = no_response = 0

    # Phase 0 reads the history, pairing each completion with its open invoke; phase 1 feeds one
    # synthetic "incomplete" completion per operation still open at the end through the same code.
    for phase in (0, 1):
        if phase == 0:
            stream: Iterable[Event] = events
            accepted = COMPLETION_TYPES
        else:
            stream = [Event(INCOMPLETE, e.process, e.time, e.f, key=e.key, request=r) for r, e in in_flight.items()]
            accepted = frozenset({INCOMPLETE})
        for c in stream:
            ct = c.type
            r = c.request
            if ct == INVOKE:
                if r in in_flight:
                    duplicate_invokes += 1
                else:
                    in_flight[r] = c
                    ops += 1
                continue
            if ct not in accepted:
                unknown_types += 1
                continue
            invoked = pop(r, None)
            if invoked is None:
                orphans += 1
                continue

            f = invoked.f
            st = stats.get(f)
            if st is None:
                st = stats[f] = [0, 0, 0, 0, {}, []]
            if ct == OK:
                st[0] += 1
                served = True
            elif ct == FAIL:
                st[1] += 1
                served = f in abort_ops
            elif ct == INCOMPLETE:
                st[3] += 1
                served = False
            else:
                st[2] += 1
                served = False
            if ct != INCOMPLETE:
                status = c.status
                statuses = st[4]
                statuses[status] = statuses.get(status, 0) + 1
                latency = c.latency
                st[5].append(c.time - invoked.time if latency is None else latency)
            if not served:
                if ct == INCOMPLETE:
                    raw = None
                    gkey = ("Incomplete", "no completion was recorded (in flight when the run ended)")
                    no_response += 1
                else:
                    raw = c.error
                    if c.status is None:
                        no_response += 1
                    if raw is not None:
                        gkey = memo.get(raw)  # type: ignore[assignment]
                        if gkey is None:
                            gkey = memo[raw] = normalize_error(raw)
                    elif c.status is not None:
                        gkey = (f"HTTP {c.status}", "")
                    else:
                        gkey = ("NoResponse", "")
                group = groups.get(gkey)
                if group is None:
                    group = groups[gkey] = ErrorGroup(gkey[0], gkey[1], example=raw)
                group.count += 1
                if len(group.requests) < 5:
                    group.requests.append(r)
                skey = "none" if c.status is None else str(c.status)
                group.statuses[skey] = group.statuses.get(skey, 0) + 1
                group.outcomes[ct] = group.outcomes.get(ct, 0) + 1
                group.ops[f] = group.ops.get(f, 0) + 1

            if f in read_ops:
                if ct == OK:
                    value = c.value
                    if type(value) is list:
                        reads_append((r, invoked.key, value, c.time))
            elif f in write_ops:
                key = invoked.key
                value = invoked.value
                if type(value) is int:
                    values: tuple = (value,)
                elif isinstance(value, (list, tuple)) and value:
                    values = tuple(value)
                else:
                    bad_values += 1
                    continue
                aborted = f in abort_ops or ct == FAIL
                wk = written.get(key)
                if wk is None:
                    wk = written[key] = {}
                ak = aborted_idx.get(key)
                if ak is None:
                    ak = aborted_idx[key] = {}
                target = ak if aborted else wk
                for v in values:
                    if v in wk or v in ak:
                        duplicate_values += 1
                    else:
                        target[v] = r
                if not aborted and len(values) > 1:
                    sk = successor.get(key)
                    if sk is None:
                        sk = successor[key] = {}
                    n = len(values)
                    for i in range(n):
                        sk[values[i]] = values[(i + 1) % n]
                record = (r, f, key, values, ct, None if ct == INCOMPLETE else c, aborted)
                writes_append(record)
                write_by_request[r] = record
            elif f in counter_ops:
                amount = 1 if invoked.value is None else invoked.value
                if type(amount) is not int:
                    bad_values += 1
                    continue
                cs = counters.get(invoked.key)
                if cs is None:
                    cs = counters[invoked.key] = [0, 0, 0, 0, 0, 0]
                if ct == OK:
                    cs[0] += amount
                    cs[3] += 1
                elif ct == FAIL:
                    cs[5] += 1
                else:
                    if amount < 0:
                        cs[1] += amount
                    else:
                        cs[2] += amount
                    cs[4] += 1
            elif f == PROBE and ct == OK:
                idx.probes[invoked.key] = c.value

    idx.ops = ops
    idx.no_response = no_response
    warn = idx.warnings.append
    if duplicate_invokes:
        warn(f"{_plural(duplicate_invokes, 'request id')} invoked again while in flight; "
             "the later invokes were ignored")
    if orphans:
        warn(f"{_plural(orphans, 'completion')} without an open invoke (never invoked, or "
             "completed twice) ignored")
    if unknown_types:
        warn(f"{_plural(unknown_types, 'event')} with an unknown type ignored")
    if duplicate_values:
        warn(f"{_plural(duplicate_values, 'value')} written by more than one request: values must be "
             "unique per key, and findings about them name only the first writer")
    if bad_values:
        warn(f"{_plural(bad_values, 'write')} with a missing or malformed value not checked")
    return idx


# --------------------------------------------------------------------------------------------
# Plain-English helpers
# --------------------------------------------------------------------------------------------


def _values_text(values: Iterable[int], limit: int = 6) -> str:
    items = sorted(values)
    if len(items) == 1:
        return str(items[0])
    shown = ", ".join(map(str, items[:limit]))
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _answer(c: Event | None) -> str:
    """How a request ended: 'answered 409', 'answered 500 (PendingRollbackError)', 'got no response'."""
    if c is None:
        return "never completed"
    kind = c.error.partition(":")[0] if c.error else None
    if c.status is None:
        return f"got no response ({kind})" if kind else "got no response"
    return f"answered {c.status} ({kind})" if kind else f"answered {c.status}"


def _abort_text(write: _Write) -> str:
    _, f, _, _, ct, c, _ = write
    if f in ABORT_OPS:
        if ct == FAIL:
            return f"which was rolled back ({_answer(c)})"
        return f"which the app rolls back by design (it {_answer(c)})"
    return f"which failed ({_answer(c)})"


# --------------------------------------------------------------------------------------------
# Scans
# --------------------------------------------------------------------------------------------


def _new_results(names: Iterable[str], max_witnesses: int | None) -> dict[str, AnomalyResult]:
    return {name: AnomalyResult(ANOMALY_KINDS[name], max_witnesses=max_witnesses) for name in names}


def _scan_reads(idx: HistoryIndex, out: dict[str, AnomalyResult]) -> None:
    """G1a, G1b, garbage and duplicates over every ok read, with C-level set operations.

    Fast path, per read of key k: ``seen`` = the values of the read that were written to k by a
    request that was not aborted -- one C-level pass over the list.  If ``seen`` is as long as
    the list, the read holds no aborted value, no garbage and no duplicate; only anomalous reads
    take the slow path that tells those apart.  G1b then checks that the values of multi-value
    writers in ``seen`` are closed under the writer's cyclic successor map.
    """
    aborted_res, inter_res = out["aborted_read"], out["intermediate_read"]
    garbage_res, dup_res = out["garbage_read"], out["duplicate_element"]
    checked = bool(idx.reads)
    for res in (aborted_res, inter_res, garbage_res, dup_res):
        res.checked = res.checked or checked
    written, aborted, successor = idx.written, idx.aborted, idx.successor
    write_by_request = idx.write_by_request
    empty: dict[int, int] = {}

    for r, key, observed, t in idx.reads:
        wk = written.get(key, empty)
        seen = wk.keys() & observed
        if len(seen) != len(observed):
            everything = set(observed)
            if len(everything) != len(observed):
                _duplicates(dup_res, r, key, observed, t)
            rest = everything.difference(wk)
            if rest:
                ak = aborted.get(key, empty)
                garbage = rest.difference(ak)
                if garbage:
                    _garbage(garbage_res, idx, r, key, garbage, t)
                if len(garbage) != len(rest):
                    by_writer: dict[int, list[int]] = {}
                    for v in rest:
                        if v in ak:
                            by_writer.setdefault(ak[v], []).append(v)
                    for w, vals in sorted(by_writer.items()):
                        if aborted_res._record(t):
                            aborted_res.witnesses.append(Witness(
                                "aborted_read",
                                f"request {r} read key {key!r} and saw {_values_text(vals)}, written by request "
                                f"{w}, {_abort_text(write_by_request[w])}",
                                request=r, writer=w, key=key, values=sorted(vals), time=t))
        sk = successor.get(key)
        if sk is not None:
            hits = sk.keys() & seen
            if hits and not seen.issuperset(map(sk.__getitem__, hits)):
                for w in sorted({wk[v] for v in hits}):
                    write = write_by_request[w]
                    values = write[3]
                    present = [v for v in values if v in seen]
                    if len(present) == len(values):
                        continue
                    missing = [v for v in values if v not in seen]
                    if inter_res._record(t):
                        outcome = "acknowledged" if write[4] == OK else f"outcome unknown: it {_answer(write[5])}"
                        inter_res.witnesses.append(Witness(
                                "intermediate_read",
                                f"request {r} read key {key!r} and saw {_values_text(present)} but not "
                                f"{_values_text(missing)}, although request {w} appended {_values_text(values)} "
                                f"in one transaction ({outcome}): it saw that transaction half-done",
                                request=r, writer=w, key=key, values=present, time=t,
                                details={"missing": missing, "transaction": list(values)}))


def _duplicates(res: AnomalyResult, r: int | None, key: Any, observed: list, t: float | None) -> None:
    counts: dict[int, int] = {}
    for v in observed:
        counts[v] = counts.get(v, 0) + 1
    dups = sorted(v for v, n in counts.items() if n > 1)
    who = f"request {r} read key {key!r} and saw" if r is not None else f"the final state of key {key!r} lists"
    if res._record(t):
        res.witnesses.append(Witness(
            "duplicate_element",
            f"{who} {_values_text(dups)} more than once; every value is appended once",
            request=r, key=key, values=dups, time=t))


def _garbage(res: AnomalyResult, idx: HistoryIndex, r: int | None, key: Any, values: set, t: float | None) -> None:
    if res._record(t):
        elsewhere = []
        for v in sorted(values):
            for index in (idx.written, idx.aborted):
                found = next((f"{v} was written to key {other!r} by request {wk[v]}"
                              for other, wk in index.items() if other != key and v in wk), None)
                if found is not None:
                    elsewhere.append(found)
                    break
        who = f"request {r} read key {key!r} and saw" if r is not None else f"the final state of key {key!r} holds"
        text = f"{who} {_values_text(values)}, which no request ever wrote to key {key!r}"
        if elsewhere:
            text += " (" + "; ".join(elsewhere[:3]) + ")"
        res.witnesses.append(Witness("garbage_read", text, request=r, key=key, values=sorted(values), time=t))


def _scan_final(idx: HistoryIndex, final: Mapping[Any, Any], out: dict[str, AnomalyResult],
                writes_summary: WriteSummary) -> None:
    """Lost, persisted-aborted and torn writes; garbage and duplicates in the final state."""
    lost_res, persisted_res, torn_res = out["lost_write"], out["aborted_write_persisted"], out["torn_write"]
    for name in _FINAL_CLASSES:
        out[name].checked = True
    final_sets: dict[Any, set] = {}
    for write in idx.writes:
        r, _, key, values, ct, c, aborted = write
        fs = final_sets.get(key)
        if fs is None:
            state = final.get(key)
            fs = final_sets[key] = set(state) if isinstance(state, (list, tuple)) else set()
        if len(values) == 1:
            present_n = 1 if values[0] in fs else 0
        else:
            present_n = sum(1 for v in values if v in fs)
        t = c.time if c is not None else None
        if aborted:
            writes_summary.aborted += 1
            if present_n:
                present = [v for v in values if v in fs]
                if persisted_res._record(t):
                    persisted_res.witnesses.append(Witness(
                        "aborted_write_persisted",
                        f"request {r} appended {_values_text(present)} to key {key!r} and "
                        f"{_abort_text(write).removeprefix('which ')}, yet the final state of key {key!r} "
                        f"contains it: another request's commit made it durable",
                        request=r, key=key, values=present, time=t))
        elif ct == OK:
            writes_summary.ok += 1
            if present_n < len(values):
                missing = [v for v in values if v not in fs]
                if lost_res._record(t):
                    lost_res.witnesses.append(Witness(
                        "lost_write",
                        f"request {r} appended {_values_text(missing)} to key {key!r} and got "
                        f"{c.status if c.status is not None else 'ok'} (acknowledged), but the final state "  # type: ignore[union-attr]
                        f"of key {key!r} does not contain it",
                        request=r, key=key, values=missing, time=t))
        else:
            writes_summary.indeterminate += 1
            if present_n == len(values):
                writes_summary.indeterminate_persisted += 1
            elif present_n == 0:
                writes_summary.indeterminate_absent += 1
            else:
                present = [v for v in values if v in fs]
                missing = [v for v in values if v not in fs]
                if torn_res._record(t):
                    torn_res.witnesses.append(Witness(
                        "torn_write",
                        f"request {r} appended {_values_text(values)} to key {key!r} in one transaction and "
                        f"{_answer(c)}; the final state holds {_values_text(present)} but not "
                        f"{_values_text(missing)}: only part of the transaction persisted",
                        request=r, key=key, values=present, time=t, details={"missing": missing}))

    garbage_res, dup_res = out["garbage_read"], out["duplicate_element"]
    empty: dict[int, int] = {}
    for key, state in final.items():
        if not isinstance(state, (list, tuple)):
            continue
        fs = final_sets.get(key)
        if fs is None:
            fs = set(state)
        if len(fs) != len(state):
            _duplicates(dup_res, None, key, list(state), None)
        unknown = fs.difference(idx.written.get(key, empty))
        if unknown:
            unknown.difference_update(idx.aborted.get(key, empty))
            if unknown:
                _garbage(garbage_res, idx, None, key, unknown, None)


def _scan_counters(idx: HistoryIndex, final: Mapping[Any, Any], initial: Mapping[Any, int],
                   out: dict[str, AnomalyResult], summaries: dict[Any, CounterSummary], warn: Callable[[str], None]) -> None:
    lost_res, over_res = out["lost_update"], out["counter_overcount"]
    for key, (ok_sum, info_neg, info_pos, n_ok, n_info, n_fail) in idx.counters.items():
        start = initial.get(key, 0)
        low, high = start + ok_sum + info_neg, start + ok_sum + info_pos
        actual = final.get(key, start)
        summary = CounterSummary(key, start, ok_sum, n_ok, n_info, n_fail, low, high, None)
        summaries[key] = summary
        if type(actual) is not int:
            warn(f"counter {key!r}: the final state holds {actual!r}, not an integer; not checked")
            continue
        summary.actual = actual
        lost_res.checked = over_res.checked = True
        should = f"{low:,}" if low == high else f"between {low:,} and {high:,}"
        ops = (f"{_plural(n_ok, 'increment')} {'was' if n_ok == 1 else 'were'} acknowledged (+{ok_sum:,} in total"
               + (f"; {n_info:,} more had no definite answer" if n_info else "")
               + (f", starting from {start:,}" if start else "") + ")")
        if actual < low:
            summary.lost = low - actual
            if lost_res._record(None):
                lost_res.witnesses.append(Witness(
                    "lost_update",
                    f"counter {key!r}: {ops}, so it must read {should}; the database holds {actual:,}: "
                    f"{summary.lost:,} acknowledged {'unit was' if summary.lost == 1 else 'units were'} lost. "
                    "Concurrent read-modify-write cycles overwrote each other (P4). Per-request sessions do "
                    "not prevent this: use an atomic UPDATE ... SET n = n + :amount, SELECT ... FOR UPDATE, a "
                    "version column, or SERIALIZABLE with retries",
                    key=key, details=summary.to_dict()))
        elif actual > high:
            summary.excess = actual - high
            if over_res._record(None):
                over_res.witnesses.append(Witness(
                    "counter_overcount",
                    f"counter {key!r}: {ops}, and {n_fail:,} failed, so it must read {should}; the database "
                    f"holds {actual:,}, {summary.excess:,} more than any increment that could have taken "
                    "effect: a failed or rolled-back increment was applied",
                    key=key, details=summary.to_dict()))


# --------------------------------------------------------------------------------------------
# The checker
# --------------------------------------------------------------------------------------------


def check(history: History | Iterable[Event] | HistoryIndex, final: Mapping[Any, Any] | None = None, *,
          availability_threshold: float = 0.9, max_witnesses: int | None = 5,
          unrelated: str | None = "health", initial: Mapping[Any, int] | None = None) -> CheckResult:
    """Run every check over ``history`` and ``final``; see the module docstring.

    ``final`` -- the state read after quiescence (``{key: [values]}``, ``{counter: int}``), or
    ``None`` to skip the final-state checks.  ``initial`` -- counters' starting values (default
    0).  ``max_witnesses`` -- witnesses kept per class (``None`` keeps all; counts are always
    complete).  ``unrelated`` -- the ``f`` whose latency is reported as the unrelated route.
    """
    if not 0.0 <= availability_threshold <= 1.0:
        raise ValueError("availability_threshold must be between 0 and 1")
    idx = index_history(history)
    anomalies = _new_results(ANOMALY_KINDS, max_witnesses)
    warnings = list(idx.warnings)
    writes = WriteSummary()
    counters: dict[Any, CounterSummary] = {}
    with _gc_paused():
        _scan_reads(idx, anomalies)
        if final is not None:
            _scan_final(idx, final, anomalies, writes)
            _scan_counters(idx, final, initial or {}, anomalies, counters, warnings.append)
        latency = _latency_stats(idx)
    if final is None:
        for _, _, _, _, ct, _, aborted in idx.writes:
            if aborted:
                writes.aborted += 1
            elif ct == OK:
                writes.ok += 1
            else:
                writes.indeterminate += 1
        if idx.writes or idx.counters:
            warnings.append("no final state given: lost writes, persisted aborted writes and lost updates "
                            "were not checked")

    by_f = _op_stats(idx)
    total = sum(s.total for s in by_f.values())
    served = sum(s.served for s in by_f.values())
    avail = served / total if total else None
    indeterminate = sum(s.indeterminate for s in by_f.values())
    result = CheckResult(
        status="clean", valid=False, availability=avail, availability_threshold=availability_threshold,
        events=idx.events, ops=idx.ops, indeterminate=indeterminate, no_response=idx.no_response,
        anomalies=anomalies, by_f=by_f, latency=latency, unrelated=unrelated,
        errors=_error_list(idx), counters=counters, writes=writes, probes=dict(idx.probes),
        warnings=warnings, final_checked=final is not None)
    result.status = result.status_for()
    result.valid = result.status == "clean"
    return result


def _op_stats(idx: HistoryIndex) -> dict[str, OpStats]:
    out = {}
    for f, (ok, fail, info, incomplete, statuses, _) in idx.stats.items():
        served = ok + (fail if f in ABORT_OPS else 0)
        out[f] = OpStats(f, ok + fail + info + incomplete, ok, fail, info, incomplete, served,
                         {("none" if s is None else str(s)): n for s, n in statuses.items()})
    return out


def _latency_stats(idx: HistoryIndex) -> dict[str, LatencyStats]:
    out = {}
    for f, st in idx.stats.items():
        stats = LatencyStats.of(st[5], in_place=True)
        if stats is not None:
            out[f] = stats
    return out


def _error_list(idx: HistoryIndex) -> list[ErrorGroup]:
    return sorted(idx.error_groups.values(), key=lambda g: (-g.count, g.type, g.message))


# --------------------------------------------------------------------------------------------
# Single checks (each builds or reuses an index; use check() to run them all at once)
# --------------------------------------------------------------------------------------------


def _reads_only(history: Any, name: str, max_witnesses: int | None) -> AnomalyResult:
    out = _new_results(ANOMALY_KINDS, max_witnesses)
    _scan_reads(index_history(history), out)
    return out[name]


def aborted_reads(history: History | Iterable[Event] | HistoryIndex, *, max_witnesses: int | None = None) -> AnomalyResult:
    """G1a: ok reads that saw a value of a failed or rejected write."""
    return _reads_only(history, "aborted_read", max_witnesses)


def intermediate_reads(history: History | Iterable[Event] | HistoryIndex, *,
                       max_witnesses: int | None = None) -> AnomalyResult:
    """G1b: ok reads that saw some but not all of another request's multi-value append."""
    return _reads_only(history, "intermediate_read", max_witnesses)


def _final_only(history: Any, final: Mapping[Any, Any], name: str, max_witnesses: int | None,
                reads: bool = False) -> AnomalyResult:
    idx = index_history(history)
    out = _new_results(ANOMALY_KINDS, max_witnesses)
    if reads:
        _scan_reads(idx, out)
    if final is not None:
        _scan_final(idx, final, out, WriteSummary())
    return out[name]


def lost_writes(history: History | Iterable[Event] | HistoryIndex, final: Mapping[Any, Any], *,
                max_witnesses: int | None = None) -> AnomalyResult:
    """Acknowledged appends whose values are missing from ``final``."""
    return _final_only(history, final, "lost_write", max_witnesses)


def aborted_writes_persisted(history: History | Iterable[Event] | HistoryIndex, final: Mapping[Any, Any], *,
                             max_witnesses: int | None = None) -> AnomalyResult:
    """Failed or rejected writes whose values are in ``final``."""
    return _final_only(history, final, "aborted_write_persisted", max_witnesses)


def torn_writes(history: History | Iterable[Event] | HistoryIndex, final: Mapping[Any, Any], *,
                max_witnesses: int | None = None) -> AnomalyResult:
    """Indeterminate multi-value appends that persisted only in part."""
    return _final_only(history, final, "torn_write", max_witnesses)


def garbage_reads(history: History | Iterable[Event] | HistoryIndex, final: Mapping[Any, Any] | None = None, *,
                  max_witnesses: int | None = None) -> AnomalyResult:
    """Values in reads (and in ``final``, if given) that no request wrote to that key."""
    return _final_only(history, final, "garbage_read", max_witnesses, reads=True)  # type: ignore[arg-type]


def duplicate_elements(history: History | Iterable[Event] | HistoryIndex, final: Mapping[Any, Any] | None = None, *,
                       max_witnesses: int | None = None) -> AnomalyResult:
    """Reads (and final lists, if given) that list one value more than once."""
    return _final_only(history, final, "duplicate_element", max_witnesses, reads=True)  # type: ignore[arg-type]


def _counters_only(history: Any, final: Mapping[Any, Any], initial: Mapping[Any, int] | None, name: str,
                   max_witnesses: int | None) -> AnomalyResult:
    out = _new_results(ANOMALY_KINDS, max_witnesses)
    _scan_counters(index_history(history), final, initial or {}, out, {}, lambda _: None)
    return out[name]


def lost_updates(history: History | Iterable[Event] | HistoryIndex, final: Mapping[Any, Any], *,
                 initial: Mapping[Any, int] | None = None, max_witnesses: int | None = None) -> AnomalyResult:
    """Counters that ended below their acknowledged increments (P4)."""
    return _counters_only(history, final, initial, "lost_update", max_witnesses)


def counter_overcounts(history: History | Iterable[Event] | HistoryIndex, final: Mapping[Any, Any], *,
                       initial: Mapping[Any, int] | None = None, max_witnesses: int | None = None) -> AnomalyResult:
    """Counters that ended above every increment that could have taken effect."""
    return _counters_only(history, final, initial, "counter_overcount", max_witnesses)


def error_taxonomy(history: History | Iterable[Event] | HistoryIndex) -> list[ErrorGroup]:
    """Operations not served as intended, grouped by (exception type, normalised message), largest first."""
    return _error_list(index_history(history))


def availability(history: History | Iterable[Event] | HistoryIndex) -> dict[str, OpStats]:
    """Outcome counts and the served share per operation type."""
    return _op_stats(index_history(history))


def latencies(history: History | Iterable[Event] | HistoryIndex) -> dict[str, LatencyStats]:
    """Latency distribution per operation type."""
    return _latency_stats(index_history(history))


# --------------------------------------------------------------------------------------------
# Command line: re-check a saved history
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m sessionlint.harness.checker HISTORY.jsonl [--final FINAL.json] [--json]``.

    Exit status: 0 clean, 1 anomalous, 3 unknown (too few requests served), 2 usage error.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sessionlint.harness.checker",
                                     description="Check a recorded history for session anomalies.")
    parser.add_argument("history", help="a JSONL history (.jsonl or .jsonl.gz)")
    parser.add_argument("--final", help='a JSON object with the final state: {"key": [values], "counter": n}')
    parser.add_argument("--threshold", type=float, default=0.9, help="availability threshold (default 0.9)")
    parser.add_argument("--max-witnesses", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = parser.parse_args(argv)
    try:
        history = History.from_jsonl(args.history)
        final = None
        if args.final:
            with open(args.final, encoding="utf-8") as fh:
                final = json.load(fh)
            if not isinstance(final, dict):
                raise ValueError(f"{args.final}: expected a JSON object of key -> list or integer")
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = check(history, final, availability_threshold=args.threshold, max_witnesses=args.max_witnesses)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.summary())
    return {"clean": 0, "anomalous": 1}.get(result.status, 3)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
