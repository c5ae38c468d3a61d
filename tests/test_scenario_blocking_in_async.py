"""blocking-in-async (SL012): what the generic scenario test cannot express.

* the app itself: both arms record orders and report their count and revenue, and
  the report really takes about ``REPORT_SECONDS`` (the slow part is the database's);
* the slow part compiles to each backend's own sleep function.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy.dialects import mysql, postgresql, sqlite  # noqa: E402

from sessionlint.harness.scenarios import blocking_in_async as scenario  # noqa: E402


def module(arm: str, name: str):
    return importlib.import_module(f"sessionlint.sample_apps.blocking_in_async.{arm}.{name}")


@pytest.mark.parametrize("arm", scenario.ARMS)
def test_orders_and_sales_report(arm: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(module(arm, "db"), "REPORT_SECONDS", 0.2)
    app = module(arm, "main").create_app(f"sqlite:///{tmp_path / 'app.db'}")
    with TestClient(app) as client:
        assert client.get("/health").json() == {"ok": True}
        assert client.post("/orders", json={"reference": 1, "amount_cents": 250}).status_code == 201
        assert client.post("/orders", json={"reference": 2, "amount_cents": 100}).status_code == 201
        started = time.perf_counter()
        report = client.get("/reports/sales")
        elapsed = time.perf_counter() - started
    assert report.json() == {"orders": 2, "revenue_cents": 350}
    assert elapsed >= 0.2


@pytest.mark.parametrize(("dialect", "function"), [
    (sqlite.dialect(), "sleep_ms(1000)"),
    (postgresql.dialect(), "pg_sleep(1.0)"),
    (mysql.dialect(), "sleep(1.0)"),
])
def test_the_slow_part_is_the_backends_sleep_function(dialect, function: str) -> None:
    query = module("safe", "db").sales_report_query(dialect.name)
    compiled = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    assert function in compiled, compiled

