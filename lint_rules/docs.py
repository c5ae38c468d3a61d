"""Generate `docs/rules/` from the rules' docstrings.

    python -m sessionlint.lint_rules.docs            # (re)write docs/rules/
    python -m sessionlint.lint_rules.docs --check    # exit 1 if docs/rules/ is stale

One page per registered rule, `docs/rules/SL0NN.md`: the title, a metadata line
(severity, on by default or not, and the autofix with its safety when that can be
read from the rule's source), then the rule's docstring verbatim.  An index,
`docs/rules/README.md`, lists every rule with the first paragraph of its
"What it does" section.  Pages of rules that no longer exist are deleted (or, with
`--check`, reported).  The output depends only on the rules' source: no dates, no
paths of this machine, "\\n" line endings.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from sessionlint.lint_rules import registry
from sessionlint.lint_rules.rule import Rule

#: The sections every rule docstring has, in this order (ruff's shape).
SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety")
INDEX = "README.md"
#: Files in docs/rules/ this generator owns: the index and one page per code.
PAGE = re.compile(r"^SL\d{3}\.md$")
REGENERATE = "make docs  (or: python -m sessionlint.lint_rules.docs)"

_FIX_APPLICABILITIES = ("safe", "unsafe")


# ---------------------------------------------------------------------------
# Docstring sections


def sections(doc: str) -> dict[str, str]:
    """`## Title` -> the text under it (stripped), in docstring order.  Headings
    inside fenced code blocks are not headings."""
    out: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    fenced = False
    for line in doc.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            if current is not None:
                out[current] = "\n".join(lines).strip()
            current, lines = line[3:].strip(), []
            continue
        lines.append(line)
    if current is not None:
        out[current] = "\n".join(lines).strip()
    return out


def summary(doc: str) -> str:
    """The first paragraph of "What it does", on one line."""
    text = sections(doc).get("What it does", "")
    paragraph = text.split("\n\n", 1)[0]
    return " ".join(paragraph.split())


# ---------------------------------------------------------------------------
# Autofix, read statically from the rule's source


@dataclass(frozen=True)
class FixInfo:
    """`known` is False when the source could not settle whether the rule fixes
    anything; otherwise `applicabilities` is the set of fix kinds it can offer
    (empty: no autofix; None in it: a fix whose kind is computed at run time)."""

    known: bool
    applicabilities: frozenset[str | None] = frozenset()

    def describe(self) -> str | None:
        if not self.known:
            return None
        kinds = self.applicabilities
        if not kinds:
            return "none"
        if None in kinds or not kinds <= set(_FIX_APPLICABILITIES):
            return "yes (see *Fix safety*)"
        if kinds == {"safe"}:
            return "safe (`--fix`)"
        if kinds == {"unsafe"}:
            return "unsafe (`--fix --unsafe-fixes`)"
        return "safe and unsafe (`--fix`; some need `--unsafe-fixes`)"


@dataclass(frozen=True)
class _Scope:
    """What one function (or a whole rule module) does about fixes: the kinds of
    the `FixSpec(...)`s it builds, whether it hands a fix to `report(...)`, and
    the `sessionlint.lint_rules` functions it calls (module, name)."""

    kinds: frozenset[str | None]
    passes_fix: bool
    callees: tuple[tuple[str, str], ...]


class _ModuleIndex:
    """The parsed source of the `sessionlint.lint_rules` modules a rule's fix
    could come from, with enough of a call graph to follow helper functions.
    Every module is parsed, and every function summarised, once per index."""

    _NOT_FOLLOWED = ("sessionlint.lint_rules.rule", "sessionlint.lint_rules.model")

    def __init__(self) -> None:
        self._modules: dict[str, tuple[ast.Module, dict, dict] | None] = {}
        self._scopes: dict[tuple[str, str | None], _Scope | None] = {}

    def module(self, name: str) -> tuple[ast.Module, dict, dict] | None:
        """(tree, top-level functions by name, imported local name -> (module, name or None))."""
        if name not in self._modules:
            self._modules[name] = None
            try:
                spec = importlib.util.find_spec(name)
            except (ImportError, ValueError):
                spec = None
            origin = getattr(spec, "origin", None)
            if origin and origin.endswith(".py"):
                try:
                    tree = ast.parse(Path(origin).read_text(encoding="utf-8"))
                except (OSError, SyntaxError, UnicodeDecodeError):
                    tree = None
                if tree is not None:
                    functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
                    imported: dict[str, tuple[str, str | None]] = {}
                    for node in ast.walk(tree):
                        if isinstance(node, ast.ImportFrom):
                            base = _absolute(name, node)
                            if base:
                                for alias in node.names:
                                    imported[alias.asname or alias.name] = (base, alias.name)
                        elif isinstance(node, ast.Import):
                            for alias in node.names:
                                if alias.asname:
                                    imported[alias.asname] = (alias.name, None)
                    self._modules[name] = (tree, functions, imported)
        return self._modules[name]

    def scope(self, module: str, entry: str | None) -> _Scope | None:
        """The summary of function `entry` of `module` (None: the whole module)."""
        key = (module, entry)
        if key not in self._scopes:
            self._scopes[key] = self._summarise(module, entry)
        return self._scopes[key]

    def _summarise(self, module: str, entry: str | None) -> _Scope | None:
        parsed = self.module(module)
        if parsed is None:
            return None
        tree, functions, imported = parsed
        if entry is None:
            root: ast.AST = tree
        elif entry in functions:
            root = functions[entry]
        else:
            return None  # not a function: a class, a constant, a submodule
        reporters = _reporter_names(tree) if entry is None else set()
        kinds: set[str | None] = set()
        passes_fix = False
        callees: list[tuple[str, str]] = []
        for node in ast.walk(root):
            if not isinstance(node, ast.Call):
                continue
            callee = node.func
            if isinstance(callee, ast.Name) and callee.id == "lazy_fix" and node.args:
                callee = node.args[0]  # `lazy_fix(builder, ...)` calls `builder` later
            name = callee.id if isinstance(callee, ast.Name) else callee.attr if isinstance(callee, ast.Attribute) else None
            if name == "FixSpec":
                kinds.add(_applicability(node))
                continue
            passes_fix = passes_fix or _passes_fix(node, reporters)
            if isinstance(callee, ast.Name):
                if callee.id in functions and entry is not None:
                    callees.append((module, callee.id))
                elif callee.id in imported:
                    target_module, target_name = imported[callee.id]
                    if target_name is not None:
                        callees.append((target_module, target_name))
            elif isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Name):
                owner = imported.get(callee.value.id)
                if owner is not None:  # `module.function(...)`
                    callees.append((owner[0] if owner[1] is None else f"{owner[0]}.{owner[1]}", callee.attr))
        callees = [c for c in callees if _ours(c[0]) and c[0] not in self._NOT_FOLLOWED]
        return _Scope(frozenset(kinds), passes_fix, tuple(dict.fromkeys(callees)))


def _absolute(module: str, node: ast.ImportFrom) -> str | None:
    if not node.level:
        return node.module
    parts = module.split(".")[: -node.level]
    if not parts:
        return None
    return ".".join(parts + ([node.module] if node.module else []))


def _ours(module: str | None) -> bool:
    return bool(module) and (module == "sessionlint.lint_rules" or module.startswith("sessionlint.lint_rules."))


def fix_info(rule: type[Rule], index: _ModuleIndex | None = None) -> FixInfo:
    """Which fix kinds a rule can offer: every `FixSpec(...)` its module builds,
    directly or in helper functions it calls (its own, or imported from other
    `sessionlint.lint_rules` modules).  Undecidable cases give `known=False`."""
    index = index or _ModuleIndex()
    top = index.scope(rule.__module__, None)
    if top is None:
        return FixInfo(False)
    kinds: set[str | None] = set()
    seen: set[tuple[str, str]] = set()
    work = list(top.callees)
    kinds |= top.kinds
    while work:
        key = work.pop()
        if key in seen:
            continue
        seen.add(key)
        scope = index.scope(*key)
        if scope is not None:
            kinds |= scope.kinds
            work.extend(scope.callees)
    if top.passes_fix and not kinds:
        return FixInfo(False)  # it reports fixes built somewhere this scan does not follow
    return FixInfo(True, frozenset(kinds))


def _reporter_names(tree: ast.Module) -> set[str]:
    """The names `check` methods call to report (their second parameter)."""
    names = {"report"}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "check":
            params = node.args.posonlyargs + node.args.args
            if len(params) >= 3:
                names.add(params[2].arg)
    return names


def _passes_fix(call: ast.Call, reporters: set[str]) -> bool:
    """`report(node, message, requires, subject, fix)` / `report(..., fix=...)`
    with a fix that is not literally None."""
    if not (isinstance(call.func, ast.Name) and call.func.id in reporters):
        return False
    value = call.args[4] if len(call.args) >= 5 else next((k.value for k in call.keywords if k.arg == "fix"), None)
    return value is not None and not (isinstance(value, ast.Constant) and value.value is None)


def _applicability(call: ast.Call) -> str | None:
    value = next((k.value for k in call.keywords if k.arg == "applicability"), None)
    if value is None and len(call.args) >= 2:
        value = call.args[1]
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    return None


# ---------------------------------------------------------------------------
# Pages


def _source_path(rule: type[Rule]) -> str:
    """The rule's file, relative to the repository (`lint_rules/rules/...`)."""
    module = rule.__module__.split(".")
    return "/".join(module[1:]) + ".py" if module[0] == "sessionlint" else "/".join(module) + ".py"


def metadata(rule: type[Rule], index: _ModuleIndex | None = None) -> str:
    parts = [
        f"**Severity:** {rule.severity.value}",
        f"**Default:** {'on' if rule.default else 'off (enable with `--extend-select ' + rule.code + '`)'}",
    ]
    fix = fix_info(rule, index).describe()
    if fix is not None:
        parts.append(f"**Autofix:** {fix}")
    return " · ".join(parts)


def page(rule: type[Rule], index: _ModuleIndex | None = None) -> str:
    doc = rule.doc().rstrip()
    return (
        f"# {rule.name} ({rule.code})\n\n"
        f"{metadata(rule, index)}\n\n"
        f"{doc}\n\n"
        f"<!-- Generated from {_source_path(rule)} by `python -m sessionlint.lint_rules.docs`; "
        f"edit the rule's docstring, then run `make docs`. -->\n"
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def index_page(rules: dict[str, type[Rule]]) -> str:
    lines = [
        "# Rules",
        "",
        "Every sessionlint rule. `sessionlint rule CODE` prints a rule's page in the "
        "terminal; rules marked *off* run only when selected (`--extend-select CODE`).",
        "",
        "| Code | Name | Severity | Default | Summary |",
        "|---|---|---|---|---|",
    ]
    for code in sorted(rules):
        rule = rules[code]
        lines.append(
            f"| [{code}]({code}.md) | {rule.name} | {rule.severity.value} | "
            f"{'on' if rule.default else 'off'} | {_cell(summary(rule.doc()))} |"
        )
    lines += [
        "",
        "<!-- Generated by `python -m sessionlint.lint_rules.docs` from the rules' docstrings; "
        "run `make docs` after changing a rule. -->",
        "",
    ]
    return "\n".join(lines)


def generate(rules: dict[str, type[Rule]] | None = None) -> dict[str, str]:
    """File name (in docs/rules/) -> content, for every page and the index."""
    if rules is None:
        from sessionlint.lint_rules.registry import all_rules

        rules = all_rules()
    index = _ModuleIndex()
    out = {f"{code}.md": page(rules[code], index) for code in sorted(rules)}
    out[INDEX] = index_page(rules)
    return out


# ---------------------------------------------------------------------------
# Writing and checking


@dataclass(frozen=True)
class Problem:
    name: str
    kind: str  # "stale" | "missing" | "extra"

    def __str__(self) -> str:
        what = {
            "stale": "is stale (differs from the rule's docstring)",
            "missing": "is missing",
            "extra": "documents a rule that no longer exists",
        }[self.kind]
        return f"{self.name} {what}"


def default_dir() -> Path:
    """docs/rules/ of the checkout this module lives in; in an installed copy
    (no checkout around it), docs/rules/ under the current directory."""
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").is_file() and (here / "lint_rules").is_dir():
        return here / "docs" / "rules"
    return Path.cwd() / "docs" / "rules"


def _existing(directory: Path) -> set[str]:
    if not directory.is_dir():
        return set()
    return {p.name for p in directory.iterdir() if p.is_file() and (p.name == INDEX or PAGE.match(p.name))}


# The rule metadata for runs that import no rule (`registry.rule_catalog`).
CATALOG = Path(__file__).resolve().parent / "catalog.py"


def catalog_is_fresh() -> bool:
    expected = registry.catalog_source(registry.all_rules())
    return CATALOG.is_file() and CATALOG.read_text(encoding="utf-8") == expected


def check(directory: Path, expected: dict[str, str] | None = None) -> list[Problem]:
    expected = generate() if expected is None else expected
    problems = []
    existing = _existing(directory)
    for name in sorted(expected):
        if name not in existing:
            problems.append(Problem(name, "missing"))
        elif (directory / name).read_bytes() != expected[name].encode("utf-8"):
            problems.append(Problem(name, "stale"))
    problems += [Problem(name, "extra") for name in sorted(existing - set(expected))]
    return problems


def write(directory: Path, expected: dict[str, str] | None = None) -> list[Problem]:
    """Bring `directory` up to date; returns what was changed."""
    expected = generate() if expected is None else expected
    problems = check(directory, expected)
    directory.mkdir(parents=True, exist_ok=True)
    for problem in problems:
        path = directory / problem.name
        if problem.kind == "extra":
            path.unlink()
        else:
            path.write_bytes(expected[problem.name].encode("utf-8"))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sessionlint.lint_rules.docs",
        description="Generate docs/rules/ from the rules' docstrings.",
    )
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if docs/rules/ is stale")
    parser.add_argument("--output-dir", type=Path, default=None, help="default: docs/rules/ of this checkout")
    args = parser.parse_args(argv)
    directory = args.output_dir or default_dir()
    shown = _shown(directory)
    if args.check:
        problems = check(directory)
        if not catalog_is_fresh():
            problems.append(Problem(_shown(CATALOG), "stale"))
        if not problems:
            print(f"{shown}: up to date")
            return 0
        for problem in problems:
            print(f"{shown}/{problem}")
        print(f"{shown}: {len(problems)} file(s) out of date; run: {REGENERATE}")
        return 1
    changed = write(directory)
    if not catalog_is_fresh():
        CATALOG.write_text(registry.catalog_source(registry.all_rules()), encoding="utf-8")
        print(f"wrote {_shown(CATALOG)}")
    for problem in changed:
        verb = "deleted" if problem.kind == "extra" else "wrote"
        print(f"{verb} {shown}/{problem.name}")
    print(f"{shown}: {'up to date' if not changed else f'{len(changed)} file(s) updated'}")
    return 0


def _shown(directory: Path) -> str:
    try:
        return directory.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(directory)


if __name__ == "__main__":
    sys.exit(main())
