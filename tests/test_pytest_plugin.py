"""The pytest plugin on a small example suite: `--sessionlint` fails exactly the tests that
leak or share a session; the `sessionlint_stress` fixture works with and without it; xdist too."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

pytest_plugins = ("pytester",)

EXAMPLE_APP = '''
import os, tempfile
from fastapi import Depends, FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite:///" + os.path.join(tempfile.mkdtemp(), "example.db"),
                       connect_args={"check_same_thread": False})
SessionLocal = sessionmaker(engine)
shared = SessionLocal()          # one session for the whole process (SL001)


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def get_db_unclosed():
    return SessionLocal()        # never closed (SL005)


app = FastAPI()


@app.get("/ok")
def ok(db: Session = Depends(get_db)):
    return {"one": db.execute(text("select 1")).scalar()}


@app.get("/leak")
def leak(db: Session = Depends(get_db_unclosed)):
    return {"one": db.execute(text("select 1")).scalar()}


@app.get("/global")
def global_session():
    return {"one": shared.execute(text("select 1")).scalar()}
'''

EXAMPLE_TESTS = '''
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from exampleapp import SessionLocal, app

client = TestClient(app)


def test_ok():
    assert client.get("/ok").status_code == 200


def test_leaks():
    assert client.get("/leak").status_code == 200


def test_shares_global_session():
    assert client.get("/global").status_code == 200


def test_own_session_outside_requests_is_fine():
    with SessionLocal() as db:
        assert db.execute(text("select 1")).scalar() == 1


@pytest.mark.sessionlint_ignore("SL001", "SL016")
def test_global_but_ignored():
    assert client.get("/global").status_code == 200


def test_stress_fixture_clean(sessionlint_stress):
    report = sessionlint_stress(app, [("GET", "/ok")], total=40, concurrency=4)
    assert report.sent == 40 and not report.findings, report.render()


def test_stress_fixture_finds_shared_session(sessionlint_stress):
    report = sessionlint_stress(app, [("GET", "/global")], total=40, concurrency=4)
    assert "SL001" in report.sanitizer.codes
'''

LEAKING = {"test_leaks", "test_shares_global_session"}


def _plugin_args() -> list[str]:
    registered = any(ep.value == "sessionlint.pytest_plugin" for ep in entry_points(group="pytest11"))
    return [] if registered else ["-p", "sessionlint.pytest_plugin"]


@pytest.fixture
def example(pytester):
    pytester.makepyfile(exampleapp=EXAMPLE_APP, test_example=EXAMPLE_TESTS)
    pytester.syspathinsert()
    return pytester


def test_sessionlint_fails_exactly_the_leaking_tests(example):
    result = example.inline_run(*_plugin_args(), "--sessionlint", "-W", "ignore")
    passed, skipped, failed = result.listoutcomes()
    assert {r.nodeid.split("::")[-1] for r in failed} == LEAKING
    assert len(passed) == 5
    messages = {r.nodeid.split("::")[-1]: r.longreprtext for r in failed}
    assert "SL003" in messages["test_leaks"] and "exampleapp.py" in messages["test_leaks"]
    assert "get_db_unclosed" in messages["test_leaks"]
    assert "SL001" in messages["test_shares_global_session"]


def test_without_the_flag_nothing_fails(example):
    result = example.inline_run(*_plugin_args(), "-W", "ignore")
    result.assertoutcome(passed=7)


def test_works_under_xdist(example):
    pytest.importorskip("xdist")
    result = example.runpytest_subprocess(*_plugin_args(), "--sessionlint", "-n", "2", "-W", "ignore")
    result.assert_outcomes(passed=5, failed=2)
    failed = {line.split("::")[1].split(" ")[0] for line in result.outlines if line.startswith("FAILED")}
    assert failed == LEAKING


def test_entry_point_is_declared():
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"]["pytest11"]["sessionlint"] == "sessionlint.pytest_plugin"


def test_plugin_import_is_light():
    import subprocess

    code = ("import sys, sessionlint.pytest_plugin; "
            "print(','.join(m for m in ('sqlalchemy', 'fastapi', 'httpx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
