"""Adversarial scratch projects for the screens (text and identifier): screened and unscreened runs agree.

Written against the statement screen (parse only the top-level definitions that
share identifiers with a session thing), kept for the identifier screen that
replaced it (`lint_rules/identifier_screen.py`: a file is parsed whole or not at
all).  Each project has a finding that exists only because the analysis follows
a link a partial or early look would miss: a token-free route calling a helper,
a method reaching its session through an attribute, a module-level registration
of a token-free function, a `__main__` guard or a `remove()` in a function that
mentions no session, a name a later screen round learns, a cache written before
a name became a session factory, CRLF and form feeds, multi-line decorators and
the edits of fixes, and modules the resolver reads on demand.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from sessionlint.lint_rules.analyze import analyze, screen_tokens
from sessionlint.lint_rules.identifier_screen import identifiers, mentions
from helpers import DB, write
from test_screen import compare, findings, run

NOTHING = frozenset()


def top_level(text: str, name: str) -> ast.AST:
    return next(node for node in ast.parse(text).body if getattr(node, "name", None) == name)


def token_free(text: str, *names: str) -> bool:
    """Do these top-level definitions spell no screen token?  (A screen that
    judged definitions one by one would have dropped them.)"""
    return all(not mentions(identifiers(top_level(text, name)), screen_tokens(), NOTHING) for name in names)


def skipped(text: str, names: frozenset[str] = NOTHING) -> bool:
    """Does the identifier screen skip this file, knowing session `names`?"""
    return analyze(text.encode(), "m.py", "m", False, names).skipped_names is not None


def codes(report) -> set[tuple[str, str]]:
    return {(f.code, f.filename) for f in report.findings}


def with_fixes(report) -> list[tuple]:
    """Findings including their fix edits (`findings` leaves the fix out)."""
    return sorted((f.code, f.filename, f.span.row, f.span.column, f.span.end_row, f.span.end_column,
                   json.dumps(f.fix, sort_keys=True)) for f in report.findings)


def compare_with_fixes(root: Path, paths=None):
    screened, unscreened = compare(root, paths)
    assert with_fixes(screened) == with_fixes(unscreened)
    return screened


@pytest.fixture
def project(tmp_path, monkeypatch):
    def make(files: dict[str, str | bytes]) -> Path:
        root = write(tmp_path / "proj", files)
        monkeypatch.chdir(root)
        return root

    return make


# -- links inside one file ------------------------------------------------------------

VIEWS = '''\
from fastapi import FastAPI
from sqlalchemy import create_engine

from app.db import SessionLocal

app = FastAPI()


def open_session():
    return SessionLocal()


def count_rows(model):
    db = open_session()
    return db.query(model).count()


def build():
    return create_engine("sqlite://")


@app.get("/count")
def count():
    build()
    return count_rows(1)
'''


def test_token_free_route_and_helper(project):
    """`count` (a route) and `count_rows` spell no token: the never-closed
    session of `count_rows` comes from `open_session`, and `build` runs per
    request only because the route calls it."""
    assert token_free(VIEWS, "count", "count_rows")
    root = project({"app/__init__.py": "", "app/db.py": DB, "app/views.py": VIEWS})
    screened, _ = compare(root)
    assert ("SL003", "app/views.py", 14) in {(f.code, f.filename, f.span.row) for f in screened.findings}
    assert any(f.code == "SL011" and "which route `count` calls" in f.message for f in screened.findings)


WALLET = '''\
from sqlalchemy.orm import Session

from app.db import SessionLocal
from app.models import Column, Integer, Model


class Account(Model):
    balance = Column(Integer)
{mapper}

class Wallet:
    def __init__(self):
        self.session = SessionLocal()

    def deposit(self, account_id, amount):
        account = self.session.get(Account, account_id)
        account.balance += amount
        self.session.commit()


class Ledger:
    db: Session

    async def total(self, account):
        return self.db.execute(account)
'''


def test_methods_reach_their_session_through_an_attribute(project):
    """`deposit` and `total` spell no token: `self.session` is a session because
    `__init__` assigns one, `self.db` because the class body annotates it.  The
    model class `Account` the query loads is token-free too; a `version_id_col`
    in it silences the read-modify-write (the rule reads the whole file)."""
    plain = WALLET.format(mapper="")
    assert token_free(plain, "Account")
    assert all(not mentions(identifiers(method), screen_tokens(), NOTHING)
               for cls in ("Wallet", "Ledger") for method in top_level(plain, cls).body
               if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) and method.name != "__init__")
    root = project({
        "app/__init__.py": "",
        "app/db.py": DB,
        "app/models.py": "Model = object\nColumn = Integer = None\n",
        "app/wallet.py": plain,
        "app/locked.py": WALLET.format(mapper='    __mapper_args__ = {"version_id_col": balance}\n'),
    })
    screened, _ = compare(root)
    found = {(f.code, f.filename, f.span.row) for f in screened.findings}
    assert ("SL015", "app/wallet.py", 17) in found  # account.balance += amount
    assert not any(code == "SL015" and name == "app/locked.py" for code, name, _ in found)
    assert {("SL012", "app/wallet.py", 25), ("SL012", "app/locked.py", 26)} <= found


REGISTRATIONS = '''\
from fastapi import FastAPI
from sqlalchemy import create_engine

app = FastAPI()


def init():
    print("starting")


def build():
    return create_engine("sqlite://")


def ping():
    build()
    return "pong"


app.add_event_handler("startup", init)
app.add_api_route("/ping", ping)
'''


def test_module_level_registrations_of_token_free_functions(project):
    """`ping` is a route only because module-level code registers it."""
    assert token_free(REGISTRATIONS, "init", "ping")
    root = project({"main.py": REGISTRATIONS})
    screened, _ = compare(root)
    assert ("SL017", "main.py", 20) in {(f.code, f.filename, f.span.row) for f in screened.findings}
    assert any(f.code == "SL011" and "which route `ping` calls" in f.message for f in screened.findings)


MULTILINE_DECORATORS = '''\
from fastapi import FastAPI
from sqlalchemy import create_engine

app = FastAPI()


def build():
    return create_engine("sqlite://")


@app.get(
    "/ping",
    status_code=200,
)
def ping():
    build()
    return "pong"


@app.on_event(
    "shutdown"
)
async def bye():
    pass
'''


def test_multi_line_decorators(project):
    assert token_free(MULTILINE_DECORATORS, "ping")
    root = project({"main.py": MULTILINE_DECORATORS})
    screened, _ = compare(root)
    spans = {(f.code, f.span.row, f.span.column, f.span.end_row) for f in screened.findings}
    assert ("SL017", 20, 2, 22) in spans  # the whole `app.on_event(...)` call
    assert any(f.code == "SL011" and "which route `ping` calls" in f.message for f in screened.findings)


# -- module-wide questions: answered from the whole file -------------------------------


def test_main_guard_inside_a_function_makes_the_module_a_script(project):
    """The guard sits in a function that mentions no session; it still makes the
    file a script, whose import-time session is fine (no fix here: `db, other = ...`)."""
    script = (
        "from sqlalchemy.orm import sessionmaker\n\nSessionLocal = sessionmaker()\n"
        "db, other = SessionLocal(), 1\n\n\ndef cli():\n    if __name__ == '__main__':\n        print('hi')\n"
    )
    assert token_free(script, "cli")
    root = project({"tool.py": script, "app.py": script.split("\n\n\ndef cli")[0] + "\n"})
    screened, _ = compare(root)
    assert ("SL001", "app.py") in codes(screened)
    assert ("SL001", "tool.py") not in codes(screened)


REGISTRY = '''\
from asyncio import current_task

from sqlalchemy.ext.asyncio import async_scoped_session, async_sessionmaker

registries = [async_scoped_session(async_sessionmaker(expire_on_commit=False), scopefunc=current_task)]
'''


def test_remove_in_a_token_free_function_clears_an_unnamed_registry(project):
    cleared = REGISTRY + "\n\nasync def cleanup(cache):\n    await cache.remove()\n"
    assert token_free(cleared, "cleanup")
    root = project({"cleared.py": cleared, "leaky.py": REGISTRY})
    screened, _ = compare(root)
    assert ("SL009", "leaky.py") in codes(screened)
    assert ("SL009", "cleared.py") not in codes(screened)


def test_a_name_spelled_only_in_a_string_annotation(project):
    """`DB` (a session annotation alias deps.py exports) appears in save.py only
    inside the string annotation: the words of short strings are identifiers."""
    save = (
        "from app import deps\n\n\n"
        "def save(db: 'deps.DB'):\n    try:\n        db.commit()\n    except Exception:\n        pass\n"
        "    db.execute(1)\n"
    )
    assert skipped(save) and not skipped(save, frozenset({"DB"}))
    root = project({
        "app/__init__.py": "",
        "app/db.py": DB,
        "app/deps.py": (
            "from typing import Annotated\n\nfrom fastapi import Depends\nfrom sqlalchemy.orm import Session\n\n"
            "from app.db import get_db\n\nDB = Annotated[Session, Depends(get_db)]\n"
        ),
        "app/save.py": save,
    })
    screened, _ = compare(root)
    assert ("SL006", "app/save.py", 7) in {(f.code, f.filename, f.span.row) for f in screened.findings}


# -- names a later round (or a later run) learns ----------------------------------------

LATE = {
    "app/__init__.py": "",
    "app/db.py": "from sqlalchemy.orm import sessionmaker\n\nmaker = sessionmaker()\n",
    "app/api.py": "from .db import maker as unit_of_work\n",
    # "Session" only in prose: through the text screen in round one, skipped by the
    # identifier screen then; the attribute `api.unit_of_work` is its only link.
    "app/jobs.py": (
        '"""Jobs; each one opens its own Session."""\n'
        "from app import api\n\n\n"
        "class Nightly:\n"
        "    def run(self):\n"
        "        db = api.unit_of_work()\n"
        "        db.execute(1)\n"
    ),
}


def test_round_two_name_reached_through_an_attribute(project):
    assert skipped(LATE["app/jobs.py"])
    assert not skipped(LATE["app/jobs.py"], frozenset({"unit_of_work"}))
    root = project(LATE)
    for paths in (None, [root / "app" / "jobs.py"]):  # the project, and pre-commit's one file
        screened, _ = compare(root, paths)
        assert ("SL003", "app/jobs.py", 7) in {(f.code, f.filename, f.span.row) for f in screened.findings}


def test_cache_follows_a_name_that_becomes_a_factory_and_stops_being_one(project, tmp_path):
    not_a_factory = "def maker():\n    return object()\n"
    root = project({**LATE, "app/db.py": not_a_factory})
    cache = tmp_path / "cache"
    db = root / "app" / "db.py"
    for text, expected in ((not_a_factory, False), (LATE["app/db.py"], True), (not_a_factory, False)):
        db.write_text(text)
        cached = run(root, screen=True, cache=cache)
        assert findings(cached) == findings(run(root, screen=False))
        assert (("SL003", "app/jobs.py") in codes(cached)) is expected
        # the one-file run (pre-commit) with the same cache agrees too
        one = run(root, [root / "app" / "jobs.py"], screen=True, cache=cache)
        assert findings(one) == findings(run(root, [root / "app" / "jobs.py"], screen=False))


# -- fixes and positions --------------------------------------------------------------

GLOBAL_DB = DB + "\ndb = SessionLocal()\n"
USES_GLOBAL = '''\
from fastapi import FastAPI

from app.db import db

app = FastAPI()


@app.get("/items")
def items():
    return db.execute("select 1").all()
'''
ON_EVENT = '''\
from fastapi import FastAPI

app = FastAPI()


@app.on_event("startup")
def warm():
    print("warm")
'''


def test_fix_edits_agree(project):
    """SL001's fix spans db.py and the routes importing the global (routes.py
    spells no token: it is parsed because `db` is a session name db.py exports),
    SL017's rewrites a module, SL004's wraps a close in `finally:`."""
    assert skipped(USES_GLOBAL) and not skipped(USES_GLOBAL, frozenset({"db"}))
    root = project({
        "app/__init__.py": "", "app/db.py": GLOBAL_DB, "app/routes.py": USES_GLOBAL, "app/main.py": ON_EVENT,
        "app/notes.py": '"""Never share a Session."""\n',
    })
    screened = compare_with_fixes(root)
    fixed = {(f.code, f.filename) for f in screened.findings if f.fix is not None}
    assert {("SL001", "app/db.py"), ("SL017", "app/main.py"), ("SL004", "app/db.py")} <= fixed
    sl001 = next(f for f in screened.findings if f.code == "SL001")
    assert any(edit.get("filename") == "app/routes.py" for edit in sl001.fix["edits"])


def test_crlf_and_form_feeds(project):
    """Positions and fix edits in files with CRLF endings and form feeds (not
    line breaks in Python, though `str.splitlines` breaks at them)."""
    routes = USES_GLOBAL.replace("\n\n\n@app.get", "\n\x0c\n\n@app.get").replace("\n", "\r\n")
    main = ON_EVENT.replace("\n\n\n@app", "\n\x0c\n\x0c\n@app").replace("\n", "\r\n")
    db = GLOBAL_DB.replace("\n\n\ndef get_db", "\n\x0c\n\ndef get_db").replace("\n", "\r\n")
    root = project({
        "app/__init__.py": "", "app/db.py": db.encode(), "app/routes.py": routes.encode(),
        "app/main.py": main.encode(), "app/notes.py": b'"""Never share a Session."""\r\n\x0c\r\nx = 1\r\n',
    })
    screened = compare_with_fixes(root)
    spans = {(f.code, f.filename, f.span.row, f.span.column) for f in screened.findings}
    assert {("SL017", "app/main.py", 6, 2), ("SL001", "app/db.py", 13, 6), ("SL004", "app/db.py", 11, 5)} <= spans


def test_lone_cr_line_endings_with_a_fix(project):
    root = project({"main.py": ON_EVENT.replace("\n", "\r").encode()})
    screened, _ = compare(root)
    assert not screened.errors
    assert ("SL017", "main.py", 6) in {(f.code, f.filename, f.span.row) for f in screened.findings}


def test_noqa_after_a_form_feed(project):
    root = project({"m.py": (
        "from sqlalchemy.orm import sessionmaker\nx = 1 \x0c\nSessionLocal = sessionmaker()\n"
        "db = SessionLocal()  # noqa: SL001\nother = SessionLocal()\n"
    )})
    screened, _ = compare(root)
    assert [f.span.row for f in screened.findings if f.code == "SL001"] == [5]


# -- modules analysed on demand (`_Loader`) ---------------------------------------------
# A module that never went through the screen rounds (or went through and was
# skipped) is read whole when the resolver asks about it, as an unscreened run
# reads it: an alias chain to a factory, a dependency re-export.

ENGINE = "from sqlalchemy import create_engine\n\n\ndef get_engine():\n    return create_engine('sqlite://')\n"
ENGINE_ROUTES = (
    "from fastapi import Depends, FastAPI\n\nimport api\n\napp = FastAPI()\n\n\n"
    "@app.get('/')\ndef index(engine=Depends(api.get_engine)):\n    return 1\n"
)
def test_dependency_re_exported_by_a_module_that_names_no_session(project):
    """api.py re-exports `get_engine`; it fails the text screen, so only the
    loader reads it -- through the identifier screen, which skips it."""
    root = project({"db.py": ENGINE, "api.py": "from db import get_engine\n", "routes.py": ENGINE_ROUTES})
    screened, _ = compare(root)
    assert any(f.code == "SL011" and "(used by `index` in routes.py)" in f.message for f in screened.findings)


def test_dependency_re_exported_by_a_module_that_says_session_in_a_comment(project):
    """The same, but api.py passes the text screen (a comment) and is skipped in
    the rounds: its skipped facts, with no exports, stand in the index."""
    root = project({"db.py": ENGINE, "api.py": "# The engine, not a Session.\nfrom db import get_engine\n",
                    "routes.py": ENGINE_ROUTES})
    screened, _ = compare(root)
    assert ("SL011", "db.py") in codes(screened)


CHAIN = {
    "svc/__init__.py": "",
    "svc/core.py": "from sqlalchemy.orm import sessionmaker\n\nfactory = sessionmaker()\n",
    "svc/n.py": "from .core import factory as thing\n",
    "svc/m.py": "from .n import thing\n\n\ndef make():\n    return thing()\n",
    "svc/jobs.py": "from sqlalchemy.orm import Session\n\nfrom svc.m import make\n\ndb: Session = make()\n",
}


def test_chain_through_neighbours_when_linting_the_project(project):
    root = project(CHAIN)
    screened, _ = compare(root)
    assert ("SL001", "svc/jobs.py") in codes(screened)


def test_chain_through_neighbours_when_linting_one_file(project):
    root = project(CHAIN)
    screened, _ = compare(root, [root / "svc" / "jobs.py"])
    assert ("SL001", "svc/jobs.py") in codes(screened)


def test_chain_through_a_module_outside_the_root(tmp_path, monkeypatch):
    write(tmp_path, {
        "mylib/__init__.py": "",
        "mylib/core.py": CHAIN["svc/core.py"],
        "mylib/db.py": "from mylib.core import factory as thing\n\n\ndef make():\n    return thing()\n",
    })
    root = write(tmp_path / "service", {"jobs.py": CHAIN["svc/jobs.py"].replace("svc.m", "mylib.db")})
    monkeypatch.chdir(root)
    screened, _ = compare(root)
    assert ("SL001", "jobs.py") in codes(screened)
