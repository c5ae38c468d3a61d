from __future__ import annotations

import libcst as cst

from sessionlint.lint_rules.analysis import names as N
from sessionlint.lint_rules.analysis.module import ModuleModel, dotted
from sessionlint.lint_rules.model import Requirement, Severity
from sessionlint.lint_rules.analysis.session_kinds import awaits, factory_kind
from sessionlint.lint_rules.fixes.transforms import enclosing_statement, fix_builder, fresh_name, statement
from sessionlint.lint_rules.rule import FixSpec, Rule, RuleReporter, lazy_fix


class DependencyReturnsSession(Rule):
    """## What it does
    Flags a FastAPI dependency that *returns* a new session instead of yielding it
    (so nothing ever closes it), and `Depends(SessionLocal)` / `Depends(Session)`,
    which make FastAPI call the factory directly.

    ## Why is this bad?
    FastAPI only runs teardown code for dependencies that `yield`. A returned
    session is never closed: each request leaves a connection checked out until
    the garbage collector gets to it, and concurrent traffic exhausts the pool:

    ```
    sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached,
    connection timed out, timeout 30.00
    ```

    A function that returns a session is fine when its caller closes it (`with
    new_session() as s:`); it is only a bug when FastAPI is the caller. The rule
    therefore needs a `Depends(...)` that uses the function, in any linted file.

    ## Example
    ```python
    def get_db():
        return SessionLocal()


    @app.get("/items")
    def items(db: Session = Depends(get_db)): ...
    ```

    ## Use instead
    ```python
    def get_db():
        with SessionLocal() as db:
            yield db
    ```

    ## Fix safety
    The fix turns the dependency into a generator: it creates the session, yields
    it, and closes it in `finally:`. It is unsafe because any other caller of the
    function (outside `Depends`) now receives a generator instead of a session.
    `Depends(SessionLocal)` has no automatic fix.
    """

    code = "SL005"
    name = "dependency-returns-session"
    severity = Severity.ERROR
    screen_tokens = frozenset({"Session", "sessionmaker", "Depends", "Security"})

    def check(self, model: ModuleModel, report: RuleReporter) -> None:
        for func in model.functions:
            if func.is_generator or func.cls is not None or func.parent is not None:
                continue
            if func.has_decorator(N.CACHE_DECORATORS, "lru_cache", "cache"):
                continue  # SL002
            for node in func.of_type(cst.Return):
                if node.value is not None:
                    reqs = model.session_value(node.value, func)
                    if reqs is None:
                        continue
                    used = Requirement("used_in_depends", func.qualname)
                    report(
                        node,
                        f"Dependency `{func.name}` returns a session that nothing closes (FastAPI "
                        f"only tears down dependencies that `yield`); yield it and close it in "
                        f"`finally:`",
                        reqs + (used,),
                        func.qualname,
                        lazy_fix(_fix, model, func, node),
                    )
        if "Depends" not in model.source and "Security" not in model.source:
            return
        for node in model.nodes_of(cst.Call):
            target = model.depends_target(node)
            if target is None:
                continue
            reqs = model.factory(target, makers_only=True)
            if reqs is not None:
                report(
                    node,
                    f"`Depends({_text(target)})` makes FastAPI create a session per request that "
                    f"is never closed; depend on a yield dependency that closes it",
                    reqs,
                )


def _text(node: cst.BaseExpression) -> str:
    return dotted(node) or "..."


@fix_builder
def _fix(model: ModuleModel, func, ret: cst.Return) -> FixSpec | None:
    """`return SessionLocal()` -> create, `yield`, close in `finally:`."""
    found = enclosing_statement(func.node.body, ret)
    if found is None:
        return None
    block, index = found
    line = block.body[index]
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None
    value = ret.value
    if isinstance(value, cst.Name):
        name, create = value.value, None
        ctor = _bound_ctor(func, name)
    else:
        name, ctor = fresh_name(func), value
        create = f"{name} = {cst.Module([]).code_for_node(value)}"
    if not isinstance(ctor, cst.Call):
        return None
    is_async = awaits(factory_kind(model, ctor.func))
    if is_async is None and func.is_async:
        return None  # can't tell `close()` from `await close()`
    close = f"await {name}.close()" if is_async else f"{name}.close()"
    statements = ([statement(create)] if create else []) + [
        statement(f"try:\n    yield {name}\nfinally:\n    {close}\n")
    ]
    trailing = [cst.EmptyLine(comment=line.trailing_whitespace.comment)] if line.trailing_whitespace.comment else []
    statements[0] = statements[0].with_changes(leading_lines=[*line.leading_lines, *trailing])
    return FixSpec(
        f"Turn `{func.name}` into a yield dependency that closes the session",
        "unsafe",
        [(line, cst.FlattenSentinel(statements))],
    )


def _bound_ctor(func, name: str) -> cst.BaseExpression | None:
    for node in func.of_type(cst.Assign, cst.AnnAssign):
        targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
        if any(isinstance(t, cst.Name) and t.value == name for t in targets):
            return node.value
    return None
