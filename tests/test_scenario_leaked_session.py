"""The leaked_session sample app pair (SL003/SL004/SL005), one request at a time.

The harness shows the pool running dry under a staged round; these tests pin down the mechanism
the scenario's docstring states: each unsafe route leaves exactly one connection checked out,
reference counting never gives it back, and only the cyclic garbage collector does. The safe arm
returns every connection before the response is read.
"""

from __future__ import annotations

import difflib
import gc
import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402
from helpers import AppReturns  # noqa: E402

ARMS = ("unsafe", "safe")
APP_DIR = Path(__file__).resolve().parent.parent / "sample_apps" / "leaked_session"


def create_app(arm: str, tmp_path: Path):
    main = importlib.import_module(f"sessionlint.sample_apps.leaked_session.{arm}.main")
    return main.create_app(f"sqlite:///{tmp_path / 'app.db'}")


@contextmanager
def collector_paused() -> Iterator[None]:
    """Keep the cyclic collector from running mid-test, so what refcounting alone does shows."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def serving(app, **kw) -> Iterator[tuple[TestClient, AppReturns]]:
    returns = AppReturns(app)
    with TestClient(returns, **kw) as client:
        yield client, returns


@pytest.fixture(params=ARMS)
def arm(request) -> str:
    return request.param


def test_routes_answer_alike_in_both_arms(arm: str, tmp_path: Path) -> None:
    app = create_app(arm, tmp_path)
    with serving(app) as (client, returns):

        def call(method: str, path: str, **kw):
            response = client.request(method, path, **kw)
            returns.settle(client)
            gc.collect()  # give the unsafe arm's leaks back: starving the pool is the harness's test
            return response.status_code, response.json()

        assert call("GET", "/health") == (200, {"ok": True})
        assert call("POST", "/items", json={"value": 20})[0] == 201
        assert call("POST", "/items", json={"value": 10, "note": "ten"})[0] == 201
        assert call("POST", "/items", json={"value": 10}) == (409, {"detail": "value already stored"})
        assert call("POST", "/items", json={"value": 30, "reject": True}) == (409, {"detail": "rejected"})
        assert call("GET", "/items") == (200, {"values": [10, 20]})
        assert call("GET", "/items/10") == (200, {"value": 10, "note": "ten"})
        assert call("GET", "/items/30") == (404, {"detail": "item not found"})
        assert call("GET", "/stats") == (200, {"items": 2})


# (method, path, body, status, which rule leaks it in the unsafe arm -- None: nothing leaks)
ROUTES = [
    ("GET", "/items", None, 200, "SL005"),
    ("POST", "/items", {"value": 1, "reject": True}, 409, "SL004"),
    ("POST", "/items", {"value": 7}, 409, "SL004"),  # 7 is stored already: a duplicate
    ("GET", "/items/99", None, 404, "SL004"),
    ("GET", "/stats", None, 200, "SL003"),
    ("GET", "/items/7", None, 200, None),
    ("POST", "/items", {"value": 8}, 201, None),
    ("GET", "/health", None, 200, None),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "rule"), ROUTES,
                         ids=[f"{m} {p} {s}" for m, p, _, s, _ in ROUTES])
def test_which_requests_leave_a_connection_checked_out(arm, tmp_path, method, path, body, status, rule) -> None:
    app = create_app(arm, tmp_path)
    with serving(app) as (client, returns):
        assert client.post("/items", json={"value": 7}).status_code == 201
        returns.settle(client)
        pool = app.state.engine.pool
        gc.collect()
        assert pool.checkedout() == 0
        with collector_paused():
            response = client.request(method, path, json=body)
            returns.wait(2)
            assert response.status_code == status, response.text
            returns.settle(client)
            held = pool.checkedout()
        gc.collect()
        after_collection = pool.checkedout()
    leaks = arm == "unsafe" and rule is not None
    # Unsafe: one connection stays out after the request; reference counting alone never frees it
    # (Session <-> SessionTransaction is a cycle) -- only the cyclic collector gives it back.
    assert held == (1 if leaks else 0), f"{arm} {method} {path}: {held} checked out"
    assert after_collection == 0


def test_three_leaks_starve_the_next_request(arm: str, tmp_path: Path) -> None:
    app = create_app(arm, tmp_path)
    with serving(app, raise_server_exceptions=False) as (client, returns), collector_paused():
        assert client.get("/items").status_code == 200
        assert client.post("/items", json={"value": 1, "reject": True}).status_code == 409
        assert client.get("/stats").status_code == 200
        returns.wait(3)
        response = client.post("/items", json={"value": 2})
    if arm == "unsafe":
        assert response.status_code == 500  # TimeoutError: QueuePool limit of size 3 overflow 0 reached
    else:
        assert response.status_code == 201, response.text


def test_scenario_probe_counts_connections_leaked_sessions_hold(arm: str, tmp_path: Path) -> None:
    from sessionlint.harness.scenarios import leaked_session

    app = create_app(arm, tmp_path)
    with serving(app) as (client, returns), collector_paused():
        client.get("/items")
        client.get("/stats")
        returns.wait(2)
        probe = leaked_session.probe(app)
    assert probe["unclosed_connection_objects"] == (2 if arm == "unsafe" else 0)


def test_arms_differ_only_in_how_sessions_are_closed() -> None:
    unsafe, safe = APP_DIR / "unsafe", APP_DIR / "safe"
    names = sorted(p.name for p in unsafe.glob("*.py"))
    assert names == sorted(p.name for p in safe.glob("*.py")) == ["__init__.py", "db.py", "main.py", "models.py"]
    assert (unsafe / "models.py").read_bytes() == (safe / "models.py").read_bytes()
    for name in ("main.py", "db.py"):
        a = (unsafe / name).read_text().splitlines()
        b = (safe / name).read_text().splitlines()
        changed = [line for line in difflib.unified_diff(a, b, lineterm="", n=0)
                   if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        assert len(changed) <= 24, "\n".join(changed)  # three patterns, each with its comment
