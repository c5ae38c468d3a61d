"""Named barriers inside the sample apps: Hermitage-style interleavings, on demand.

A sample app marks the points where an interleaving matters with one call, the
same in both arms::

    from sessionlint.harness.staging import checkpoint

    db.flush()
    checkpoint("after_flush")      # a no-op unless the stress harness staged one here

``checkpoint`` does nothing (one global read) unless the harness has installed a
`Stager` *and* the current request carries a stage tag. The tag travels in the
``X-Sessionlint-Stage`` header; `StageTagMiddleware` (a pure ASGI wrapper the
harness puts around the app -- the app itself has no middleware for it) copies it
into a context variable, which Starlette/anyio carry into the threadpool that runs
``def`` routes and dependencies.

The harness then scripts a round the way Hermitage does, with one process per
logical transaction::

    barrier = stager.arm("r1-A", "after_flush")   # before sending request A
    ... send A (tag "r1-A"); wait until barrier.reached ...
    ... send B, let it finish (it runs while A is parked after its flush) ...
    barrier.release()                             # A continues: rolls back, 409

A request that reaches an armed checkpoint signals ``reached`` and waits for
``release``, at most ``timeout`` seconds (default 5): a barrier that times out is
recorded in `Stager.timeouts` and the request simply goes on, so nothing can hang.
Checkpoints that are hit but not armed are counted (`Stager.hits`), which lets a
script assert that the app really passed the point it meant.

``def`` routes run on worker threads, so the barriers are `threading.Event`s. An
``async def`` route must use ``await acheckpoint(name)``, which waits on a worker
thread instead of blocking the event loop.

This module uses only the standard library: the sample apps import it, and the
lint path never does.
"""

from __future__ import annotations

import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass, field

STAGE_HEADER = "x-sessionlint-stage"
DEFAULT_TIMEOUT = 5.0

_tag: ContextVar[str | None] = ContextVar("sessionlint_stage_tag", default=None)
_stager: Stager | None = None


def checkpoint(name: str) -> None:
    """Park here if the harness staged barrier `name` for this request; else return at once."""
    stager = _stager
    if stager is None:
        return
    tag = _tag.get()
    if tag is not None:
        stager.hit(tag, name)


async def acheckpoint(name: str) -> None:
    """`checkpoint` for ``async def`` code: waits on a worker thread, never blocks the loop."""
    stager = _stager
    if stager is None:
        return
    tag = _tag.get()
    if tag is None:
        return
    import anyio.to_thread

    await anyio.to_thread.run_sync(stager.hit, tag, name)


@dataclass
class Barrier:
    tag: str
    name: str
    timeout: float
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    timed_out: bool = False
    reached_at: float | None = None
    released_at: float | None = None

    def release(self) -> None:
        if not self.released.is_set():
            self.released_at = time.perf_counter()
            self.released.set()


@dataclass
class BarrierTimeout:
    tag: str
    name: str
    waited: float

    def describe(self) -> str:
        return f"barrier {self.name!r} of {self.tag!r} was not released within {self.waited:g} s"


class Stager:
    """The harness's side: arm barriers per (request tag, checkpoint name), release them."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._barriers: dict[tuple[str, str], Barrier] = {}
        self.hits: dict[tuple[str, str], int] = {}
        self.timeouts: list[BarrierTimeout] = []

    def arm(self, tag: str, name: str, timeout: float | None = None) -> Barrier:
        barrier = Barrier(tag, name, self.timeout if timeout is None else timeout)
        with self._lock:
            self._barriers[(tag, name)] = barrier
        return barrier

    def hit(self, tag: str, name: str) -> None:
        """Called from the app (on a worker thread): signal, then wait for release, bounded."""
        with self._lock:
            self.hits[(tag, name)] = self.hits.get((tag, name), 0) + 1
            barrier = self._barriers.pop((tag, name), None)  # one shot: a retry passes through
        if barrier is None:
            return
        barrier.reached_at = time.perf_counter()
        barrier.reached.set()
        if not barrier.released.wait(barrier.timeout):
            barrier.timed_out = True
            with self._lock:
                self.timeouts.append(BarrierTimeout(tag, name, barrier.timeout))

    def release_all(self) -> None:
        """Let every parked request go (end of a round or of the run)."""
        with self._lock:
            pending = list(self._barriers.values())
            self._barriers.clear()
        for barrier in pending:
            barrier.release()

    def hit_count(self, tag: str, name: str) -> int:
        with self._lock:
            return self.hits.get((tag, name), 0)


def install(stager: Stager | None) -> None:
    """Enable staging in this process (the harness's child process does this); None disables it."""
    global _stager
    _stager = stager


def installed() -> Stager | None:
    return _stager


class StageTagMiddleware:
    """Pure ASGI wrapper: the request's ``X-Sessionlint-Stage`` header → the stage tag.

    The harness wraps the app with it; it sets a context variable in the request's
    task, which is copied into the worker threads that run ``def`` routes.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tag = header(scope, STAGE_HEADER)
        token = _tag.set(tag)
        try:
            await self.app(scope, receive, send)
        finally:
            _tag.reset(token)


def header(scope, name: str) -> str | None:
    raw = name.encode("latin-1")
    for key, value in scope.get("headers") or ():
        if key.lower() == raw:
            return value.decode("latin-1")
    return None
