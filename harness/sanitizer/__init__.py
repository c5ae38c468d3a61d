"""The session sanitizer: ThreadSanitizer-style runtime checks for SQLAlchemy sessions.

Installed for the duration of a run, it watches the real app through SQLAlchemy's
event API and a request-tagging ASGI wrapper, and reports -- with the lint code and
the creation site of the session or engine involved -- sessions shared between
requests, used concurrently, used after the response, left open, transactions
left open, connections held at idle, engines made per request, and sync I/O on the
event loop.

Modules, one job each: `context` (which request / thread / task is running),
`sites` (the first user frame), `tracker` (state and checks), `listeners`
(SQLAlchemy events -> tracker), `middleware` (request tagging), `postgres`
(pg_stat_activity confirmation), `findings` (codes, grouping), `core` (install,
uninstall, report).
"""

from .core import AlreadyInstalled, Sanitizer, SanitizerReport
from .findings import KINDS, Finding, FindingGroup
from .middleware import RequestTagMiddleware

__all__ = ["AlreadyInstalled", "Finding", "FindingGroup", "KINDS", "RequestTagMiddleware", "Sanitizer", "SanitizerReport"]
