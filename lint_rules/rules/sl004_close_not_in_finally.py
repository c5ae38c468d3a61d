from __future__ import annotations

import libcst as cst

from sessionlint.lint_rules.analysis import lifecycle as L
from sessionlint.lint_rules.fixes.transforms import enclosing_statement, fix_builder, wrap_in_try_finally
from sessionlint.lint_rules.analysis.module import ModuleModel
from sessionlint.lint_rules.model import Severity
from sessionlint.lint_rules.rule import FixSpec, Rule, RuleReporter, lazy_fix


class CloseNotInFinally(Rule):
    """## What it does
    Flags a yield dependency (or `@contextmanager` helper) and an HTTP middleware
    that close their session after the `yield` / `call_next` but not in
    `finally:`, and middlewares that open a session per request and never close it.

    ## Why is this bad?
    When the endpoint raises — including a deliberate `HTTPException(404)` —
    FastAPI throws the exception into the dependency's generator at the `yield`.
    Without `try/finally` the `close()` line never runs, so every error response
    leaks one pooled connection. After `pool_size + max_overflow` errors, healthy
    requests wait `pool_timeout` and fail:

    ```
    sqlalchemy.exc.TimeoutError: QueuePool limit of size 3 overflow 0 reached,
    connection timed out, timeout 2.00
    ```

    The garbage collector frees the connections later, which makes the failure
    intermittent and hard to trace. A middleware whose `await call_next(request)`
    raises skips its `close()` the same way.

    pytest fixtures are not flagged: pytest runs fixture teardown even when the
    test fails, without throwing into the generator.

    ## Example
    ```python
    def get_db():
        db = SessionLocal()
        yield db
        db.close()
    ```

    ## Use instead
    ```python
    def get_db():
        db = SessionLocal()
        try:
            yield db
        finally:
            db.close()
    ```

    or `with SessionLocal() as db: yield db`.

    ## Fix safety
    The fix is safe: it wraps the statements between the session's creation and
    its `close()` in `try:` and moves the `close()` into `finally:`. On the success
    path the same statements run in the same order; on the error path the session
    is now closed, which is the point. It is offered when the creation and the
    single `close()` are statements of the same block.
    """

    code = "SL004"
    name = "close-not-in-finally"
    severity = Severity.ERROR

    def check(self, model: ModuleModel, report: RuleReporter) -> None:
        for func in model.functions:
            middleware = L.is_http_middleware(model, func)
            if not (func.is_generator or middleware) or L.is_pytest_fixture(func):
                continue
            for owned in L.owned_sessions(model, func):
                if func.is_generator and not middleware and not L.yields_session(func, owned.key):
                    continue
                if L.managed_by_with(func, owned.key):
                    continue
                closes = L.close_calls(func, owned.key)
                if any(c.in_finally for c in closes):
                    continue
                if any(c.in_catch_all for c in closes) and len(closes) > 1:
                    continue  # closed both in a re-raising catch-all and on the way out
                kind = "middleware" if middleware else "dependency"
                if not closes:
                    if middleware:
                        report(
                            owned.ctor,
                            f"Middleware `{func.name}` opens a session for every request and never "
                            f"closes it; close `{owned.key}` in `finally:` around `call_next`",
                            owned.requires,
                            func.qualname,
                        )
                    continue  # a generator that never closes is SL003's
                fix = lazy_fix(_fix, func, owned, closes) if len(closes) == 1 else None
                for close in closes:
                    report(
                        close.node,
                        f"`{owned.key}.close()` in {kind} `{func.name}` is skipped when the request "
                        f"raises (HTTPException included), leaking a connection per error; move it "
                        f"into `finally:`",
                        owned.requires,
                        func.qualname,
                        fix,
                    )


@fix_builder
def _fix(func, owned, closes) -> FixSpec | None:
    """Wrap everything between the session's creation and its close in
    `try: ... finally: <close>` -- possible when both are statements of one block."""
    created = enclosing_statement(func.node.body, owned.ctor)
    closed = enclosing_statement(func.node.body, closes[0].node)
    if created is None or closed is None or created[0] is not closed[0]:
        return None
    block, first, final = created[0], created[1] + 1, closed[1]
    if not isinstance(block.body[final], cst.SimpleStatementLine) or len(block.body[final].body) != 1:
        return None  # the close shares its line with other statements
    new_block = wrap_in_try_finally(block, first, final)
    if new_block is None:
        return None
    return FixSpec(
        f"Move `{owned.key}.close()` into a `finally:` block",
        "safe",
        [(block, new_block)],
    )
