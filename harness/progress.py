"""How the parent sees an arm's progress while its child process runs.

The child overwrites one small JSON file (`ProgressFile`): the phase it is in
(starting the app, driving requests, checking quiescence, reading the final state)
and the driver's counters (requests sent, completions by type, staged rounds done).
Writes are throttled (at most one per `ProgressFile.interval` seconds, except phase
changes) and atomic (write a temporary file, then rename it over the old one), so
the file stays a few hundred bytes and a reader never sees half of it.

The parent polls it with `read_progress`, which returns None for a missing or
unreadable file instead of raising: progress is decoration, never a failure.
Standard library only.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

PHASES = ("starting", "running", "quiescing", "final state", "done")


class ProgressFile:
    """The child's side: `update(...)` merges fields and rewrites the file (throttled)."""

    interval = 0.1  # seconds between two writes of counters

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = None if path is None else Path(path)
        self.data: dict[str, Any] = {"phase": "starting", "sent": 0, "ok": 0, "fail": 0, "info": 0, "rounds": 0}
        self._t0 = time.perf_counter()
        self._last_write = 0.0

    def phase(self, name: str) -> None:
        self.update(force=True, phase=name)

    def driver_stats(self, stats) -> None:
        """Copy a `driver.DriverStats`' counters (the driver calls this after each completion)."""
        self.update(sent=stats.sent, ok=stats.ok, fail=stats.fail, info=stats.info, rounds=stats.rounds_completed)

    def update(self, force: bool = False, **fields: Any) -> None:
        self.data.update(fields)
        if self.path is None:
            return
        now = time.perf_counter()
        if not force and now - self._last_write < self.interval:
            return
        self._last_write = now
        self.data["elapsed"] = round(now - self._t0, 3)
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(self.data))
            os.replace(tmp, self.path)
        except OSError:  # a full disk or a removed directory must not break the run
            pass


def read_progress(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The parent's side: the last progress the child wrote, or None."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
