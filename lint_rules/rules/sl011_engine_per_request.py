from __future__ import annotations

import libcst as cst

from sessionlint.lint_rules.analysis import lifecycle as L
from sessionlint.lint_rules.analysis import request_scope as R
from sessionlint.lint_rules.analysis.module import FunctionInfo, ModuleModel, dotted
from sessionlint.lint_rules.analysis.walk import walk_with_parents
from sessionlint.lint_rules.model import Requirement, Severity
from sessionlint.lint_rules.rule import Rule, RuleReporter

ENGINE_CONSTRUCTORS = frozenset(
    {
        "sqlalchemy.create_engine",
        "sqlalchemy.engine.create_engine",
        "sqlalchemy.engine.create.create_engine",
        "sqlalchemy.ext.asyncio.create_async_engine",
        "sqlalchemy.ext.asyncio.engine.create_async_engine",
        "sqlmodel.create_engine",
        "sqlmodel.engine.create.create_engine",
        "sqlmodel.ext.asyncio.create_async_engine",
    }
)


class EnginePerRequest(Rule):
    """## What it does
    Flags `create_engine(...)` / `create_async_engine(...)` called while serving a
    request: inside a route, a dependency (a function used in `Depends(...)`, a
    yield dependency that hands out a session, or a class whose `__init__` FastAPI
    calls per request), a middleware, or a function of the same module that one of
    those calls.

    ## Why is this bad?
    An `Engine` owns a connection pool. "The Engine is intended to normally be a
    permanent fixture established up-front and maintained throughout the lifespan
    of an application. It is **not** intended to be created and disposed on a
    per-connection basis" (SQLAlchemy docs). A new engine per request opens a new
    database connection per request (connect latency on every call, no pooling),
    and engines nobody disposes keep their connections until garbage collection.
    Under load the database runs out of connection slots:

    ```
    psycopg2.OperationalError: connection to server at "db" (10.0.0.5), port 5432
    failed: FATAL:  sorry, too many clients already
    ```

    Not flagged: engines built at module level, under `if __name__ == "__main__":`,
    in an `@lru_cache`/`@cache` getter, in a lifespan handler (`lifespan=` or a
    function named `lifespan`), in an `@app.on_event("startup")` handler, stored
    once behind an `if engine is None:` guard, and in tests (`test_*.py`,
    `conftest.py`, pytest fixtures).

    ## Example
    ```python
    def get_db():
        engine = create_engine(settings.database_url)
        with Session(engine) as db:
            yield db
    ```

    ## Use instead
    ```python
    engine = create_engine(settings.database_url)


    def get_db():
        with Session(engine) as db:
            yield db
    ```

    or build it once in `lifespan` (store it on `app.state`), or behind
    `@lru_cache`.

    ## Fix safety
    No automatic fix yet: where the engine should live (module level, lifespan,
    cached getter) depends on how its URL is configured.
    """

    code = "SL011"
    name = "engine-per-request"
    severity = Severity.WARNING
    screen_tokens = frozenset({"create_engine", "create_async_engine"})

    def check(self, model: ModuleModel, report: RuleReporter) -> None:
        source = model.source
        if "create_engine" not in source and "create_async_engine" not in source:
            return
        if R.is_test_module(model):
            return
        builders: dict[int, tuple[FunctionInfo, list[cst.Call]]] = {}
        for func in model.functions:
            calls = [c for c in func.of_type(cst.Call) if model.resolve(c.func) in ENGINE_CONSTRUCTORS]
            if calls and not _exempt(model, func):
                calls = _fresh(func, calls)
                if calls:
                    builders[id(func)] = (func, calls)
        if not builders:
            return
        done: set[int] = set()

        def emit(func: FunctionInfo, where: str, requires, subject: str) -> None:
            for call in builders[id(func)][1]:
                if id(call) not in done:
                    done.add(id(call))
                    report(call, _message(call, model, where), requires, subject)

        # Functions that run per request and build an engine themselves.
        for func, _ in builders.values():
            role = _request_role(model, func)
            if role is not None:
                emit(func, role, (), func.qualname)
        # One level down: a same-module helper called while serving a request.
        by_name = {f.name: f for f, _ in builders.values() if f.parent is None and f.cls is None}
        methods = {f.name: f for f, _ in builders.values() if f.cls is not None}
        callers: dict[int, list[FunctionInfo]] = {}
        for caller in model.functions:
            role: str | None | bool = None
            for node in caller.of_type(cst.Call):
                callee = _callee(node, caller, by_name, methods)
                if callee is None or callee is caller:
                    continue
                callers.setdefault(id(callee), []).append(caller)
                if role is None:
                    role = _request_role(model, caller) or False
                if role:
                    emit(callee, f"`{callee.name}`, which {role} calls,", (), caller.qualname)
        # Otherwise a top-level function is per request if another file depends on
        # it (`Depends(get_engine)`), or on the same-module function calling it.
        if model.has_main_guard and not model.imports_web_framework:
            return  # a script's functions run once per invocation
        for func, _ in builders.values():
            if func.parent is not None or func.cls is not None or R.is_context_manager(func):
                continue  # only FastAPI can call a top-level function per request
            users = [c for c in callers.get(id(func), []) if c.parent is None and c.cls is None and not _exempt(model, c)]
            owner = users[0] if users else func
            where = f"dependency `{func.name}`" if owner is func else f"`{func.name}`, which dependency `{owner.name}` calls,"
            emit(func, where, (Requirement("used_in_depends", owner.qualname),), owner.qualname)


def _message(call: cst.Call, model: ModuleModel, where: str) -> str:
    name = (model.resolve(call.func) or "create_engine").rsplit(".", 1)[-1]
    return (
        f"`{name}()` in {where} builds a new connection pool for every request; create the "
        f"engine once (module level, `lifespan`, or an `@lru_cache` getter) and reuse it"
    )


def _exempt(model: ModuleModel, func: FunctionInfo) -> bool:
    """Functions that build an engine once, not per request."""
    if R.is_cached(func) or R.is_lifespan(model, func) or L.is_pytest_fixture(func):
        return True
    for deco in func.node.decorators:  # `@app.on_event("startup")`
        expr = deco.decorator
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "on_event":
            return True
    return False


def _request_role(model: ModuleModel, func: FunctionInfo) -> str | None:
    """How `func` runs once per request (for the message), else None."""
    if _exempt(model, func):
        return None
    if R.is_route(model, func):
        return f"route `{func.name}`"
    if R.is_middleware(model, func):
        return f"middleware `{func.name}`"
    if R.local_depends_uses(model, func):
        return f"dependency `{func.name}`"
    if func.cls is not None and _class_dependency(model, func):
        return f"dependency `{func.cls.name}`"
    if R.has_depends_param(model, func):
        return f"dependency `{func.name}`"
    script = model.has_main_guard and not model.imports_web_framework
    if not script and R.is_session_dependency_shape(model, func) is not None:
        return f"yield dependency `{func.name}`"
    return None


def _class_dependency(model: ModuleModel, func: FunctionInfo) -> bool:
    """`__init__` of a class used as `Depends(Repo)`, `__call__` of an instance used
    as `Depends(checker)`: FastAPI calls them on every request."""
    cls = func.cls
    if cls is None or model.top_classes.get(cls.name) is not cls:
        return False
    targets = {u.target for u in R.scan(model).depends}
    if func.name == "__init__":
        return cls.name in targets
    if func.name == "__call__":
        for target in targets:
            value = model.top_values.get(target or "")
            if isinstance(value, cst.Call) and dotted(value.func) == cls.name:
                return True
    return False


def _callee(node: cst.Call, caller: FunctionInfo, by_name, methods) -> FunctionInfo | None:
    """The same-module function `node` calls: `helper()` or `self.helper()`."""
    func = node.func
    if isinstance(func, cst.Name):
        if func.value in caller.locals or any(p.name.value == func.value for p in caller.params):
            return None
        return by_name.get(func.value)
    if isinstance(func, cst.Attribute) and caller.cls is not None and dotted(func.value) in ("self", "cls"):
        method = methods.get(func.attr.value)
        if method is not None and method.cls is caller.cls:
            return method
    return None


def _fresh(func: FunctionInfo, calls: list[cst.Call]) -> list[cst.Call]:
    """The calls that build a new engine each time `func` runs: not the ones stored
    behind a guard (`if _engine is None: _engine = create_engine(...)`)."""
    if not any(isinstance(n, (cst.If, cst.IfExp, cst.BooleanOperation)) for n in func.body_nodes()):
        return calls
    wanted = {id(c) for c in calls}
    out = []
    body = func.node.body
    for stmt in body.body if isinstance(body, cst.IndentedBlock) else [body]:
        for node, parents in walk_with_parents(stmt):
            if id(node) in wanted and not _memoised(func, node, parents):
                out.append(node)
    return out


def _memoised(func: FunctionInfo, call: cst.Call, parents: tuple) -> bool:
    store = None
    for parent in reversed(parents):
        if isinstance(parent, cst.Assign):
            targets = [t.target for t in parent.targets]
            store = next((t for t in targets if _shared_store(func, t)), None)
            break
        if isinstance(parent, (cst.AnnAssign, cst.AugAssign)):
            store = parent.target if _shared_store(func, parent.target) else None
            break
        if isinstance(parent, cst.BaseSmallStatement) or isinstance(parent, cst.BaseCompoundStatement):
            break
    if store is None:
        return False
    key = dotted(store.value if isinstance(store, cst.Subscript) else store)
    if key is None:
        return False
    # Guarded: some `if`/`or`/conditional expression in the function tests the store.
    for node in func.of_type(cst.If, cst.IfExp):
        if _mentions(node.test, key):
            return True
    for node in func.of_type(cst.BooleanOperation):
        if _mentions(node.left, key):
            return True
    return False


def _shared_store(func: FunctionInfo, target: cst.BaseExpression) -> bool:
    """A place that outlives the call: a `global`, an attribute, a dict entry."""
    if isinstance(target, cst.Name):
        return target.value in func.globals_declared
    return isinstance(target, (cst.Attribute, cst.Subscript))


def _mentions(expr: cst.CSTNode, key: str) -> bool:
    from sessionlint.lint_rules.analysis.walk import walk

    for node in walk(expr):
        if isinstance(node, (cst.Name, cst.Attribute)) and dotted(node) == key:
            return True
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in ("hasattr", "getattr"):
            return True  # `if not hasattr(app.state, "engine"):`
    return False
