"""Fuzzing: the linter never crashes, and `--fix --unsafe-fixes` never turns a file
that parses into one that does not.

Five sources of programs:

- `hypothesmith.from_grammar()` and `hypothesmith.from_node()`: arbitrary Python,
  linted with the screen off so every rule's `check` runs on it;
- the same grammar programs spliced after an app preamble (`SessionLocal =
  sessionmaker()`, a FastAPI app), with every generated function wired in as a
  `Depends(...)` target and called with a session, so the dependency rules look at
  them;
- generated session code: functions built from the statements the rules care
  about (`SessionLocal()`, `yield`, `close()`, `commit()`, `global`, tasks,
  threads...) nested in random `try`/`with`/`if`/`for` blocks under random
  decorators -- the shapes the rules and their fixes have to survive;
- slices of the rule fixtures with lines deleted, duplicated, swapped or
  re-indented.

For each program: the engine returns a report; a file error may only say the
file does not parse or decode (never "internal error in rule"); and when the input
parses, the fixed output parses too (LibCST and `ast`).

The CI run is bounded: 30 grammar, 10 node and 25 spliced programs (hypothesmith
generates slowly, ~0.3-0.6 s a program: most of this file's time), 150 session and
200 mutated programs; about 45 s on 2 cores.  `make fuzz` sets `SESSIONLINT_FUZZ_EXAMPLES=10000`, which
replaces every test's example count.
"""

from __future__ import annotations

import ast
import os
import tempfile
import warnings
from pathlib import Path

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionlint.lint_rules.discovery import DiscoveryOptions
from sessionlint.lint_rules.engine import LintRequest
from sessionlint.lint_rules.fixes.runner import run_fixes
from sessionlint.lint_rules.registry import all_rules

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "rules"
_OVERRIDE = os.environ.get("SESSIONLINT_FUZZ_EXAMPLES")


def fuzz_settings(ci_examples: int) -> settings:
    return settings(
        max_examples=int(_OVERRIDE) if _OVERRIDE else ci_examples,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


# Where the programs are "saved": an empty directory, so the import scan finds
# nothing of this repository.
_WORKDIR = Path(tempfile.mkdtemp(prefix="sessionlint-fuzz-"))
_ALLOWED_ERRORS = ("syntax error", "cannot decode file", "file contains a NUL byte", "file is nested too deeply")


def parses(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
        cst.parse_module(text)
        return True
    except (SyntaxError, ValueError, cst.ParserSyntaxError, RecursionError, MemoryError):
        return False


def lint_and_fix(source: str, *, screen: bool) -> None:
    """Lint `source` and fix it with every fix (the fix loop lints at least once);
    assert no crash, no internal error, and a parsable result."""
    path = _WORKDIR / "fuzzed_module.py"
    request = LintRequest(
        paths=[],
        root=_WORKDIR,
        selected=frozenset(all_rules()),
        discovery=DiscoveryOptions(root=_WORKDIR),
        screen=screen,
        jobs=1,
        stdin=source.encode("utf-8"),
        stdin_filename=str(path),
    )
    outcome = run_fixes(request, ("safe", "unsafe"))
    report = outcome.report
    for error in report.errors:
        assert error.message.startswith(_ALLOWED_ERRORS) or ": file is nested too deeply" in error.message, (
            f"the linter failed on a program: {error.message}\n--- program ---\n{source}"
        )
    if not outcome.changes or not parses(source):
        return
    for old, new in outcome.changes.values():
        assert parses(new), (
            f"--fix --unsafe-fixes produced code that does not parse\n--- input ---\n{old}\n--- output ---\n{new}"
        )


def _valid_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


# ---------------------------------------------------------------------------
# hypothesmith programs


@fuzz_settings(30)
@given(hypothesmith.from_grammar())
def test_grammar_programs(source):
    if _valid_utf8(source):
        lint_and_fix(source, screen=False)


@fuzz_settings(10)
@given(hypothesmith.from_node())
def test_node_programs(source):
    if _valid_utf8(source):
        lint_and_fix(source, screen=False)


PREAMBLE = """\
import asyncio
from contextlib import contextmanager
from typing import Annotated

from fastapi import BackgroundTasks, Depends, FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)
AsyncSessionLocal = async_sessionmaker(create_async_engine("sqlite+aiosqlite://"))
app = FastAPI()
"""


def _wire(program: str) -> str:
    """Routes that use each top-level function of `program` as a dependency,
    and call it with a session."""
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError):
        return ""
    names = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    out = []
    for index, name in enumerate(names):
        out.append(
            f"\n\n@app.get('/fuzz/{index}')\n"
            f"def fuzz_route_{index}(dep=Depends({name}), db: Session = Depends({name})):\n"
            f"    session = SessionLocal()\n"
            f"    {name}(session)\n"
            f"    return dep\n"
        )
    return "".join(out)


@fuzz_settings(25)
@given(hypothesmith.from_grammar())
def test_spliced_programs(program):
    if not _valid_utf8(program):
        return
    source = PREAMBLE + "\n" + program + ("" if program.endswith("\n") else "\n") + _wire(program)
    lint_and_fix(source, screen=True)


# ---------------------------------------------------------------------------
# Generated session code

SESSION_NAMES = ("db", "session", "s")

SIMPLE = (
    "{s} = SessionLocal()",
    "{s} = Session(engine)",
    "{s} = AsyncSessionLocal()",
    "{s} = SessionLocal(bind=engine, expire_on_commit=True)",
    "yield {s}",
    "yield",
    "return {s}",
    "return SessionLocal()",
    "return AsyncSessionLocal()",
    "return",
    "{s}.close()",
    "await {s}.close()",
    "{s}.commit()",
    "await {s}.commit()",
    "{s}.rollback()",
    "await {s}.rollback()",
    "{s}.flush()",
    "{s}.add(item)",
    "{s}.execute(text('select 1'))",
    "await {s}.execute(text('select 1'))",
    "item = {s}.get(Item, 1); item.count += 1",
    "global {s}",
    "nonlocal {s}",
    "raise",
    "raise HTTPException(404)",
    "pass",
    "...",
    "engine2 = create_engine('sqlite://')",
    "background_tasks.add_task(work, {s})",
    "threading.Thread(target=work, args=({s},)).start()",
    "executor.submit(work, {s})",
    "await asyncio.gather(work({s}), work({s}))",
    "asyncio.create_task(work({s}))",
    "tg.create_task(work({s}))",
    "request.state.db = {s}",
    "app.state.db = {s}",
    "self.{s} = SessionLocal()",
    "self.{s}.close()",
    "response = await call_next(request)",
    "return response",
    "time.sleep(1)",
    "requests.get('https://example.com')",
    "{s}.query(Item).all()",
    "{s}.bind = engine",
    "Base = declarative_base()",
    "reg = scoped_session(SessionLocal)",
    "reg.remove()",
    "{s} = reg()",
    "del {s}",
    "x = lambda: SessionLocal()",
    "return {s}.get(Item, 1)",
    "print({s})",
    # the rules' canonical shapes, as whole snippets, so the fixes get exercised
    "{s} = SessionLocal()\nyield {s}\n{s}.close()",
    "{s} = AsyncSessionLocal()\nyield {s}\nawait {s}.close()",
    "{s} = SessionLocal()\ntry:\n    yield {s}\nexcept Exception:\n    pass\nfinally:\n    {s}.close()",
    "try:\n    {s}.commit()\nexcept IntegrityError:\n    pass\n{s}.add(item)",
    "try:\n    await {s}.commit()\nexcept Exception:\n    log.warning('failed')\nawait {s}.execute(text('select 1'))",
    "{s} = SessionLocal()\nreturn {s}",
    "with SessionLocal() as {s}:\n    yield {s}",
    "{s} = SessionLocal()\nresponse = await call_next(request)\n{s}.close()\nreturn response",
)

HEADERS = (
    "try:",
    "if flag:",
    "for item in items:",
    "while flag:",
    "with SessionLocal() as {s}:",
    "with SessionLocal.begin() as {s}:",
    "with {s}.begin():",
    "async with AsyncSessionLocal() as {s}:",
    "async with {s}.begin():",
    "async with asyncio.TaskGroup() as tg:",
    "with lock:",
)

DECORATORS = (
    "",
    "@app.get('/items')\n",
    "@router.post('/items')\n",
    "@contextmanager\n",
    "@asynccontextmanager\n",
    "@app.middleware('http')\n",
    "@app.on_event('startup')\n",
    "@app.on_event('shutdown')\n",
    "@lru_cache\n",
    "@pytest.fixture\n",
    "@event.listens_for(engine, 'connect')\n",
    "@staticmethod\n",
)

PARAMS = (
    "",
    "db: Session = Depends(get_db)",
    "db: Annotated[Session, Depends(get_db)]",
    "session: AsyncSession = Depends(get_async_db)",
    "request: Request",
    "request: Request, call_next",
    "background_tasks: BackgroundTasks, db: Session = Depends(get_db)",
    "db=SessionLocal()",
    "self",
    "*args, **kwargs",
)

HANDLERS = ("except Exception:", "except IntegrityError as exc:", "except:", "except (ValueError, SQLAlchemyError):")

HEADER_IMPORTS = """\
import asyncio
import threading
import time
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache
from typing import Annotated

import pytest
import requests
from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, HTTPException, Request
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, declarative_base, scoped_session, sessionmaker
"""

MODULE_LEVEL = (
    "engine = create_engine('sqlite://')",
    "SessionLocal = sessionmaker(bind=engine, autocommit=False)",
    "AsyncSessionLocal = async_sessionmaker(create_async_engine('sqlite+aiosqlite://'))",
    "app = FastAPI()",
    "router = APIRouter()",
    "db = SessionLocal()",
    "session: Session = Session(engine)",
    "Registry = scoped_session(SessionLocal)",
    "lock = threading.Lock()",
    "from sqlalchemy.ext.declarative import declarative_base",
    "AsyncSessionLocal = async_sessionmaker(create_async_engine('sqlite+aiosqlite://'), expire_on_commit=True)",
    "SessionDep = Annotated[Session, Depends(get_db)]",
    "if __name__ == '__main__':\n    cli_db = SessionLocal()\n    cli_db.commit()",
)


@st.composite
def blocks(draw, depth: int, session: str) -> list[str]:
    """A list of statement lines (already indented relative to the block)."""
    count = draw(st.integers(min_value=1, max_value=4))
    lines: list[str] = []
    for _ in range(count):
        if depth < 3 and draw(st.integers(0, 3)) == 0:
            header = draw(st.sampled_from(HEADERS)).format(s=session)
            lines.append(header)
            lines += ["    " + line for line in draw(blocks(depth + 1, session))]
            if header == "try:":
                handlers = draw(st.lists(st.sampled_from(HANDLERS), max_size=2, unique=True))
                # a bare `except:` anywhere: CPython refuses it before another
                # handler only at compile time, and LibCST refuses the tree
                for handler in handlers:
                    lines.append(handler)
                    lines += ["    " + line for line in draw(blocks(depth + 1, session))]
                if handlers and draw(st.booleans()):
                    lines.append("else:")
                    lines += ["    " + line for line in draw(blocks(depth + 1, session))]
                if not handlers or draw(st.booleans()):
                    lines.append("finally:")
                    lines += ["    " + line for line in draw(blocks(depth + 1, session))]
        else:
            stmt = draw(st.sampled_from(SIMPLE)).format(s=session)
            if draw(st.integers(0, 6)) == 0:
                stmt += "  # fuzz comment"
            lines += stmt.split("\n")
    return lines


@st.composite
def functions(draw, index: int) -> str:
    session = draw(st.sampled_from(SESSION_NAMES))
    decorator = draw(st.sampled_from(DECORATORS))
    is_async = draw(st.booleans())
    name = draw(st.sampled_from(("get_db", "get_async_db", "handler", f"fn_{index}", "lifespan", "dispatch")))
    params = draw(st.sampled_from(PARAMS))
    body = draw(blocks(0, session))
    text = f"{decorator}{'async ' if is_async else ''}def {name}({params}):\n"
    text += "".join(f"    {line}\n" for line in body)
    if draw(st.booleans()):  # a method of a class
        text = "class Repo:\n" + "".join(f"    {line}\n" if line else "\n" for line in text.splitlines())
    return text


@st.composite
def session_programs(draw) -> str:
    module_level = draw(st.lists(st.sampled_from(MODULE_LEVEL), min_size=2, max_size=7, unique=True))
    funcs = [draw(functions(i)) for i in range(draw(st.integers(1, 4)))]
    return HEADER_IMPORTS + "\n" + "\n".join(module_level) + "\n\n\n" + "\n\n".join(funcs)


@fuzz_settings(150)
@given(session_programs())
def test_session_programs(source):
    lint_and_fix(source, screen=True)


# ---------------------------------------------------------------------------
# Mutated fixtures

_FIXTURE_LINES = {p.name: p.read_text(encoding="utf-8").splitlines() for p in sorted(FIXTURES.glob("*.py"))}


def _header_end(lines: list[str]) -> int:
    """The index after the fixture's last top-level import."""
    end = 0
    for index, line in enumerate(lines[:120]):
        if line.startswith(("import ", "from ")):
            end = index + 1
    return end


@st.composite
def mutated_fixtures(draw) -> str:
    name = draw(st.sampled_from(sorted(_FIXTURE_LINES)))
    lines = _FIXTURE_LINES[name]
    head = _header_end(lines)
    body = lines[head:]
    # windows start at a top-level statement, so that most of them parse
    starts = [i for i, line in enumerate(body) if line[:1].isalpha() or line.startswith("@")] or [0]
    start = draw(st.sampled_from(starts))
    window = body[start : start + draw(st.integers(10, 80))]
    for _ in range(draw(st.integers(0, 4))):
        if not window:
            break
        op = draw(st.sampled_from(("delete", "duplicate", "swap", "dedent", "indent", "truncate")))
        i = draw(st.integers(0, len(window) - 1))
        if op == "delete":
            del window[i]
        elif op == "duplicate":
            window.insert(i, window[i])
        elif op == "swap":
            j = draw(st.integers(0, len(window) - 1))
            window[i], window[j] = window[j], window[i]
        elif op == "dedent":
            window[i] = window[i][4:] if window[i].startswith("    ") else window[i]
        elif op == "indent":
            window[i] = "    " + window[i]
        elif op == "truncate":
            window[i] = window[i][: draw(st.integers(0, len(window[i])))]
    return "\n".join(lines[:head] + window) + "\n"


@fuzz_settings(200)
@given(mutated_fixtures())
def test_mutated_fixtures(source):
    lint_and_fix(source, screen=True)


def test_fuzz_settings_follow_the_environment(monkeypatch):
    assert fuzz_settings(7).max_examples == (int(_OVERRIDE) if _OVERRIDE else 7)


def test_bare_except_not_last():
    """LibCST parses this, then refuses the tree (CSTValidationError): a file
    error, not a crash of the run."""
    lint_and_fix(
        "from sqlalchemy.orm import Session\n\ntry:\n    pass\nexcept:\n    pass\nexcept Exception:\n    pass\n",
        screen=True,
    )


@pytest.mark.parametrize("bad", ["def f(:\n", "x = 'unterminated\n", "\x00\n", "if x:\npass\n"])
def test_unparsable_input_is_a_syntax_error_not_a_crash(bad):
    lint_and_fix(bad, screen=False)
