"""CST building blocks shared by fixes."""

from __future__ import annotations

import libcst as cst

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
