"""The driver: fire requests at an ASGI app in-process and record every one in a History.

* One `httpx.AsyncClient` per logical process (worker), each over
  ``httpx.ASGITransport(app, raise_app_exceptions=False)``: the app runs inside the
  caller's task, ``def`` routes on anyio's thread pool -- real concurrency, no sockets.
  The app's lifespan is run by the caller (`lifespan`), since ASGITransport sends no
  lifespan events. With ``base_url`` the clients talk real HTTP over TCP instead (a
  uvicorn the harness started, or a server the user runs: `harness.live`).
* Every request is recorded Jepsen-style: ``invoke`` before it is sent, then exactly
  one of ``ok`` (2xx), ``fail`` (a deliberate app-level abort or another 4xx: no
  effect) or ``info`` (5xx, timeout, transport error: the outcome is unknown). A
  process whose request ends in ``info`` is retired and its worker continues as a
  fresh process id.
* Bounded by request count and by time: ``requests`` and ``duration`` for load
  mode, ``rounds`` and ``duration`` for staged mode, and every request by
  ``request_timeout``. Nothing here waits without a bound.

The workload comes from the scenario (``harness/scenarios/<name>.py``): `Op`s for
load mode, and a staged round script that uses `Round`'s helpers.
"""

from __future__ import annotations

import itertools
import json
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from .staging import STAGE_HEADER, Barrier, Stager, StageTagMiddleware

REQUEST_HEADER = "x-sessionlint-request"
BASE_URL = "http://127.0.0.1"


@dataclass
class Op:
    """One HTTP request of the workload, and how to record it."""

    f: str  # "append", "read", "reject", ...
    method: str
    path: str
    json: Any = None
    key: str | None = None
    value: Any = None  # the unique value(s) written; None for reads
    # For reads: the observed value from the 2xx response's JSON body.
    observe: Callable[[Any], Any] | None = None
    # Statuses that mean "the app deliberately aborted this operation" (recorded as fail).
    abort_statuses: tuple[int, ...] = (409,)


@dataclass
class Outcome:
    request: int
    process: int
    type: str  # ok | fail | info
    status: int | None
    latency: float | None
    value: Any = None
    error: str | None = None


@dataclass
class DriverConfig:
    mode: str = "staged"  # staged | load
    requests: int = 500  # load mode: total requests (all workers together)
    concurrency: int = 16  # load mode: workers
    duration: float = 10.0  # both modes: wall-time bound, seconds
    rounds: int = 5  # staged mode: how many times the scripted interleaving runs
    seed: int = 0
    request_timeout: float = 10.0
    barrier_timeout: float = 5.0  # how long a staged request waits for its release
    block_window: float = 0.25  # staged mode: how long a step may take before it "BLOCKS"


@dataclass
class DriverStats:
    started: float = 0.0
    elapsed: float = 0.0
    sent: int = 0
    stopped_by: str = ""  # "requests", "rounds", "duration"
    rounds_completed: int = 0
    ok: int = 0  # completions so far, by type (the progress display reads these)
    fail: int = 0
    info: int = 0
    notes: list[str] = field(default_factory=list)


class InstrumentedApp:
    """Pure ASGI wrapper the driver puts around the app.

    It keeps the app's exception for each request (ServerErrorMiddleware answers a
    bare "Internal Server Error" and then re-raises; ASGITransport with
    ``raise_app_exceptions=False`` swallows it), counts requests in flight, copies
    the lifespan state into each request's scope, and sets the staging tag.
    """

    def __init__(self, app, lifespan_state: dict | None = None) -> None:
        self.app = StageTagMiddleware(app)
        self.lifespan_state = lifespan_state
        self.errors: dict[str, str] = {}
        self.in_flight = 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.lifespan_state is not None:
            scope["state"] = dict(self.lifespan_state)
        request_id = None
        for key, value in scope.get("headers") or ():
            if key == REQUEST_HEADER.encode():
                request_id = value.decode()
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            if request_id is not None:
                self.errors[request_id] = describe_exception(exc)
            raise
        finally:
            self.in_flight -= 1


def describe_exception(exc: BaseException) -> str:
    message = " ".join(str(exc).split())
    if len(message) > 300:
        message = message[:297] + "..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


@asynccontextmanager
async def lifespan(app):
    """Run the app's lifespan (startup before, shutdown after) around the block.

    Yields the lifespan state (a dict, or None when the lifespan yields nothing).
    """
    router = getattr(app, "router", None)
    context = getattr(router, "lifespan_context", None)
    if context is None:
        yield None
        return
    async with context(app) as state:
        yield state


class Driver:
    """Sends `Op`s for numbered processes and records them in `history`."""

    def __init__(self, app, history, config: DriverConfig, *, stager: Stager | None = None, lifespan_state=None,
                 base_url: str | None = None) -> None:
        # `app` may already be wrapped (a live server serves the wrapper), or None when
        # `base_url` names a server outside this process (nothing to instrument then).
        if app is None and base_url is None:
            raise ValueError("the driver needs an app or a base_url")
        self.app = app if app is None or isinstance(app, InstrumentedApp) else InstrumentedApp(app, lifespan_state)
        self.base_url = base_url
        self.history = history
        self.config = config
        self.stager = stager
        self.stats = DriverStats()
        self.on_complete: Callable[[DriverStats], None] | None = None  # called after each recorded completion
        self._clients: dict[int, httpx.AsyncClient] = {}
        self._values = itertools.count(1)
        self._t0 = time.perf_counter()

    # -- plumbing ---------------------------------------------------------------

    def unique(self) -> int:
        """A value never written before in this run (Elle's recoverability)."""
        return next(self._values)

    def client(self, slot: int) -> httpx.AsyncClient:
        """One client per worker slot (encode/httpx#3215: a shared client degrades badly)."""
        client = self._clients.get(slot)
        if client is None:
            if self.base_url is not None:
                # Real TCP. trust_env=False: a proxy from the environment must never
                # carry loopback test traffic elsewhere.
                client = httpx.AsyncClient(base_url=self.base_url, timeout=self.config.request_timeout, trust_env=False)
            else:
                transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
                client = httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=self.config.request_timeout)
            self._clients[slot] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def call(self, process: int, op: Op, *, slot: int | None = None, tag: str | None = None) -> Outcome:
        """Send one op as `process` and record invoke + completion. Never raises (but cancels)."""
        request = self.history.invoke(op.f, key=op.key, value=op.value, process=process)
        self.stats.sent += 1
        headers = {REQUEST_HEADER: str(request)}
        if tag is not None:
            headers[STAGE_HEADER] = tag
        client = self.client(process if slot is None else slot)
        started = time.perf_counter()
        try:
            with anyio.fail_after(self.config.request_timeout):
                response = await client.request(op.method, op.path, json=op.json, headers=headers)
        except anyio.get_cancelled_exc_class():
            # The run's time budget ran out mid-request: its effect is unknown.
            self.history.complete(request, type="info", status=None, latency=time.perf_counter() - started,
                                  error="Cancelled: the run's time budget ran out", value=None)
            self._completed("info")
            raise
        except TimeoutError:
            outcome = Outcome(request, process, "info", None, time.perf_counter() - started,
                              error=f"RequestTimeout: no response within {self.config.request_timeout:g} s")
        except Exception as exc:  # transport errors: the request's effect is unknown
            outcome = Outcome(request, process, "info", None, time.perf_counter() - started, error=describe_exception(exc))
        else:
            latency = time.perf_counter() - started
            outcome = self._classify(request, process, op, response, latency)
        self.history.complete(
            request, type=outcome.type, value=outcome.value, status=outcome.status,
            latency=outcome.latency, error=outcome.error,
        )
        self._completed(outcome.type)
        return outcome

    def _completed(self, kind: str) -> None:
        setattr(self.stats, kind, getattr(self.stats, kind) + 1)
        if self.on_complete is not None:
            self.on_complete(self.stats)

    def _classify(self, request: int, process: int, op: Op, response: httpx.Response, latency: float) -> Outcome:
        status = response.status_code
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            body = None
        if 200 <= status < 300:
            value = op.value
            if op.observe is not None:
                try:
                    value = op.observe(body)
                except Exception as exc:  # a 2xx we cannot read is not an ok read
                    return Outcome(request, process, "info", status, latency,
                                   error=f"UnreadableResponse: {describe_exception(exc)}")
            return Outcome(request, process, "ok", status, latency, value=value)
        if status >= 500:
            error = self.app.errors.pop(str(request), None) if self.app is not None else None
            if error is None:
                error = f"HTTP{status}: {_body_text(response, body)}"
            return Outcome(request, process, "info", status, latency, value=op.value, error=error)
        # 4xx: a deliberate abort (409) or a rejected request: no effect on the data.
        # FastAPI answers those from an HTTPException (or a validation error, 422).
        kind = "RequestValidationError" if status == 422 else "HTTPException"
        return Outcome(request, process, "fail", status, latency, value=op.value,
                       error=f"{kind}: {status} {_body_text(response, body)}")

    # -- load mode ------------------------------------------------------------

    async def run_load(self, next_op: Callable[[random.Random, Driver], Op]) -> DriverStats:
        """`concurrency` closed-loop workers fire `next_op(rng, driver)` until the
        request budget or the time budget runs out."""
        config = self.config
        self.stats.started = time.perf_counter()
        deadline = self.stats.started + config.duration
        budget = itertools.count()
        stop_reason = {"why": "requests"}

        async def worker(slot: int) -> None:
            rng = random.Random(f"{config.seed}/{slot}")
            process = slot
            while True:
                if time.perf_counter() >= deadline:
                    stop_reason["why"] = "duration"
                    return
                if next(budget) >= config.requests:
                    return
                outcome = await self.call(process, next_op(rng, self), slot=slot)
                if outcome.type == "info":  # Jepsen: a crashed process never invokes again
                    process += config.concurrency

        with anyio.move_on_after(config.duration + config.request_timeout + 1):
            async with anyio.create_task_group() as tg:
                for slot in range(max(1, config.concurrency)):
                    tg.start_soon(worker, slot)
        self.stats.elapsed = time.perf_counter() - self.stats.started
        self.stats.stopped_by = stop_reason["why"]
        return self.stats

    # -- staged mode ------------------------------------------------------------

    async def run_staged(self, script: Callable[[Round], Awaitable[None]]) -> DriverStats:
        """Run the scenario's scripted interleaving `rounds` times (bounded by `duration`)."""
        if self.stager is None:
            raise RuntimeError("staged mode needs a Stager installed in the app's process")
        config = self.config
        self.stats.started = time.perf_counter()
        deadline = self.stats.started + config.duration
        self.stats.stopped_by = "rounds"
        for number in range(1, config.rounds + 1):
            if time.perf_counter() >= deadline:
                self.stats.stopped_by = "duration"
                break
            round_ = Round(self, number)
            with anyio.move_on_after(max(0.0, deadline - time.perf_counter()) + config.request_timeout) as scope:
                try:
                    await script(round_)
                finally:
                    self.stager.release_all()
            if scope.cancelled_caught:
                self.stats.stopped_by = "duration"
                self.stats.notes.append(f"round {number} was cut short: the time budget ran out")
                break
            self.stats.rounds_completed += 1
        self.stats.elapsed = time.perf_counter() - self.stats.started
        return self.stats


@dataclass
class Pending:
    """A request started in the background during a staged round."""

    done: anyio.Event
    outcome: Outcome | None = None


class Round:
    """Helpers for one staged round: processes are numbered per round (A=0, B=1, ...),
    and tags are unique per round, so rounds never see each other's barriers."""

    def __init__(self, driver: Driver, number: int) -> None:
        self.driver = driver
        self.number = number
        self.stager: Stager = driver.stager  # type: ignore[assignment]
        self.config = driver.config

    def unique(self) -> int:
        return self.driver.unique()

    def process(self, index: int) -> int:
        """Round-local process `index` (0 = A, 1 = B, ...) as a run-unique process id."""
        return (self.number - 1) * 16 + index

    def tag(self, name: str) -> str:
        return f"r{self.number}-{name}"

    def arm(self, name: str, checkpoint: str) -> Barrier:
        return self.stager.arm(self.tag(name), checkpoint, timeout=self.config.barrier_timeout)

    async def call(self, index: int, op: Op, *, tag: str | None = None) -> Outcome:
        return await self.driver.call(self.process(index), op, slot=index, tag=tag)

    def start(self, tg, index: int, op: Op, *, tag: str | None = None) -> Pending:
        pending = Pending(anyio.Event())

        async def run() -> None:
            try:
                pending.outcome = await self.call(index, op, tag=tag)
            finally:
                pending.done.set()

        tg.start_soon(run)
        return pending

    async def reached(self, barrier: Barrier, pending: Pending) -> bool:
        """Wait until the request parks at `barrier`; False if it finished (or the
        barrier timeout passed) without getting there."""
        deadline = time.perf_counter() + barrier.timeout
        while not barrier.reached.is_set():
            if pending.done.is_set() or time.perf_counter() >= deadline:
                self.driver.stats.notes.append(
                    f"round {self.number}: {barrier.tag} never reached {barrier.name!r}"
                    + (f" (it ended: {pending.outcome.type} {pending.outcome.status})" if pending.outcome else "")
                )
                return False
            await anyio.sleep(0.0005)
        return True

    async def settle(self, pending: Pending, window: float | None = None) -> bool:
        """Give a request `window` seconds to finish; False means it BLOCKS (Hermitage)."""
        with anyio.move_on_after(self.config.block_window if window is None else window):
            await pending.done.wait()
        return pending.done.is_set()


def _body_text(response: httpx.Response, body: Any) -> str:
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        return detail if isinstance(detail, str) else json.dumps(detail)[:200]
    text = response.text.strip()
    return text[:200] if text else response.reason_phrase
