"""Turn a rule's `FixSpec` (CST replacements) into text edits.

Only the module-level statements that contain a replaced node are regenerated:
each becomes one edit covering that statement's text (its comments and blank
lines included), trimmed to where old and new differ.  A regenerated statement
must parse on its own, or the fix is dropped: a fix must never break a file.
"""

from __future__ import annotations

import re

import libcst as cst

from sessionlint.lint_rules.analysis.walk import walk
from sessionlint.lint_rules.model import Edit, Fix, Span
from sessionlint.lint_rules.positions import node_ranges
from sessionlint.lint_rules.rule import FixSpec

_EMPTY = cst.Module(body=[])
_LONE_CR = re.compile(r"\r(?!\n)")


class _Replace(cst.CSTTransformer):
    def __init__(self, mapping: dict[int, object]):
        super().__init__()
        self.mapping = mapping

    def on_leave(self, original_node, updated_node):
        return self.mapping.get(id(original_node), updated_node)


def build_fix(tree: cst.Module, text: str, spec: FixSpec) -> Fix | None:
    if _LONE_CR.search(text):
        return None  # edits count rows by "\n"; old Mac line endings are not worth a second scheme
    mapping = {id(old): new for old, new in spec.replacements}
    owners = _top_level_owners(tree, set(mapping))
    if owners is None:
        return None
    module = _EMPTY.with_changes(default_indent=tree.default_indent, default_newline=tree.default_newline)
    ranges = node_ranges(tree, [tree.body[i] for i in owners], inclusive=True)
    edits = []
    for index in owners:
        statement = tree.body[index]
        try:
            replaced = mapping.get(id(statement)) or statement.visit(_Replace(mapping))
            if isinstance(replaced, cst.FlattenSentinel):
                new_text = "".join(module.code_for_node(node) for node in replaced.nodes)
            elif replaced is cst.RemovalSentinel.REMOVE or isinstance(replaced, cst.RemovalSentinel):
                new_text = ""
            else:
                new_text = module.code_for_node(replaced)
            if new_text:
                cst.parse_module(new_text)  # never offer a fix we cannot prove re-parses
        except Exception:
            return None
        old_text = module.code_for_node(statement)
        (row, column), _ = ranges[id(statement)]
        start = _offset(text, row, column)
        if text[start : start + len(old_text)] != old_text:
            return None  # the tree and the text disagree: don't guess
        edit = minimal_edit(old_text, new_text)
        edits.append(_shift(edit, text, start))
    edits = [e for e in edits if e is not None]
    if not edits:
        return None
    return Fix(spec.message, spec.applicability, tuple(edits))


def _top_level_owners(tree: cst.Module, ids: set[int]) -> list[int] | None:
    """Indexes of the module-level statements containing the replaced nodes."""
    owners, found = [], set()
    for index, statement in enumerate(tree.body):
        hits = {id(node) for node in walk(statement, enter_scopes=True)} & ids
        if hits:
            owners.append(index)
            found |= hits
        if found == ids:
            return owners
    return None  # a replaced node outside the module's statements


def minimal_edit(old: str, new: str) -> Edit | None:
    """The single edit turning `old` into `new`, positions relative to `old`."""
    if old == new:
        return None
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start]:
        start += 1
    end_old, end_new = len(old), len(new)
    while end_old > start and end_new > start and old[end_old - 1] == new[end_new - 1]:
        end_old -= 1
        end_new -= 1
    row, col = _row_col(old, start)
    end_row, end_col = _row_col(old, end_old)
    return Edit(Span(row, col, end_row, end_col), new[start:end_new])


def _shift(edit: Edit | None, text: str, base: int) -> Edit | None:
    """Re-anchor an edit computed on a statement's text at offset `base` of the file."""
    if edit is None:
        return None
    snippet_start_row, snippet_start_col = _row_col(text, base)

    def absolute(row: int, column: int) -> tuple[int, int]:
        if row == 1:
            return snippet_start_row, snippet_start_col + column - 1
        return snippet_start_row + row - 1, column

    row, column = absolute(edit.span.row, edit.span.column)
    end_row, end_column = absolute(edit.span.end_row, edit.span.end_column)
    return Edit(Span(row, column, end_row, end_column), edit.content)


def _offset(text: str, row: int, column: int) -> int:
    """Offset of (1-based row, 0-based column) in `text`."""
    offset = 0
    for _ in range(row - 1):
        offset = text.index("\n", offset) + 1
    return offset + column


def _row_col(text: str, offset: int) -> tuple[int, int]:
    row = text.count("\n", 0, offset) + 1
    line_start = text.rfind("\n", 0, offset) + 1
    return row, offset - line_start + 1
