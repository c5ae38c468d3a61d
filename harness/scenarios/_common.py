"""Helpers shared by scenario modules (imported only when a scenario is loaded)."""

from __future__ import annotations

import importlib
import random

from ..driver import Op

# The async driver for each sync backend the harness provisions.
_ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg", "mysql": "aiomysql", "mariadb": "aiomysql"}


def async_url(url: str) -> str:
    """The same database through its async driver: ``sqlite:///x`` -> ``sqlite+aiosqlite:///x``.

    The harness provisions (and reads the final state through) a sync URL; async sample
    apps are built on this one.
    """
    from sqlalchemy import make_url

    parsed = make_url(url)
    backend = parsed.get_backend_name()
    driver = _ASYNC_DRIVERS.get(backend)
    if driver is None:
        raise ValueError(f"no async driver known for {backend!r}")
    if backend == "mariadb":
        backend = "mysql"  # aiomysql registers under mysql+aiomysql
    return parsed.set(drivername=f"{backend}+{driver}").render_as_string(hide_password=False)


def sample_module(pair: str, arm: str, name: str, arms: tuple[str, ...] = ("unsafe", "safe")):
    """``sessionlint.sample_apps.<pair>.<arm>.<name>``, after checking the arm name."""
    if arm not in arms:
        raise ValueError(f"unknown arm {arm!r}; known: {', '.join(arms)}")
    return importlib.import_module(f"sessionlint.sample_apps.{pair}.{arm}.{name}")


def health() -> Op:
    """``GET /health``: the unrelated route every sample app serves without a session."""
    return Op("health", "GET", "/health")


def pick(rng: random.Random, mix: tuple[tuple[str, float], ...]) -> str:
    """One kind of request from a load mix of ``(kind, weight)`` pairs."""
    (kind,) = rng.choices([k for k, _ in mix], weights=[w for _, w in mix])
    return kind
