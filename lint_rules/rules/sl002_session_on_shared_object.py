from __future__ import annotations

import libcst as cst

from sessionlint.lint_rules.analysis import names as N
from sessionlint.lint_rules.analysis.module import FunctionInfo, ModuleModel, dotted
from sessionlint.lint_rules.analysis.walk import walk
from sessionlint.lint_rules.model import Severity
from sessionlint.lint_rules.rule import Rule, RuleReporter


class SessionOnSharedObject(Rule):
    """## What it does
    Flags a session stored where it outlives a request: on `app.state`, in a class
    body, as a parameter default, returned by an `@lru_cache`/`@cache` getter, or
    created in `__init__` of an object the module instantiates once.

    ## Why is this bad?
    Each of these is a global session in disguise. A class attribute and a default
    argument are evaluated once, when the module is imported; `app.state` lives as
    long as the application; a cached getter returns the same object to every
    caller. Every request then shares one transaction, with the same failures as
    a module-level session (`IllegalStateChangeError`, `PendingRollbackError`, rows
    committed by the wrong request).

    `request.state.db = SessionLocal()` in a middleware is per request and is not
    flagged; neither are engines or session factories on `app.state`.

    ## Example
    ```python
    class UserRepository:
        session = SessionLocal()


    def get_user(user_id: int, db: Session = SessionLocal()):
        return db.get(User, user_id)
    ```

    ## Use instead
    ```python
    class UserRepository:
        def __init__(self, session: Session):
            self.session = session


    def get_user(user_id: int, db: Session = Depends(get_db)):
        return db.get(User, user_id)
    ```

    ## Fix safety
    No automatic fix: where the session should come from depends on the caller.
    """

    code = "SL002"
    name = "session-on-shared-object"
    severity = Severity.ERROR

    def check(self, model: ModuleModel, report: RuleReporter) -> None:
        self._app_state(model, report)
        self._class_bodies(model, report)
        self._defaults(model, report)
        self._cached_getters(model, report)
        self._singletons(model, report)

    def _app_state(self, model: ModuleModel, report: RuleReporter) -> None:
        scopes: list[tuple[FunctionInfo | None, cst.CSTNode]] = [
            (None, stmt) for stmt, _ in model.top_statements
        ]
        scopes += [(func, stmt) for func in model.functions for stmt in func.of_type(cst.Assign, cst.AnnAssign)]
        for func, node in scopes:
            for target, value in _assignments(node):
                if not isinstance(target, cst.Attribute) or not isinstance(target.value, cst.Attribute):
                    continue
                if target.value.attr.value != "state":
                    continue
                owner = target.value.value
                if isinstance(owner, cst.Name) and model.is_request_like(owner.value, func):
                    continue  # request.state is per request
                reqs = model.session_ctor(value, func)
                if reqs is not None:
                    report(
                        value,
                        f"Session stored on `{dotted(target) or 'app.state'}` lives as long as the "
                        f"application and is shared by every request; store the engine or "
                        f"sessionmaker there and open a session per request",
                        reqs,
                    )

    def _class_bodies(self, model: ModuleModel, report: RuleReporter) -> None:
        for cls in model.classes:
            body = cls.node.body.body if isinstance(cls.node.body, cst.IndentedBlock) else []
            for line in body:
                if not isinstance(line, cst.SimpleStatementLine):
                    continue
                for small in line.body:
                    for target, value in _assignments(small):
                        # Any constructor evaluated in the class body, including
                        # `field(default=SessionLocal())` (not `default_factory=`).
                        for call in (n for n in walk(value) if isinstance(n, cst.Call)):
                            reqs = model.session_ctor(call)
                            if reqs is None:
                                continue
                            report(
                                call,
                                f"Session created in the body of class `{cls.name}` is evaluated "
                                f"once at import and shared by every instance; pass a session in "
                                f"per request instead",
                                reqs,
                            )

    def _defaults(self, model: ModuleModel, report: RuleReporter) -> None:
        nodes = [f.node for f in model.functions]
        if "lambda" in model.source:
            nodes += [n for f in model.functions for n in f.of_type(cst.Lambda)]
            for stmt, _ in model.top_statements:
                if isinstance(stmt, cst.BaseSmallStatement):
                    nodes += [n for n in walk(stmt) if isinstance(n, cst.Lambda)]
        for node in nodes:
            params = node.params
            for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
                if param.default is None:
                    continue
                reqs = model.session_ctor(param.default)
                if reqs is not None:
                    report(
                        param.default,
                        f"Default argument `{param.name.value}` is evaluated once, when the function "
                        f"is defined, so every call shares one session; use `Depends(get_db)` or "
                        f"pass a session in",
                        reqs,
                    )

    def _cached_getters(self, model: ModuleModel, report: RuleReporter) -> None:
        for func in model.functions:
            if not func.has_decorator(N.CACHE_DECORATORS, "lru_cache", "cache"):
                continue
            for node in func.of_type(cst.Return):
                if node.value is not None:
                    reqs = model.session_value(node.value, func)
                    if reqs is not None:
                        target = node.value if isinstance(node.value, cst.Call) else node
                        report(
                            target,
                            f"`{func.name}` is cached, so it returns the same session to every "
                            f"caller; cache the sessionmaker and open a session per request",
                            reqs,
                        )

    def _singletons(self, model: ModuleModel, report: RuleReporter) -> None:
        instantiated = _module_level_instances(model)
        for cls in model.classes:
            if cls.name not in instantiated:
                continue
            for method in cls.methods:
                if method.name != "__init__":
                    continue
                for node in method.of_type(cst.Assign, cst.AnnAssign):
                    for target, value in _assignments(node):
                        if dotted(target) is None or not (dotted(target) or "").startswith("self."):
                            continue
                        reqs = model.session_ctor(value, method)
                        if reqs is not None:
                            report(
                                value,
                                f"`{cls.name}` is instantiated once at module level "
                                f"(`{instantiated[cls.name]}`), so the session its `__init__` "
                                f"creates is shared by every request",
                                reqs,
                            )


def _assignments(node: cst.CSTNode):
    if isinstance(node, cst.Assign):
        for target in node.targets:
            yield target.target, node.value
    elif isinstance(node, cst.AnnAssign) and node.value is not None:
        yield node.target, node.value


def _module_level_instances(model: ModuleModel) -> dict[str, str]:
    """Classes of this module instantiated at import time: class name -> variable."""
    found: dict[str, str] = {}
    for stmt, in_main in model.top_statements:
        if in_main:
            continue
        for target, value in _assignments(stmt):
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
                if value.func.value in model.top_classes:
                    found[value.func.value] = dotted(target) or value.func.value
    return found
