"""`Sanitizer`: install the listeners for a run, wrap the app, and produce the report.

    sanitizer = Sanitizer()
    with sanitizer:                       # install ... uninstall
        app = sanitizer.wrap(app)         # or patch_starlette() for apps you don't call yourself
        ... serve requests ...
    report = sanitizer.report()           # grouped findings (call when the app is idle)

Only one sanitizer can be installed in a process at a time (the listeners are
class-level).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .findings import FindingGroup, group
from .middleware import RequestTagMiddleware, patch_starlette, unpatch_starlette
from .tracker import Tracker, active, set_active


class AlreadyInstalled(RuntimeError):
    pass


@dataclass
class SanitizerReport:
    groups: list[FindingGroup]
    requests: int
    sessions: int
    engines: int
    pg_idle_in_transaction: list[dict[str, Any]] | None = None  # None: no PostgreSQL database to ask
    problems: list[str] = field(default_factory=list)

    @property
    def codes(self) -> set[str]:
        """The primary code of every finding group."""
        return {g.code for g in self.groups}

    @property
    def all_codes(self) -> set[str]:
        return {code for g in self.groups for code in g.codes}

    def kinds(self) -> set[str]:
        return {g.kind for g in self.groups}

    def __bool__(self) -> bool:  # truthy when something was found
        return bool(self.groups)

    def to_json(self) -> dict[str, Any]:
        return {
            "findings": [g.to_json() for g in self.groups],
            "requests": self.requests,
            "sessions": self.sessions,
            "engines": self.engines,
            "pg_idle_in_transaction": self.pg_idle_in_transaction,
            "problems": self.problems,
        }

    def render(self) -> str:
        head = (f"session sanitizer: {len(self.groups)} finding(s) over {self.requests} request(s), "
                f"{self.sessions} session(s), {self.engines} engine(s)")
        parts = [head] + [g.describe() for g in self.groups]
        if self.pg_idle_in_transaction:
            parts.append("pg_stat_activity, idle in transaction:")
            parts += [f"  pid {row['pid']} ({row['state']}, idle {row['idle_seconds']} s): {row['last_query']}"
                      for row in self.pg_idle_in_transaction]
        parts += [f"note: {problem}" for problem in self.problems]
        return "\n".join(parts)


class Sanitizer:
    def __init__(self, *, check_postgres: bool = True, patch_apps: bool = False) -> None:
        self.tracker = Tracker()
        self.check_postgres = check_postgres
        self.patch_apps = patch_apps  # tag requests of every Starlette app (pytest plugin)
        self._listeners = None

    @property
    def installed(self) -> bool:
        return self._listeners is not None

    def install(self) -> Sanitizer:
        from .listeners import Listeners

        if active() is not None:
            raise AlreadyInstalled("a session sanitizer is already installed in this process; uninstall it first")
        listeners = Listeners(self.tracker)
        listeners.install()
        self._listeners = listeners
        set_active(self.tracker)
        if self.patch_apps:
            patch_starlette()
        return self

    def uninstall(self) -> None:
        if self._listeners is None:
            return
        if self.patch_apps:
            unpatch_starlette()
        self._listeners.uninstall()
        self._listeners = None
        if active() is self.tracker:
            set_active(None)

    def __enter__(self) -> Sanitizer:
        return self.install()

    def __exit__(self, *exc) -> None:
        self.uninstall()

    @staticmethod
    def wrap(app):
        """The ASGI app with requests tagged for the sanitizer."""
        return RequestTagMiddleware(app)

    def report(self, *, idle: bool = True) -> SanitizerReport:
        """Grouped findings so far. With `idle` (the app is serving nothing now), also the
        connections still checked out and, on PostgreSQL, the idle-in-transaction rows."""
        tracker = self.tracker
        # Counted before the PostgreSQL probe, whose own engine is not the app's.
        counts = (tracker.requests_seen, tracker.sessions_seen, tracker.engines_seen)
        findings = list(tracker.findings)
        problems: list[str] = []
        pg_rows = None
        if idle:
            findings += tracker.idle_findings()
            if self.check_postgres and any(f.kind in ("transaction-left-open", "connection-held-at-idle") for f in findings):
                from .postgres import idle_in_transaction

                urls = [record.url_object for record in list(tracker.engines.values()) if record.url_object is not None]
                if any(url.get_backend_name() == "postgresql" for url in urls):
                    pg_rows, problems = idle_in_transaction(urls)
        groups = group(findings, tracker.dropped)
        if pg_rows:
            for g in groups:
                if g.kind in ("transaction-left-open", "connection-held-at-idle"):
                    g.evidence["pg_stat_activity idle in transaction"] = len(pg_rows)
        return SanitizerReport(groups, *counts, pg_rows, problems)
