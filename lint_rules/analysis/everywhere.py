"""Nodes of a whole file, each with the function whose body it is in (or None).

Most rules look at function bodies (`FunctionInfo.of_type`), which are indexed
once.  The configuration rules (SL013 async-expire-on-commit, SL014
removed-sqlalchemy-api) also care about module level and class bodies, where
factories and imports usually live: `everywhere(model, cst.Call)` gives both,
reusing the per-function indexes and walking only the code outside functions.
Lambdas, decorators and default values are not visited (neither are they by
`of_type`).
"""

from __future__ import annotations

import weakref
from typing import Iterator

import libcst as cst

from sessionlint.lint_rules.analysis.module import FunctionInfo, ModuleModel
from sessionlint.lint_rules.analysis.walk import walk

_OUTER: "weakref.WeakKeyDictionary[ModuleModel, dict[type, list[cst.CSTNode]]]" = weakref.WeakKeyDictionary()


def outer_nodes(model: ModuleModel, node_type: type) -> list[cst.CSTNode]:
    """Nodes of exactly `node_type` in code that is in no function body: the
    module's statements and every class body (memoised per model)."""
    index = _OUTER.get(model)
    if index is None:
        index = {}
        roots: list[cst.CSTNode] = list(model.tree.body)
        for cls in model.classes:
            body = cls.node.body
            roots.extend(body.body if isinstance(body, cst.IndentedBlock) else [body])
        for root in roots:
            if type(root) in (cst.FunctionDef, cst.ClassDef):
                # `walk` enters its root: a def's body is indexed by `of_type`,
                # a class body is one of the roots above.
                index.setdefault(type(root), []).append(root)
                continue
            for node in walk(root):
                index.setdefault(type(node), []).append(node)
        _OUTER[model] = index
    return index.get(node_type, [])


def everywhere(model: ModuleModel, node_type: type) -> Iterator[tuple[cst.CSTNode, FunctionInfo | None]]:
    """Every node of exactly `node_type` in the file, with its function (None
    outside functions)."""
    for node in outer_nodes(model, node_type):
        yield node, None
    for func in model.functions:
        for node in func.of_type(node_type):
            yield node, func


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    """The `name=` argument of a call, else None."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def has_star_kwargs(call: cst.Call) -> bool:
    """`f(**options)`: any keyword might be in there."""
    return any(arg.star == "**" for arg in call.args)
