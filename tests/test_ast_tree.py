"""Trees built from `ast` (`lint_rules/ast_tree.py`) stand in for LibCST's own.

Two checks, on the rule fixtures, the sample apps, the realistic apps, this
project's own sources and generated programs:

- structure: both trees hold the same statements and expressions, field by
  field, as far as the rules read them (names, operators, `async`, stars, the
  grouping of statements into lines and suites); formatting is not compared;
- facts: analysing a file on the built tree gives the same exports, dependency
  uses and candidates (position and fix aside) as analysing it on LibCST's.

The engine side -- an approximate file is analysed again before anything in it
is reported -- is covered by every findings test that runs with the screen on
(the default), and by the screened/unscreened comparisons of `test_screen.py`.
"""

from __future__ import annotations

import ast
import unicodedata
from pathlib import Path

import hypothesmith
import libcst as cst
import pytest
from hypothesis import given

from sessionlint.lint_rules.analysis.walk import _fields
from sessionlint.lint_rules.analyze import analyze
from sessionlint.lint_rules.ast_tree import from_ast
from sessionlint.lint_rules.engine import LintRequest, lint
from sessionlint.lint_rules.discovery import DiscoveryOptions
from sessionlint.lint_rules.registry import all_rules
from test_fuzz import fuzz_settings, mutated_fixtures, session_programs

ROOT = Path(__file__).resolve().parent.parent
CORPORA = [ROOT / "tests" / "fixtures", ROOT / "sample_apps", ROOT / "tests" / "apps", ROOT / "lint_rules",
           ROOT / "harness", ROOT / "sessionlint"]
FILES = sorted({p for d in CORPORA if d.is_dir() for p in d.rglob("*.py")})

# Non-node fields the rules read, compared as values.
_SCALARS = ("star", "relative", "asynchronous", "operator")


def _scalar(node: cst.CSTNode, name: str):
    value = getattr(node, name, None)
    if name == "relative":
        return len(value or ())
    if name in ("asynchronous", "operator"):
        return type(value).__name__ if value is not None else None
    return value or ""


def _literal(node: cst.CSTNode):
    return ast.literal_eval(node.value)


def differences(exact, built, where: str = "module") -> list[str]:
    """How `built` differs from LibCST's `exact` tree (empty: not at all)."""
    if isinstance(exact, (list, tuple)) or isinstance(built, (list, tuple)):
        if not isinstance(exact, (list, tuple)) or not isinstance(built, (list, tuple)) or len(exact) != len(built):
            return [f"{where}: {_shape(exact)} vs {_shape(built)}"]
        out = []
        for index, (a, b) in enumerate(zip(exact, built)):
            out += differences(a, b, f"{where}[{index}]")
        return out
    if not isinstance(exact, cst.CSTNode):
        if isinstance(exact, str) and isinstance(built, str) and unicodedata.normalize("NFKC", exact) == built:
            return []  # CPython normalises identifiers (PEP 3131); LibCST keeps their spelling
        return [] if exact == built or (exact is cst.MaybeSentinel.DEFAULT and built is None) else \
            [f"{where}: {exact!r} vs {built!r}"]
    if isinstance(exact, cst.ConcatenatedString):
        return []  # `"a" "b"`: one constant to `ast`; the rules read no such string
    if type(exact) is not type(built):
        return [f"{where}: {type(exact).__name__} vs {type(built).__name__}"]
    if isinstance(exact, (cst.Integer, cst.Float, cst.Imaginary)):
        return [] if _literal(exact) == _literal(built) else [f"{where}: {exact.value} vs {built.value}"]
    if isinstance(exact, cst.SimpleString):
        return [] if exact.evaluated_value == _literal(built) else [f"{where}: {exact.value} vs {built.value}"]
    if isinstance(exact, cst.FormattedString):
        # `ast` splits and joins an f-string's text differently; the expressions must agree
        return differences([p.expression for p in exact.parts if isinstance(p, cst.FormattedStringExpression)],
                           [p.expression for p in built.parts if isinstance(p, cst.FormattedStringExpression)],
                           f"{where}.parts")
    out = []
    for name in _SCALARS:
        if hasattr(type(exact), name) and name in {f for f in type(exact).__dataclass_fields__}:
            if _scalar(exact, name) != _scalar(built, name):
                out.append(f"{where}.{name}: {_scalar(exact, name)!r} vs {_scalar(built, name)!r}")
    for name in _fields(type(exact)):
        out += differences(getattr(exact, name), getattr(built, name), f"{where}.{type(exact).__name__}.{name}")
    return out


def _shape(value) -> str:
    if isinstance(value, (list, tuple)):
        return f"{len(value)} items"
    return type(value).__name__


def tree_differences(text: str) -> list[str] | None:
    try:
        tree = ast.parse(text)
        exact = cst.parse_module(text)
    except (SyntaxError, ValueError, cst.ParserSyntaxError, RecursionError):
        return None
    return differences(exact, from_ast(tree, text))


def facts_key(facts) -> tuple:
    candidates = sorted({(c.code, c.message, c.requires, c.subject, c.group, c.companion) for c in facts.candidates},
                        key=repr)
    return (sorted(facts.exports.items()), sorted(facts.depends_uses), sorted(facts.annotated_aliases.items()),
            candidates, facts.noqa, facts.error)


def compare_facts(text: str, name: str = "m.py") -> str:
    """Check that both trees give the same facts.  Returns how the screened
    analysis went: "quick" (on the built tree), "skipped" (the identifier
    screen skipped the file) or "exact" (it fell back to LibCST's tree)."""
    data = text.encode()
    quick = analyze(data, name, "pkg.m", False, frozenset())
    if quick.skipped_names is not None:
        return "skipped"
    if not quick.approximate:
        return "exact"
    exact = analyze(data, name, "pkg.m", False, frozenset(), exact=True)
    assert not exact.approximate
    assert facts_key(quick) == facts_key(exact), name
    return "quick"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_same_tree(path):
    found = tree_differences(path.read_text(encoding="utf-8"))
    assert not found, found[:10]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_same_facts(path):
    compare_facts(path.read_text(encoding="utf-8"), str(path))


def test_files_that_name_sessions_use_the_quick_tree():
    """Not a vacuous comparison: every fixture the screen lets through is
    analysed on the built tree, none falls back to LibCST's."""
    ways = {str(p): compare_facts(p.read_text(encoding="utf-8"), str(p)) for p in FILES if "fixtures" in p.parts}
    assert [p for p, way in ways.items() if way == "exact"] == []
    assert list(ways.values()).count("quick") >= 25


@pytest.mark.parametrize("source", [
    "if a: x = 1; y = 2\nelif b:\n    pass\nelse:\n    if c: pass\n",
    "class A: x = 1\n\nclass B:\n    x = 1; y = 2\n",
    "f(a, *b, c=1, *d, **e)\nx[a, b]\nx[(a, b)]\nx[a:b, ::2]\nx[*a]\n",
    "async def f(*, a=1, b, **k):\n    async with a as (b, c), d:\n        async for x in y: pass\n"
    "    return [i async for i in z if i if not i]\n",
    "def g(a, /, b=2, *args, c: int = 3, **kw) -> None:\n    yield\n    yield from h()\n    x = yield 1\n",
    "lambda: 0\nlambda a, *b, c=1: a\nl = lambda *, k: k\n",
    "a and b and c or not d\nx = a if b else -c ** ~d\nx += 1\nx @= y\n(y := 2)\n",
    "from . import a\nfrom ..b.c import (d as e, f)\nfrom .g import *\nimport h.i as j, k\n",
    "try:\n    pass\nexcept (A, B) as e:\n    raise C from e\nelse: pass\nfinally:\n    del a, b\n",
    "match p:\n    case [1, *rest] if rest: pass\n    case {'k': v, **kw}: pass\n"
    "    case Point(x=0, y=_) | None: pass\n    case str() as s: pass\n    case _: pass\n",
    "global a\nnonlocal_ = 1\nx = f'{a!r:>{w}} {b=}' 'plain'\ny = b'bytes'\nz = 1_000 + 0x1F + 1.5e3 + 2j + ...\n",
    "assert x, 'msg'\nd = {**a, 'b': 1}\ns = {*a, 1}\nt = (*a, *b)\n[*a, b] = c\nx, = y\n",
    "@decorator\n@other.thing(1)\nclass C(Base, metaclass=M, **kw):\n    '''doc'''\n",
    "while x:\n    break\nelse:\n    continue_ = 1\nfor i in j: continue\nelse: pass\n",
    "if x:\n    pass\nelse:\n    if y:\n        pass\n    elif z:\n        pass\n",
])
def test_same_tree_on_every_kind_of_statement(source):
    assert tree_differences(source) == []


def test_try_star_and_type_alias_where_the_grammar_has_them():
    source = "try:\n    pass\nexcept* ValueError as e:\n    pass\n"
    assert tree_differences(source) == []


@fuzz_settings(20)
@given(hypothesmith.from_grammar())
def test_arbitrary_grammar(source):
    """Any program of the grammar (odd spacing, unicode names, every construct):
    400 examples found nothing beyond PEP 3131 normalisation when this was written."""
    found = tree_differences(source)
    assert not found, found


@fuzz_settings(60)
@given(session_programs())
def test_generated_session_code(source):
    found = tree_differences(source)  # None: not valid Python (a bare `except:` first, say)
    assert not found, found
    compare_facts(source)


@fuzz_settings(60)
@given(mutated_fixtures())
def test_mutated_fixtures(source):
    found = tree_differences(source)
    assert not found, found
    compare_facts(source)


def test_a_finding_in_a_quick_file_has_its_exact_position_and_fix(tmp_path):
    """The engine analyses a quick-tree file again before it reports: the
    finding has LibCST's span and its fix."""
    (tmp_path / "app.py").write_text(
        "from sqlalchemy.orm import sessionmaker\n"
        "\n"
        "SessionLocal = sessionmaker()\n"
        "db = SessionLocal()  # shared by every request\n"
    )
    request = LintRequest(paths=[tmp_path], root=tmp_path, selected=frozenset(all_rules()),
                          discovery=DiscoveryOptions(root=tmp_path), jobs=1)
    report = lint(request)
    [finding] = [f for f in report.findings if f.code == "SL001"]
    assert (finding.span.row, finding.span.column) == (4, 6)
    assert finding.fix is not None and finding.fix["edits"]
