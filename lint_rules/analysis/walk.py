"""Fast traversal of LibCST trees.

LibCST's visitor machinery (and `node.children`) costs about as much as the parse
itself, because it dispatches on every whitespace and punctuation node.  Rules only
look at statements and expressions, so we walk dataclass fields directly and skip
the fields that can only hold whitespace, comments or punctuation (~4x faster).
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

import libcst as cst

# Field names that never hold statements or expressions.
_SKIPPED_FIELDS = frozenset(
    {
        "lpar", "rpar", "lbracket", "rbracket", "lbrace", "rbrace",
        "comma", "colon", "semicolon", "dot", "star", "equal", "arrow",
        "whitespace", "leading_lines", "lines_after_decorators", "header", "footer",
        "trailing_whitespace", "newline", "asynchronous", "operator", "relative",
        "whitespace_before", "whitespace_after", "whitespace_before_colon",
        "whitespace_after_at", "whitespace_after_def", "whitespace_after_name",
        "whitespace_before_params", "whitespace_after_star", "whitespace_after_param",
        "whitespace_after_indicator", "whitespace_after_cls", "whitespace_before_args",
        "whitespace_after_as", "whitespace_before_as", "whitespace_after_import",
        "whitespace_after_from", "whitespace_after_with", "whitespace_before_from",
        "whitespace_after_in", "whitespace_before_in", "whitespace_after_for",
        "whitespace_after_if", "whitespace_before_if", "whitespace_after_else",
        "whitespace_after_lambda", "whitespace_after_await", "whitespace_after_return",
        "whitespace_after_yield", "whitespace_after_del", "whitespace_after_raise",
        "whitespace_after_assert", "whitespace_after_global", "whitespace_after_nonlocal",
        "whitespace_after_walrus", "whitespace_before_walrus", "whitespace_after_case",
        "whitespace_after_match", "whitespace_after_class",
    }
)

_FIELDS_BY_TYPE: dict[type, tuple[str, ...]] = {}

# Nodes that open a new function scope: their bodies run at another time.
SCOPE_NODES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
# The same as a set of exact types: `isinstance` on LibCST's ABC-based classes
# goes through `ABCMeta.__instancecheck__`, and the walk asks for every node.
_SCOPE_TYPES = frozenset(SCOPE_NODES)


# Further fields that hold only formatting (or plain strings): skipping them
# spares a look-up per node, and the trees built from `ast` (`ast_tree.py`)
# leave them unset.
_FORMATTING_FIELDS = frozenset(
    {"indent", "first_colon", "second_colon", "separator", "trailing_comma", "leading_whitespace",
     "encoding", "default_indent", "default_newline", "has_trailing_newline", "start", "end", "conversion",
     "star"}
)


def _fields(node_type: type) -> tuple[str, ...]:
    names = _FIELDS_BY_TYPE.get(node_type)
    if names is None:
        names = tuple(
            f.name for f in dataclasses.fields(node_type)
            if f.name not in _SKIPPED_FIELDS and f.name not in _FORMATTING_FIELDS
            and not f.name.startswith("whitespace")
        )
        _FIELDS_BY_TYPE[node_type] = names
    return names


_IS_NODE: dict[type, bool] = {}


def _is_node(value: object) -> bool:
    # `isinstance(x, cst.CSTNode)` goes through ABC machinery; a per-type cache
    # makes the test a dict look-up.
    kind = type(value)
    known = _IS_NODE.get(kind)
    if known is None:
        known = _IS_NODE[kind] = issubclass(kind, cst.CSTNode)
    return known


def child_nodes(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    return iter(_children(node))


def _children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The statement and expression children of `node`, in source order.  A
    list, not a generator: the walks below run this for every node of a file.
    A sequence field holds only nodes; a single one may hold a string, None or
    `MaybeSentinel` instead."""
    kind = type(node)
    names = _FIELDS_BY_TYPE.get(kind) or _fields(kind)
    known = _IS_NODE
    out = []
    for name in names:
        value = getattr(node, name)
        kind = type(value)
        if kind is tuple or kind is list:
            out.extend(value)
        elif value is not None:
            node_kind = known.get(kind)
            if node_kind or (node_kind is None and _is_node(value)):
                out.append(value)
    return out


def walk(node: cst.CSTNode, *, enter_scopes: bool = False) -> Iterator[cst.CSTNode]:
    """Yield `node` and its descendants, depth-first in source order.

    With `enter_scopes=False`, nested functions, classes and lambdas are yielded
    but not entered: their code does not run when the enclosing code runs.
    """
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if current is not node and not enter_scopes and type(current) in _SCOPE_TYPES:
            continue
        children = _children(current)
        children.reverse()
        stack.extend(children)


def walk_with_parents(
    node: cst.CSTNode, parents: tuple[cst.CSTNode, ...] = ()
) -> Iterator[tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]]:
    """Like `walk` (not entering nested scopes) but also yields each node's ancestors."""
    stack: list[tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]] = [(node, parents)]
    while stack:
        current, ancestors = stack.pop()
        yield current, ancestors
        if current is not node and type(current) in _SCOPE_TYPES:
            continue
        inner = ancestors + (current,)
        children = [(child, inner) for child in _children(current)]
        children.reverse()
        stack.extend(children)
