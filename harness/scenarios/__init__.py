"""Stress scenarios: one module per sample-app pair, looked up by name.

A scenario module defines:

* ``NAME`` (CLI name, e.g. ``"shared-session"``), ``TITLE``, ``CODES`` (the lint
  rules it demonstrates), ``DESCRIPTION`` and ``EXPECTED_FAILURE`` (what the unsafe
  arm must show, in words);
* ``ARMS`` -- normally ``("unsafe", "safe")``;
* ``create_app(arm, database_url)`` -- the arm's FastAPI app on that database;
* ``metadata(arm)`` -- the SQLAlchemy ``MetaData`` of its tables;
* ``read_final_state(connection)`` -- ``{key: [values...]}`` read after quiescence
  through a fresh connection (the ground truth for lost/aborted writes);
* ``load_op(rng, driver)`` -- the next `Op` of the free-running load mode;
* ``async staged_round(round)`` -- one Hermitage-style scripted interleaving, using
  the barriers the sample app marks with ``checkpoint(...)``.

Only `names()`/`describe()` are cheap; `load()` imports the scenario (and with it
FastAPI and SQLAlchemy).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

# CLI name -> module, in the order `sessionlint stress` runs them.
SCENARIOS: dict[str, str] = {
    name: f"sessionlint.harness.scenarios.{name.replace('-', '_')}"
    for name in (
        "shared-session",
        "leaked-session",
        "missing-rollback",
        "async-gather",
        "scoped-async",
        "background-escape",
        "engine-per-request",
        "blocking-in-async",
        "lost-update",
    )
}

# One line each for `--list`, so listing imports nothing heavy.
SUMMARIES: dict[str, str] = {
    "shared-session": "SL001/SL002: one module-level Session for every request vs Depends(get_db)",
    "leaked-session": "SL003/SL004/SL005: sessions never closed / close not in finally / returned vs closed in finally",
    "missing-rollback": "SL006: a failed commit poisons a session nobody rolls back vs rollback on error",
    "async-gather": "SL008: one AsyncSession shared by asyncio.gather tasks vs a session per task",
    "scoped-async": "SL009: a thread-scoped session registry in async def routes (one session for all) vs per request",
    "background-escape": "SL010: the request's session handed to a background task vs a new session in the task",
    "engine-per-request": "SL011: a new engine (and pool) per request vs one engine per app",
    "blocking-in-async": "SL012: a sync Session in async def routes blocks the event loop vs def routes",
    "lost-update": "SL015 control: read-modify-write with correct sessions loses updates vs atomic UPDATE",
}

@dataclass(frozen=True)
class UnknownScenario(Exception):
    name: str

    def __str__(self) -> str:
        return f"unknown scenario {self.name!r}; known: {', '.join(SCENARIOS)}"


def names() -> list[str]:
    return list(SCENARIOS)


def canonical(name: str) -> str:
    """`shared_session`, `Shared-Session` and `shared-session` all name one scenario."""
    key = name.strip().lower().replace("_", "-")
    if key not in SCENARIOS:
        raise UnknownScenario(name)
    return key


def load(name: str):
    return importlib.import_module(SCENARIOS[canonical(name)])
