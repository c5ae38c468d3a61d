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
`tests/test_screen_adversarial.py`).  A file the screen let through was accepted
by CPython, so LibCST parses it without re-validating its nodes (`trusted_parse.py`).

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


def identifiers(tree: ast.AST) -> set[str]:
    """The identifiers a tree spells (see the module docstring)."""
    out: set[str] = set()
    stack = [tree]
    children = ast.iter_child_nodes
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is ast.Name:
            out.add(node.id)
            continue
        if kind is ast.Attribute:
            out.add(node.attr)
        elif kind is ast.Constant:
            value = node.value
            if type(value) is str and len(value) <= SHORT_STRING:
                out.update(_WORD.findall(value))
            continue
        elif kind is ast.Expr:
            value = node.value
            if type(value) is ast.Constant and type(value.value) is str:
                continue  # a docstring (or any bare string statement): prose
        elif kind is ast.arg:
            out.add(node.arg)
        elif kind is ast.alias:
            out.update(node.name.split("."))
            if node.asname:
                out.add(node.asname)
            continue
        elif kind is ast.keyword:
            if node.arg:
                out.add(node.arg)
        elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef or kind is ast.ClassDef:
            out.add(node.name)
        elif kind is ast.ImportFrom:
            if node.module:
                out.update(node.module.split("."))
        elif kind is ast.Global or kind is ast.Nonlocal:
            out.update(node.names)
        elif kind is ast.MatchAs or kind is ast.MatchStar:
            if node.name:
                out.add(node.name)
        elif kind is ast.MatchClass:
            out.update(node.kwd_attrs)
        elif kind is ast.MatchMapping:
            if node.rest:
                out.add(node.rest)
        stack.extend(children(node))
    return out


class TooDeep(Exception):
    """CPython's `ast` ran out of recursion (nesting beyond about three times the
    recursion limit, e.g. a sum of a few thousand terms)."""


def screen_file(text: str, tokens: frozenset[str], names: frozenset[str]) -> frozenset[str] | None | bool:
    """True if the file's identifiers mention a session thing; otherwise all its
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
                return True
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
