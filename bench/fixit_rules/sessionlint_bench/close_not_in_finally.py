"""SL004 (close-not-in-finally) as a Fixit rule, for the speed comparison.

A generator that creates a session, yields it, and then closes it outside any
``finally:`` skips the close whenever the consumer raises (FastAPI throws the
endpoint's exception into a yield dependency at its ``yield``). Like
sessionlint's rule, it leaves alone pytest fixtures, closes guarded by an
``except`` clause that closes and re-raises, and objects that are not sessions
(recognised here by the factory's name, as Fixit has no cross-file model).

Run: PYTHONPATH=bench/fixit_rules fixit --rules sessionlint_bench.close_not_in_finally lint PATH
"""

from __future__ import annotations

import re

import libcst as cst
from fixit import Invalid, LintRule, Valid

SESSION_FACTORY = re.compile(
    r"^(Session|AsyncSession|\w*Session(Local|Maker|Factory)?|\w*session_?(local|maker|factory)|async_session)$")


def _callee_name(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Name):
            return func.value
        if isinstance(func, cst.Attribute):
            return func.attr.value
    return None


def _closed_name(statement: cst.BaseStatement) -> tuple[str, cst.Call] | None:
    """`s.close()` / `await s.close()` as a statement -> ("s", the call)."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    expression = statement.body[0]
    if not isinstance(expression, cst.Expr):
        return None
    value = expression.value
    if isinstance(value, cst.Await):
        value = value.expression
    if (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
            and value.func.attr.value == "close" and isinstance(value.func.value, cst.Name)):
        return value.func.value.value, value
    return None


class _Yields(cst.CSTVisitor):
    """Names yielded directly (`yield s`), not descending into nested functions."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Yield(self, node: cst.Yield) -> None:
        if isinstance(node.value, cst.Name):
            self.names.add(node.value.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def _except_closes_and_reraises(handler: cst.ExceptHandler, name: str) -> bool:
    closes = any((found := _closed_name(s)) is not None and found[0] == name for s in handler.body.body)
    raises = any(isinstance(s, cst.SimpleStatementLine) and any(isinstance(x, cst.Raise) for x in s.body)
                 for s in handler.body.body)
    return closes and raises


def _is_fixture(node: cst.FunctionDef) -> bool:
    for decorator in node.decorators:
        target = decorator.decorator
        if isinstance(target, cst.Call):
            target = target.func
        if isinstance(target, cst.Attribute) and target.attr.value == "fixture":
            return True
        if isinstance(target, cst.Name) and target.value == "fixture":
            return True
    return False


class CloseNotInFinally(LintRule):
    """A session closed after `yield` but not in `finally:` leaks on every error response."""

    MESSAGE = ("close() after the yield is skipped when the endpoint raises; "
               "close the session in `finally:` (or use `with SessionLocal() as db:`)")

    VALID = [
        Valid(
            """
            def get_db():
                db = SessionLocal()
                try:
                    yield db
                finally:
                    db.close()
            """
        ),
        Valid(
            """
            def get_cache():
                client = redis.Redis()
                yield client
                client.close()
            """
        ),
        Valid(
            """
            @pytest.fixture
            def db():
                s = SessionLocal()
                yield s
                s.close()
            """
        ),
        Valid(
            """
            def scope():
                s = SessionLocal()
                try:
                    yield s
                except Exception:
                    s.close()
                    raise
                s.close()
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            def get_db():
                db = SessionLocal()
                yield db
                db.close()
            """
        ),
        Invalid(
            """
            async def get_db():
                session = AsyncSessionLocal()
                yield session
                await session.close()
            """
        ),
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if _is_fixture(node) or not isinstance(node.body, cst.IndentedBlock):
            return
        yields = _Yields()
        node.body.visit(yields)
        if not yields.names:
            return
        sessions = set()
        for statement in node.body.body:
            # `s = SessionLocal()` at the top level of the body.
            if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
                assign = statement.body[0]
                if (isinstance(assign, cst.Assign) and len(assign.targets) == 1
                        and isinstance(assign.targets[0].target, cst.Name)):
                    callee = _callee_name(assign.value)
                    if callee is not None and SESSION_FACTORY.match(callee):
                        sessions.add(assign.targets[0].target.value)
        candidates = sessions & yields.names
        if not candidates:
            return
        guarded: set[str] = set()
        for statement in node.body.body:
            if isinstance(statement, cst.Try):
                for handler in statement.handlers:
                    guarded.update(n for n in candidates if _except_closes_and_reraises(handler, n))
            closed = _closed_name(statement)
            # A close at the top level of the body: never in a `finally:`.
            if closed is not None and closed[0] in candidates and closed[0] not in guarded:
                self.report(closed[1])
