"""background-escape (SL010): what the generic scenario test cannot express.

* the app itself: both arms sign users up and log the welcome mail (the unsafe arm
  only on FastAPI >= 0.118), a second sign-up with the same address fails;
* the invariant behind the staged round, observed directly: while a background job
  is mid-send, the unsafe arm's request Session holds a pooled connection, the safe
  arm holds none (FastAPI >= 0.118, where jobs run before the dependency teardown);
* ``probe(app)`` and the ``lost_background_work`` detector find a user whose
  welcome mail was never logged (what FastAPI 0.106-0.117 leaves behind).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")
pytest.importorskip("httpx")

import anyio  # noqa: E402
import fastapi  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from sessionlint.harness import staging, symptoms  # noqa: E402
from sessionlint.harness.driver import Driver, DriverConfig, lifespan  # noqa: E402
from sessionlint.harness.history import History  # noqa: E402
from sessionlint.harness.scenarios import background_escape as scenario  # noqa: E402


def fastapi_version() -> tuple[int, ...]:
    return tuple(int(part) for part in fastapi.__version__.split(".")[:2])


def make_app(arm: str, tmp_path: Path):
    main = importlib.import_module(f"sessionlint.sample_apps.background_escape.{arm}.main")
    return main.create_app(f"sqlite:///{tmp_path / 'app.db'}")


@pytest.fixture(autouse=True)
def quick_mail(monkeypatch):
    for arm in scenario.ARMS:
        monkeypatch.setattr(importlib.import_module(f"sessionlint.sample_apps.background_escape.{arm}.mail"),
                            "SMTP_ROUND_TRIP", 0.0)


@pytest.mark.parametrize("arm", scenario.ARMS)
def test_signup_sends_and_logs_the_welcome_mail(arm: str, tmp_path: Path) -> None:
    with TestClient(make_app(arm, tmp_path), raise_server_exceptions=False) as client:
        assert client.get("/health").json() == {"ok": True}
        created = client.post("/signup", json={"email": "ada@example.com"})
        assert created.status_code == 201
        user_id = created.json()["id"]
        # TestClient, like ASGITransport, returns after the background job ran.
        # FastAPI 0.106-0.117 closed the unsafe job's Session before it ran
        # (DetachedInstanceError after the 201), so no mail was logged.
        logged = 0 if arm == "unsafe" and fastapi_version() < (0, 118) else 1
        assert client.get(f"/users/{user_id}").json() == {"id": user_id, "email": "ada@example.com",
                                                          "mails_sent": logged}
        assert client.post("/signup", json={"email": "ada@example.com"}).status_code == 500
        assert client.get("/users/999").status_code == 404


async def connections_held_while_a_job_sends(arm: str, tmp_path: Path) -> int:
    """Park one sign-up's job at "sending_mail" and count the pool's checked-out connections."""
    stager = staging.Stager(timeout=5.0)
    staging.install(stager)
    try:
        app = make_app(arm, tmp_path)
        async with lifespan(app) as state:
            driver = Driver(app, History(), DriverConfig(), stager=stager, lifespan_state=state)
            barrier = stager.arm("job", "sending_mail")
            held = None
            async with anyio.create_task_group() as tg:
                async def sign_up() -> None:
                    await driver.call(0, scenario.signup(1), tag="job")

                tg.start_soon(sign_up)
                with anyio.fail_after(5):
                    while not barrier.reached.is_set():
                        await anyio.sleep(0.001)
                held = app.state.engine.pool.checkedout()
                barrier.release()
            await driver.aclose()
            assert app.state.engine.pool.checkedout() == 0  # both arms give it back in the end
            assert scenario.probe(app)["background_work_lost"]["count"] == (
                1 if arm == "unsafe" and fastapi_version() < (0, 118) else 0)
            return held
    finally:
        staging.install(None)


@pytest.mark.skipif(fastapi_version() < (0, 118), reason="jobs run before the dependency teardown from 0.118 on")
def test_unsafe_job_holds_the_request_connection_while_sending(tmp_path: Path) -> None:
    assert anyio.run(connections_held_while_a_job_sends, "unsafe", tmp_path) == 1


def test_safe_job_holds_no_connection_while_sending(tmp_path: Path) -> None:
    assert anyio.run(connections_held_while_a_job_sends, "safe", tmp_path) == 0


async def probe_after_a_lost_job(tmp_path: Path) -> dict:
    app = make_app("safe", tmp_path)
    async with lifespan(app):
        with app.state.engine.begin() as connection:  # a user whose job never logged its mail
            connection.execute(text("INSERT INTO users (id, email) VALUES (7, 'user7@example.com')"))
        return scenario.probe(app)


def test_probe_and_detector_report_a_job_that_failed_after_the_response(tmp_path: Path) -> None:
    probes = anyio.run(probe_after_a_lost_job, tmp_path)
    assert probes["background_work_lost"]["count"] == 1
    assert "user 7 (user7@example.com)" in probes["background_work_lost"]["example"]
    found = symptoms.lost_background_work(symptoms.Evidence(check=None, probes=probes))
    assert found is not None and found.count == 1 and "no welcome mail" in found.text
    clean = {"background_work_lost": {"count": 0, "example": None}}
    assert symptoms.lost_background_work(symptoms.Evidence(check=None, probes=clean)) is None
    assert symptoms.lost_background_work(symptoms.Evidence(check=None, probes={})) is None
