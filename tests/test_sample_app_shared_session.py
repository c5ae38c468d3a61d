"""The shared_session sample app pair (SL01 global-session), both arms, sequential requests.

Concurrency is the harness's job; here both arms must behave the same on one request at a time,
except for the one thing a shared Session changes even sequentially: a failed flush poisons it.
"""

import difflib
import importlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

ARMS = ("unsafe", "safe")
APP_DIR = Path(__file__).resolve().parent.parent / "sample_apps" / "shared_session"


def arm_module(arm: str, name: str):
    return importlib.import_module(f"sessionlint.sample_apps.shared_session.{arm}.{name}")


@pytest.fixture(params=ARMS)
def arm(request) -> str:
    return request.param


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'app.db'}"


def test_items_round_trip(arm: str, tmp_path: Path) -> None:
    app = arm_module(arm, "main").create_app(sqlite_url(tmp_path))
    with TestClient(app) as client:
        assert client.get("/health").json() == {"ok": True}
        ids = set()
        for value in (30, 10, 20):
            response = client.post("/items", json={"value": value})
            assert response.status_code == 201, response.text
            assert response.json()["value"] == value
            ids.add(response.json()["id"])
        assert len(ids) == 3
        assert client.get("/items").json() == {"values": [10, 20, 30]}

        response = client.get("/items/20")
        assert response.status_code == 200
        assert response.json()["value"] == 20

        response = client.post("/items", json={"value": 40, "reject": True})
        assert response.status_code == 409
        assert response.json() == {"detail": "rejected"}
        assert client.get("/items").json() == {"values": [10, 20, 30]}
        assert client.get("/items/40").status_code == 404
        assert client.get("/items/99").status_code == 404

        # The rejected value was rolled back, so it can be written for real afterwards.
        assert client.post("/items", json={"value": 40, "note": "second try"}).status_code == 201
        assert client.get("/items/40").json() == {"value": 40, "note": "second try"}

    # The schema and rows live in the file the URL named, and survive the app.
    assert (tmp_path / "app.db").is_file()
    app = arm_module(arm, "main").create_app(sqlite_url(tmp_path))
    with TestClient(app) as client:
        assert client.get("/items").json() == {"values": [10, 20, 30, 40]}


def test_apps_created_in_turn_keep_their_own_databases(arm: str, tmp_path: Path) -> None:
    create_app = arm_module(arm, "main").create_app
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = create_app(sqlite_url(tmp_path / "a")), create_app(sqlite_url(tmp_path / "b"))
    with TestClient(first) as client:
        assert client.post("/items", json={"value": 1}).status_code == 201
    with TestClient(second) as client:
        assert client.post("/items", json={"value": 2}).status_code == 201
        assert client.get("/items").json() == {"values": [2]}
    with TestClient(first) as client:
        assert client.get("/items").json() == {"values": [1]}


def test_database_url_from_environment(arm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSIONLINT_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    with TestClient(arm_module(arm, "main").create_app()) as client:
        assert client.post("/items", json={"value": 5}).status_code == 201
    assert (tmp_path / "env.db").is_file()


def test_default_database_is_a_file_in_a_fresh_temp_dir(arm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SESSIONLINT_DATABASE_URL", raising=False)
    app = arm_module(arm, "main").create_app()
    with TestClient(app) as client:
        assert client.post("/items", json={"value": 5}).status_code == 201
        database = app.state.engine.url.database
        assert database and database != ":memory:"
        assert Path(database).is_file()
    assert not Path(database).parent.exists()  # removed at shutdown


def test_failed_flush_poisons_only_the_shared_session(arm: str, tmp_path: Path) -> None:
    # A duplicate value fails at flush and is left unhandled (500) in both arms. The safe arm's
    # next request gets a fresh Session; the unsafe arm's shared Session stays in a failed
    # transaction (PendingRollbackError) until something rolls it back: SL01's invariant I3.
    app = arm_module(arm, "main").create_app(sqlite_url(tmp_path))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/items", json={"value": 1}).status_code == 201
        assert client.post("/items", json={"value": 1}).status_code == 500
        later = [client.get("/items").status_code for _ in range(3)]
    assert later == ([500, 500, 500] if arm == "unsafe" else [200, 200, 200])


def test_unsafe_arm_has_one_module_level_session_and_safe_arm_a_dependency() -> None:
    assert isinstance(arm_module("unsafe", "db").db, Session)
    assert not hasattr(arm_module("safe", "db"), "db")
    assert callable(arm_module("safe", "db").get_db)


def test_arms_differ_only_in_session_scoping() -> None:
    unsafe, safe = APP_DIR / "unsafe", APP_DIR / "safe"
    names = sorted(p.name for p in unsafe.glob("*.py"))
    assert names == sorted(p.name for p in safe.glob("*.py")) == ["__init__.py", "db.py", "main.py", "models.py"]
    assert (unsafe / "models.py").read_bytes() == (safe / "models.py").read_bytes()
    # main.py and db.py: only a handful of lines differ (the session, its import, its use).
    for name in ("main.py", "db.py"):
        a = (unsafe / name).read_text().splitlines()
        b = (safe / name).read_text().splitlines()
        changed = [line for line in difflib.unified_diff(a, b, lineterm="", n=0)
                   if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        assert len(changed) <= 20, "\n".join(changed)
