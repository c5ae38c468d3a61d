"""Sanitizer findings: what was seen, which lint rule it is, where, and for which requests.

Each finding carries the lint codes of the static rule(s) that describe the same
bug (the first one is the best match), so ``sessionlint check`` and the runtime
sanitizer speak one language. Findings are grouped by kind + site: one leaked
session factory in ``get_db`` is one problem however many requests hit it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .sites import Site

# kind -> (title, what to do). Codes are decided per finding (they can depend on how
# the session was made), the advice is per kind.
KINDS: dict[str, tuple[str, str]] = {
    "session-created-outside-request": (
        "a session created outside any request is used by requests",
        "create the session per request (a `yield` dependency that closes it in `finally`), not at import or startup",
    ),
    "session-shared-between-requests": (
        "a session created by one request is used by another request",
        "do not keep sessions on app.state, singletons, caches or thread-locals; make one per request",
    ),
    "concurrent-session-use": (
        "a session is used from two threads/tasks at the same time",
        "give each thread/task its own session (pass the sessionmaker, not the session)",
    ),
    "session-used-after-response": (
        "a request's session is used after the response was sent (background work)",
        "open a new session inside the background task; pass ids, not the request's session or its objects",
    ),
    "commit-after-response": (
        "a dependency commits after the response was sent: the client already got its answer",
        "commit in the route (or before `yield` returns control), and let teardown only close/rollback",
    ),
    "session-left-open": (
        "a session created by a request still holds its connection after the request ended",
        "close the session in `finally:` (or `with SessionLocal() as db:`), and yield it from the dependency",
    ),
    "connection-left-checked-out": (
        "a connection checked out during a request was not returned by the end of the request",
        "use `with engine.connect() as conn:` so the connection goes back to the pool",
    ),
    "connection-held-at-idle": (
        "connections are still checked out when the app is idle",
        "close every session/connection at the end of its request; see the creation site",
    ),
    "transaction-left-open": (
        "a transaction begun by a request is still open after the request ended (idle in transaction)",
        "end the transaction (commit/rollback/close) before the request ends; use a per-request session",
    ),
    "engine-created-per-request": (
        "new engines (connection pools) are created while serving requests",
        "create the engine once per process (module level or lifespan) and reuse it",
    ),
    "blocking-session-in-async": (
        "a sync session does database I/O on the event loop thread (async def code)",
        "use `def` for the route (FastAPI runs it in a thread) or an AsyncSession with an async driver",
    ),
}


@dataclass
class Finding:
    kind: str
    codes: tuple[str, ...]
    site: Site  # creation site of the session or engine (or the use site, where that is the point)
    message: str  # this occurrence, in words
    requests: tuple[str, ...] = ()  # labels of the request(s) involved, e.g. an example pair
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return KINDS[self.kind][0]


@dataclass
class FindingGroup:
    kind: str
    codes: tuple[str, ...]
    site: Site
    count: int
    message: str
    examples: list[tuple[str, ...]]
    evidence: dict[str, Any]

    @property
    def title(self) -> str:
        return KINDS[self.kind][0]

    @property
    def advice(self) -> str:
        return KINDS[self.kind][1]

    @property
    def code(self) -> str:
        return self.codes[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "code": self.code,
            "codes": list(self.codes),
            "title": self.title,
            "site": self.site.to_json(),
            "count": self.count,
            "message": self.message,
            "examples": [list(pair) for pair in self.examples],
            "evidence": self.evidence,
            "advice": self.advice,
        }

    def describe(self) -> str:
        """Multi-line text: what, where, which rule, example requests, what to do."""
        lines = [f"{self.code} {self.title}  [{self.count}x]  ({'/'.join(self.codes)})",
                 f"  at {self.site}", f"  {self.message}"]
        for example in self.examples:
            lines.append("  e.g. " + " <-> ".join(example))
        for key, value in self.evidence.items():
            lines.append(f"  {key}: {value}")
        lines.append(f"  fix: {self.advice}")
        return "\n".join(lines)


MAX_EXAMPLES = 3


def group(findings: Iterable[Finding], dropped: Mapping[tuple[str, Site], int] | None = None) -> list[FindingGroup]:
    """Group by (kind, site), first occurrence first; keep up to MAX_EXAMPLES distinct request examples.
    `dropped`: further occurrences per (kind, site) that were counted, not kept (the tracker's cap)."""
    groups: dict[tuple[str, Site], FindingGroup] = {}
    for finding in findings:
        key = (finding.kind, finding.site)
        existing = groups.get(key)
        if existing is None:
            groups[key] = FindingGroup(finding.kind, finding.codes, finding.site, 1, finding.message,
                                       [finding.requests] if finding.requests else [], dict(finding.evidence))
            continue
        existing.count += 1
        if finding.requests and finding.requests not in existing.examples and len(existing.examples) < MAX_EXAMPLES:
            existing.examples.append(finding.requests)
        for name, value in finding.evidence.items():
            existing.evidence.setdefault(name, value)
    for key, count in (dropped or {}).items():
        if key in groups:
            groups[key].count += count
    return list(groups.values())
