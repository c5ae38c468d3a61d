"""Properties every autofix must have, checked on the rule fixtures and on
hypothesis-generated variants of them.

For each fixture file with fixable findings (all rules selected, safe and unsafe
fixes applied the way `--fix --unsafe-fixes` applies them):

(a) every fixed file parses, with LibCST and with `ast`;
(b) fixing the fixed output again changes nothing (idempotent);
(c) nothing is lost: every comment of the original is still there (as many times),
    there are at least as many decorators, and every def/class name remains;
(d) the fix loop converged: no finding of the fixed output still carries a fix,
    and every rule that had fixable findings has fewer findings afterwards.

Variants keep the imports and factory definitions and draw a few of the other
top-level statements, rename local identifiers, re-indent (2/3/4 spaces, tabs) and
sprinkle comments and blank lines between statements and comments at the end
of statement lines.  Line endings (CRLF) are a
separate test.  `SESSIONLINT_FIX_EXAMPLES` sets the examples per fixture (default 25).

Plus the CLI: `--diff` (exit 1 and a unified diff when there is a fix, 0 when
not, file untouched), `--fix` applies only safe fixes without `--unsafe-fixes`, and
a second `--fix` changes nothing.
"""

from __future__ import annotations

import ast
import functools
import io
import json
import os
import re
import shutil
import tempfile
import tokenize
from collections import Counter
from pathlib import Path

import libcst as cst
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sessionlint.lint_rules.discovery import DiscoveryOptions
from sessionlint.lint_rules.engine import LintRequest, lint
from sessionlint.lint_rules.fixes.runner import run_fixes
from sessionlint.lint_rules.registry import all_rules

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "rules"
FILES = sorted(FIXTURES.glob("*.py"))
ALL = ("safe", "unsafe")
EXAMPLES = int(os.environ.get("SESSIONLINT_FIX_EXAMPLES", "25"))
#: at most this many of a fixture's statements (besides imports and factory
#: definitions) per variant: the fix pipeline's cost grows with fixes x file size,
#: and small variants combine the fixture's cases in more ways per second
MAX_KEEP = 5
FACTORY_MARKERS = ("sessionmaker", "create_engine", "create_async_engine", "FastAPI(", "APIRouter(", "scoped_session")

#: Rules whose fixes are known to drop comments (see test_fixes_keep_comments):
#: property (c)'s comment check is skipped where they fix something.
KNOWN_COMMENT_LOSS: set[str] = set()

PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    database=None if os.environ.get("CI") else settings.default.database,
)


# ---------------------------------------------------------------------------
# Linting and fixing a copy of the fixtures


def request_for(path: Path, cache: Path | None = None) -> LintRequest:
    """All rules, as `sessionlint check` would lint `path`.  With `cache`, an
    unchanged file is not analysed twice (the fix loop's first round re-lints
    what `before` linted, and the idempotency run what the last round linted)."""
    return LintRequest(
        paths=[path],
        root=path.parent,
        selected=frozenset(all_rules()),
        discovery=DiscoveryOptions(root=path.parent),
        cache_dir=cache,
        jobs=1,
    )


class Workspace:
    """A temporary directory with the text under test as fixture `name`, beside
    copies of its rule's other fixture files (`SL009_deps.py` for `SL009.py`:
    the files of one rule may import each other)."""

    def __init__(self, name: str, text: str):
        self._dir = tempfile.TemporaryDirectory(prefix="sl-fixprop-")
        self.root = Path(self._dir.name) / "rules"
        self.root.mkdir()
        prefix = name.split("_")[0].removesuffix(".py")
        for sibling in FIXTURES.glob(f"{prefix}*.py"):
            shutil.copy(sibling, self.root / sibling.name)
        self.path = self.root / name
        self.path.write_bytes(text.encode("utf-8"))
        self.cache = Path(self._dir.name) / "cache"

    def request(self) -> LintRequest:
        return request_for(self.path, self.cache)

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc) -> None:
        self._dir.cleanup()


def fixable(report) -> list:
    return [f for f in report.findings if f.fix and f.fix.get("applicability") in ALL and f.fix.get("edits")]


def comments(text: str) -> Counter:
    out: Counter = Counter()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.string.rstrip()] += 1
    return out


def definitions(tree: ast.AST) -> Counter:
    return Counter(
        n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    )


def decorators(tree: ast.AST) -> int:
    return sum(
        len(n.decorator_list)
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    )


def missing(before: Counter, after: Counter) -> dict:
    return {k: v - after[k] for k, v in before.items() if after[k] < v}


def check_fix_properties(name: str, text: str) -> int:
    """Fix `text` (as fixture `name`) and assert (a)-(d).  Returns the number of
    fixes applied."""
    with Workspace(name, text) as ws:
        before = lint(ws.request())
        assert not before.errors, before.errors
        _FIXABLE.setdefault((name, text), len(fixable(before)))
        outcome = run_fixes(ws.request(), ALL)
        assert not outcome.report.errors, outcome.report.errors
        if not fixable(before):
            assert not outcome.changes
            return 0
        assert outcome.changes, "findings with fixes, but fixing changed nothing"
        codes = {f.code for f in fixable(before)}

        for path, (old, new) in outcome.changes.items():
            where = Path(path).name
            # (a) the output parses
            try:
                cst.parse_module(new)
                new_tree = ast.parse(new)
            except (cst.ParserSyntaxError, SyntaxError) as exc:
                raise AssertionError(f"{where}: fixed output does not parse: {exc}\n{new}") from None
            # (c) nothing lost
            old_tree = ast.parse(old)
            if not codes & KNOWN_COMMENT_LOSS:  # those are test_fixes_keep_comments' xfails
                lost = missing(comments(old), comments(new))
                assert not lost, f"{where}: the fix dropped comments {lost}"
            assert decorators(new_tree) >= decorators(old_tree), f"{where}: the fix dropped a decorator"
            lost = missing(definitions(old_tree), definitions(new_tree))
            assert not lost, f"{where}: the fix dropped definitions {lost}"
            Path(path).write_bytes(new.encode("utf-8"))  # as `--fix` writes it

        # (d) converged, and every fixed rule has fewer findings
        after = outcome.report
        left = [(f.code, f.span.row, f.fix.get("message")) for f in fixable(after)]
        assert not left, f"findings still carry fixes after fixing (the fix loop did not converge): {left}"
        count_before = Counter(f.code for f in before.findings)
        count_after = Counter(f.code for f in after.findings)
        for code in {f.code for f in fixable(before)}:
            assert count_after[code] < count_before[code], (
                f"{code}: {count_before[code]} findings before fixing, {count_after[code]} after"
            )

        # (b) idempotent: a second run finds nothing to do
        again = run_fixes(ws.request(), ALL)
        assert not again.changes, {
            Path(p).name: "".join(__import__("difflib").unified_diff(o.splitlines(True), n.splitlines(True)))
            for p, (o, n) in again.changes.items()
        }
        return outcome.fixed


#: (fixture name, text) -> its number of findings with fixes
_FIXABLE: dict[tuple[str, str], int] = {}


def fixable_in_fixture(path: Path) -> int:
    """How many findings of the unmodified fixture carry a fix (remembered from
    test_fix_properties_on_fixture when it ran first)."""
    key = (path.name, path.read_text(encoding="utf-8"))
    if key not in _FIXABLE:
        with Workspace(*key) as ws:
            _FIXABLE[key] = len(fixable(lint(ws.request())))
    return _FIXABLE[key]


# ---------------------------------------------------------------------------
# Variants


class _Rename(cst.CSTTransformer):
    def __init__(self, mapping: dict[str, str]):
        self.mapping = mapping

    def leave_Name(self, original_node, updated_node):
        new = self.mapping.get(updated_node.value)
        return updated_node.with_changes(value=new) if new else updated_node


class _Sprinkle(cst.CSTTransformer):
    """Adds comments / blank lines above the statements whose (pre-order)
    number is in `comment_at` / `blank_at`, and a trailing comment to the
    one-line statements numbered in `trailing_at`."""

    def __init__(self, comment_at: set[int], blank_at: set[int], trailing_at: set[int] = frozenset()):
        self.comment_at = comment_at
        self.blank_at = blank_at
        self.trailing_at = trailing_at
        self.count = 0
        self.numbers: dict[int, int] = {}

    def _visit(self, node) -> bool:
        self.numbers[id(node)] = self.count
        self.count += 1
        return True

    def _leave(self, original, updated):
        number = self.numbers.get(id(original))
        if (
            number in self.trailing_at
            and isinstance(updated, cst.SimpleStatementLine)
            and updated.trailing_whitespace.comment is None
        ):
            updated = updated.with_changes(
                trailing_whitespace=updated.trailing_whitespace.with_changes(
                    whitespace=cst.SimpleWhitespace("  "), comment=cst.Comment(f"# variant tail {number}")
                )
            )
        extra = []
        if number in self.blank_at:
            extra.append(cst.EmptyLine())
        if number in self.comment_at:
            extra.append(cst.EmptyLine(comment=cst.Comment(f"# variant note {number}")))
        if not extra:
            return updated
        return updated.with_changes(leading_lines=[*updated.leading_lines, *extra])

    visit_SimpleStatementLine = _visit
    leave_SimpleStatementLine = _leave
    visit_FunctionDef = _visit
    leave_FunctionDef = _leave
    visit_ClassDef = _visit
    leave_ClassDef = _leave
    visit_If = _visit
    leave_If = _leave
    visit_Try = _visit
    leave_Try = _leave
    visit_With = _visit
    leave_With = _leave
    visit_For = _visit
    leave_For = _leave


def _statement_count(module: cst.Module) -> int:
    counter = _Sprinkle(set(), set())
    module.visit(counter)
    return counter.count


def _local_names(module: cst.Module) -> list[str]:
    """Names the file itself binds (functions, parameters, assigned names) and
    does not import: renaming them consistently keeps the program's shape."""
    tree = ast.parse(module.code)
    imported = set()
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imported |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            bound.add(node.name)
            args = node.args
            bound |= {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
    keep = imported | {"self", "cls", "app", "router", "__name__", "__all__", "_"}
    return sorted(n for n in bound - keep if not n.startswith("__"))


@functools.lru_cache(maxsize=None)
def _parsed(source: str) -> tuple[cst.Module, tuple[int, ...]]:
    """The module (CST nodes are immutable: safe to share between examples) and
    the indexes of its optional top-level statements: all but imports, the
    docstring and factory/app definitions."""
    module = cst.parse_module(source)
    optional = []
    for index, stmt in enumerate(module.body):
        if isinstance(stmt, cst.SimpleStatementLine):
            code = module.code_for_node(stmt)
            if any(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body):
                continue
            if index == 0 and isinstance(stmt.body[0], cst.Expr) and isinstance(stmt.body[0].value, cst.SimpleString):
                continue
            if any(marker in code for marker in FACTORY_MARKERS):
                continue
        optional.append(index)
    return module, tuple(optional)


@st.composite
def variants(draw, source: str) -> str:
    module, optional = _parsed(source)
    body = list(module.body)
    kept = set(draw(st.lists(st.sampled_from(optional), min_size=1, max_size=MAX_KEEP, unique=True))) if optional else set()
    module = module.with_changes(body=[s for i, s in enumerate(body) if i not in optional or i in kept])

    names = _local_names(module)
    if names:
        chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=4))
        taken = set(names)
        mapping = {}
        for old in chosen:
            suffix = draw(st.sampled_from(["_v", "2", "_alt", "_x"]))
            new = old + suffix
            if new not in taken and new not in source:
                mapping[old] = new
                taken.add(new)
        if mapping:
            module = module.visit(_Rename(mapping))

    count = _statement_count(module)
    if count:
        positions = st.integers(min_value=0, max_value=count - 1)
        module = module.visit(
            _Sprinkle(
                draw(st.sets(positions, max_size=6)),
                draw(st.sets(positions, max_size=6)),
                draw(st.sets(positions, max_size=6)),
            )
        )

    module = module.with_changes(default_indent=draw(st.sampled_from(["    ", "  ", "   ", "\t"])))
    return module.code


def _valid(text: str) -> bool:
    try:
        cst.parse_module(text)
        ast.parse(text)
        return True
    except (cst.ParserSyntaxError, SyntaxError):
        return False


# ---------------------------------------------------------------------------
# The properties, on the fixtures as committed


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_fix_properties_on_fixture(path: Path):
    """(a)-(d) on each fixture; one without fixable findings must come out of
    the fixer unchanged."""
    check_fix_properties(path.name, path.read_text(encoding="utf-8"))


# ... and on generated variants of the fixtures that can have fixes: those that
# expect a finding of a rule whose source builds fixes (read as for the docs)


def _fixing_codes() -> set[str]:
    from sessionlint.lint_rules.docs import fix_info

    return {code for code, rule in all_rules().items() if not fix_info(rule).known or fix_info(rule).applicabilities}


_EXPECT = re.compile(r"#.*?expect:\s*(?P<codes>SL\d{3}(?:\s*,\s*SL\d{3})*)")
FIXING = _fixing_codes()
VARIANT_FILES = [
    p for p in FILES if FIXING & {c.strip() for m in _EXPECT.finditer(p.read_text(encoding="utf-8")) for c in m.group("codes").split(",")}
]


@pytest.mark.parametrize("path", VARIANT_FILES, ids=[p.name for p in VARIANT_FILES])
def test_fix_properties_on_variants(path: Path):
    if not fixable_in_fixture(path):
        pytest.skip(f"{path.name}: no finding has a fix")
    source = path.read_text(encoding="utf-8")

    @PROPERTY_SETTINGS
    @given(variants(source))
    def prop(text: str) -> None:
        assume(_valid(text))
        check_fix_properties(path.name, text)

    prop()


# ---------------------------------------------------------------------------
# Comments on and around the lines a fix rewrites, one case per fix

COMMENT_CASES = {
    "SL001": """\
from fastapi import FastAPI
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker()
app = FastAPI()

# the one session of the process
db = SessionLocal()  # shared by every request


@app.get("/")
def index():
    return db.execute("select 1")
""",
    "SL005": """\
from fastapi import Depends, FastAPI
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()
app = FastAPI()


def get_db():
    # one per request
    return SessionLocal()  # the request's session


@app.get("/")
def index(db: Session = Depends(get_db)):
    return db.execute("select 1")
""",
    "SL004": """\
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker()


def get_db():
    db = SessionLocal()  # one per request
    # hand it to the endpoint
    yield db  # the endpoint runs here
    # done: give the connection back
    db.close()  # back to the pool
""",
    "SL006-rollback": """\
from fastapi import Depends, FastAPI
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()
app = FastAPI()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


@app.post("/signup")
def signup(email: str, db: Session = Depends(get_db)):
    try:
        db.add(User(email=email))
        db.commit()
    except IntegrityError:
        # a duplicate signup: ignore it
        pass  # nothing else to do
    db.add(AuditLog(action=email))
    db.commit()
""",
    "SL006-reraise": """\
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker()


def get_db():
    db = SessionLocal()
    try:
        yield db
    except Exception:
        # the endpoint failed
        pass  # keep going
    finally:
        db.close()
""",
    "SL013": """\
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine("postgresql+asyncpg://app@localhost/app")
AsyncSessionLocal = async_sessionmaker(
    engine,  # the app's engine
    # defaults otherwise
)
""",
    # SL014 may decline to delete an argument that carries a comment ...
    "SL014-commented-argument": """\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(
    autocommit=False,  # as the tutorial says
    # and the engine
    bind=engine,
)
""",
    # ... but not one whose neighbours do
    "SL014": """\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite://")
# the factory
SessionLocal = sessionmaker(  # one per app
    # the engine first
    bind=engine,  # the only engine
    autocommit=False,
    autoflush=False,  # explicit flushes
)  # done
""",
    "SL017": """\
from fastapi import FastAPI
from sqlalchemy import create_engine

app = FastAPI()
engine = create_engine("sqlite://")


# warm the pool
@app.on_event("startup")
def startup():
    # one connection is enough
    engine.connect().close()  # then give it back


@app.on_event("shutdown")
def shutdown():
    engine.dispose()  # close every pooled connection
""",

}
#: Cases where a fix may rather not be offered than keep the comments.
MAY_DECLINE = {"SL014-commented-argument"}
#: code -> the bug, for the codes in KNOWN_COMMENT_LOSS (their cases are strict
#: xfails).  Found and fixed so far: SL001 and SL005 dropped the comments of the
#: statement they replace, SL006 those of the handler's `pass`, SL014 those on the
#: comma of the argument it deletes.
COMMENT_BUGS: dict[str, str] = {}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, marks=pytest.mark.xfail(strict=True, reason=COMMENT_BUGS.get(case.split("-")[0], "comments lost")))
        if case.split("-")[0] in KNOWN_COMMENT_LOSS
        else case
        for case in sorted(COMMENT_CASES)
    ],
)
def test_fixes_keep_comments(case):
    code = case.split("-")[0]
    source = COMMENT_CASES[case]
    with Workspace("comments.py", source) as ws:
        outcome = run_fixes(ws.request(), ALL)
        if case in MAY_DECLINE and not outcome.fixed:
            return  # declining the fix is one way to keep the comments
        assert outcome.fixed, f"{code}: the case has nothing to fix"
        new = outcome.changes[str(ws.path)][1]
    lost = missing(comments(source), comments(new))
    assert not lost, f"{code}: the fix dropped comments {sorted(lost)}:\n{new}"


# ---------------------------------------------------------------------------
# Windows line endings: a fixed CRLF file parses, keeps CRLF, and is fixed as
# its LF twin is.

CRLF_SOURCE = """\
from fastapi import Depends, FastAPI
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()
app = FastAPI()


def get_db():
    db = SessionLocal()
    yield db
    db.close()


def get_other_db():
    return SessionLocal()


@app.get("/")
def index(db: Session = Depends(get_db), other: Session = Depends(get_other_db)):
    return db.execute("select 1")
"""


def test_fixes_keep_crlf_line_endings(tmp_path):
    with Workspace("crlf_app.py", CRLF_SOURCE) as plain:
        expected = run_fixes(plain.request(), ALL).changes[str(plain.path)][1]
    with Workspace("crlf_app.py", CRLF_SOURCE.replace("\n", "\r\n")) as ws:
        outcome = run_fixes(ws.request(), ALL)
        assert not outcome.report.errors, outcome.report.errors
        assert outcome.fixed == 2
        new = outcome.changes[str(ws.path)][1]
        assert _valid(new), "fixed CRLF output does not parse"
        assert new.replace("\r\n", "\n") == expected, "CRLF and LF copies are fixed differently"
        lone = new.replace("\r\n", "").count("\n")
        assert lone == 0, f"fixed CRLF file has {lone} LF-only line endings"


# ---------------------------------------------------------------------------
# The CLI: --diff, --fix, --unsafe-fixes (on copies of the fixtures; the results
# cache is on, so a file the previous command left unchanged is not re-analysed)


@pytest.fixture
def cli(run_cli, tmp_path):
    cache = str(tmp_path / "cache")

    def run(*args: str, cwd: Path):
        return run_cli("check", "--cache-dir", cache, *args, cwd=cwd)

    return run


def _copy(tmp_path: Path, *names: str, into: str = "proj") -> Path:
    work = tmp_path / into
    work.mkdir()
    for name in names:
        shutil.copy(FIXTURES / name, work / name)
    return work


def test_diff_prints_a_unified_diff_and_exits_1(cli, tmp_path):
    work = _copy(tmp_path, "SL004.py")
    original = (work / "SL004.py").read_bytes()
    status, out, err = cli("--diff", "SL004.py", cwd=work)
    assert status == 1, err
    assert out.startswith("--- a/SL004.py\n+++ b/SL004.py\n@@ "), out[:200]
    assert any(line.startswith("+") and "finally:" in line for line in out.splitlines())
    assert "Would fix" in err
    assert (work / "SL004.py").read_bytes() == original, "--diff must not write"

    # applying the diff gives what --fix writes
    import difflib

    status, _, err = cli("--fix", "SL004.py", cwd=work)
    assert status in (0, 1), err
    fixed = (work / "SL004.py").read_text()
    expected = "".join(difflib.unified_diff(original.decode().splitlines(True), fixed.splitlines(True), "a/SL004.py", "b/SL004.py"))
    assert out == expected


def test_diff_exits_0_when_there_is_nothing_to_fix(cli, tmp_path):
    work = _copy(tmp_path, "SL005.py")
    original = (work / "SL005.py").read_bytes()
    # SL005's fixes are unsafe: nothing to do without --unsafe-fixes
    status, out, err = cli("--diff", "SL005.py", cwd=work)
    assert (status, out) == (0, ""), (status, out[:300], err)
    assert "No fixes available" in err
    status, out, err = cli("--diff", "--unsafe-fixes", "SL005.py", cwd=work)
    assert status == 1 and out.startswith("--- a/SL005.py"), err
    assert (work / "SL005.py").read_bytes() == original

    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "ok.py").write_text("import os\n\nprint(os.sep)\n")
    status, out, err = cli("--diff", "--unsafe-fixes", "ok.py", cwd=clean)
    assert (status, out) == (0, ""), err


def _offered(cli, work: Path) -> Counter:
    status, out, err = cli("--output-format", "json", ".", cwd=work)
    assert status in (0, 1), err
    return Counter((f["filename"], f["fix"]["applicability"]) for f in json.loads(out) if f["fix"])


def test_fix_without_unsafe_fixes_applies_only_safe_fixes(cli, tmp_path):
    work = _copy(tmp_path, "SL004.py", "SL005.py")
    before = {name: (work / name).read_bytes() for name in ("SL004.py", "SL005.py")}
    offered = _offered(cli, work)
    assert offered[("SL004.py", "safe")] and offered[("SL005.py", "unsafe")], offered

    status, out, err = cli("--fix", ".", cwd=work)
    assert status in (0, 1), err
    assert (work / "SL004.py").read_bytes() != before["SL004.py"]
    assert (work / "SL005.py").read_bytes() == before["SL005.py"], "--fix applied an unsafe fix"
    left = _offered(cli, work)
    assert not [key for key in left if key[1] == "safe"], left
    assert left[("SL005.py", "unsafe")] == offered[("SL005.py", "unsafe")]

    status, out, err = cli("--fix", "--unsafe-fixes", ".", cwd=work)
    assert status in (0, 1), err
    assert (work / "SL005.py").read_bytes() != before["SL005.py"]
    assert not _offered(cli, work)


def test_fix_twice_changes_nothing_the_second_time(cli, tmp_path):
    work = _copy(tmp_path, "SL004.py")
    status, out, err = cli("--fix", "SL004.py", cwd=work)
    assert status in (0, 1), err
    first = (work / "SL004.py").read_bytes()
    assert first != (FIXTURES / "SL004.py").read_bytes()
    status, out, err = cli("--fix", "SL004.py", cwd=work)
    assert status in (0, 1), err
    assert (work / "SL004.py").read_bytes() == first
    assert "0 fixed" in out or "fixed" not in out, out
    status, out, err = cli("--diff", "SL004.py", cwd=work)
    assert (status, out) == (0, ""), err
