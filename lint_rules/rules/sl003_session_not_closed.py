from __future__ import annotations

import libcst as cst

from sessionlint.lint_rules.analysis import lifecycle as L
from sessionlint.lint_rules.analysis import names as N
from sessionlint.lint_rules.analysis.module import ModuleModel
from sessionlint.lint_rules.model import Severity
from sessionlint.lint_rules.rule import Rule, RuleReporter


class SessionNotClosed(Rule):
    """## What it does
    Flags a session created inside a function that is not closed on every path:
    no `with` block, no `close()` in a `finally:`, and not handed to a caller or
    owner that closes it.

    ## Why is this bad?
    The first query opens a transaction and checks a connection out of the pool.
    Until the session is closed the connection stays checked out (on PostgreSQL:
    "idle in transaction"); sessions hold reference cycles, so only the cyclic
    garbage collector eventually releases it. Under load the pool runs dry:

    ```
    sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached,
    connection timed out, timeout 30.00
    ```

    A `close()` that is not in `finally:` is skipped whenever anything before it
    raises, so the leak happens exactly on the error path.

    ## Example
    ```python
    def list_users():
        db = SessionLocal()
        return db.scalars(select(User)).all()
    ```

    ## Use instead
    ```python
    def list_users():
        with SessionLocal() as db:
            return db.scalars(select(User)).all()
    ```

    ## Fix safety
    No automatic fix yet: wrapping the body in `with` changes where the session's
    objects become detached.
    """

    code = "SL003"
    name = "session-not-closed"
    severity = Severity.WARNING

    def check(self, model: ModuleModel, report: RuleReporter) -> None:
        for func in model.functions:
            if func.has_decorator(N.CACHE_DECORATORS, "lru_cache", "cache"):
                continue  # SL002: a cached getter's session is shared, not leaked per call
            middleware = L.is_http_middleware(model, func)
            owned_keys = set()
            for owned in L.owned_sessions(model, func):
                owned_keys.add(owned.key)
                if "." in owned.key or middleware:
                    continue  # stored on an object (or a middleware: SL004)
                if L.managed_by_with(func, owned.key):
                    continue
                closes = L.close_calls(func, owned.key)
                if any(c.in_finally for c in closes):
                    continue
                if func.is_generator and L.yields_session(func, owned.key):
                    if closes:
                        continue  # closed after `yield`: SL004 decides whether that is safe
                    report(
                        owned.ctor,
                        f"`{func.name}` yields a session it never closes; close it in "
                        f"`finally:` after the `yield` (or use `with SessionLocal() as db: yield db`)",
                        owned.requires,
                        func.qualname,
                    )
                    continue
                if L.escapes(func, owned.key):
                    continue
                if closes:
                    message = (
                        f"`{owned.key}` is closed only on the success path: an exception before "
                        f"`{owned.key}.close()` leaks the connection; use `with` or close in `finally:`"
                    )
                else:
                    message = (
                        f"Session `{owned.key}` is never closed, so its connection stays checked out "
                        f"until garbage collection; use `with SessionLocal() as {owned.key}:`"
                    )
                report(owned.ctor, message, owned.requires, func.qualname)
            self._inline(model, func, report)

    def _inline(self, model: ModuleModel, func, report: RuleReporter) -> None:
        """`SessionLocal().query(...)`: a session nobody can ever close."""
        for node in func.of_type(cst.Attribute):
            if isinstance(node.value, cst.Call):
                reqs = model.session_ctor(node.value, func)
                if reqs is not None and node.attr.value not in ("begin", "__enter__"):
                    report(
                        node.value,
                        f"Session created inline for `.{node.attr.value}` is never closed; "
                        f"use `with SessionLocal() as db:`",
                        reqs,
                        func.qualname,
                    )
