"""Turn a rule's `FixSpec` (CST replacements) into a minimal text edit.

The replacement is applied to the whole module with one transformer, the module
is regenerated, and the edit is the span where old and new text differ.  A fix
whose output does not parse is dropped: a fix must never break a file.
"""

from __future__ import annotations

import libcst as cst

from sessionlint.lint_rules.model import Edit, Fix, Span
from sessionlint.lint_rules.rule import FixSpec


class _Replace(cst.CSTTransformer):
    def __init__(self, mapping: dict[int, object]):
        super().__init__()
        self.mapping = mapping

    def on_leave(self, original_node, updated_node):
        return self.mapping.get(id(original_node), updated_node)


def build_fix(tree: cst.Module, text: str, spec: FixSpec) -> Fix | None:
    mapping = {id(old): new for old, new in spec.replacements}
    try:
        new_code = tree.visit(_Replace(mapping)).code
        cst.parse_module(new_code)
    except Exception:
        return None  # never offer a fix we cannot prove re-parses
    if new_code == text:
        return None
    return Fix(spec.message, spec.applicability, (minimal_edit(text, new_code),))


def minimal_edit(old: str, new: str) -> Edit:
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


def _row_col(text: str, offset: int) -> tuple[int, int]:
    row = text.count("\n", 0, offset) + 1
    line_start = text.rfind("\n", 0, offset) + 1
    return row, offset - line_start + 1
