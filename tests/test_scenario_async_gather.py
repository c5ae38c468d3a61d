"""The async_gather sample app pair (SL008), one request at a time.

The harness's staged test (test_harness_scenarios.py) shows the race under the stress
driver on every database; here: both arms are the same ledger, the arms differ only in
the batch route, and the unsafe arm fails on a batch even with no other request
running (the race is inside one request), while a single deposit works in both.
"""

from __future__ import annotations

import difflib
import importlib
from pathlib import Path

import pytest

pytest.importorskip("aiosqlite")
pytest.importorskip("greenlet")
from fastapi.testclient import TestClient  # noqa: E402

ARMS = ("unsafe", "safe")
APP_DIR = Path(__file__).resolve().parent.parent / "sample_apps" / "async_gather"


def create_app(arm: str, tmp_path: Path):
    main = importlib.import_module(f"sessionlint.sample_apps.async_gather.{arm}.main")
    return main.create_app(f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}")


@pytest.mark.parametrize("arm", ARMS)
def test_single_deposits_work_in_both_arms(arm: str, tmp_path: Path) -> None:
    with TestClient(create_app(arm, tmp_path)) as client:
        assert client.get("/health").json() == {"ok": True}
        assert client.get("/accounts/alice").json() == {"account": "alice", "balance": 0}
        for amount in (5, 7):
            response = client.post("/accounts/alice/deposits", json={"amounts": [amount]})
            assert response.status_code == 201, response.text
        assert client.get("/accounts/alice").json()["balance"] == 12
        assert client.get("/accounts/bob").json()["balance"] == 0
        assert client.post("/accounts/alice/deposits", json={"amounts": []}).status_code == 422


def test_safe_arm_records_a_whole_batch(tmp_path: Path) -> None:
    with TestClient(create_app("safe", tmp_path)) as client:
        for _ in range(3):
            response = client.post("/accounts/alice/deposits", json={"amounts": [1, 2, 3, 4]})
            assert response.status_code == 201, response.text
            assert response.json() == {"account": "alice", "deposited": 10, "count": 4}
        assert client.get("/accounts/alice").json()["balance"] == 30


def test_unsafe_arm_fails_a_batch_without_any_concurrent_request(tmp_path: Path) -> None:
    with TestClient(create_app("unsafe", tmp_path), raise_server_exceptions=False) as client:
        response = client.post("/accounts/alice/deposits", json={"amounts": [1, 2, 3]})
        assert response.status_code == 500
        # Nothing of the failed batch was acknowledged, and nothing was committed.
        assert client.get("/accounts/alice").json()["balance"] == 0


def test_the_arms_differ_only_in_the_batch_route() -> None:
    for name in ("db.py", "models.py"):
        assert (APP_DIR / "unsafe" / name).read_text() == (APP_DIR / "safe" / name).read_text(), name
    diff = list(difflib.unified_diff((APP_DIR / "unsafe" / "main.py").read_text().splitlines(),
                                     (APP_DIR / "safe" / "main.py").read_text().splitlines(), n=0, lineterm=""))
    changed = [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert any("gather(*(record_deposit(db," in line for line in changed if line.startswith("-"))
    assert any("async with AsyncSessionLocal() as db" in line for line in changed if line.startswith("+"))
    assert len(changed) < 25, "\n".join(changed)
