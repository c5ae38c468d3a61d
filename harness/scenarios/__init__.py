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
    "shared-session": "sessionlint.harness.scenarios.shared_session",
}

# One line each for `--list`, so listing imports nothing heavy.
SUMMARIES: dict[str, str] = {
    "shared-session": "SL001/SL002: one module-level Session for every request vs Depends(get_db)",
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
