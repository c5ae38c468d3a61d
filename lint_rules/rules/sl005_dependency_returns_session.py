from __future__ import annotations

import libcst as cst

from sessionlint.lint_rules.analysis import names as N
from sessionlint.lint_rules.analysis.module import ModuleModel, dotted
from sessionlint.lint_rules.analysis.walk import walk
from sessionlint.lint_rules.model import Requirement, Severity
from sessionlint.lint_rules.rule import Rule, RuleReporter


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
    No automatic fix yet (planned as unsafe: turning a function into a generator
    changes what its other callers receive).
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
                    )
        if "Depends" not in model.source and "Security" not in model.source:
            return
        for node in walk(model.tree, enter_scopes=True):
            if not isinstance(node, cst.Call):
                continue
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
