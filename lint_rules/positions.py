"""Line/column positions for the few nodes a file reports, not for every node.

LibCST's `PositionProvider` records a range for every node of the module, which
costs several times the parse.  We only need positions for the nodes that became
candidates, so we run the module's code generation once with a state that tracks
the cursor lazily and records just those nodes, and stop as soon as the last one
is done.  Ranges match `PositionProvider` (syntactic, start inclusive, end
exclusive; lines 1-based, columns 0-based).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator

import libcst as cst
from libcst._nodes.internal import CodegenState

from sessionlint.lint_rules.decoding import LINE_BREAK


Position = tuple[int, int]


class _Done(Exception):
    """Raised inside code generation once every target has its range."""


class _TargetedState(CodegenState):
    def __init__(self, module: cst.Module, targets: Iterable[cst.CSTNode], inclusive: bool = False):
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.inclusive = inclusive
        self.targets = {id(node) for node in targets}
        self.ranges: dict[int, tuple[Position, Position]] = {}
        self._starts: dict[int, Position] = {}
        self._ends: dict[int, Position] = {}
        self._want: set[int] = set()  # start/end nodes a target's range is hoisted from
        self._scanned = 0
        self._line = 1
        self._column = 0

    def _cursor(self) -> Position:
        tokens = self.tokens
        for index in range(self._scanned, len(tokens)):
            token = tokens[index]
            if "\n" in token or "\r" in token:
                parts = LINE_BREAK.split(token)
                self._line += len(parts) - 1
                self._column = len(parts[-1])
            else:
                self._column += len(token)
        self._scanned = len(tokens)
        return (self._line, self._column)

    def before_codegen(self, node: cst.CSTNode) -> None:
        key = id(node)
        if key in self.targets or key in self._want:
            self._starts.setdefault(key, self._cursor())

    def after_codegen(self, node: cst.CSTNode) -> None:
        key = id(node)
        if key in self._want:
            self._ends.setdefault(key, self._cursor())
        if key in self.targets and key not in self.ranges:
            self.ranges[key] = (self._starts.get(key, self._cursor()), self._cursor())
            if len(self.ranges) == len(self.targets):
                raise _Done

    @contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> Iterator[None]:
        key = id(node)
        if self.inclusive or (key not in self.targets and key not in self._want):
            yield
            return
        for extra in (start_node, end_node):
            if extra is not None:
                self._want.add(id(extra))
        start = self._cursor()
        yield
        end = self._cursor()
        if start_node is not None and id(start_node) in self._starts:
            start = self._starts[id(start_node)]
        if end_node is not None and id(end_node) in self._ends:
            end = self._ends[id(end_node)]
        # The syntactic range wins over the whitespace-inclusive one.
        self._starts[key] = start
        self._ends[key] = end
        if key in self.targets:
            self.ranges[key] = (start, end)
            if len(self.ranges) == len(self.targets):
                raise _Done


def node_ranges(
    module: cst.Module, nodes: Iterable[cst.CSTNode], inclusive: bool = False
) -> dict[int, tuple[Position, Position]]:
    """id(node) -> ((line, column), (end_line, end_column)) for each of `nodes`.

    With `inclusive`, ranges include the whitespace and comments a node owns
    (LibCST's `WhitespaceInclusivePositionProvider`)."""
    nodes = list(nodes)
    if not nodes:
        return {}
    state = _TargetedState(module, nodes, inclusive)
    try:
        module._codegen(state)
    except _Done:
        pass
    return state.ranges
