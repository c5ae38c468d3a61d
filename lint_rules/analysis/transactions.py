"""Where, inside one function, a session's transaction is open.

SQLAlchemy 2.x sessions "autobegin": the first statement a session runs checks
a connection out of the pool and opens a transaction that lasts until
`commit()`, `rollback()` or `close()` (or the end of a `with session.begin():`
/ `with SessionLocal() as session:` block).  `TransactionMap` replays those
events in source order, which is how the function reads:

- an event inside an `except` handler, or inside an `if`/`else` branch that
  ends in `return`/`raise`, only counts for code in that same branch (the
  straight-line path never went through it);
- code inside a loop also sees the state the loop body leaves behind (the next
  iteration starts there).

`add()`/`add_all()`/`delete()` only mark objects pending, and `begin()` /
`begin_nested()` only set up the session's bookkeeping: no connection is checked
out until the first statement (checked with SQLAlchemy 2.1's QueuePool), so they
do not open a transaction here.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from sessionlint.lint_rules.analysis.module import FunctionInfo, ModuleModel, call_name, dotted, receiver
from sessionlint.lint_rules.analysis.walk import walk, walk_with_parents

# Session methods that run SQL (and so autobegin a transaction on a connection).
OPENERS = frozenset(
    {
        "execute", "scalars", "scalar", "get", "get_one", "query", "flush", "merge", "refresh",
        "stream", "stream_scalars", "connection", "run_sync",
    }
)
ENDERS = frozenset({"commit", "rollback", "close", "invalidate", "reset"})
_LOOPS = (cst.For, cst.While)


@dataclass(slots=True)
class TxEvent:
    position: float
    key: str
    opens: bool
    node: cst.CSTNode
    # The branch the event is confined to (None: the straight-line path).
    branch: cst.CSTNode | None


@dataclass(slots=True)
class OpenTransaction:
    key: str
    opener: cst.CSTNode  # the session call that began it


class TransactionMap:
    """Transaction state of a function's sessions at chosen nodes."""

    def __init__(self, model: ModuleModel, func: FunctionInfo, keys, targets: list[cst.CSTNode]):
        self.events: list[TxEvent] = []
        wanted = {id(t) for t in targets}
        self._where: dict[int, tuple[int, tuple[cst.CSTNode, ...]]] = {}
        withs: list[tuple[cst.With, int, tuple[cst.CSTNode, ...]]] = []
        position = 0
        body = func.node.body
        for stmt in body.body if isinstance(body, cst.IndentedBlock) else [body]:
            for node, parents in walk_with_parents(stmt):
                kind = type(node)
                if kind is cst.Call:
                    if id(node) in wanted:
                        self._where[id(node)] = (position, parents)
                    key = receiver(node)
                    if key in keys:
                        method = call_name(node)
                        if method in OPENERS:
                            self._add(position, key, True, node, parents)
                        elif method in ENDERS:
                            self._add(position, key, False, node, parents)
                elif kind is cst.With:
                    withs.append((node, position, parents))
                elif id(node) in wanted or kind in _LOOPS:
                    self._where[id(node)] = (position, parents)
                position += 1
        for node, start, parents in withs:
            end = start + sum(1 for _ in walk(node)) - 0.5
            for item in node.items:
                key = _framed_key(model, func, item, keys)
                if key is not None:
                    self._add(end, key, False, node, parents)
        self.events.sort(key=lambda e: e.position)

    def _add(self, position: float, key: str, opens: bool, node, parents) -> None:
        self.events.append(TxEvent(position, key, opens, node, _branch(parents)))

    def open_at(self, target: cst.CSTNode) -> list[OpenTransaction]:
        """The transactions open when `target` runs (empty: all closed)."""
        where = self._where.get(id(target))
        if where is None:
            return []
        position, parents = where
        found = self._state(position, parents)
        # In a loop: the next iteration starts in the state the body ends in.
        for loop in parents:
            if type(loop) in _LOOPS:
                loop_position, loop_parents = self._where[id(loop)]
                end = loop_position + sum(1 for _ in walk(loop)) - 0.5
                for key, opener in self._state(end, loop_parents + (loop,)).items():
                    found.setdefault(key, opener)
        return [OpenTransaction(key, opener) for key, opener in found.items()]

    def _state(self, position: float, parents: tuple[cst.CSTNode, ...]) -> dict[str, cst.CSTNode]:
        inside = {id(p) for p in parents}
        open_: dict[str, cst.CSTNode] = {}
        for event in self.events:
            if event.position >= position:
                break
            if event.branch is not None and id(event.branch) not in inside:
                continue
            if event.opens:
                open_.setdefault(event.key, event.node)
            else:
                open_.pop(event.key, None)
        return open_


def _framed_key(model: ModuleModel, func: FunctionInfo, item: cst.WithItem, keys) -> str | None:
    """The session whose transaction ends when this `with` item's block ends:
    `with db.begin():`, `with db:`, `with SessionLocal() as db:`,
    `with SessionLocal.begin() as db:`."""
    expr = item.item
    name = dotted(expr) if isinstance(expr, (cst.Name, cst.Attribute)) else None
    if name in keys:
        return name
    if isinstance(expr, cst.Call):
        if call_name(expr) == "begin" and receiver(expr) in keys:
            return receiver(expr)
        if item.asname is not None:
            key = dotted(item.asname.name)
            if key in keys:
                return key
    return None


def _branch(parents: tuple[cst.CSTNode, ...]) -> cst.CSTNode | None:
    """The innermost `except` handler, or `if`/`else` block ending in
    `return`/`raise`, around a node."""
    for index in range(len(parents) - 1, -1, -1):
        node = parents[index]
        if type(node) is cst.ExceptHandler:
            return node
        if type(node) is cst.IndentedBlock and index > 0 and type(parents[index - 1]) in (cst.If, cst.Else):
            if _terminates(node):
                return node
    return None


def _terminates(block: cst.IndentedBlock) -> bool:
    if not block.body:
        return False
    last = block.body[-1]
    if isinstance(last, cst.SimpleStatementLine) and last.body:
        return type(last.body[-1]) in (cst.Return, cst.Raise)
    return False
