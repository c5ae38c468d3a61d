"""Fixes on the sample apps, end to end: `--fix --unsafe-fixes` removes every
finding that offers a fix from every unsafe arm (what remains are findings of rules
with no automatic fix, e.g. SL010/SL012, which need a human decision), and the fixed
shared-session app no longer shares its session (a failed flush stops poisoning
later requests)."""

import importlib
import json
import shutil
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "sample_apps"
UNSAFE_ARMS = sorted(p.parent.name for p in SAMPLES.glob("*/unsafe"))


def findings(package: Path, run_cli, tmp_path: Path) -> list[dict]:
    code, out, err = run_cli("check", "--no-cache", "--unsafe-fixes", "--output-format", "json", str(package),
                             cwd=tmp_path)
    assert code in (0, 1), out + err
    return json.loads(out)


def fixed_copy(scenario: str, tmp_path: Path, run_cli) -> tuple[Path, list[dict]]:
    """Copy the unsafe arm, fix it; returns the copy and its findings before the fix."""
    package = tmp_path / f"fixed_{scenario}"
    shutil.copytree(SAMPLES / scenario / "unsafe", package, ignore=shutil.ignore_patterns("__pycache__"))
    before = findings(package, run_cli, tmp_path)
    code, out, err = run_cli("check", "--no-cache", "--fix", "--unsafe-fixes", str(package), cwd=tmp_path)
    # 1 only when findings without a fix remain (a fix can also make those go away:
    # SL001's per-request session ends SL006's "module-level session" finding).
    assert code in (0, 1), out + err
    return package, before


def where(finding: dict) -> tuple:
    return (Path(finding["filename"]).name, finding["code"], finding["message"])


@pytest.mark.parametrize("scenario", UNSAFE_ARMS)
def test_unsafe_fixes_remove_every_fixable_finding(scenario, tmp_path, run_cli):
    package, before = fixed_copy(scenario, tmp_path, run_cli)
    after = findings(package, run_cli, tmp_path)
    assert [f for f in after if f["fix"] is not None] == []
    # What is left was there before and offered no fix: fixing never creates findings.
    unfixable = {where(f) for f in before if f["fix"] is None}
    assert {where(f) for f in after} <= unfixable, after
    # Idempotent: a second pass finds nothing to change.
    code, out, err = run_cli("check", "--no-cache", "--diff", "--unsafe-fixes", str(package), cwd=tmp_path)
    assert (code, out) == (0, ""), out


def test_fixed_shared_session_app_behaves_like_the_safe_arm(tmp_path, run_cli, monkeypatch):
    from fastapi.testclient import TestClient

    package, _ = fixed_copy("shared_session", tmp_path, run_cli)
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
