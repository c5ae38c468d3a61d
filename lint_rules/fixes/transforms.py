"""CST building blocks shared by fixes."""

from __future__ import annotations

import libcst as cst

from sessionlint.lint_rules.analysis.module import dotted
from sessionlint.lint_rules.analysis.walk import walk_with_parents


def enclosing_statement(root: cst.CSTNode, target: cst.CSTNode) -> tuple[cst.IndentedBlock, int] | None:
    """The innermost indented block holding `target`, and the index of the
    statement of that block that contains it."""
    for node, parents in walk_with_parents(root):
        if node is not target:
            continue
        chain = list(parents) + [node]
        for depth in range(len(chain) - 1, -1, -1):
            if isinstance(chain[depth], cst.IndentedBlock) and depth + 1 < len(chain):
                block = chain[depth]
                statement = chain[depth + 1]
                for index, stmt in enumerate(block.body):
                    if stmt is statement:
                        return block, index
                return None
        return None
    return None


def wrap_in_try_finally(block: cst.IndentedBlock, first: int, final: int) -> cst.IndentedBlock | None:
    """Put statements `first .. final-1` of `block` in `try:` and statement
    `final` in its `finally:`; statements after `final` stay after the `try`."""
    body = list(block.body)
    if not 0 <= first < final < len(body):
        return None
    protected = body[first:final]
    closing = body[final]
    # The first protected statement's comments stay above the `try`.
    lead = protected[0].leading_lines
    protected[0] = protected[0].with_changes(leading_lines=())
    try_stmt = cst.Try(
        body=cst.IndentedBlock(body=protected),
        finalbody=cst.Finally(body=cst.IndentedBlock(body=[closing])),
        leading_lines=lead,
    )
    return block.with_changes(body=body[:first] + [try_stmt] + body[final + 1 :])


def fresh_name(func, preferred: tuple[str, ...] = ("db", "session", "db_session")) -> str:
    """A local name not already used in `func` (parameters or assignments)."""
    taken = set(func.locals) | {p.name.value for p in func.params}
    for name in preferred:
        if name not in taken:
            return name
    index = 2
    while f"db{index}" in taken:
        index += 1
    return f"db{index}"


def statement(code: str) -> cst.BaseStatement:
    return cst.parse_statement(code)


def import_from(model, module: str) -> cst.ImportFrom | None:
    """A top-level `from <module> import a, b` (not `*`) to extend."""
    for stmt, in_main in model.top_statements:
        if (
            isinstance(stmt, cst.ImportFrom)
            and not in_main
            and not stmt.relative
            and stmt.module is not None
            and dotted(stmt.module) == module
            and not isinstance(stmt.names, cst.ImportStar)
        ):
            return stmt
    return None


def last_import(model) -> cst.SimpleStatementLine | None:
    last = None
    for stmt in model.tree.body:
        if isinstance(stmt, cst.SimpleStatementLine) and all(
            isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
        ):
            if not (isinstance(stmt.body[0], cst.ImportFrom) and dotted(stmt.body[0].module or cst.Name("x")) == "__future__"):
                last = stmt
            elif last is None:
                last = stmt
    return last


def import_replacements(model, needed: list[tuple[str, str]]) -> list | None:
    """Replacements that add `from <module> import <name>` for each pair: extending
    an existing top-level `from <module> import ...`, else after the last import.
    None when there is no import to anchor new lines to."""
    replacements: dict[int, tuple[cst.CSTNode, cst.CSTNode]] = {}
    new_lines = []
    for module, name in needed:
        existing = import_from(model, module)
        if existing is None:
            new_lines.append(f"from {module} import {name}")
            continue
        current = replacements.get(id(existing), (existing, existing))[1]
        names = list(current.names)
        names[-1] = names[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        replacements[id(existing)] = (existing, current.with_changes(names=[*names, cst.ImportAlias(name=cst.Name(name))]))
    out: list = list(replacements.values())
    if new_lines:
        anchor = last_import(model)
        if anchor is None:
            return None
        out.append((anchor, cst.FlattenSentinel([anchor, *(statement(text) for text in new_lines)])))
    return out


def fix_builder(fn):
    """Decorate a function that builds a `FixSpec`: a fix is optional, so a
    builder that fails on an unusual tree yields no fix instead of an error for
    the whole file (the finding is still reported)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception:
            return None

    return wrapper
