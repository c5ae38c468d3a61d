"""The identifier screen: the text screen's second look, on CPython's `ast`.

The text screen (`screen.py`) passes a file whose bytes contain a token anywhere
-- docstrings and comments included.  In a large code base most such files
mention `Session` only in prose (SQLAlchemy's own sources do, hundreds of times),
and LibCST's parse of them is the bulk of a cold run.  CPython's parser reads the
same file about five times faster, so it looks again, at the identifiers only:
names, attributes, imported names and modules, parameter and keyword names,
defined names, and the words of short string literals (string annotations,
`Depends("...")`) -- not docstrings, comments or long strings.  A file whose
identifiers contain no screen token (matched inside identifiers, as the text
screen matches them) and are none of the session names other files export
cannot produce or help produce a finding; it is not parsed by LibCST.

Everything a rule keys on is spelled as an identifier (rules resolve names, they
do not read prose), so the screen is exact, like the text screen: the results
equal an unscreened run (`tests/test_screen.py`, `tests/test_identifier_screen.py`,
`tests/test_screen_adversarial.py`).  A file the screen lets through is analysed
on a tree built from the `ast` the screen already has (`ast_tree.py`).

Such a file's facts record the identifiers it has (`FileFacts.skipped_names`).  If
a later screen round (or a later run) knows one of them as a session name, the
facts are stale and the file is analysed again (`FileFacts.stale_for`).

Why not parse only the relevant functions of a file?  It was measured and
tried: on library code the relevant definitions of a file that passes are
linked by shared names to nearly all of it (0.5 % fewer lines), and rules ask
module-wide questions ("is any `async def` a route", "is there a `__main__`
guard", imports inside functions) that a partial tree would answer wrongly.
"""

from __future__ import annotations

import ast
import gc
import re
import warnings

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# String constants at most this long count as identifiers (annotations written as
# strings, `Depends("get_db")`, `getattr(x, "session")`); longer ones are prose.
SHORT_STRING = 200


class TooDeep(Exception):
    """CPython's `ast` ran out of recursion (nesting beyond about three times the
    recursion limit, e.g. a sum of a few thousand terms)."""


def screen_file(text: str, tokens: frozenset[str], names: frozenset[str]) -> ast.Module | frozenset[str] | None:
    """The file's `ast` if its identifiers mention a session thing (the analysis
    builds its tree from it, `ast_tree.py`); otherwise all its
    identifiers (to tell later whether a new session name makes it relevant);
    None if CPython cannot parse it (a newer grammar, a syntax error: the caller
    then lets LibCST decide and report).

    Statement by statement, stopping at the first that mentions one: that is
    usually an import at the top.

    Raises `TooDeep` for a file nested beyond what `ast` can build: LibCST's
    parse time grows much faster than linearly with such nesting (4 000 terms
    of a sum: 5 s; 8 000: 24 s; 20 000: minutes), so it is reported instead."""
    # An `ast` tree has no reference cycles; with the collector running, its
    # allocations trigger collections that walk it over and over (3x the parse).
    collecting = gc.isenabled()
    gc.disable()
    try:
        with warnings.catch_warnings():
            # `"\d"` and friends: CPython warns while parsing (a SyntaxWarning on
            # 3.12+, printed in the user's terminal); the linted code is not ours.
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
        found: set[str] = set()
        for statement in tree.body:
            here = identifiers(statement)
            if mentions(here, tokens, names):
                return tree
            found |= here
        return frozenset(found)
    except (SyntaxError, ValueError):
        return None
    except (RecursionError, MemoryError) as exc:
        raise TooDeep(str(exc)) from None
    finally:
        if collecting:
            gc.enable()


def mentions(found: set[str], tokens: frozenset[str], names: frozenset[str]) -> bool:
    """Does an identifier contain a screen token, or equal an exported session name?"""
    if not names.isdisjoint(found):
        return True
    joined = "\n".join(found)
    return any(token in joined for token in tokens)


# Fields that never hold a node, or whose identifiers the loop reads itself.
_NOT_CHILDREN = frozenset({"ctx", "op", "ops", "type_comment", "kind", "level", "is_async", "simple", "conversion",
                           "id", "attr", "arg", "name", "module", "asname", "rest",
                           "kwd_attrs", "type_ignores"})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = _CHILD_FIELDS[kind] = tuple(f for f in kind._fields if f not in _NOT_CHILDREN)
    return fields


def identifiers(tree: ast.AST) -> set[str]:
    """The identifiers a tree spells (see the module docstring).

    One loop over an explicit stack, reading only the fields that can hold
    nodes (`_child_fields`): `ast.iter_child_nodes` costs twice as much."""
    out: set[str] = set()
    add = out.add
    stack = [tree]
    pop = stack.pop
    push = stack.append
    extend = stack.extend
    fields_of = _CHILD_FIELDS
    Name, Attribute, Constant, Expr, arg, alias, keyword = (ast.Name, ast.Attribute, ast.Constant, ast.Expr, ast.arg,
                                                            ast.alias, ast.keyword)
    while stack:
        node = pop()
        if node is None:
            continue
        kind = type(node)
        if kind is Name:
            add(node.id)
            continue
        if kind is Attribute:
            add(node.attr)
            push(node.value)
            continue
        if kind is Constant:
            value = node.value
            if type(value) is str and len(value) <= SHORT_STRING:
                out.update(_WORD.findall(value))
            continue
        if kind is Expr:
            value = node.value
            if type(value) is Constant and type(value.value) is str:
                continue  # a docstring (or any bare string statement): prose
            push(value)
            continue
        if kind is arg:
            add(node.arg)
        elif kind is alias:
            out.update(node.name.split("."))
            if node.asname:
                add(node.asname)
            continue
        elif kind is keyword:
            if node.arg:
                add(node.arg)
        elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef or kind is ast.ClassDef:
            add(node.name)
        elif kind is ast.ImportFrom:
            if node.module:
                out.update(node.module.split("."))
            extend(node.names)
            continue
        elif kind is ast.Global or kind is ast.Nonlocal:
            out.update(node.names)
            continue
        elif kind is ast.MatchAs or kind is ast.MatchStar:
            if node.name:
                add(node.name)
        elif kind is ast.MatchClass:
            out.update(node.kwd_attrs)
        elif kind is ast.MatchMapping:
            if node.rest:
                add(node.rest)
        for field in fields_of.get(kind) or _child_fields(kind):
            value = getattr(node, field)
            if type(value) is list:
                extend(value)
            elif value is not None:
                push(value)
    return out
