"""missing-rollback (SL006): what the generic scenario test cannot express.

* the app itself, one request at a time: both arms book seats and answer 409 for a
  taken one; afterwards only the safe arm still works (the unsafe arm's module-level
  Session stays inactive: PendingRollbackError on every later request, reads included);
* a staged run's error taxonomy names PendingRollbackError and the IntegrityError
  behind it, and the 409 request itself is served as intended;
* load mode only books seats that a 201 proved taken as "reject".
"""

from __future__ import annotations

import importlib
import random
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from fastapi.testclient import TestClient  # noqa: E402

from sessionlint.harness.scenarios import missing_rollback as scenario  # noqa: E402

APP_DIR = Path(__file__).resolve().parent.parent / "sample_apps" / "missing_rollback"


def make_app(arm: str, tmp_path: Path):
    main = importlib.import_module(f"sessionlint.sample_apps.missing_rollback.{arm}.main")
    return main.create_app(f"sqlite:///{tmp_path / 'app.db'}")


@pytest.mark.parametrize("arm", ["unsafe", "safe"])
def test_booking_and_taken_seat(arm: str, tmp_path: Path) -> None:
    with TestClient(make_app(arm, tmp_path), raise_server_exceptions=False) as client:
        assert client.get("/health").json() == {"ok": True}
        assert client.post("/reservations", json={"seat": "A1", "ticket": 1}).status_code == 201
        assert client.post("/reservations", json={"seat": "A2", "ticket": 2}).status_code == 201
        assert client.get("/reservations").json() == {"tickets": [1, 2]}
        taken = client.post("/reservations", json={"seat": "A1", "ticket": 3})
        assert taken.status_code == 409
        assert taken.json() == {"detail": "seat A1 is already taken"}

        later_booking = client.post("/reservations", json={"seat": "B1", "ticket": 4})
        later_read = client.get("/reservations")
        if arm == "safe":
            assert later_booking.status_code == 201
            assert later_read.json() == {"tickets": [1, 2, 4]}
        else:
            # I3 broken: requests that share nothing with the failed one fail too.
            assert later_booking.status_code == 500
            assert later_read.status_code == 500
            assert client.post("/reservations", json={"seat": "C1", "ticket": 5}).status_code == 500
        assert client.get("/health").status_code == 200  # no database: unaffected


def test_unsafe_arm_raises_pending_rollback_error(tmp_path: Path) -> None:
    from sqlalchemy.exc import PendingRollbackError

    with TestClient(make_app("unsafe", tmp_path)) as client:
        client.post("/reservations", json={"seat": "A1", "ticket": 1})
        assert client.post("/reservations", json={"seat": "A1", "ticket": 2}).status_code == 409
        with pytest.raises(PendingRollbackError, match="previous exception during flush"):
            client.get("/reservations")


def test_staged_run_names_the_poison_and_serves_the_409() -> None:
    from sessionlint.harness.runner import ArmOptions, run_arm

    result = run_arm(ArmOptions("missing-rollback", "unsafe", mode="staged", rounds=2, duration=20, timeout=60))
    assert result.completed, result.problem
    check = result.check
    top = check.errors[0]
    assert top.type == "PendingRollbackError", check.summary()
    assert "IntegrityError" in (top.example or top.message), top.to_dict()
    # Round 1: A booked (201) and B's 409 was the intended answer; everything after
    # B failed: C and D of round 1 and all four requests of round 2.
    assert check.by_f["append"].ok == 1 and check.by_f["reject"].fail == 1
    assert top.count == 6, check.summary()
    assert [s.name for s in result.symptoms] == ["server_errors"]
    assert "PendingRollbackError" in result.symptoms[0].text


def test_load_mode_rejects_only_seats_proved_taken() -> None:
    from sessionlint.harness.driver import Driver, DriverConfig
    from sessionlint.harness.history import History

    async def no_app(scope, receive, send):  # load_op only builds requests; none is sent
        raise AssertionError("no request expected")

    driver = Driver(no_app, History(), DriverConfig(mode="load"))
    rng = random.Random(7)
    ops = [scenario.load_op(rng, driver) for _ in range(200)]
    # Nothing was answered yet, so no seat is known to be taken: no rejects.
    assert {op.f for op in ops} == {"read", "append"}
    booked = next(op for op in ops if op.f == "append")
    assert booked.observe({"seat": booked.json["seat"], "ticket": booked.value}) == booked.value  # a 201
    rejects = [op for op in (scenario.load_op(rng, driver) for _ in range(200)) if op.f == "reject"]
    assert rejects and {op.json["seat"] for op in rejects} == {booked.json["seat"]}
    assert all(op.json["ticket"] == op.value for op in rejects)


def test_arms_differ_only_in_scope_and_rollback() -> None:
    unsafe = (APP_DIR / "unsafe" / "main.py").read_text()
    safe = (APP_DIR / "safe" / "main.py").read_text()
    assert "rollback()" not in unsafe.split("except IntegrityError")[1].split("return JSONResponse")[0]
    assert "db.rollback()" in safe.split("except IntegrityError")[1].split("return JSONResponse")[0]
    assert (APP_DIR / "unsafe" / "models.py").read_text() == (APP_DIR / "safe" / "models.py").read_text()
