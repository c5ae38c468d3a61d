"""Jepsen-shaped operation histories: what the stress driver records and the checker reads.

A run is recorded as a flat, append-only list of :class:`Event` s.  Every operation (one HTTP
request) contributes exactly two events, in the shape of a Jepsen history
(``jepsen-io/history``):

* an ``invoke`` event, written just before the request is sent, carrying what the request
  *asks* for (the operation name ``f``, the ``key`` and, for writes, the unique ``value``);
* one completion, written when the answer (or the lack of one) is known:

  ``ok``
      2xx.  The operation took effect: for a read, ``value`` is the list it returned.
  ``fail``
      The application refused the operation on purpose (4xx, e.g. the 409 of a deliberate
      rollback).  By the Jepsen contract a ``fail`` operation *had no logical effect*.
  ``info``
      Indeterminate: a 5xx, a timeout, a dropped connection.  The operation may or may not have
      taken effect, so no check may assume either.

Both events share the ``request`` id, which :meth:`History.invoke` hands out.  An operation that
never completes (the run ended while it was in flight) is treated as ``info`` by every consumer.

Operation vocabulary (``f``) understood by :mod:`sessionlint.harness.checker`:

``append``
    Append one unique integer (``value: int``) or several, in order, in one transaction
    (``value: list[int]``) to the list stored under ``key``.
``reject``
    The same, but the application flushes the values and then *rolls back* and answers 409.
    Whatever the answer, its values must never be visible to anyone nor persisted.
``read``
    Read the whole list under ``key``; the ``ok`` completion's ``value`` is that list.
``increment`` / ``deposit``
    Counter operations for the lost-update (P4) check: add ``value`` (``None`` = 1) to the
    counter under ``key``.
``probe``, ``health``, anything else
    Recorded for availability, latency and the error taxonomy only (``health`` is the
    "unrelated route" whose latency shows a blocked event loop or an exhausted pool).

Value discipline (Elle's *recoverability*): every value written to a key must be unique, so a
read maps back to exactly one writer; append-only lists give *traceability*.  The driver should
use a run-wide counter for values.

Times are float seconds since the run started (``time.perf_counter`` by default), taken under the
recorder's lock, so list order and time order agree.  Latency is the completion time minus the
invoke time unless the driver measured it itself.

Jepsen processes are single-threaded: a ``process`` (worker id) has at most one operation in
flight, and :meth:`History.invoke` refuses a second one.  Jepsen also retires a process after an
``info`` completion; drivers may keep the worker id, and :func:`sessionlint.harness.elle.write_elle`
renumbers such processes when it exports for Elle.

Serialisation: :meth:`History.to_jsonl` / :meth:`History.from_jsonl` write and read one JSON
object per line (fields as in :class:`Event`; ``None`` fields are omitted; ``.gz`` paths are
gzip-compressed).  :meth:`History.to_elle` writes an elle-cli ``list-append`` history.

This module uses the standard library only: the lint path and users' environments never pay for
it, and the checker can run anywhere a history file can be copied to.
"""

from __future__ import annotations

import gc
import gzip
import io
import json
import os
import threading
import time as _time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import KW_ONLY, dataclass
from typing import IO, Any

__all__ = [
    "ABORT_OPS",
    "APPEND",
    "COMPLETION_TYPES",
    "COUNTER_OPS",
    "DEPOSIT",
    "EVENT_TYPES",
    "FAIL",
    "HEALTH",
    "INCREMENT",
    "INFO",
    "INVOKE",
    "OK",
    "PROBE",
    "READ",
    "READ_OPS",
    "REJECT",
    "WRITE_OPS",
    "Event",
    "History",
    "format_error",
    "outcome_for",
]

INVOKE = "invoke"
OK = "ok"
FAIL = "fail"
INFO = "info"
EVENT_TYPES = frozenset({INVOKE, OK, FAIL, INFO})
COMPLETION_TYPES = frozenset({OK, FAIL, INFO})

APPEND = "append"
REJECT = "reject"
READ = "read"
INCREMENT = "increment"
DEPOSIT = "deposit"
PROBE = "probe"
HEALTH = "health"

#: Operations that write unique values to a list.
WRITE_OPS = frozenset({APPEND, REJECT})
#: Writes the application always rolls back: their values are aborted whatever the answer.
ABORT_OPS = frozenset({REJECT})
#: Operations whose ``ok`` completion carries the whole list under ``key``.
READ_OPS = frozenset({READ})
#: Counter operations (lost-update check); ``value`` is the amount, ``None`` meaning 1.
COUNTER_OPS = frozenset({INCREMENT, DEPOSIT})

PathOrFile = str | os.PathLike[str] | IO[str]
Value = int | list[int] | None


@dataclass(slots=True)
class Event:
    """One line of a history: an invocation or a completion of one operation.

    Fields after ``f`` are keyword-only: ``Event("ok", 3, 1.25, "read", key="x", value=[1, 2],
    request=7, status=200)``.

    * ``type`` -- ``"invoke"``, ``"ok"``, ``"fail"`` or ``"info"`` (see the module docstring).
    * ``process`` -- the worker (Jepsen process) that issued the operation.
    * ``time`` -- float seconds since the start of the run.
    * ``f`` -- the operation name (``"append"``, ``"read"``, ``"reject"``, ...).
    * ``key`` -- the list or counter the operation addresses, if any.
    * ``value`` -- on an invoke: the unique written value (``int``) or values (``list[int]``), or
      the counter amount; on a read's ``ok`` completion: the list returned.
    * ``request`` -- the id linking an invoke to its completion (unique per history).
    * ``status`` -- the HTTP status, or ``None`` (an invoke, or no response at all).
    * ``latency`` -- seconds from invoke to completion, on completions.
    * ``error`` -- ``"ExcType: message"`` for failed or indeterminate completions.
    """

    type: str
    process: int
    time: float
    f: str
    _: KW_ONLY
    key: str | None = None
    value: Value = None
    request: int
    status: int | None = None
    latency: float | None = None
    error: str | None = None

    @property
    def is_invoke(self) -> bool:
        return self.type == INVOKE

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every field, except optional ones that are ``None``."""
        out: dict[str, Any] = {"type": self.type, "process": self.process, "time": self.time, "f": self.f}
        if self.key is not None:
            out["key"] = self.key
        if self.value is not None:
            out["value"] = self.value
        out["request"] = self.request
        if self.status is not None:
            out["status"] = self.status
        if self.latency is not None:
            out["latency"] = self.latency
        if self.error is not None:
            out["error"] = self.error
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """Build an event from its JSON form; unknown fields are ignored (forward compatibility).

        Raises ``ValueError`` naming the problem when a required field is missing or malformed.
        """
        try:
            get = data.get
            event = cls(data["type"], data["process"], data["time"], data["f"], key=get("key"),
                        value=get("value"), request=data["request"], status=get("status"),
                        latency=get("latency"), error=get("error"))
        except KeyError as exc:
            raise ValueError(f"missing field {exc.args[0]!r}") from None
        except (TypeError, AttributeError):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}") from None
        if (event.type not in EVENT_TYPES or type(event.time) not in _NUMBER_TYPES
                or type(event.request) is not int or type(event.f) is not str):
            raise ValueError(event._malformed())
        return event

    def _malformed(self) -> str:
        if self.type not in EVENT_TYPES:
            return f"'type' must be one of invoke/ok/fail/info, not {self.type!r}"
        if type(self.time) not in _NUMBER_TYPES:
            return f"'time' must be a number, not {self.time!r}"
        if type(self.request) is not int:
            return f"'request' must be an integer, not {self.request!r}"
        return f"'f' must be a string, not {self.f!r}"


_NUMBER_TYPES = (int, float)


def outcome_for(status: int | None) -> str:
    """The completion type for an HTTP answer (the harness's HTTP-to-Jepsen mapping).

    * 2xx -> ``ok``;
    * 4xx -> ``fail``: the application refused the request on purpose, nothing happened
      (408 Request Timeout is the exception: ``info``);
    * 5xx, any other status, or ``None`` (timeout, connection error: no response) -> ``info``,
      because the transaction may have committed before the failure.
    """
    if status is None:
        return INFO
    if 200 <= status < 300:
        return OK
    if 400 <= status < 500 and status != 408:
        return FAIL
    return INFO


def format_error(exc: BaseException) -> str:
    """``"ExcType: message"`` (just ``"ExcType"`` when the message is empty), as histories store it."""
    message = str(exc)
    name = type(exc).__name__
    return f"{name}: {message}" if message else name


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic objects (restored on exit)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _open_text(target: PathOrFile, mode: str) -> tuple[IO[str], bool]:
    """Open ``target`` for text I/O; returns (file, whether we must close it)."""
    if hasattr(target, "write" if "w" in mode else "read"):
        return target, False  # type: ignore[return-value]
    path = os.fspath(target)  # type: ignore[arg-type]
    if path.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, mode.replace("t", "") + "b"), encoding="utf-8"), True
    return open(path, mode, encoding="utf-8"), True


class History:
    """An append-only, thread- and task-safe recorder of :class:`Event` s.

    Typical driver use::

        history = History()
        request = history.invoke("append", key="k1", value=175, process=worker)
        try:
            response = await client.post(...)
        except httpx.TimeoutException as exc:
            history.complete(request, error=exc)              # info, no status
        else:
            history.complete(request, status=response.status_code,
                             value=response.json()["values"] if reading else None)

    ``invoke`` and ``complete`` take a short lock and never block otherwise, so they may be called
    from threads and from async tasks alike (never hold anything across an ``await``).

    ``clock`` returns seconds (``time.perf_counter`` by default); event times are relative to the
    clock's value when the history was created.  Both methods accept an explicit ``time=`` for
    replaying or synthesising histories.
    """

    __slots__ = ("_busy", "_clock", "_events", "_lock", "_next_request", "_open", "_t0")

    def __init__(self, events: Iterable[Event] = (), *, clock: Callable[[], float] = _time.perf_counter) -> None:
        self._events: list[Event] = list(events)
        self._lock = threading.Lock()
        self._clock = clock
        self._t0 = clock()
        last = max((e.request for e in self._events), default=0)
        self._next_request = max(last, 0) + 1
        # In-flight operations of events given up front (replays) are not tracked: only
        # operations invoked through this recorder can be completed through it.
        self._open: dict[int, Event] = {}
        self._busy: dict[Any, int] = {}

    # -- recording ---------------------------------------------------------------------------

    def now(self) -> float:
        """Seconds since this history was created, on its clock."""
        return self._clock() - self._t0

    def invoke(self, f: str, key: str | None = None, value: Value = None, *, process: int,
               time: float | None = None) -> int:
        """Record the invocation of an operation and return its new request id.

        Raises ``ValueError`` if ``process`` already has an operation in flight (Jepsen processes
        are single-threaded: give each concurrent worker its own id).
        """
        with self._lock:
            if process in self._busy:
                raise ValueError(
                    f"process {process!r} already has request {self._busy[process]} in flight; "
                    "a process runs one operation at a time")
            request = self._next_request
            self._next_request += 1
            event = Event(INVOKE, process, self.now() if time is None else time, f,
                          key=key, value=value, request=request)
            self._events.append(event)
            self._open[request] = event
            self._busy[process] = request
        return request

    def complete(self, request: int, type: str | None = None, *, value: Value = None,
                 status: int | None = None, error: str | BaseException | None = None,
                 latency: float | None = None, time: float | None = None) -> Event:
        """Record the completion of ``request`` and return the event written.

        ``type`` defaults to :func:`outcome_for` of ``status`` (so a missing status -- a timeout or
        a connection error -- is ``info``).  ``error`` may be an exception; it is stored as
        ``"ExcType: message"``.  ``latency`` defaults to the completion time minus the invoke
        time.  Raises ``ValueError`` for an unknown or already completed request, or a bad type.
        """
        if type is None:
            type = outcome_for(status)
        elif type not in COMPLETION_TYPES:
            raise ValueError(f"completion type must be ok, fail or info, not {type!r}")
        if isinstance(error, BaseException):
            error = format_error(error)
        with self._lock:
            invoked = self._open.pop(request, None)
            if invoked is None:
                raise ValueError(f"request {request} is not in flight (never invoked here, or already completed)")
            now = self.now() if time is None else time
            event = Event(type, invoked.process, now, invoked.f, key=invoked.key, value=value,
                          request=request, status=status,
                          latency=(now - invoked.time) if latency is None else latency, error=error)
            self._events.append(event)
            del self._busy[invoked.process]
        return event

    def append(self, event: Event) -> None:
        """Append an already-built event as is (replays, synthetic histories); no checks."""
        with self._lock:
            self._events.append(event)
            if event.request >= self._next_request:
                self._next_request = event.request + 1

    def pending(self) -> list[int]:
        """Request ids invoked through this recorder and not completed yet."""
        with self._lock:
            return list(self._open)

    # -- reading -----------------------------------------------------------------------------

    @property
    def events(self) -> list[Event]:
        """The recorded events, in order (the live list: do not modify it)."""
        return self._events

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events)

    def __getitem__(self, index: int) -> Event:
        return self._events[index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, History):
            return NotImplemented
        return self._events == other._events

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<History: {len(self._events)} events>"

    def pairs(self) -> Iterator[tuple[Event, Event | None]]:
        """Yield ``(invoke, completion)`` per operation, in invocation order.

        ``completion`` is ``None`` for an operation that never completed (treat it as ``info``).
        Completions without an invoke are skipped; :meth:`validate` reports them.
        """
        completions: dict[int, Event] = {}
        for event in self._events:
            if event.type != INVOKE:
                completions.setdefault(event.request, event)
        for event in self._events:
            if event.type == INVOKE:
                yield event, completions.get(event.request)

    def validate(self, limit: int = 20) -> list[str]:
        """Structural problems, in plain English (empty when the history is well formed).

        Checks: known event types; one invoke and at most one completion per request, the
        completion after its invoke (in list order and in time) and matching its process, ``f``
        and ``key``; no process with two operations in flight.  At most ``limit`` problems are
        listed, followed by a count of the rest.
        """
        problems: list[str] = []
        extra = 0

        def problem(text: str) -> None:
            nonlocal extra
            if len(problems) < limit:
                problems.append(text)
            else:
                extra += 1

        invoked: dict[int, Event] = {}
        completed: set[int] = set()
        in_flight: dict[Any, int] = {}
        for position, event in enumerate(self._events):
            where = f"event {position} (request {event.request})"
            if event.type not in EVENT_TYPES:
                problem(f"{where}: unknown type {event.type!r}")
                continue
            if event.type == INVOKE:
                if event.request in invoked:
                    problem(f"{where}: request id invoked twice")
                    continue
                invoked[event.request] = event
                if event.process in in_flight:
                    problem(f"{where}: process {event.process!r} invoked while request "
                            f"{in_flight[event.process]} was still in flight")
                in_flight[event.process] = event.request
                continue
            start = invoked.get(event.request)
            if start is None:
                problem(f"{where}: completion without an earlier invoke")
                continue
            if event.request in completed:
                problem(f"{where}: request completed twice")
                continue
            completed.add(event.request)
            if in_flight.get(start.process) == event.request:
                del in_flight[start.process]
            if (event.process, event.f, event.key) != (start.process, start.f, start.key):
                problem(f"{where}: completion's process/f/key {(event.process, event.f, event.key)!r} "
                        f"differ from the invoke's {(start.process, start.f, start.key)!r}")
            if event.time < start.time:
                problem(f"{where}: completed at {event.time} before it was invoked at {start.time}")
        if extra:
            problems.append(f"... and {extra} more")
        return problems

    # -- files ------------------------------------------------------------------------------

    def to_jsonl(self, target: PathOrFile) -> None:
        """Write one JSON object per event (``.gz`` paths are compressed).

        ``target`` is a path or a text file object.  Values must be JSON-representable and times
        finite; ``ValueError`` otherwise.
        """
        out, close = _open_text(target, "wt")
        try:
            dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
            write = out.write
            for event in self._events:
                write(dumps(event.to_dict()))
                write("\n")
        finally:
            if close:
                out.close()

    @classmethod
    def from_jsonl(cls, source: PathOrFile) -> History:
        """Read a history written by :meth:`to_jsonl` (blank lines are skipped).

        Raises ``ValueError`` naming the line of the first malformed event.
        """
        inp, close = _open_text(source, "rt")
        name = getattr(inp, "name", "<history>")
        try:
            lines = inp.read().split("\n")
        finally:
            if close:
                inp.close()
        numbered = [(number, line) for number, line in enumerate(lines, 1) if line.strip()]
        from_dict = Event.from_dict
        with _gc_paused():
            try:
                # One decoder call for the whole file is several times faster than one per line.
                records = json.loads("[" + ",".join(line for _, line in numbered) + "]")
                return cls([from_dict(record) for record in records])
            except (ValueError, TypeError):
                pass
            # Something is malformed: find and name the first bad line.
            for number, line in numbered:
                try:
                    from_dict(json.loads(line))
                except (ValueError, TypeError) as exc:
                    raise ValueError(f"{name}:{number}: not a history event: {exc}") from None
        raise ValueError(f"{name}: not a JSONL history")  # pragma: no cover - a line failed above

    def to_elle(self, target: PathOrFile, *, format: str | None = None,
                final: dict[str, list[int]] | None = None) -> int:
        """Export the list-append part of this history for elle-cli; returns the ops written.

        See :func:`sessionlint.harness.elle.write_elle` for the format and its assumptions.
        """
        from .elle import write_elle

        return write_elle(self._events, target, format=format, final=final)

