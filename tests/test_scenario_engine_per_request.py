"""The engine_per_request sample app pair (SL011), one request at a time.

The harness counts connects over a staged round; these tests pin down the mechanism behind
it: the unsafe arm connects once per request, and each abandoned engine keeps its connection
open until the cyclic garbage collector frees its pool -- which is what the scenario's
``probe`` (and the ``abandoned_connections`` symptom) report. The safe arm reuses the one
connection its lifespan engine opened.
"""

from __future__ import annotations

import difflib
import gc
import importlib
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.pool import Pool  # noqa: E402

from helpers import AppReturns  # noqa: E402

from sessionlint.harness.scenarios import engine_per_request  # noqa: E402
from sessionlint.harness.symptoms import DETECTORS, Evidence  # noqa: E402

ARMS = ("unsafe", "safe")
APP_DIR = Path(__file__).resolve().parent.parent / "sample_apps" / "engine_per_request"


def create_app(arm: str, tmp_path: Path):
    main = importlib.import_module(f"sessionlint.sample_apps.engine_per_request.{arm}.main")
    return main.create_app(f"sqlite:///{tmp_path / 'app.db'}")


@pytest.fixture(params=ARMS)
def arm(request) -> str:
    return request.param


@pytest.fixture
def connects():
    """Every new DBAPI connection any pool in this process opens."""
    seen: list[object] = []

    def on_connect(dbapi_connection, connection_record):
        seen.append(dbapi_connection)

    event.listen(Pool, "connect", on_connect)
    try:
        yield seen
    finally:
        event.remove(Pool, "connect", on_connect)


def test_items_round_trip(arm: str, tmp_path: Path) -> None:
    with TestClient(create_app(arm, tmp_path)) as client:
        assert client.get("/health").json() == {"ok": True}
        for value in (30, 10, 20):
            response = client.post("/items", json={"value": value})
            assert response.status_code == 201, response.text
            assert response.json()["value"] == value
        assert client.get("/items").json() == {"values": [10, 20, 30]}
        assert client.get("/items/20").json() == {"value": 20, "note": None}
        assert client.get("/items/99").status_code == 404


def test_connects_per_request(arm: str, tmp_path: Path, connects: list) -> None:
    with TestClient(create_app(arm, tmp_path)) as client:
        started = len(connects)  # the lifespan engine's first connection (schema) is already open
        for value in range(6):
            assert client.post("/items", json={"value": value}).status_code == 201
        assert client.get("/items").status_code == 200
        during = len(connects) - started
    # Unsafe: a new engine, so a new connection, for each of the 7 requests. Safe: they all
    # reuse the connection the lifespan engine opened to create the schema.
    assert during == (7 if arm == "unsafe" else 0)


def test_abandoned_engines_keep_connections_until_collected(arm: str, tmp_path: Path) -> None:
    app = create_app(arm, tmp_path)
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()  # what reference counting alone does
    try:
        returns = AppReturns(app)
        with TestClient(returns) as client:
            for _ in range(3):
                assert client.get("/items").status_code == 200
            returns.settle(client)  # no thread still holds the last request's engine
            before = engine_per_request.probe(app)
            gc.collect()
            after = engine_per_request.probe(app)
    finally:
        if was_enabled:
            gc.enable()
    # Each per-request engine's pool still holds its (idle, open) connection after the request:
    # nobody disposed the engine, and its pool's reference cycles outlive the last reference.
    expected = 3 if arm == "unsafe" else 0
    assert before["abandoned_pool_connections"] == expected
    assert before["abandoned_engines_with_connections"] == expected
    assert after["abandoned_pool_connections"] == 0

    evidence = Evidence(check=None, probes=before)
    symptom = DETECTORS["abandoned_connections"][1](evidence)
    if arm == "unsafe":
        assert symptom is not None and symptom.count == 3
        assert "3 database connection(s) still open at rest in 3 engine(s)" in symptom.text
    else:
        assert symptom is None


def test_arms_differ_only_in_where_the_engine_comes_from() -> None:
    unsafe, safe = APP_DIR / "unsafe", APP_DIR / "safe"
    names = sorted(p.name for p in unsafe.glob("*.py"))
    assert names == sorted(p.name for p in safe.glob("*.py")) == ["__init__.py", "db.py", "main.py", "models.py"]
    for name in ("models.py", "main.py"):
        assert (unsafe / name).read_bytes() == (safe / name).read_bytes(), name
    a, b = (unsafe / "db.py").read_text().splitlines(), (safe / "db.py").read_text().splitlines()
    changed = [line for line in difflib.unified_diff(a, b, lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert len(changed) <= 12, "\n".join(changed)
    assert any("make_engine(request.app.state.database_url)" in line for line in changed if line.startswith("-"))
