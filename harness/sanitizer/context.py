"""Which request is this code serving, and which thread or task is running it?

The request tag is a context variable set by `RequestTagMiddleware` for the
duration of one HTTP request. Starlette and anyio copy the context into the worker
threads that run ``def`` routes and dependencies and into the tasks an ``async
def`` route starts, so every SQLAlchemy event the request causes can read it --
including events from background tasks and threads the request spawned.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass, field

_current: ContextVar[RequestInfo | None] = ContextVar("sessionlint_sanitizer_request", default=None)
_ids = itertools.count(1)


@dataclass(eq=False)
class RequestInfo:
    """One HTTP request as the sanitizer saw it. Its lists are changed only under the tracker's lock."""

    method: str
    path: str
    id: int = field(default_factory=lambda: next(_ids))
    started: float = field(default_factory=time.perf_counter)
    status: int | None = None
    error: str | None = None  # the exception the app raised, if any
    response_sent: bool = False  # the last body chunk went out
    ended: bool = False  # the app call returned (background tasks and teardown included)
    sessions: list = field(default_factory=list)  # SessionRecords whose transaction began here
    checkouts: list = field(default_factory=list)  # Checkouts made here

    def label(self) -> str:
        return f"{self.method} {self.path} (#{self.id})"

    @property
    def failed(self) -> bool:
        return self.error is not None or (self.status is not None and self.status >= 500)


def current_request() -> RequestInfo | None:
    return _current.get()


def enter_request(request: RequestInfo):
    return _current.set(request)


def leave_request(token) -> None:
    _current.reset(token)


@dataclass(frozen=True)
class Actor:
    """A thread, or an asyncio task on a thread: what can run session code concurrently."""

    thread: int
    task: int | None

    @property
    def is_task(self) -> bool:
        return self.task is not None


# asyncio._get_running_loop() answers None off the loop instead of raising: this is on
# every session event of every worker thread, where an exception per call adds up.
_running_loop = getattr(asyncio, "_get_running_loop", None)
if _running_loop is None:  # pragma: no cover - every supported Python has it
    def _running_loop():
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            return None


def current_actor() -> Actor:
    thread = threading.get_ident()
    loop = _running_loop()
    if loop is None:  # a worker thread: no event loop here
        return Actor(thread, None)
    task = asyncio.current_task(loop)
    return Actor(thread, None if task is None else id(task))


def on_event_loop_thread() -> bool:
    return _running_loop() is not None


# The session whose execute or flush the current thread/task is inside: a pool checkout
# made then belongs to that session (whose creation site we already have), so the
# checkout needs no stack walk of its own, and is attributed even if the session never
# got as far as beginning its transaction (a concurrent close() can cut that short).
_inside_session: ContextVar[object] = ContextVar("sessionlint_sanitizer_inside_session", default=None)


def inside_session():
    """The SessionRecord being executed/flushed in this thread/task, or None."""
    return _inside_session.get()


def mark_inside_session(record):
    return _inside_session.set(record)


def unmark_inside_session(token) -> None:
    _inside_session.reset(token)
