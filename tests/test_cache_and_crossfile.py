"""The results cache and the cross-file resolve step.

Per-file facts are cached by content; the cross-file step runs every time, so
editing `db.py` changes the findings in `routes.py` even when `routes.py` itself
comes from the cache.  Uses the engine API (`lint(LintRequest(...))`) to see
`Report.files_parsed` / `files_cached`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sessionlint.lint_rules.discovery import DiscoveryOptions
from sessionlint.lint_rules.engine import LintRequest, lint
from sessionlint.lint_rules.registry import all_rules
from helpers import DB, write


ROUTES = '''\
from fastapi import APIRouter, Depends

from .db import SessionLocal, get_db

router = APIRouter()
session = SessionLocal()


@router.get("/items")
def list_items(db=Depends(get_db)):
    return db.execute("select 1")
'''

ROUTES_SL001 = ("SL001", "app/routes.py", 6, 11)
DB_SL004 = ("SL004", "app/db.py", 11, 5)




@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "proj"
    write(root, {"app/__init__.py": "", "app/db.py": DB, "app/routes.py": ROUTES})
    monkeypatch.chdir(root)
    return root


def run(root: Path, *paths: str, cache: Path | None = None, screen: bool = True):
    request = LintRequest(
        paths=[root / p for p in (paths or (".",))],
        root=root,
        selected=frozenset(all_rules()),
        discovery=DiscoveryOptions(root=root),
        cache_dir=cache,
        screen=screen,
    )
    return lint(request)


def keys(report, codes=("SL001", "SL004")) -> set[tuple]:
    return {(f.code, f.filename, f.span.row, f.span.column) for f in report.findings if f.code in codes}


def full(report) -> list[tuple]:
    return [(f.code, f.filename, f.span.row, f.span.column, f.message) for f in report.findings]


# -- cache ----------------------------------------------------------------------------


def test_baseline(project):
    report = run(project)
    assert keys(report) == {ROUTES_SL001, DB_SL004}
    assert report.errors == []


def test_warm_run_reuses_cache(project, tmp_path):
    cache = tmp_path / "cache"
    cold = run(project, cache=cache)
    assert cold.files_cached == 0 and cold.files_parsed >= 2
    warm = run(project, cache=cache)
    assert full(warm) == full(cold)
    assert warm.files_parsed == 0
    assert warm.files_cached == cold.files_parsed
    assert (cache / "CACHEDIR.TAG").is_file()


def test_edit_of_one_file_reparses_only_that_file(project, tmp_path):
    cache = tmp_path / "cache"
    run(project, cache=cache)
    (project / "app" / "routes.py").write_text(ROUTES + "\n# a comment\n")
    report = run(project, cache=cache)
    assert report.files_parsed == 1
    assert keys(report) == {ROUTES_SL001, DB_SL004}


def test_changing_db_changes_findings_in_cached_routes(project, tmp_path):
    cache = tmp_path / "cache"
    assert ROUTES_SL001 in keys(run(project, cache=cache))
    db = project / "app" / "db.py"
    db.write_text(DB.replace("SessionLocal = sessionmaker(bind=engine)", "SessionLocal = dict"))
    report = run(project, cache=cache)
    assert report.files_parsed == 1  # db.py only: routes.py came from the cache ...
    assert report.files_cached >= 1
    assert ROUTES_SL001 not in keys(report)  # ... and yet its SL001 is gone
    db.write_text(DB)
    report = run(project, cache=cache)
    assert ROUTES_SL001 in keys(report)
    assert keys(report) == {ROUTES_SL001, DB_SL004}


def test_changing_db_via_cli(project, tmp_path, run_cli):
    cache = str(tmp_path / "cache")
    code, out, _ = run_cli("app", "--cache-dir", cache, cwd=project)
    assert code == 1 and "app/routes.py:6:11: SL001" in out
    code2, out2, _ = run_cli("app", "--cache-dir", cache, cwd=project)
    assert (code2, out2) == (code, out)
    (project / "app" / "db.py").write_text(DB.replace("sessionmaker(bind=engine)", "dict"))
    code, out, _ = run_cli("app", "--cache-dir", cache, cwd=project)
    assert "app/routes.py:6:11: SL001" not in out


def test_cache_ignores_results_of_other_analysis_code(project, tmp_path, monkeypatch):
    import sessionlint.lint_rules.cache as cache_module

    cache = tmp_path / "cache"
    run(project, cache=cache)
    assert run(project, cache=cache).files_parsed == 0
    monkeypatch.setattr(cache_module, "_code_fingerprint", lambda: "rules-were-edited")
    assert run(project, cache=cache).files_cached == 0


def test_module_name_change_invalidates(project, tmp_path):
    """Relative imports depend on the module name, so it is part of the key."""
    cache = tmp_path / "cache"
    write(project, {"lib/db.py": DB, "lib/routes.py": ROUTES.replace("from .db", "from lib.db")})
    run(project, "lib", cache=cache)
    (project / "lib" / "__init__.py").write_text("")
    second = run(project, "lib", cache=cache)
    assert second.files_parsed >= 2  # both files are now `lib.<name>`


def test_cache_keyed_by_path(project, tmp_path):
    cache = tmp_path / "cache"
    write(project, {"other/app/__init__.py": "", "other/app/db.py": DB, "other/app/routes.py": ROUTES})
    run(project, "app", cache=cache)
    report = run(project, "other", cache=cache)
    assert report.files_cached == 0
    assert ("SL001", "other/app/routes.py", 6, 11) in keys(report)


# -- cross-file -----------------------------------------------------------------------


def test_dependency_finding_names_route_in_other_file(project):
    report = run(project)
    sl004 = [f for f in report.findings if f.code == "SL004"]
    assert len(sl004) == 1 and sl004[0].filename == "app/db.py"
    assert "used by `list_items` in app/routes.py" in sl004[0].message


def test_dependency_finding_counts_several_routes(project):
    write(project, {"app/more.py": ROUTES.replace("list_items", "more_items").replace("session = SessionLocal()\n", "")})
    (sl004,) = [f for f in run(project).findings if f.code == "SL004"]
    assert "used by `" in sl004.message and "and 1 more" in sl004.message


@pytest.mark.parametrize("cached", [False, True])
def test_linting_only_routes_resolves_factory_from_disk(project, tmp_path, cached):
    """pre-commit passes only the changed file: db.py is loaded lazily."""
    cache = tmp_path / "cache" if cached else None
    if cached:
        run(project, cache=cache)
    report = run(project, "app/routes.py", cache=cache)
    assert keys(report) == {ROUTES_SL001}
    assert report.files_checked == 1
    (project / "app" / "db.py").write_text(DB.replace("sessionmaker(bind=engine)", "dict"))
    assert keys(run(project, "app/routes.py", cache=cache)) == set()


def test_linting_only_routes_via_cli(project, run_cli):
    code, out, _ = run_cli("app/routes.py", "--no-cache", cwd=project)
    assert code == 1
    assert [line.split(" ")[0] for line in out.splitlines() if ": SL0" in line] == ["app/routes.py:6:11:"]


def test_linting_only_routes_from_subdirectory(project, run_cli):
    code, out, _ = run_cli("routes.py", "--no-cache", cwd=project / "app")
    assert code == 1 and "routes.py:6:11: SL001" in out


def test_only_routes_with_factory_under_a_name_without_session(project):
    """The screen must not drop a linted file whose only link to a session is a
    name exported by a project module that is not itself being linted."""
    write(project, {
        "app/factory.py": "from sqlalchemy.orm import sessionmaker\nmake = sessionmaker()\n",
        "app/reexport.py": "from .factory import make as new_unit\n",
        "app/worker.py": "from fastapi import FastAPI\nfrom app.reexport import new_unit\nunit = new_unit()\n",
    })
    expected = {("SL001", "app/worker.py", 3, 8)}
    assert keys(run(project, "app/worker.py", screen=False)) == expected
    assert keys(run(project, "app/worker.py")) == expected
    assert ("SL001", "app/worker.py", 3, 8) in keys(run(project, "app"))


DEPS = '''\
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from app.db import get_db

DbSession = Annotated[Session, Depends(get_db)]
'''

USERS = '''\
from fastapi import APIRouter

from app.deps import DbSession

router = APIRouter()


@router.get("/users")
def list_users(db: DbSession):
    return db.execute("select 1")
'''


def test_annotated_alias_in_other_module(project):
    (project / "app" / "routes.py").unlink()
    write(project, {"app/deps.py": DEPS, "app/users.py": USERS})
    report = run(project)
    assert DB_SL004 in keys(report)


def test_annotated_alias_in_other_module_names_route(project):
    (project / "app" / "routes.py").unlink()
    write(project, {"app/deps.py": DEPS, "app/users.py": USERS})
    (sl004,) = [f for f in run(project).findings if f.code == "SL004"]
    assert "used by `list_users` in app/users.py" in sl004.message


def test_annotated_alias_in_same_module_names_route(project):
    (project / "app" / "routes.py").unlink()
    write(project, {"app/users.py": DEPS + "\n" + USERS.replace("from app.deps import DbSession\n", "")})
    (sl004,) = [f for f in run(project).findings if f.code == "SL004"]
    assert sl004.filename == "app/db.py"
    assert "used by `list_users` in app/users.py" in sl004.message


def test_dependency_returning_session_through_annotated_alias(project):
    """SL005: a plain-return dependency used only through an Annotated alias."""
    write(project, {
        "app/db.py": DB + "\n\ndef get_plain():\n    return SessionLocal()\n",
        "app/deps.py": DEPS.replace("get_db", "get_plain"),
        "app/users.py": USERS,
    })
    report = run(project)
    assert ("SL005", "app/db.py") in {(f.code, f.filename) for f in report.findings}
    assert keys(run(project, screen=False), codes=("SL005",)) == keys(report, codes=("SL005",))


def test_reexported_factory(project):
    write(project, {
        "app/__init__.py": "from .db import SessionLocal as make_session\n",
        "app/jobs.py": "from fastapi import FastAPI\nfrom app import make_session\ndb = make_session()\n",
    })
    report = run(project)
    assert ("SL001", "app/jobs.py", 3, 6) in keys(report)
    assert keys(report) == keys(run(project, screen=False))


def test_only_routes_with_local_dependency_and_imported_one(project, run_cli):
    """Describing a local dependency's users loads db.py lazily while the table of
    users is being built (used to crash: 'NoneType' has no attribute 'setdefault')."""
    write(project, {"app/routes.py": '''\
from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from app.db import get_db

router = APIRouter()


def get_other():
    s = Session()
    yield s
    s.close()


@router.get("/items")
def list_items(db=Depends(get_db), other=Depends(get_other)):
    return db.execute("select 1")
'''})
    report = run(project, "app/routes.py")
    (sl004,) = [f for f in report.findings if f.code == "SL004"]
    assert (sl004.filename, sl004.span.row) == ("app/routes.py", 12)
    assert "used by `list_items`" in sl004.message
    code, out, err = run_cli("app/routes.py", "--no-cache", cwd=project)
    assert code == 1 and err == ""


def test_import_cycle_does_not_hang(project):
    write(project, {
        "app/a.py": "from fastapi import FastAPI\nfrom app.b import Maker\ns = Maker()\n",
        "app/b.py": "from app.a import Maker\n",
    })
    report = run(project)
    assert not any(f.filename in ("app/a.py", "app/b.py") for f in report.findings)


def test_finding_disappears_when_factory_file_is_deleted(project, tmp_path):
    cache = tmp_path / "cache"
    assert ROUTES_SL001 in keys(run(project, cache=cache))
    (project / "app" / "db.py").unlink()
    report = run(project, cache=cache)
    assert ROUTES_SL001 not in keys(report) and report.errors == []
