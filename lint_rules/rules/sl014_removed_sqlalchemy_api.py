from __future__ import annotations

import re

import libcst as cst

from sessionlint.lint_rules.analysis import names as N
from sessionlint.lint_rules.analysis.everywhere import everywhere, keyword
from sessionlint.lint_rules.analysis.module import FunctionInfo, ModuleModel, dotted
from sessionlint.lint_rules.model import Severity
from sessionlint.lint_rules.fixes.transforms import fix_builder
from sessionlint.lint_rules.rule import FixSpec, Rule, RuleReporter, lazy_fix

_DECLARATIVE = "sqlalchemy.ext.declarative"
# What `sqlalchemy.ext.declarative` still exports but warns about (MovedIn20Warning).
# `declared_attr`, `DeclarativeMeta` and the extensions (`ConcreteBase`,
# `AbstractConcreteBase`, `DeferredReflection`) are still at home there.
_MOVED = {
    "declarative_base": "sqlalchemy.orm",
    "as_declarative": "sqlalchemy.orm",
    "has_inherited_table": "sqlalchemy.orm",
    "synonym_for": "sqlalchemy.orm",
}
# Modules of the 1.3 declarative package that no longer exist at all.
_GONE_MODULES = frozenset({"sqlalchemy.ext.declarative.api", "sqlalchemy.ext.declarative.base"})
# A keyword argument this rule reports (a cheap test before looking at calls).
# (one pattern per name: a literal prefix keeps `re` fast on big files)
_KWARGS = tuple(re.compile(rf"{name}\s*=(?!=)") for name in ("autocommit", "subtransactions"))
# Every spelling that reaches `sqlalchemy.ext.declarative` has one of these.
_DECLARATIVE_SPELLINGS = ("ext.declarative", "ext import")
# Methods that took `subtransactions=` in 1.x.
_BEGIN_METHODS = frozenset({"begin", "begin_nested"})


class RemovedSqlalchemyApi(Rule):
    """## What it does
    Flags SQLAlchemy 1.x session APIs that 2.0 removed or moved:

    - `autocommit=` given to `sessionmaker(...)`, `Session(...)`, a session
      factory call or `.configure(...)`: `autocommit=True` is an error on 2.x,
      `autocommit=False` (the old FastAPI tutorial's line) is accepted but does
      nothing, so it is reported as dead legacy noise to delete;
    - `subtransactions=` on `session.begin(...)`;
    - `declarative_base` (and `as_declarative`, `has_inherited_table`,
      `synonym_for`) imported or used from `sqlalchemy.ext.declarative`, and
      imports from the 1.3-only `sqlalchemy.ext.declarative.api`.

    `autocommit=True` on a DB-API connection (`psycopg.connect`,
    `pymysql.connect`), `create_engine(..., isolation_level="AUTOCOMMIT")` and
    `sqlalchemy.orm.declarative_base` / `DeclarativeBase` are current APIs and are
    not flagged.

    ## Why is this bad?
    These lines fail on SQLAlchemy 2.x, or warn and will fail on a later release:

    ```
    sqlalchemy.exc.ArgumentError: autocommit=True is no longer supported
    TypeError: Session.begin() got an unexpected keyword argument 'subtransactions'
    MovedIn20Warning: The ``declarative_base()`` function is now available as
    sqlalchemy.orm.declarative_base(). (deprecated since: 2.0)
    ```

    `autocommit=True` fails when the first session is created, i.e. at the first
    request, not at import. The session now always "autobegins" a transaction
    that lasts until `commit()`/`rollback()`/`close()`; nested `begin()` blocks
    are spelled `begin_nested()` (a SAVEPOINT). `autocommit=False` is harmless
    but misleads readers into thinking there is a mode to choose.

    ## Example
    ```python
    from sqlalchemy.ext.declarative import declarative_base

    SessionLocal = sessionmaker(autocommit=False, autoflush=False, bind=engine)
    Base = declarative_base()


    def transfer(db: Session):
        with db.begin(subtransactions=True):
            ...
    ```

    ## Use instead
    ```python
    from sqlalchemy.orm import declarative_base

    SessionLocal = sessionmaker(autoflush=False, bind=engine)
    Base = declarative_base()


    def transfer(db: Session):
        with db.begin_nested():
            ...
    ```

    ## Fix safety
    Two safe fixes: importing `declarative_base` (and the other moved
    names) from `sqlalchemy.orm` gives the very same function without the
    warning — the `ext.declarative` one is a thin wrapper around it (true on
    SQLAlchemy 1.4 and later, where `sqlalchemy.orm.declarative_base` exists) —
    and deleting `autocommit=False` removes an argument 2.x accepts only to
    ignore (and that was 1.x's default), so behaviour is unchanged.
    `autocommit=True` and `subtransactions=` have no automatic fix: they need
    the code's transaction boundaries rethought (`commit()` calls, or
    `begin_nested()`), which a tool cannot infer.
    """

    code = "SL014"
    name = "removed-sqlalchemy-api"
    severity = Severity.ERROR
    screen_tokens = frozenset({"autocommit", "subtransactions", "declarative"})
    # The two gates `check` starts with: without one of these the rule can't fire.
    screen_patterns = tuple(p.pattern for p in _KWARGS) + tuple(re.escape(s) for s in _DECLARATIVE_SPELLINGS)

    def check(self, model: ModuleModel, report: RuleReporter) -> None:
        source = model.source
        if not source or any(pattern.search(source) for pattern in _KWARGS):
            for call, func in everywhere(model, cst.Call):
                self._call(model, call, func, report)
        if not source or any(spelling in source for spelling in _DECLARATIVE_SPELLINGS):
            self._declarative(model, report)

    # ------------------------------------------------------------------ kwargs
    def _call(self, model: ModuleModel, call: cst.Call, func: FunctionInfo | None, report: RuleReporter) -> None:
        subject = func.qualname if func is not None else None
        sub = keyword(call, "subtransactions")
        if sub is not None and isinstance(call.func, cst.Attribute) and call.func.attr.value in _BEGIN_METHODS:
            report(
                sub,
                "`subtransactions=` was removed in SQLAlchemy 2.0 (TypeError: Session.begin() got an "
                "unexpected keyword argument 'subtransactions'); use `begin_nested()` for a nested "
                "block, or commit at the outermost level only",
                (),
                subject,
            )
        arg = keyword(call, "autocommit")
        if arg is None:
            return
        requires = _session_call(model, call, func)
        if requires is None:
            return
        value = arg.value
        if isinstance(value, cst.Name) and value.value == "False":
            message = (
                "`autocommit=False` is a no-op since SQLAlchemy 2.0 (autocommit mode was removed; "
                "sessions always autobegin): delete the argument (legacy noise, harmless)"
            )
        elif isinstance(value, cst.Name) and value.value == "True":
            message = (
                "`autocommit=True` was removed in SQLAlchemy 2.0: creating the session raises "
                "`ArgumentError: autocommit=True is no longer supported`; drop it and call "
                "`commit()` (or frame work in `with session.begin():`)"
            )
        else:
            message = (
                "`autocommit=` was removed in SQLAlchemy 2.0: a true value raises `ArgumentError: "
                "autocommit=True is no longer supported`, a false one does nothing; drop the argument"
            )
        fix = lazy_fix(_drop_argument, call, arg) if isinstance(value, cst.Name) and value.value == "False" else None
        report(arg, message, requires, subject, fix)

    # ------------------------------------------------------------- declarative
    def _declarative(self, model: ModuleModel, report: RuleReporter) -> None:
        for node, func in everywhere(model, cst.ImportFrom):
            if node.relative or node.module is None:
                continue
            module = dotted(node.module)
            if module in _GONE_MODULES:
                report(
                    node,
                    f"`{module}` no longer exists (ModuleNotFoundError on SQLAlchemy 1.4+); import "
                    f"declarative names from `sqlalchemy.orm`",
                    (),
                    func.qualname if func is not None else None,
                )
                continue
            if module != _DECLARATIVE or isinstance(node.names, cst.ImportStar):
                continue
            fix = lazy_fix(_move_import, node)  # one fix, shared by the node's aliases
            for alias in node.names:
                name = dotted(alias.name)
                if name in _MOVED:
                    report(alias, _moved_message(name), (), func.qualname if func is not None else None, fix)
        # `import sqlalchemy.ext.declarative [as decl]` / `from sqlalchemy.ext import declarative`
        # and then `decl.declarative_base(...)`: report the use.
        if not any(target == _DECLARATIVE or target.startswith(_DECLARATIVE + ".") or target == "sqlalchemy"
                   for target in model.imports.values()):
            return
        for node, func in everywhere(model, cst.Attribute):
            if node.attr.value not in _MOVED:
                continue
            qualname = model.resolve(node)
            if qualname is not None and qualname == f"{_DECLARATIVE}.{node.attr.value}":
                report(node, _moved_message(node.attr.value), (), func.qualname if func is not None else None)


@fix_builder
def _drop_argument(call: cst.Call, arg: cst.Arg) -> FixSpec:
    """Delete `autocommit=False`; the argument before it inherits its comma.
    Not offered when a comment sits on the argument's line (it would be lost)."""
    if "#" in cst.Module([]).code_for_node(arg):
        return None
    args = list(call.args)
    index = next(i for i, a in enumerate(args) if a is arg)
    if index == len(args) - 1 and index > 0:
        args[index - 1] = args[index - 1].with_changes(comma=arg.comma)
    del args[index]
    return FixSpec("Remove the no-op `autocommit=False`", "safe", [(call, call.with_changes(args=args))])


@fix_builder
def _move_import(node: cst.ImportFrom) -> FixSpec | None:
    """`from sqlalchemy.ext.declarative import declarative_base` -> `from sqlalchemy.orm ...`,
    when every imported name moved to the same module."""
    targets = {_MOVED.get(dotted(alias.name) or "") for alias in node.names}
    if len(targets) != 1 or None in targets:
        return None
    (target,) = targets
    return FixSpec(
        f"Import from `{target}`",
        "safe",
        [(node.module, cst.parse_expression(target))],
    )


def _moved_message(name: str) -> str:
    return (
        f"`sqlalchemy.ext.declarative.{name}` moved to `{_MOVED[name]}.{name}` in SQLAlchemy 2.0 "
        f"(MovedIn20Warning, removal pending); import it from `{_MOVED[name]}`"
    )


def _session_call(model: ModuleModel, call: cst.Call, func: FunctionInfo | None):
    """Requirements under which `call` builds or configures a session (None: it doesn't).

    `sessionmaker(...)`, `Session(...)`/`AsyncSession(...)` (or a subclass of
    them defined here), a factory called with per-session options
    (`SessionLocal(autocommit=...)`) and `SessionLocal.configure(...)`.
    """
    target = call.func
    if isinstance(target, cst.Attribute) and target.attr.value == "configure":
        return model.factory(target.value, func, makers_only=True)
    qualname = model.resolve(target)
    if qualname in N.SESSION_MAKERS or qualname in N.SESSION_CLASSES:
        return ()
    return model.factory(target, func, makers_only=True)
