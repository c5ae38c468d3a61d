"""The identifier screen (`lint_rules/identifier_screen.py`): a file whose
identifiers name no session thing is not parsed by LibCST, and the results are
still those of an unscreened run -- across screen rounds, the cache, and
pre-commit style runs of one file."""

from __future__ import annotations

import ast
from pathlib import Path

from sessionlint.lint_rules.analyze import analyze, screen_tokens
from sessionlint.lint_rules.identifier_screen import identifiers, screen_file
from helpers import DB, write
from test_screen import compare, findings, run

ROOT_DIR = Path(__file__).resolve().parent.parent

PROSE_ONLY = '''\
"""Helpers.  Each request gets its own Session from the pool (see db.py)."""

# A Session must never be shared between requests.
LONG = """{}"""


def helper(value):
    return value * 2
'''.format("Session " * 60)


def test_identifiers_are_code_not_prose():
    found = identifiers(ast.parse(
        '"""Session in a docstring."""\n'
        "# sessionmaker in a comment\n"
        "import sqlalchemy.orm as orm\n"
        "from app.db import get_db as provide\n"
        "def route(db: 'AsyncSession', *, flag=True, **extra):\n"
        "    return orm.Session(bind=None)\n"
    ))
    assert {"sqlalchemy", "orm", "app", "db", "get_db", "provide", "route", "AsyncSession",
            "flag", "extra", "Session", "bind"} <= found
    assert "sessionmaker" not in found and "docstring" not in found


def test_a_file_naming_session_only_in_prose_is_not_parsed():
    data = PROSE_ONLY.encode()
    assert b"Session" in data  # the text screen lets it through
    facts = analyze(data, "helpers.py", "helpers", False, frozenset())
    assert facts.skipped_names is not None and "helper" in facts.skipped_names
    assert analyze(data, "helpers.py", "helpers", False, None).skipped_names is None


def test_a_file_naming_session_in_code_is_parsed():
    text = PROSE_ONLY + "\n\ndef make(factory: 'Session'):\n    return factory\n"
    assert isinstance(screen_file(text, screen_tokens(), frozenset()), ast.Module)
    facts = analyze(text.encode(), "helpers.py", "helpers", False, frozenset())
    assert facts.skipped_names is None


def test_a_file_cpython_cannot_parse_goes_to_libcst_which_reports_it():
    assert screen_file("def broken(:\n    Session\n", screen_tokens(), frozenset()) is None
    facts = analyze(b"def broken(:\n    Session\n", "bad.py", "bad", False, frozenset())
    assert facts.error is not None and "syntax error" in facts.error.message


# A file analysed in the first screen round (it says "Session" in a docstring,
# and nothing else) whose only link to a session is a name that a later round
# learns: the factory re-exported under another name.
LATE_NAME = {
    "app/__init__.py": "",
    "app/db.py": "from sqlalchemy.orm import sessionmaker\n\nmaker = sessionmaker()\n",
    "app/api.py": "from .db import maker as unit_of_work\n",
    "app/jobs.py": (
        '"""Jobs that use a Session."""\n'
        "from fastapi import FastAPI\n"
        "from app.api import unit_of_work\n\n"
        "app = FastAPI()\n\n\n"
        "def work():\n"
        "    db = unit_of_work()\n"
        "    db.query(1)\n"
    ),
}


def test_a_file_skipped_in_round_one_is_analysed_when_its_name_turns_up(tmp_path, monkeypatch):
    root = write(tmp_path / "proj", LATE_NAME)
    monkeypatch.chdir(root)
    screened, _ = compare(root)
    assert ("SL003", "app/jobs.py", 9) in {(f.code, f.filename, f.span.row) for f in screened.findings}
    # and the same when only jobs.py is linted (pre-commit): its imports load on demand
    screened, _ = compare(root, [root / "app" / "jobs.py"])
    assert ("SL003", "app/jobs.py") in {(f.code, f.filename) for f in screened.findings}


def test_cached_facts_go_stale_when_a_name_becomes_a_session_factory(tmp_path, monkeypatch):
    files = dict(LATE_NAME)
    files["app/db.py"] = "def maker():\n    return object()\n"  # not a session factory (yet)
    root = write(tmp_path / "proj", files)
    monkeypatch.chdir(root)
    cache = tmp_path / "cache"
    first = run(root, screen=True, cache=cache)
    assert not [f for f in first.findings if f.code == "SL003"]
    (root / "app" / "db.py").write_text(LATE_NAME["app/db.py"])
    second = run(root, screen=True, cache=cache)
    fresh = run(root, screen=False)
    assert findings(second) == findings(fresh)
    assert ("SL003", "app/jobs.py") in {(f.code, f.filename) for f in second.findings}


def test_module_wide_questions_see_the_whole_file(tmp_path, monkeypatch):
    """Rules ask about the whole module (an import inside a function makes it a
    web app, a `__main__` guard anywhere makes it a script, any async route): a
    file is parsed whole or not at all, never in part."""
    root = write(tmp_path / "proj", {
        "tool.py": (
            "from sqlalchemy.orm import sessionmaker\n\nSessionLocal = sessionmaker()\n"
            "db = SessionLocal()\n\n\ndef serve():\n    import flask\n    return flask.Flask('tool')\n"
        ),
        "web.py": (
            "from flask import Flask\nfrom sqlalchemy.orm import scoped_session, sessionmaker\n\n"
            "Session = scoped_session(sessionmaker())\nweb = Flask('x')\n\n\n"
            "@web.get('/ping')\nasync def ping():\n    return 'pong'\n"
        ),
    })
    monkeypatch.chdir(root)
    screened, _ = compare(root)
    assert {("SL001", "tool.py"), ("SL009", "web.py")} <= {(f.code, f.filename) for f in screened.findings}


def test_dependency_declared_through_an_imported_annotated_alias(tmp_path, monkeypatch):
    """routes.py spells neither `Depends` nor a session name: only the
    `Annotated[..., Depends(get_engine)]` alias it imports declares the
    dependency, and the message names the route that uses it."""
    root = write(tmp_path / "proj", {
        "db.py": "from sqlalchemy import create_engine\n\n\ndef get_engine():\n    return create_engine('sqlite://')\n",
        "deps.py": (
            "from typing import Annotated\n\nfrom fastapi import Depends\n\nfrom db import get_engine\n\n"
            "EngineDep = Annotated[object, Depends(get_engine)]\n"
        ),
        "routes.py": (
            "from fastapi import APIRouter\n\nfrom deps import EngineDep\n\nrouter = APIRouter()\n\n\n"
            "@router.get('/')\ndef index(engine: EngineDep):\n    return 1\n"
        ),
    })
    monkeypatch.chdir(root)
    screened, _ = compare(root)
    assert any(f.code == "SL011" and "(used by `index` in routes.py)" in f.message for f in screened.findings)


def test_sample_db_module_still_found(tmp_path, monkeypatch):
    root = write(tmp_path / "proj", {"app/__init__.py": "", "app/db.py": DB, "app/notes.py": PROSE_ONLY})
    monkeypatch.chdir(root)
    screened, unscreened = compare(root)
    assert screened.files_checked == unscreened.files_checked == 3


def test_a_file_too_deep_for_ast_is_an_error_not_minutes_of_libcst(tmp_path):
    """LibCST's parse of a 20 000-term sum takes minutes; `ast` gives up at once."""
    deep = "from sqlalchemy.orm import Session\n\n\ndef total():\n    return " + "+".join(["a"] * 20_000) + "\n"
    facts = analyze(deep.encode(), "deep.py", "deep", False, frozenset())
    assert facts.error is not None and "nested too deeply" in facts.error.message


def test_trusted_parse_builds_the_same_tree_and_restores_validation():
    import libcst as cst

    from sessionlint.lint_rules.trusted_parse import parse_valid_python

    text = (ROOT_DIR / "sample_apps" / "shared_session" / "unsafe" / "main.py").read_text()
    assert parse_valid_python(text).deep_equals(cst.parse_module(text))
    try:  # nodes built after the parse are checked again
        cst.Name("not an identifier")
    except cst.CSTValidationError:
        pass
    else:
        raise AssertionError("validation stayed off after the parse")


def test_screening_prints_no_warnings_about_the_linted_code():
    import warnings

    source = b'from sqlalchemy.orm import Session\nPATTERN = "\\d+"\n'
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        analyze(source, "w.py", "w", False, frozenset())
    assert not [w for w in caught if "escape" in str(w.message)]
