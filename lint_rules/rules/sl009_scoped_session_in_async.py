from __future__ import annotations

import libcst as cst

from sessionlint.lint_rules.analysis import names as N
from sessionlint.lint_rules.analysis import request_scope as R
from sessionlint.lint_rules.analysis.module import FunctionInfo, ModuleModel, call_name, dotted, receiver
from sessionlint.lint_rules.analysis.walk import walk
from sessionlint.lint_rules.model import Severity
from sessionlint.lint_rules.rule import Rule, RuleReporter

_ASYNC_REGISTRIES = frozenset(
    {"sqlalchemy.ext.asyncio.async_scoped_session", "sqlalchemy.ext.asyncio.scoping.async_scoped_session"}
)
# `scopefunc=` values that are the thread-local default again.
_THREAD_SCOPES = frozenset(
    {"threading.get_ident", "_thread.get_ident", "threading.current_thread", "threading.currentThread"}
)


class ScopedSessionInAsync(Rule):
    """## What it does
    Flags a thread-local `scoped_session(...)` registry in a FastAPI/Starlette (or
    other asyncio) application module, or one handed out by a FastAPI-style yield
    dependency; and an `async_scoped_session(...)` registry whose `remove()` is
    never awaited in the module.

    ## Why is this bad?
    `scoped_session` keys its sessions by thread (`threading.local()`), which
    "makes the significant assumption that the web framework associates web
    requests with application threads". FastAPI does not: every `async def`
    endpoint runs on the one event-loop thread, so all concurrent async requests
    get **the same session** (a global session in disguise), and `def`
    endpoints, their dependencies and the dependencies' teardown run on
    different, reused worker threads, so `remove()` clears the wrong request's
    session and state leaks between requests. The symptoms are those of a shared
    session:

    ```
    sqlalchemy.exc.IllegalStateChangeError: Method 'commit()' can't be called here;
    method 'commit()' is already in progress ...
    sqlalchemy.exc.InvalidRequestError: This session is in 'prepared' state; no further
    SQL can be emitted within this transaction.
    sqlalchemy.orm.exc.DetachedInstanceError: Instance <User at 0x...> is not bound to a Session
    ```

    `async_scoped_session(..., scopefunc=asyncio.current_task)` keys by task, but
    "`remove()` must be awaited from within the outermost awaitable ... otherwise
    the task handle as well as the AsyncSession will remain in memory, essentially
    creating a memory leak" (SQLAlchemy docs); without it connections also stay
    "idle in transaction". A `scoped_session` with a custom `scopefunc=` (for
    example a request-id context variable) is judged the same way: flagged only
    when its `remove()` is never called in the module.

    Not flagged: Flask apps that call `remove()` in `@app.teardown_appcontext`
    (Flask serves one request per thread), and Celery tasks or scripts, i.e.
    modules that import no asyncio web framework and define no `async def` route.
    Test modules are skipped.

    ## Example
    ```python
    Session = scoped_session(sessionmaker(bind=engine))


    @app.get("/items")
    async def items():
        return Session.scalars(select(Item)).all()
    ```

    ## Use instead
    ```python
    SessionLocal = sessionmaker(bind=engine)


    def get_db():
        with SessionLocal() as db:
            yield db


    @app.get("/items")
    def items(db: Session = Depends(get_db)):
        return db.scalars(select(Item)).all()
    ```

    ## Fix safety
    No automatic fix yet: every use of the registry (`Session.query`,
    `Session.remove()`) has to be rewritten to a session passed in.
    """

    code = "SL009"
    name = "scoped-session-in-async"
    severity = Severity.ERROR
    screen_tokens = frozenset({"scoped_session"})

    def check(self, model: ModuleModel, report: RuleReporter) -> None:
        if "scoped_session" not in model.source or R.is_test_module(model):
            return
        registries: list[tuple[cst.Call, str | None, bool]] = []  # (call, bound to, async?)
        bound: dict[int, str] = {}
        removes: list[tuple[str | None, bool]] = []  # (receiver, awaited?)
        for node in walk(model.tree, enter_scopes=True):
            kind = type(node)
            if kind is cst.Assign:
                for target in node.targets:
                    name = dotted(target.target)
                    if name:
                        bound[id(node.value)] = name
            elif kind is cst.AnnAssign and node.value is not None:
                name = dotted(node.target)
                if name:
                    bound[id(node.value)] = name
            elif kind is cst.Await:
                if call_name(node.expression) == "remove":
                    removes.append((receiver(node.expression), True))
            elif kind is cst.Call:
                if call_name(node) == "remove":
                    removes.append((receiver(node), False))
                    continue
                qualname = model.resolve(node.func)
                if qualname in N.SCOPED_REGISTRIES:
                    registries.append((node, None, qualname in _ASYNC_REGISTRIES))
        if not registries:
            return
        app_module = self._async_app(model)
        for call, _, is_async in registries:
            name = bound.get(id(call))
            # An async registry keyed by thread (`scopefunc=threading.get_ident`) is the
            # thread-local registry again: judged below like `scoped_session`.
            if (is_async and not _thread_scope(model, call)) or _custom_scope(model, call):
                awaited_only = is_async
                if any(_same_registry(rec, name) and (awaited or not awaited_only) for rec, awaited in removes):
                    continue
                how = "`await {0}.remove()`" if is_async else "`{0}.remove()`"
                report(
                    call,
                    f"`{name or 'this registry'}` is never cleared: without "
                    f"{how.format(name or 'registry')} at the end of each request (a middleware or "
                    f"the dependency's `finally:`) its sessions and their connections stay in memory, "
                    f"idle in transaction; prefer a per-request session from a yield dependency",
                )
                continue
            reason = app_module or self._yield_dependency(model, name)
            if reason is None:
                continue
            registry = "`async_scoped_session(scopefunc=<thread id>)`" if is_async else "`scoped_session`"
            report(
                call,
                f"{registry} keys sessions by thread, but {reason}: concurrent requests "
                f"share one session and its state leaks between them; open a session per "
                f"request in a yield dependency (`with SessionLocal() as db: yield db`)",
            )

    def _async_app(self, model: ModuleModel) -> str | None:
        for root in ("fastapi", "starlette", "quart", "sanic", "litestar"):
            if root in model.imported_roots:
                return f"this {root} app serves many requests on one thread"
        if "aiohttp" in model.imported_roots and (  # the server, not the HTTP client
            "aiohttp.web" in model.source or any(v.startswith("aiohttp.web") for v in model.imports.values())
        ):
            return "this aiohttp app serves many requests on one thread"
        for func in model.functions:
            if func.is_async and model.is_route(func):
                if "flask" in model.imported_roots and _flask_teardown_removes(model):
                    return None
                return f"`async def {func.name}` serves many requests on one thread"
        return None

    def _yield_dependency(self, model: ModuleModel, registry: str | None) -> str | None:
        """A FastAPI-style yield dependency handing out the registry's session."""
        if registry is None or "." in registry or "yield" not in model.source:
            return None
        for func in model.functions:
            if not func.is_generator or R.is_context_manager(func) or _is_fixture(func):
                continue
            if func.name in R.scan(model).wrapped_as_cm:
                continue
            if any(_hands_out(func, node.value, registry) for node in func.of_type(cst.Yield)):
                return (
                    f"yield dependency `{func.name}` hands it out per request and FastAPI runs "
                    f"requests on shared threads"
                )
        return None


def _is_fixture(func: FunctionInfo) -> bool:
    return func.has_decorator(N.PYTEST_FIXTURES, "fixture")


def _hands_out(func: FunctionInfo, value, registry: str) -> bool:
    """`yield Session()`, `yield Session`, or `db = Session(); ...; yield db`."""
    if not isinstance(value, cst.BaseExpression):
        return False
    if dotted(value) == registry:
        return True
    if isinstance(value, cst.Call) and dotted(value.func) == registry:
        return True
    if isinstance(value, cst.Name) and value.value in func.locals:
        local = func.locals[value.value]
        return isinstance(local, cst.Call) and dotted(local.func) == registry
    return False


def _scopefunc(call: cst.Call) -> cst.BaseExpression | None:
    """The registry's `scopefunc`: by keyword, or the second positional argument
    (`scoped_session(factory, scopefunc)`, `async_scoped_session(factory, scopefunc)`)."""
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "scopefunc":
            return arg.value
    return positional[1].value if len(positional) > 1 else None


def _custom_scope(model: ModuleModel, call: cst.Call) -> bool:
    scopefunc = _scopefunc(call)
    if scopefunc is None or (isinstance(scopefunc, cst.Name) and scopefunc.value == "None"):
        return False
    return model.resolve(scopefunc) not in _THREAD_SCOPES


def _thread_scope(model: ModuleModel, call: cst.Call) -> bool:
    """`scopefunc=threading.get_ident` (or another thread identity)."""
    scopefunc = _scopefunc(call)
    return scopefunc is not None and model.resolve(scopefunc) in _THREAD_SCOPES


def _same_registry(rec: str | None, name: str | None) -> bool:
    if rec is None:
        return False
    if name is None:
        return True  # an unnamed registry: any `remove()` in the module may be its
    return rec == name or rec.rsplit(".", 1)[-1] == name.rsplit(".", 1)[-1]


def _flask_teardown_removes(model: ModuleModel) -> bool:
    """`@app.teardown_appcontext` / `@app.teardown_request` handlers that call `remove()`."""
    registered: set[str] = set()
    for stmt, _ in model.top_statements:
        for node in walk(stmt):
            if isinstance(node, cst.Call) and call_name(node) in ("teardown_appcontext", "teardown_request"):
                for arg in node.args:
                    name = dotted(arg.value)
                    if name:
                        registered.add(name)
    for func in model.functions:
        teardown = func.name in registered or any(
            (d or "").endswith((".teardown_appcontext", ".teardown_request")) for d in func.decorators
        )
        if teardown and func.calls("remove"):
            return True
    return False
