from __future__ import annotations

import libcst as cst

from sessionlint.lint_rules.analysis import names as N
from sessionlint.lint_rules.analysis.module import FunctionInfo, ModuleModel, dotted
from sessionlint.lint_rules.analysis.walk import walk
from sessionlint.lint_rules.fixes.lifespan import on_event_fix
from sessionlint.lint_rules.model import Severity
from sessionlint.lint_rules.rule import Rule, RuleReporter, lazy_fix

# Classes whose instances take startup/shutdown handlers.
APP_CLASSES = frozenset(
    {
        "fastapi.FastAPI", "fastapi.applications.FastAPI", "fastapi.APIRouter",
        "fastapi.routing.APIRouter", "starlette.applications.Starlette",
        "starlette.routing.Router",
    }
)
_EVENTS = frozenset({"startup", "shutdown"})
_APP_ROOTS = frozenset({"fastapi", "starlette"})


class OnEventLifecycle(Rule):
    """## What it does
    Flags startup/shutdown handlers registered the deprecated way on a FastAPI or
    Starlette app or router: `@app.on_event("startup")`,
    `app.add_event_handler("shutdown", fn)`, and `FastAPI(on_startup=[...],
    on_shutdown=[...])`.

    ## Why is this bad?
    `lifespan` is "the recommended way" to create and dispose of shared resources
    such as the engine; the `startup`/`shutdown` events are "Alternative Events
    (deprecated)", and `on_event` warns since FastAPI 0.104:

    ```
    DeprecationWarning: on_event is deprecated, use lifespan event handlers instead.
    ```

    Worse, the two mechanisms don't mix: "If you provide a lifespan parameter,
    startup and shutdown event handlers will no longer be called". Adding a
    `lifespan=` later (or a library doing it) silently skips the handler that
    creates the tables or disposes the engine; nothing fails until the missing
    table or the leaked connections are noticed. Starlette 1.0 removed these APIs
    altogether (`AttributeError: 'Starlette' object has no attribute 'on_event'`,
    `TypeError: ... unexpected keyword argument 'on_startup'`).

    Engines and sessionmakers belong at module level or in `lifespan`; sessions are
    opened per request, never in a startup handler.

    ## Example
    ```python
    app = FastAPI()


    @app.on_event("startup")
    def create_tables():
        Base.metadata.create_all(engine)


    @app.on_event("shutdown")
    def dispose_engine():
        engine.dispose()
    ```

    ## Use instead
    ```python
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        Base.metadata.create_all(engine)
        yield
        engine.dispose()


    app = FastAPI(lifespan=lifespan)
    ```

    ## Fix safety
    An unsafe fix handles the common shape: `app = FastAPI(...)` in this module
    without `lifespan=`, and `@app.on_event(...)` handlers that are module-level
    functions without parameters. It keeps the handlers as plain functions,
    removes their decorators, adds a `lifespan` that awaits (or calls) them in
    registration order around `yield`, and passes `lifespan=lifespan`. It is
    unsafe because shutdown handlers now run only if startup completed, and
    handlers registered on the same app elsewhere keep the old mechanism, which
    stops running once `lifespan=` is set.
    """

    code = "SL017"
    name = "on-event-lifecycle"
    severity = Severity.WARNING
    screen_tokens = frozenset({"on_event", "add_event_handler", "on_startup", "on_shutdown"})

    def check(self, model: ModuleModel, report: RuleReporter) -> None:
        source = model.source
        if not any(token in source for token in self.screen_tokens):
            return
        with_lifespan = _apps_with_lifespan(model)
        fixes: dict[str, object] = {}  # per app: one memoised fix builder its handlers share
        if "on_event" in source:
            for func in model.functions:
                for deco in func.node.decorators:
                    expr = deco.decorator
                    if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)):
                        continue
                    if expr.func.attr.value != "on_event":
                        continue
                    event = _event_arg(expr, "event_type")
                    owner = expr.func.value
                    if event is None or not _is_app(model, owner, func.parent):
                        continue
                    app_name = dotted(owner)
                    if app_name and app_name not in fixes:
                        fixes[app_name] = lazy_fix(on_event_fix, model, app_name) if app_name not in with_lifespan else None
                    report(
                        expr,
                        _message(f'@{app_name or "app"}.on_event("{event}")', owner, with_lifespan),
                        fix=fixes.get(app_name or ""),
                    )
        if not ("add_event_handler" in source or "on_startup" in source or "on_shutdown" in source):
            return
        for node, func in _calls(model):
            callee = node.func
            if isinstance(callee, cst.Attribute) and callee.attr.value == "add_event_handler":
                event = _event_arg(node, "event_type")
                owner = callee.value
                if event is not None and _is_app(model, owner, func):
                    report(
                        node,
                        _message(f'{dotted(owner) or "app"}.add_event_handler("{event}", ...)', owner, with_lifespan),
                    )
                continue
            if model.resolve(callee) not in APP_CLASSES:
                continue
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value in ("on_startup", "on_shutdown"):
                    if isinstance(arg.value, cst.Name) and arg.value.value == "None":
                        continue
                    if _forwards_parameter(arg.value, func):
                        continue  # `FastAPI(on_startup=on_startup)` in a wrapper: its caller registers
                    has_lifespan = any(a.keyword is not None and a.keyword.value == "lifespan" for a in node.args)
                    text = f"`{arg.keyword.value}=`"
                    if has_lifespan:
                        message = (
                            f"{text} is ignored because this app also sets `lifespan=`: these handlers "
                            f"never run; move their code into the lifespan"
                        )
                    else:
                        message = (
                            f"{text} is deprecated (removed in Starlette 1.0); move the handlers into a "
                            f"`lifespan` context manager (once `lifespan=` is set, startup/shutdown "
                            f"handlers silently stop running)"
                        )
                    report(arg, message)


def _message(what: str, owner: cst.BaseExpression, with_lifespan: set[str]) -> str:
    if (dotted(owner) or "").split(".")[0] in with_lifespan:
        return (
            f"`{what}` never runs: this app sets `lifespan=`, and FastAPI then ignores "
            f"startup/shutdown handlers; move the code into the lifespan"
        )
    return (
        f"`{what}` is deprecated; move the code into a `lifespan` context manager "
        f"(`FastAPI(lifespan=...)`): once `lifespan=` is set, startup/shutdown handlers "
        f"silently stop running"
    )


def _event_arg(call: cst.Call, keyword: str) -> str | None:
    """The literal "startup"/"shutdown" of `on_event(...)` / `add_event_handler(...)`."""
    value = None
    for arg in call.args:
        if arg.keyword is None and not arg.star:
            value = arg.value
            break
        if arg.keyword is not None and arg.keyword.value == keyword:
            value = arg.value
            break
    if isinstance(value, cst.SimpleString) and value.evaluated_value in _EVENTS:
        return value.evaluated_value
    return None


def _is_app(model: ModuleModel, owner: cst.BaseExpression, func: FunctionInfo | None) -> bool:
    """Is `owner` (`app`, `router`, `app.router`, `self.app`) a FastAPI/Starlette app or router?"""
    name = dotted(owner)
    if name is None:
        return False
    head = name.split(".")[0]
    if name == "self" and _implements_events(func):
        return False  # the framework's own implementation (`APIRouter.include_router`)
    # A parameter annotated with the app class: `def register(app: FastAPI)`.
    scope = func
    while scope is not None:
        for param in scope.params:
            if param.name.value == head and param.annotation is not None:
                return model.resolve(param.annotation.annotation) in APP_CLASSES
        if head in scope.locals:
            value = scope.locals[head]
            if isinstance(value, cst.Call) and model.resolve(value.func) in APP_CLASSES:
                return True
        scope = scope.parent
    if "." not in name and head in model.top_values:
        value = model.top_values[head]
        if isinstance(value, cst.Call):
            callee = model.resolve(value.func) or ""
            if callee in APP_CLASSES:
                return True
            root = callee.split(".")[0]
            if root in N.KNOWN_LIBRARY_ROOTS and root not in _APP_ROOTS:
                return False  # `sio = socketio.AsyncServer()` and the like
            short = callee.rsplit(".", 1)[-1]
            if short[:1].isupper():  # `bus = EventBus()`: some other class ...
                cls = model.top_classes.get(short)
                # ... unless it is this module's FastAPI/Starlette subclass
                return cls is not None and any(b in APP_CLASSES for b in cls.bases)
    if model.imported_roots & _APP_ROOTS:
        return True
    if head in model.imports:  # `from app.main import app`: a project object
        return model.imports[head].split(".")[0] not in N.KNOWN_LIBRARY_ROOTS
    return False


def _apps_with_lifespan(model: ModuleModel) -> set[str]:
    """Module-level names bound to `FastAPI(..., lifespan=...)`."""
    out = set()
    if "lifespan" not in model.source:
        return out
    for name, value in model.top_values.items():
        if isinstance(value, cst.Call) and model.resolve(value.func) in APP_CLASSES:
            if any(a.keyword is not None and a.keyword.value == "lifespan" for a in value.args):
                out.add(name)
    return out


def _calls(model: ModuleModel):
    """Every call of the module, with the function it runs in (None: module level)."""
    for stmt, _ in model.top_statements:
        if isinstance(stmt, cst.BaseSmallStatement):
            for node in walk(stmt):
                if type(node) is cst.Call:
                    yield node, None
        else:
            for attr in ("test", "iter", "subject", "items"):
                part = getattr(stmt, attr, None)
                if part is None:
                    continue
                for root in part if isinstance(part, (list, tuple)) else [part]:
                    for node in walk(root):
                        if type(node) is cst.Call:
                            yield node, None
    for func in model.functions:
        for node in func.of_type(cst.Call):
            yield node, func
    for cls in model.classes:  # class bodies: `app = FastAPI(on_startup=[...])` in a class
        body = cls.node.body.body if isinstance(cls.node.body, cst.IndentedBlock) else []
        for line in body:
            if isinstance(line, cst.SimpleStatementLine):
                for small in line.body:
                    for node in walk(small):
                        if type(node) is cst.Call:
                            yield node, None


def _implements_events(func: FunctionInfo | None) -> bool:
    """Is `func` a method of a class that defines `add_event_handler`/`on_event` itself?"""
    while func is not None and func.cls is None:
        func = func.parent
    if func is None or func.cls is None:
        return False
    return any(m.name in ("add_event_handler", "on_event") for m in func.cls.methods)


def _forwards_parameter(value: cst.BaseExpression, func: FunctionInfo | None) -> bool:
    if not isinstance(value, cst.Name):
        return False
    scope = func
    while scope is not None:
        if any(p.name.value == value.value for p in scope.params):
            return True
        scope = scope.parent
    return False
