"""SL001's headline fix, end to end: `--fix --unsafe-fixes` turns every unsafe
sample arm into code that lints clean, and the fixed shared-session app no longer
shares its session (a failed flush stops poisoning later requests)."""

import importlib
import shutil
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "sample_apps"
UNSAFE_ARMS = sorted(p.parent.name for p in SAMPLES.glob("*/unsafe"))


def fixed_copy(scenario: str, tmp_path: Path, run_cli) -> Path:
    package = tmp_path / f"fixed_{scenario}"
    shutil.copytree(SAMPLES / scenario / "unsafe", package, ignore=shutil.ignore_patterns("__pycache__"))
    code, out, err = run_cli("check", "--no-cache", "--fix", "--unsafe-fixes", str(package), cwd=tmp_path)
    assert code == 0, out + err
    return package


@pytest.mark.parametrize("scenario", UNSAFE_ARMS)
def test_unsafe_arm_lints_clean_after_unsafe_fixes(scenario, tmp_path, run_cli):
    package = fixed_copy(scenario, tmp_path, run_cli)
    code, out, err = run_cli("check", "--no-cache", str(package), cwd=tmp_path)
    assert code == 0, out
    # Idempotent: a second pass finds nothing to change.
    code, out, err = run_cli("check", "--no-cache", "--diff", "--unsafe-fixes", str(package), cwd=tmp_path)
    assert (code, out) == (0, ""), out


def test_fixed_shared_session_app_behaves_like_the_safe_arm(tmp_path, run_cli, monkeypatch):
    from fastapi.testclient import TestClient

    package = fixed_copy("shared_session", tmp_path, run_cli)
    fixed_db = (package / "db.py").read_text()
    assert "def get_db():" in fixed_db and "\ndb = SessionLocal()" not in fixed_db
    monkeypatch.syspath_prepend(str(tmp_path))
    main = importlib.import_module(f"{package.name}.main")
    try:
        app = main.create_app(f"sqlite:///{tmp_path / 'app.db'}")
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.post("/items", json={"value": 1}).status_code == 201
            # A duplicate value fails its flush (500) ...
            assert client.post("/items", json={"value": 1}).status_code == 500
            # ... and, unlike the unsafe arm, does not poison the next requests.
            for _ in range(3):
                assert client.get("/items").status_code == 200
            assert client.post("/items", json={"value": 2, "reject": True}).status_code == 409
            assert client.get("/items").json() == {"values": [1]}
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] == package.name]:
            del sys.modules[name]
