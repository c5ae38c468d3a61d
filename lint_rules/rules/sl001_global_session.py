from __future__ import annotations

from pathlib import PurePath

import libcst as cst

from sessionlint.lint_rules.analysis.module import ModuleModel
from sessionlint.lint_rules.fixes.global_session import companion_fixes, primary_fix
from sessionlint.lint_rules.model import Requirement
from sessionlint.lint_rules.analysis.walk import walk
from sessionlint.lint_rules.model import Severity
from sessionlint.lint_rules.rule import Rule, RuleReporter, lazy_fix


class GlobalSession(Rule):
    """## What it does
    Flags a SQLAlchemy `Session` or `AsyncSession` created at module level (when
    the module is imported) or assigned to a `global` from inside a function.

    ## Why is this bad?
    A module-level session is one object shared by every request, thread and task
    of the process. A `Session` is "a mutable, stateful object that represents a
    single database transaction" and must not be used concurrently. Under load,
    requests commit each other's half-done work, see rows another request rolled
    back, and one failed flush leaves the session inactive for everybody:

    ```
    sqlalchemy.exc.IllegalStateChangeError: Method 'commit()' can't be called here;
    method '_prepare_impl()' is already in progress ...
    sqlalchemy.exc.PendingRollbackError: This Session's transaction has been rolled
    back due to a previous exception during flush. ...
    ```

    Command-line scripts are the exception SQLAlchemy endorses: a module with an
    `if __name__ == "__main__":` block that imports no web framework is left alone,
    and so are test modules and Alembic's `env.py`.

    ## Example
    ```python
    SessionLocal = sessionmaker(bind=engine)
    db = SessionLocal()


    @app.get("/users/{user_id}")
    def read_user(user_id: int):
        return db.get(User, user_id)
    ```

    ## Use instead
    ```python
    SessionLocal = sessionmaker(bind=engine)


    def get_db():
        db = SessionLocal()
        try:
            yield db
        finally:
            db.close()


    @app.get("/users/{user_id}")
    def read_user(user_id: int, db: Session = Depends(get_db)):
        return db.get(User, user_id)
    ```

    ## Fix safety
    An unsafe fix replaces the global with a per-request dependency: it creates
    (or reuses) a `get_<name>` generator beside the factory, gives every route
    that used the global a `<name>: Session = Depends(get_<name>)` parameter (or
    the module's `Annotated` alias), drops statements that only managed the
    global (`db.close()` at shutdown, `db.bind = engine`), updates the modules that
    imported it, and removes the global. It is offered only when every use is in
    a route or such a statement; run it on the whole project, so every importing
    module is updated. It is unsafe because routes get a new parameter and code
    that relied on state shared between requests changes behaviour.

    Module-level factories (`sessionmaker(...)`) and engines are meant to be
    shared and are not flagged.
    """

    code = "SL001"
    name = "global-session"
    severity = Severity.ERROR

    def check(self, model: ModuleModel, report: RuleReporter) -> None:
        if _is_exempt_module(model):
            return
        lines = {
            id(line.body[0]): line
            for line in model.tree.body
            if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1
        }
        for stmt, in_main in model.top_statements:
            if in_main:
                continue
            for call in _import_time_calls(stmt):
                reqs = model.session_ctor(call)
                if reqs is None:
                    continue
                fix = group = None
                target = _simple_target(stmt, call)
                if target is not None and id(stmt) in lines:
                    fix = lazy_fix(primary_fix, model, lines[id(stmt)], target, call)
                    group = f"{model.module}.{target}" if model.module else target
                report(
                    call,
                    "Session created at import time is shared by every request and thread "
                    "of the process; create one per request instead (e.g. a `Depends(get_db)` "
                    "yield dependency)",
                    reqs,
                    fix=fix,
                    group=group,
                )
        if model.imports:
            for qualname, local, fix in companion_fixes(model):
                statement_node = next(
                    (s for s, _ in model.top_statements if isinstance(s, cst.ImportFrom) and local in _imported_names(s)),
                    None,
                )
                if statement_node is not None:
                    report(statement_node, "", (Requirement("session", qualname),), fix=fix, group=qualname, companion=True)
        for func in model.functions:
            if not func.globals_declared:
                continue
            for node in func.of_type(cst.Assign, cst.AnnAssign):
                targets = (
                    [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
                )
                names = [t.value for t in targets if isinstance(t, cst.Name)]
                if not any(n in func.globals_declared for n in names) or node.value is None:
                    continue
                reqs = model.session_ctor(node.value, func)
                if reqs is not None:
                    report(
                        node.value,
                        f"`{func.name}` stores a session in the global `{names[0]}`, so every "
                        f"later caller shares it; create one per request or task instead",
                        reqs,
                    )


def _import_time_calls(stmt: cst.CSTNode):
    """Calls evaluated when a module-level statement runs at import time.

    Compound statements contribute only their header (an `if` test, a `for`
    iterable): their bodies are listed as statements of their own.  The items of a
    `with` are skipped: `with Session(engine) as s:` closes its session.  `walk`
    does not enter lambdas, functions or classes, which run later (or are SL002's).
    """
    if isinstance(stmt, cst.BaseSmallStatement):
        roots = [stmt]
    else:
        roots = [getattr(stmt, attr) for attr in ("test", "iter", "subject") if getattr(stmt, attr, None) is not None]
    for root in roots:
        for node in walk(root):
            if isinstance(node, cst.Call):
                yield node


def _simple_target(stmt: cst.CSTNode, call: cst.Call) -> str | None:
    """`name` for `name = <call>` / `name: T = <call>`, the shape the fix handles."""
    if isinstance(stmt, cst.Assign) and stmt.value is call and len(stmt.targets) == 1:
        target = stmt.targets[0].target
        return target.value if isinstance(target, cst.Name) else None
    if isinstance(stmt, cst.AnnAssign) and stmt.value is call and isinstance(stmt.target, cst.Name):
        return stmt.target.value
    return None


def _imported_names(stmt: cst.ImportFrom) -> set[str]:
    if isinstance(stmt.names, cst.ImportStar):
        return set()
    return {
        (a.asname.name.value if a.asname is not None else a.name.value)
        for a in stmt.names
        if isinstance(a.name, cst.Name)
    }


def _is_exempt_module(model: ModuleModel) -> bool:
    path = PurePath(model.path)
    name = path.name
    if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
        return True
    if name == "env.py" and "alembic" in model.imported_roots:
        return True
    is_script = model.has_main_guard or name == "__main__.py"
    return is_script and not model.imports_web_framework
