"""The statement screen: parse with LibCST only the top-level definitions that can matter.

The text screen (`screen.py`) decides which *files* to parse.  A file that passes
it is often a large module with a handful of session-related functions among
hundreds of others (or one that mentions `Session` only in docstrings), and
LibCST's parse is the bulk of a cold run.  CPython's own parser reads the same
file about five times faster, so it decides first which top-level `def`s and
`class`es LibCST needs to see:

* a top-level statement is *relevant* if one of its identifiers (names,
  attributes, imported names, parameter and keyword names, the names it defines,
  and the words of short string literals -- string annotations, `Depends("...")`)
  contains a rule's screen token, or is a session name another file exports;
* every identifier of a relevant statement makes the statements that mention it
  relevant too (a route that calls a helper which opens a session, a model class
  a relevant query selects from, a method that uses an attribute a relevant
  `__init__` assigns), to a fixed point.

Every link the analysis follows between two top-level statements is a name both
of them spell, so a definition outside this closure can neither produce a
candidate nor change one.  Irrelevant `def`s and `class`es are replaced by empty
lines -- line and column numbers of everything kept stay exactly the same -- and
module-level code (imports, assignments, `if` blocks) is always kept.  A file
with no relevant statement is not parsed by LibCST at all.

What the analysis saw is recorded: `skipped_names` holds every identifier of the
blanked statements.  If a later screen round (or a later run) knows a session
name among them, those facts are stale and the file is analysed again
(`FileFacts.stale_for`).  Text gates in the rules still see the whole file, and
a file whose candidates carry a fix is analysed again in full (fix edits are
computed against the real text).  `tests/test_screen.py` compares the results
with an unscreened run.
"""

from __future__ import annotations

import ast
import gc
import re
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Lines as both parsers count them: `str.splitlines` also breaks at form feeds,
# vertical tabs and Unicode separators, which do not end a line of Python.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")

# String constants at most this long count as identifiers (annotations written as
# strings, `Depends("get_db")`, `getattr(x, "session")`); longer ones are prose.
SHORT_STRING = 200

# Never links between top-level statements (every method spells them).
_NOT_LINKS = frozenset({"self", "cls"})

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True, slots=True)
class Skeleton:
    """What to parse: `text` (None: nothing is relevant, parse nothing) and the
    identifiers of what was left out."""

    text: str | None
    skipped_names: frozenset[str]


def identifiers(node: ast.AST) -> set[str]:
    """The identifiers a statement spells (see the module docstring)."""
    out: set[str] = set()
    stack = [node]
    children = ast.iter_child_nodes
    while stack:
        current = stack.pop()
        kind = type(current)
        if kind is ast.Name:
            out.add(current.id)
            continue
        if kind is ast.Attribute:
            out.add(current.attr)
        elif kind is ast.Constant:
            value = current.value
            if type(value) is str and len(value) <= SHORT_STRING:
                out.update(_WORD.findall(value))
            continue
        elif kind is ast.arg:
            out.add(current.arg)
        elif kind is ast.alias:
            out.update(current.name.split("."))
            if current.asname:
                out.add(current.asname)
            continue
        elif kind is ast.keyword:
            if current.arg:
                out.add(current.arg)
        elif kind in _DEFINITIONS:
            out.add(current.name)
        elif kind is ast.ImportFrom:
            if current.module:
                out.update(current.module.split("."))
        elif kind is ast.Global or kind is ast.Nonlocal:
            out.update(current.names)
        elif kind is ast.MatchAs or kind is ast.MatchStar:
            if current.name:
                out.add(current.name)
        elif kind is ast.MatchClass or kind is ast.MatchMapping:
            out.update(getattr(current, "kwd_attrs", ()) or ())
            if getattr(current, "rest", None):
                out.add(current.rest)
        stack.extend(children(current))
    return out


def plan(text: str, tokens: frozenset[str], names: frozenset[str]) -> Skeleton | None:
    """The skeleton of `text` for screen `tokens` (matched inside identifiers, as
    the text screen matches them) and exported session `names` (matched whole).

    None when CPython can't parse the file (a newer grammar, a syntax error):
    the caller then parses all of it, and LibCST reports any error."""
    # An `ast` tree has no reference cycles; with the collector running, its
    # allocations trigger collections that walk it over and over (3x the parse).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _plan(text, tokens, names)
    finally:
        if collecting:
            gc.enable()


def _plan(text: str, tokens: frozenset[str], names: frozenset[str]) -> Skeleton | None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    units = []
    for statement in tree.body:
        start = statement.lineno
        for decorator in getattr(statement, "decorator_list", ()):
            start = min(start, decorator.lineno)
        ids = identifiers(statement)
        ids -= _NOT_LINKS
        units.append((statement, start, ids))

    relevant: set[str] = set()
    kept: list[bool] = []
    for _statement, _start, ids in units:
        joined = "\n".join(ids)
        hit = not names.isdisjoint(ids) or any(token in joined for token in tokens)
        kept.append(hit)
        if hit:
            relevant |= ids
    changed = bool(relevant)
    while changed:
        changed = False
        for index, (_statement, _start, ids) in enumerate(units):
            if not kept[index] and not relevant.isdisjoint(ids):
                kept[index] = True
                relevant |= ids
                changed = True

    if not any(kept):
        skipped = set()
        for _statement, _start, ids in units:
            skipped |= ids
        return Skeleton(None, frozenset(skipped))

    lines = _LINE.findall(text)
    skipped: set[str] = set()
    blanked = False
    for index, (statement, start, ids) in enumerate(units):
        if kept[index] or not isinstance(statement, _DEFINITIONS):
            continue
        skipped |= ids
        blanked = True
        for row in range(start - 1, statement.end_lineno):
            lines[row] = _line_ending(lines[row])
    return Skeleton("".join(lines) if blanked else text, frozenset(skipped))


def _line_ending(line: str) -> str:
    if line.endswith("\r\n"):
        return "\r\n"
    if line.endswith(("\n", "\r")):
        return line[-1]
    return ""
