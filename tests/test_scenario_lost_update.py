"""lost-update (SL015), the honest control: what the generic scenario test cannot express.

* both arms scope the Session correctly and identically (their db.py is the same file):
  the scenario is declared and described as NOT a session-scope bug, and only the
  isolation family counts for its verdict;
* the app itself, one request at a time: both arms add deposits up correctly (a lost
  update needs concurrency), reject unknown accounts and non-positive amounts;
* a staged run loses exactly deposit A's amount in every round (A's write is
  overwritten by B's stale read-modify-write), and nothing else.
"""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from fastapi.testclient import TestClient  # noqa: E402
from helpers import SERVER_URL_VARIABLES, server_database_url  # noqa: E402

from sessionlint.harness.checker import ANOMALY_KINDS  # noqa: E402
from sessionlint.harness.scenarios import lost_update as scenario  # noqa: E402

APP_DIR = Path(__file__).resolve().parent.parent / "sample_apps" / "lost_update"


def make_app(arm: str, tmp_path: Path):
    main = importlib.import_module(f"sessionlint.sample_apps.lost_update.{arm}.main")
    return main.create_app(f"sqlite:///{tmp_path / 'app.db'}")


def test_declared_as_an_isolation_control_not_a_session_bug() -> None:
    assert scenario.ANOMALY_FAMILIES == ("isolation",)
    assert ANOMALY_KINDS["lost_update"].family == "isolation"
    assert scenario.SYMPTOMS == ()
    for text in (scenario.DESCRIPTION, scenario.EXPECTED_FAILURE):
        assert "not a session-scope bug" in text.lower()
    assert "not a session-scope bug" in (scenario.__doc__ or "").lower()
    # Same, correct, session handling in both arms: the per-request get_db.
    unsafe_db = (APP_DIR / "unsafe" / "db.py").read_text()
    assert unsafe_db == (APP_DIR / "safe" / "db.py").read_text()
    assert "def get_db()" in unsafe_db and "finally:" in unsafe_db
    for arm in ("unsafe", "safe"):
        assert "db: Session = Depends(get_db)" in (APP_DIR / arm / "main.py").read_text()


@pytest.mark.parametrize("arm", ["unsafe", "safe"])
def test_sequential_deposits_add_up(arm: str, tmp_path: Path) -> None:
    with TestClient(make_app(arm, tmp_path)) as client:
        assert client.get("/health").json() == {"ok": True}
        assert client.get("/accounts/1").json() == {"id": 1, "owner": "ada", "balance": 0}
        answers = [client.post("/accounts/1/deposit", json={"amount": amount}) for amount in (5, 7, 11)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert [a.json()["balance"] for a in answers] == [5, 12, 23]
        assert client.get("/accounts/1").json()["balance"] == 23
        assert client.get("/accounts/2").json()["balance"] == 0

        missing = client.post("/accounts/99/deposit", json={"amount": 5})
        assert missing.status_code == 404 and missing.json() == {"detail": "account not found"}
        assert client.get("/accounts/99").status_code == 404
        assert client.post("/accounts/1/deposit", json={"amount": 0}).status_code == 422
        assert client.post("/accounts/1/deposit", json={"amount": -3}).status_code == 422
        assert client.get("/accounts/1").json()["balance"] == 23

    # A restart on the same database keeps the accounts and does not open new ones.
    with TestClient(make_app(arm, tmp_path)) as client:
        assert client.get("/accounts/1").json()["balance"] == 23
        assert client.get("/accounts/5").status_code == 404


@pytest.mark.parametrize("database", ["sqlite", *SERVER_URL_VARIABLES])
@pytest.mark.parametrize("arm", ["unsafe", "safe"])
def test_staged_run_loses_exactly_deposit_a(arm: str, database: str) -> None:
    from sessionlint.harness.history import INVOKE, History
    from sessionlint.harness.runner import ArmOptions, run_arm

    url = None if database == "sqlite" else server_database_url(SERVER_URL_VARIABLES[database])
    rounds = len(scenario.ACCOUNTS) + 1  # one account gets two rounds: losses add up
    with tempfile.TemporaryDirectory() as tmp:
        options = ArmOptions("lost-update", arm, mode="staged", database_url=url, rounds=rounds, duration=30,
                             timeout=90, history_path=str(Path(tmp) / "history.jsonl"))
        result = run_arm(options)
        assert result.completed, result.problem
        history = History.from_jsonl(options.history_path)
    check = result.check
    assert check.availability == 1.0 and not check.errors, check.summary()
    assert (result.child.get("staging") or {}).get("barrier_timeouts") == []

    # Deposit A of each round is process index 0 of that round (see Round.process).
    deposits = [e for e in history if e.type == INVOKE and e.f == "deposit"]
    assert len(deposits) == 2 * rounds
    lost_a: dict[str, int] = {}
    for event in deposits:
        if event.process % 16 == 0:
            lost_a[event.key] = lost_a.get(event.key, 0) + event.value
    lost = {key: summary.lost or 0 for key, summary in check.counters.items()}
    if arm == "unsafe":
        assert lost == lost_a, check.summary()
        assert check.anomalies["lost_update"].count == len(scenario.ACCOUNTS)
    else:
        assert set(lost.values()) == {0}, check.summary()
        assert check.anomaly_count() == 0, check.summary()
    # Every deposit answered 200 in both arms: the unsafe arm's failure is silent.
    assert check.by_f["deposit"].ok == 2 * rounds
