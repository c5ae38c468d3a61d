from __future__ import annotations

import functools
from collections.abc import Callable

import libcst as cst

from sessionlint.lint_rules.analysis import names as N
from sessionlint.lint_rules.analysis.everywhere import everywhere, has_star_kwargs, keyword
from sessionlint.lint_rules.analysis.module import ModuleModel, dotted
from sessionlint.lint_rules.model import Severity
from sessionlint.lint_rules.fixes.transforms import fix_builder
from sessionlint.lint_rules.rule import FixSpec, Rule, RuleReporter, lazy_fix

_ASYNC_MAKERS = frozenset(
    {"sqlalchemy.ext.asyncio.async_sessionmaker", "sqlalchemy.ext.asyncio.session.async_sessionmaker"}
)
_SYNC_MAKERS = N.SESSION_MAKERS - _ASYNC_MAKERS


class AsyncExpireOnCommit(Rule):
    """## What it does
    Flags an `AsyncSession` factory or constructor that keeps the default
    `expire_on_commit=True`: `async_sessionmaker(...)`, `AsyncSession(...)` (and
    subclasses, SQLModel's included) and `sessionmaker(..., class_=AsyncSession)`
    without `expire_on_commit=False`.

    ## Why is this bad?
    `commit()` expires every object the session holds, so the next attribute
    access has to reload it from the database. A synchronous session does that
    transparently; an `AsyncSession` cannot run implicit IO from a plain attribute
    access and raises instead:

    ```
    sqlalchemy.exc.MissingGreenlet: greenlet_spawn has not been called; can't call
    await_only() here. Was IO attempted in an unexpected place?
    ```

    The classic trigger is a route that commits and returns the ORM object: FastAPI
    reads its attributes while serialising the response, and the client gets a 500
    (`ResponseValidationError ... Error extracting attribute: StatementError:
    (sqlalchemy.exc.MissingGreenlet) ...`). It is deterministic, not a race, and
    SQLAlchemy's asyncio documentation says `expire_on_commit` "should normally be
    set to False when using asyncio".

    The rule is about the factory's configuration, so it does not try to prove
    that every `commit()` is followed by `await session.refresh(obj)` (that would
    need every caller, in every file): code that refreshes religiously is correct
    but one forgotten refresh away from the 500. If the default is deliberate, say
    so with `# noqa: SL013`. A factory whose options come from `**kwargs`, or whose
    `expire_on_commit=` is a variable, is not flagged (the value is unknown), nor is
    one reconfigured later with `.configure(expire_on_commit=False)`.

    ## Example
    ```python
    AsyncSessionLocal = async_sessionmaker(engine)


    @router.post("/items", response_model=ItemOut)
    async def create_item(item_in: ItemIn, db: AsyncSession = Depends(get_db)):
        item = Item(**item_in.model_dump())
        db.add(item)
        await db.commit()
        return item  # MissingGreenlet while serialising
    ```

    ## Use instead
    ```python
    AsyncSessionLocal = async_sessionmaker(engine, expire_on_commit=False)
    ```

    ## Fix safety
    The fix adds `expire_on_commit=False` to the call (or turns `=True` into
    `=False`). It is safe for the
    usual per-request (or per-task) session that commits and is then closed.
    Under asyncio an expired attribute cannot be loaded by plain access, so
    working code can only notice the change by *re-reading through the same
    session after a commit*:

    - plain access to an expired attribute raises MissingGreenlet today; after
      the fix it returns the value the code itself just wrote (crash → works);
    - `await session.refresh(obj)` always reloads, with either setting;
    - objects used after `close()` raise DetachedInstanceError today; after the
      fix they keep their loaded values;
    - only a *later query or `get()` in the same session*, or
      `await obj.awaitable_attrs.x`, after a commit behaves differently: it
      returns the identity map's values instead of reloading the row, so changes
      made meanwhile by other transactions or by triggers are not seen.

    So the fix is offered as safe when the session is not reused for reads after
    a commit (the FastAPI dependency pattern, `async with factory() as s:` per
    task), and as unsafe when the reported file itself re-reads after a commit or
    uses `awaitable_attrs`; such code should call `refresh()` or use
    `populate_existing` explicitly where it needs fresh rows.
    """

    code = "SL013"
    name = "async-expire-on-commit"
    severity = Severity.WARNING
    screen_tokens = frozenset({"async_sessionmaker", "AsyncSession"})

    def check(self, model: ModuleModel, report: RuleReporter) -> None:
        source = model.source
        if source and "async_sessionmaker" not in source and "AsyncSession" not in source:
            return
        async_classes = _async_session_classes(model)
        # Does this file read again after a commit?  Only the fix's applicability
        # depends on it: computed (once) when a fix is first built.
        rereads = functools.cache(functools.partial(_rereads_after_commit, model))
        reconfigured = _reconfigured(model) if "configure" in source or not source else set()
        for call, func in everywhere(model, cst.Call):
            qualname = model.resolve(call.func)
            if qualname is None:
                continue
            if qualname in _ASYNC_MAKERS:
                what = "`async_sessionmaker(...)`"
            elif qualname in async_classes:
                what = f"`{qualname.rsplit('.', 1)[-1]}(...)`"
            elif qualname in _SYNC_MAKERS:
                class_ = keyword(call, "class_")
                if class_ is None or model.resolve(class_.value) not in async_classes:
                    continue  # a synchronous sessionmaker refreshes expired objects itself
                what = "`sessionmaker(..., class_=AsyncSession)`"
            else:
                continue
            if has_star_kwargs(call):
                continue  # the options come from elsewhere: unknown
            arg = keyword(call, "expire_on_commit")
            if arg is not None and not _is_true(arg.value):
                continue  # False, or a value we cannot know
            target = _assigned_name(call, func, model)
            if target is not None and target in reconfigured:
                continue
            explicit = "sets `expire_on_commit=True`" if arg is not None else "keeps the default `expire_on_commit=True`"
            report(
                call,
                f"{what} {explicit}: after `await session.commit()` every loaded object is expired, "
                f"and the next attribute access (e.g. FastAPI serialising the returned object) raises "
                f"MissingGreenlet; pass `expire_on_commit=False`",
                (),
                func.qualname if func is not None else None,
                lazy_fix(_fix, call, arg, rereads),
            )


def _async_session_classes(model: ModuleModel) -> set[str]:
    """AsyncSession's qualified names, plus this file's subclasses of it."""
    found = set(N.ASYNC_SESSION_CLASSES)
    changed = True
    while changed:
        changed = False
        for cls in model.classes:
            qualname = f"{model.module}.{cls.name}" if model.module else cls.name
            if cls.name in model.top_classes and qualname not in found and any(b in found for b in cls.bases):
                found.add(qualname)
                changed = True
    return found


def _is_true(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"


def _reconfigured(model: ModuleModel) -> set[str]:
    """Names later given `X.configure(expire_on_commit=False)`."""
    out: set[str] = set()
    for call, _ in everywhere(model, cst.Call):
        if isinstance(call.func, cst.Attribute) and call.func.attr.value == "configure":
            arg = keyword(call, "expire_on_commit")
            if arg is not None and not _is_true(arg.value):
                name = dotted(call.func.value)
                if name is not None:
                    out.add(name)
    return out


def _assigned_name(call: cst.Call, func, model: ModuleModel) -> str | None:
    """The name a factory call is bound to (`SessionLocal = async_sessionmaker(...)`)."""
    values = func.locals if func is not None else model.top_values
    for name, value in values.items():
        if value is call:
            return name
    return None


# Session methods that read through the identity map after a commit.
_READS = frozenset({"get", "execute", "scalar", "scalars", "stream", "stream_scalars", "query", "merge"})


def _rereads_after_commit(model: ModuleModel) -> bool:
    """Does any function of this file read through a session after committing it,
    or use `awaitable_attrs`?  Then expiring (or not) changes what it sees."""
    if "awaitable_attrs" in model.source:
        return True
    for func in model.functions:
        committed: set[str] = set()
        for call in func.of_type(cst.Call):
            if not isinstance(call.func, cst.Attribute):
                continue
            owner, method = dotted(call.func.value), call.func.attr.value
            if owner is None:
                continue
            if method == "commit":
                committed.add(owner)
            elif method in _READS and owner in committed:
                return True
    return False


@fix_builder
def _fix(call: cst.Call, arg: cst.Arg | None, rereads: Callable[[], bool]) -> FixSpec:
    false = cst.Name("False")
    if arg is not None:
        new_call = call.with_changes(args=[a.with_changes(value=false) if a is arg else a for a in call.args])
    else:
        args = list(call.args)
        new_arg = cst.Arg(
            keyword=cst.Name("expire_on_commit"),
            value=false,
            equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
        )
        if args:
            last = args[-1]
            trailing = last.comma
            args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            if isinstance(trailing, cst.Comma):  # a multi-line call with a trailing comma keeps its shape
                args[-1] = last.with_changes(comma=trailing)
                new_arg = new_arg.with_changes(comma=cst.Comma())
        new_call = call.with_changes(args=[*args, new_arg])
    return FixSpec(
        "Pass `expire_on_commit=False`",
        "unsafe" if rereads() else "safe",
        [(call, new_call)],
    )
