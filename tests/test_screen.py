"""The text screen never changes results: the same findings with and without it.

The screen decides, from raw text, which files to parse; a file it skips must not
have been able to produce (or help produce) a finding.  Compared on the rule
fixtures (globbed at test time), the sample apps, scratch cross-file projects, and
the installed sources of fastapi and sqlalchemy (big: no cache, two workers;
marked `slow`, about a minute on two idle CPUs).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sessionlint.lint_rules.discovery import DiscoveryOptions
from sessionlint.lint_rules.engine import LintRequest, lint
from sessionlint.lint_rules.registry import all_rules
from helpers import DB, write

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SAMPLE_APPS = ROOT / "sample_apps"


def run(root: Path, paths: list[Path] | None = None, *, screen: bool, gitignore: bool = True, jobs: int = 2,
        cache: Path | None = None):
    """One lint run.  A cache shared by the screened and unscreened runs of a
    comparison does not weaken it: the screen decides which files are analysed,
    the cache only how fast their (identical) facts arrive."""
    request = LintRequest(
        paths=paths or [root],
        root=root,
        selected=frozenset(all_rules()),
        discovery=DiscoveryOptions(root=root, respect_gitignore=gitignore),
        cache_dir=cache,
        screen=screen,
        jobs=jobs,
    )
    return lint(request)


def findings(report) -> list[tuple]:
    return sorted((f.code, f.filename, f.span.row, f.span.column, f.message) for f in report.findings)


def errors(report) -> list[tuple]:
    return sorted((e.filename, e.message) for e in report.errors)


def compare(root: Path, paths: list[Path] | None = None, **kwargs):
    screened = run(root, paths, screen=True, **kwargs)
    unscreened = run(root, paths, screen=False, **kwargs)
    assert findings(screened) == findings(unscreened)
    assert errors(screened) == errors(unscreened)
    assert screened.files_checked == unscreened.files_checked
    assert analysed(screened) <= analysed(unscreened)
    return screened, unscreened


def analysed(report) -> int:
    return report.files_parsed + report.files_cached


# -- fixtures and sample apps ---------------------------------------------------------


@pytest.fixture(scope="module")
def fixtures_copy(tmp_path_factory) -> Path:
    """A snapshot of tests/fixtures (others may be editing them while this runs)."""
    import shutil

    target = tmp_path_factory.mktemp("screen") / "fixtures"
    shutil.copytree(FIXTURES, target, ignore=shutil.ignore_patterns("__pycache__", ".sessionlint_cache"))
    return target


def test_fixture_files_exist(fixtures_copy):
    assert list(fixtures_copy.rglob("*.py")), "no fixtures to compare on"


def test_all_fixtures_together(fixtures_copy, monkeypatch):
    monkeypatch.chdir(fixtures_copy)
    screened, _ = compare(fixtures_copy, cache=fixtures_copy.parent / "cache")
    assert screened.findings  # the fixtures are full of positives


def test_each_fixture_alone(fixtures_copy, monkeypatch):
    """Like pre-commit: one file named, its neighbours only loaded on demand."""
    monkeypatch.chdir(fixtures_copy)
    for path in sorted(fixtures_copy.rglob("*.py")):
        cache = fixtures_copy.parent / "cache"
        screened = run(fixtures_copy, [path], screen=True, jobs=1, cache=cache)
        unscreened = run(fixtures_copy, [path], screen=False, jobs=1, cache=cache)
        assert findings(screened) == findings(unscreened), path.name
        assert errors(screened) == errors(unscreened), path.name


def test_sample_apps(monkeypatch):
    monkeypatch.chdir(ROOT)
    screened, unscreened = compare(SAMPLE_APPS)
    assert any(f.code == "SL001" for f in screened.findings)  # the unsafe arm
    assert screened.files_parsed < unscreened.files_parsed


def test_cli_no_screen(run_cli):
    with_screen = run_cli("sample_apps", "--no-cache", "--output-format", "json", cwd=ROOT)
    without = run_cli("sample_apps", "--no-cache", "--no-screen", "--output-format", "json", cwd=ROOT)
    assert with_screen == without
    assert with_screen[0] == 1


# -- scratch cross-file projects ------------------------------------------------------





REEXPORTED = {
    "app/__init__.py": "from .db import SessionLocal as make_session\n",
    "app/db.py": DB,
    # never mentions "Session": only the re-exported name links it to a session
    "app/jobs.py": "from fastapi import FastAPI\n\nfrom app import make_session\n\ndb = make_session()\n",
}


def test_reexported_factory_under_another_name(tmp_path, monkeypatch):
    root = write(tmp_path / "proj", REEXPORTED)
    monkeypatch.chdir(root)
    screened, _ = compare(root)
    assert ("SL001", "app/jobs.py", 5, 6) in {(f.code, f.filename, f.span.row, f.span.column) for f in screened.findings}
    assert b"Session" not in (root / "app" / "jobs.py").read_bytes()


@pytest.mark.parametrize("linted", ["app/jobs.py", "app"])
def test_reexported_factory_when_only_some_files_are_linted(tmp_path, monkeypatch, linted):
    root = write(tmp_path / "proj", REEXPORTED)
    monkeypatch.chdir(root)
    screened, _ = compare(root, [root / linted])
    assert ("SL001", "app/jobs.py") in {(f.code, f.filename) for f in screened.findings}


def test_chain_of_unlinted_modules(tmp_path, monkeypatch):
    """jobs.py (linted) <- api.py <- core.py (neither linted, neither names a
    screen token except core.py)."""
    root = write(tmp_path / "proj", {
        "svc/__init__.py": "",
        "svc/core.py": "from sqlalchemy.orm import sessionmaker\nfactory = sessionmaker()\n",
        "svc/api.py": "from .core import factory as unit_of_work\n",
        "svc/jobs.py": "from fastapi import FastAPI\nfrom svc.api import unit_of_work\nuow = unit_of_work()\n",
    })
    monkeypatch.chdir(root)
    screened, _ = compare(root, [root / "svc" / "jobs.py"])
    assert [(f.code, f.filename) for f in screened.findings if f.code == "SL001"] == [("SL001", "svc/jobs.py")]


def test_dependency_under_a_name_without_tokens(tmp_path, monkeypatch):
    root = write(tmp_path / "proj", {
        "app/__init__.py": "",
        "app/db.py": DB,
        "app/deps.py": "from app.db import get_db as provide\n",
        "app/routes.py": (
            "from fastapi import APIRouter\nfrom fastapi import params\n\nfrom app.deps import provide\n\n"
            "router = APIRouter()\n\n\n@router.get('/')\ndef index(db=params.Depends(provide)):\n    return 1\n"
        ),
    })
    monkeypatch.chdir(root)
    compare(root)
    compare(root, [root / "app" / "db.py"])


# -- installed libraries (big) --------------------------------------------------------


def _package_dir(name: str) -> Path:
    module = pytest.importorskip(name)
    return Path(module.__file__).resolve().parent


@pytest.mark.slow
def test_installed_fastapi(monkeypatch, tmp_path):
    root = _package_dir("fastapi")
    monkeypatch.chdir(tmp_path)
    # (inside this repository's .venv a parent .gitignore says "*": lint anyway)
    screened, unscreened = compare(root, gitignore=False)
    assert screened.files_checked > 20


@pytest.mark.slow
def test_installed_sqlalchemy(monkeypatch, tmp_path):
    root = _package_dir("sqlalchemy")
    monkeypatch.chdir(tmp_path)
    screened, unscreened = compare(root, gitignore=False)
    assert screened.files_checked > 200
    # the screen earns its keep: it skips files
    assert screened.files_parsed < unscreened.files_parsed
    assert unscreened.files_parsed == unscreened.files_checked


def test_realistic_apps(monkeypatch):
    """The apps written like real projects (tests/apps), buggy and fixed twins."""
    root = ROOT / "tests" / "apps"
    monkeypatch.chdir(root)
    screened, unscreened = compare(root)
    assert {f.code for f in screened.findings} >= {"SL001", "SL005", "SL008", "SL010"}
