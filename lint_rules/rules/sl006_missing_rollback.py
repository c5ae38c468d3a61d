from __future__ import annotations

import libcst as cst

from sessionlint.lint_rules.analysis import lifecycle as L
from sessionlint.lint_rules.analysis.module import FunctionInfo, ModuleModel, call_name, dotted, receiver
from sessionlint.lint_rules.analysis.walk import walk, walk_with_parents
from sessionlint.lint_rules.model import Severity
from sessionlint.lint_rules.analysis.session_kinds import annotation_kind, awaits, factory_kind
from sessionlint.lint_rules.fixes.transforms import fix_builder, statement
from sessionlint.lint_rules.rule import FixSpec, Rule, RuleReporter, lazy_fix

_WRITES = ("commit", "flush")
_RESETS = ("rollback", "close")
_LOOPS = (cst.For, cst.While)


class MissingRollback(Rule):
    """## What it does
    Flags error handling that leaves a session unusable: an `except` that swallows
    a failed `commit()`/`flush()` without `rollback()` and keeps using the session,
    a yield dependency whose `except` swallows the endpoint's exception, and
    `commit()` on a module-level session with no rollback on its error path --
    including an `except` that re-raises (often as `HTTPException(409)`) without
    rolling the module-level session back.

    ## Why is this bad?
    When a flush fails, SQLAlchemy rolls back the database transaction but leaves
    the session "inactive" until the application calls `rollback()`. Every later
    use of the session raises:

    ```
    sqlalchemy.exc.PendingRollbackError: This Session's transaction has been rolled
    back due to a previous exception during flush. To begin a new transaction with
    this Session, first issue Session.rollback(). Original exception was: ...
    ```

    With a per-request session the damage stays inside one request; with a shared
    session every later request fails until a restart. In a yield dependency, an
    `except` that does not re-raise hides the error: the client gets a 500 and the
    server logs nothing (FastAPI ≥ 0.110: "always raise"). Re-raising is enough for
    a per-request session (its dependency closes it, which rolls back) but not for
    a module-level one: no request owns it, so nothing ever rolls it back.

    Bodies framed by `with session.begin():`, `with Session(engine) as s, s.begin():`
    or a `begin_nested()` savepoint roll back by themselves and are not flagged.

    ## Example
    ```python
    try:
        db.add(User(email=email))
        db.commit()
    except IntegrityError:
        pass
    db.add(AuditLog(action="signup"))
    db.commit()
    ```

    ## Use instead
    ```python
    try:
        db.add(User(email=email))
        db.commit()
    except IntegrityError:
        db.rollback()
    db.add(AuditLog(action="signup"))
    db.commit()
    ```

    ## Fix safety
    Unsafe fixes: a swallowing handler gets `<session>.rollback()` as its first
    statement (which also discards the session's other pending changes, so the
    code after it may behave differently) -- also a re-raising handler on a
    module-level session -- and a yield dependency's catch-all
    handler gets a final `raise` (the client then sees the error it was hiding).
    A commit on a module-level session has no automatic fix: the fix is a
    per-request session (SL001).
    """

    code = "SL006"
    name = "missing-rollback"
    severity = Severity.WARNING

    def check(self, model: ModuleModel, report: RuleReporter) -> None:
        for func in model.functions:
            if not (func.calls("commit") or func.calls("flush") or func.is_generator):
                continue  # nothing here can leave a session inactive
            refs = L.session_refs(model, func)
            if not refs:
                continue
            order = {id(node): index for index, node in enumerate(func.body_nodes())}
            in_loop, protected_commits = set(), set()
            for node, parents in _walk_body(func):
                if isinstance(node, cst.Try):
                    if any(isinstance(p, _LOOPS) for p in parents):
                        in_loop.add(id(node))
                    self._check_try(model, func, node, refs, order, id(node) in in_loop, report)
                    if node.handlers:  # the handlers are judged by _check_try
                        for inner in walk(node.body):
                            protected_commits.add(id(inner))
            self._yield_dependency(func, refs, report)
            self._shared_commits(func, refs, protected_commits, report)

    def _check_try(self, model, func: FunctionInfo, node: cst.Try, refs, order, in_loop, report) -> None:
        written = _written_sessions(node.body, refs)
        if not written:
            return
        end_index = max(order.get(id(n), -1) for n in walk(node))
        for handler in node.handlers:
            for key in written:
                ref = refs[key]
                if _handler_resets(handler, key):
                    continue
                if _handler_raises(handler):
                    if not ref.shared:
                        continue  # the request's session is closed (rolled back) by its owner
                    # Re-raising leaves a module-level session inactive: no teardown
                    # of any request ever rolls it back.
                    report(
                        handler,
                        f"This `except` re-raises a failed `{key}.commit()`/`flush()` without "
                        f"`{key}.rollback()`: `{key}` is a module-level session, so nothing rolls it "
                        f"back and every later request gets PendingRollbackError; call "
                        f"`{key}.rollback()` before raising",
                        ref.requires,
                        func.qualname,
                        lazy_fix(_prepend_fix, model, func, handler, key, "rollback"),
                    )
                    break
                used_after = in_loop or ref.shared or _used(handler.body, key) or any(
                    index > end_index and _is_use(n, key)
                    for n in func.body_nodes()
                    for index in (order.get(id(n), -1),)
                )
                if not used_after:
                    continue
                report(
                    handler,
                    f"This `except` swallows a failed `{key}.commit()`/`flush()` without "
                    f"`{key}.rollback()`, and `{key}` is used again: the next use raises "
                    f"PendingRollbackError; call `{key}.rollback()` in the handler",
                    ref.requires,
                    func.qualname,
                    lazy_fix(_prepend_fix, model, func, handler, key, "rollback"),
                )
                break

    def _yield_dependency(self, func: FunctionInfo, refs, report) -> None:
        if not func.is_generator:
            return
        yielded = [key for key in refs if L.yields_session(func, key)]
        if not yielded:
            return
        for node in func.of_type(cst.Try):
            if not any(isinstance(n, cst.Yield) for n in walk(node.body)):
                continue
            for handler in node.handlers:
                catches_all = handler.type is None or dotted(handler.type) in ("Exception", "BaseException")
                if catches_all and not L.handler_reraises(handler):
                    report(
                        handler,
                        f"Dependency `{func.name}` swallows the endpoint's exception: the client gets "
                        f"a 500 and nothing is logged; re-raise after rolling back (`raise`)",
                        refs[yielded[0]].requires,
                        func.qualname,
                        lazy_fix(_reraise_fix, handler),
                    )

    def _shared_commits(self, func: FunctionInfo, refs, protected, report) -> None:
        for node in func.calls("commit"):
            key = receiver(node)
            ref = refs.get(key or "")
            if ref is None or not ref.shared or id(node) in protected:
                continue
            report(
                node,
                f"`{key}.commit()` on a module-level session has no rollback on its error path: "
                f"one failed commit leaves `{key}` inactive (PendingRollbackError) for every later "
                f"request",
                ref.requires,
                func.qualname,
            )


def _walk_body(func: FunctionInfo):
    # From the block: nested `def`s are yielded, not entered.
    yield from walk_with_parents(func.node.body)


def _written_sessions(body: cst.CSTNode, refs) -> list[str]:
    """Sessions committed or flushed in `body`, outside self-rolling-back blocks."""
    found: list[str] = []
    for node, parents in walk_with_parents(body):
        if isinstance(node, cst.Call) and call_name(node) in _WRITES:
            key = receiver(node)
            if key in refs and key not in found and not any(_self_framing(p, key) for p in parents):
                found.append(key)
    return found


def _self_framing(node: cst.CSTNode, key: str) -> bool:
    """`with db.begin():` / `with db.begin_nested():` roll back on error by themselves."""
    if not isinstance(node, cst.With):
        return False
    for item in node.items:
        if isinstance(item.item, cst.Call) and call_name(item.item) in ("begin", "begin_nested"):
            if receiver(item.item) == key:
                return True
    return False


def _handler_resets(handler: cst.ExceptHandler, key: str) -> bool:
    return any(isinstance(node, cst.Call) and call_name(node) in _RESETS and receiver(node) == key
               for node in walk(handler.body))


def _handler_raises(handler: cst.ExceptHandler) -> bool:
    return any(isinstance(node, cst.Raise) for node in walk(handler.body))


def _is_use(node: cst.CSTNode, key: str) -> bool:
    return isinstance(node, (cst.Name, cst.Attribute)) and dotted(node) == key


def _used(body: cst.CSTNode, key: str) -> bool:
    return any(_is_use(n, key) for n in walk(body))


@fix_builder
def _prepend_fix(model, func: FunctionInfo, handler: cst.ExceptHandler, key: str, method: str) -> FixSpec | None:
    if not isinstance(handler.body, cst.IndentedBlock):
        return None
    awaited = _session_is_async(model, func, key)
    if awaited is None:
        return None
    call = statement(f"{'await ' if awaited else ''}{key}.{method}()")
    body = [s for s in handler.body.body if not _is_pass(s)]
    return FixSpec(
        f"Call `{key}.{method}()` in the handler",
        "unsafe",
        [(handler.body, handler.body.with_changes(body=[call, *body]))],
    )


@fix_builder
def _reraise_fix(handler: cst.ExceptHandler) -> FixSpec | None:
    if not isinstance(handler.body, cst.IndentedBlock):
        return None
    body = [s for s in handler.body.body if not _is_pass(s)]
    return FixSpec("Re-raise the exception", "unsafe", [(handler.body, handler.body.with_changes(body=[*body, statement("raise")]))])


def _is_pass(stmt: cst.CSTNode) -> bool:
    """A bare `pass` the fix may replace: one that carries no comment."""
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and all(isinstance(s, cst.Pass) for s in stmt.body)
        and stmt.trailing_whitespace.comment is None
        and not any(line.comment is not None for line in stmt.leading_lines)
    )


def _session_is_async(model, func: FunctionInfo, key: str) -> bool | None:
    """Whether `key`'s methods must be awaited; None when unknown in async code."""
    if not func.is_async:
        return False
    for param in func.params:
        if param.name.value == key and param.annotation is not None:
            return awaits(annotation_kind(model, param.annotation.annotation))
    for owned in L.owned_sessions(model, func):
        if owned.key == key:
            return awaits(factory_kind(model, owned.ctor.func))
    for node in func.of_type(cst.With):
        for item in node.items:
            if item.asname is not None and dotted(item.asname.name) == key and isinstance(item.item, cst.Call):
                return awaits(factory_kind(model, item.item.func))
    return None
