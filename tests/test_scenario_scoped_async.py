"""The scoped_async sample app pair (SL009), one request at a time.

The staged harness test (test_harness_scenarios.py) shows what happens to requests in
flight at once; here: the arms differ only in db.get_db, both behave the same on
sequential requests (so the bug is invisible to an ordinary test suite), and the unsafe
registry really is keyed by the thread -- two tasks on one loop get one session.
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import pytest

pytest.importorskip("aiosqlite")
pytest.importorskip("greenlet")
from fastapi.testclient import TestClient  # noqa: E402

ARMS = ("unsafe", "safe")
APP_DIR = Path(__file__).resolve().parent.parent / "sample_apps" / "scoped_async"


def arm_module(arm: str, name: str):
    return importlib.import_module(f"sessionlint.sample_apps.scoped_async.{arm}.{name}")


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'items.db'}"


@pytest.mark.parametrize("arm", ARMS)
def test_sequential_requests_behave_the_same_in_both_arms(arm: str, tmp_path: Path) -> None:
    with TestClient(arm_module(arm, "main").create_app(sqlite_url(tmp_path))) as client:
        assert client.get("/health").json() == {"ok": True}
        for value in (3, 1, 2):
            response = client.post("/items", json={"value": value})
            assert response.status_code == 201, response.text
            assert response.json()["value"] == value
        response = client.post("/items", json={"value": 9, "reject": True})
        assert response.status_code == 409
        assert client.get("/items").json() == {"values": [1, 2, 3]}
        # One request at a time, each gets a session of its own in both arms: the
        # unsafe arm's remove() at the end of the request hides the sharing.
        first, second = (client.get("/whoami").json()["session"] for _ in range(2))
        assert first != second


@pytest.mark.parametrize("arm", ARMS)
def test_get_db_inside_concurrent_tasks(arm: str, tmp_path: Path) -> None:
    """Two requests in flight on one event loop: one session (unsafe) or two (safe)."""
    db = arm_module(arm, "db")

    async def hold_a_session(entered: asyncio.Event, done: asyncio.Event, seen: list) -> None:
        dependency = db.get_db()
        session = await anext(dependency)
        seen.append(session)
        entered.set()
        await done.wait()
        await dependency.aclose()

    async def main() -> list:
        engine = db.make_engine(sqlite_url(tmp_path))
        db.AsyncSessionLocal.configure(bind=engine)
        seen: list = []
        done = asyncio.Event()
        entered = [asyncio.Event(), asyncio.Event()]
        tasks = [asyncio.create_task(hold_a_session(e, done, seen)) for e in entered]
        for event in entered:
            await event.wait()
        done.set()
        await asyncio.gather(*tasks)
        await engine.dispose()
        return seen

    first, second = asyncio.run(main())
    assert (first is second) == (arm == "unsafe")


def test_the_arms_differ_only_in_get_db() -> None:
    for name in ("main.py", "models.py"):
        assert (APP_DIR / "unsafe" / name).read_text() == (APP_DIR / "safe" / name).read_text(), name
    unsafe = (APP_DIR / "unsafe" / "db.py").read_text()
    assert "async_scoped_session(AsyncSessionLocal, scopefunc=threading.get_ident)" in unsafe
    assert "async_scoped_session" not in (APP_DIR / "safe" / "db.py").read_text()
