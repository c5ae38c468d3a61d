"""SL001's fix: replace a global session with a per-request dependency.

The six steps a person would take, done by a tool:

1. create (or reuse) a `get_<name>` generator dependency beside the factory;
2. give every route that used the global a `<name>: Session = Depends(get_<name>)`
   parameter (or the module's `Annotated[Session, Depends(...)]` alias);
3. keep the uses: the parameter has the global's name, so `db.add(...)` now means
   the request's session;
4. drop statements that only managed the global's own lifecycle (`db.close()` at
   shutdown, `db.bind = engine` at startup): per-request sessions don't need them;
5. in every other module that imported the global, import the dependency instead
   and do steps 2–4 there;
6. remove the global.

Any other use of the global (a helper that is not a route, module-level code)
blocks the fix: rewriting callers' signatures is a refactoring for a person to
decide.  The fix is unsafe: routes get a new parameter, and whatever relied on
state shared between requests (the very bug) changes behaviour.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from sessionlint.lint_rules.analysis import names as N
from sessionlint.lint_rules.analysis.session_kinds import awaits, factory_kind
from sessionlint.lint_rules.analysis.module import FunctionInfo, ModuleModel, dotted
from sessionlint.lint_rules.fixes.transforms import fix_builder, import_replacements, statement
from sessionlint.lint_rules.rule import FixSpec, lazy_fix

# Statements that only manage the global's own lifecycle, by method or attribute.
_LIFECYCLE_METHODS = frozenset({"close", "expunge_all", "remove", "invalidate"})
_LIFECYCLE_ATTRIBUTES = frozenset({"bind"})


def dependency_name(global_name: str) -> str:
    return "get_" + (global_name.lstrip("_") or "db")


class _Blocked(Exception):
    """The fix can't be made safely enough to offer."""


@fix_builder
def primary_fix(model: ModuleModel, line: cst.SimpleStatementLine, name: str, ctor: cst.Call) -> FixSpec | None:
    """The fix for `name = <ctor>` at module level in the defining module."""
    try:
        is_async = awaits(factory_kind(model, ctor.func))
        if is_async is None:
            is_async = _awaited(model, name)
        dep = dependency_name(name)
        replacements: list[tuple[cst.CSTNode, object]] = []
        existing = model.symbol(dep) if (dep in model.top_defs or dep in model.top_values or dep in model.imports) else None
        if existing is not None and existing.kind != "session_gen":
            raise _Blocked
        if dep in model.top_values or dep in model.imports:
            raise _Blocked
        if existing is None and dep in model.top_defs:
            raise _Blocked  # a `get_db` that is not a session generator
        if existing is None:
            code = cst.Module([]).code_for_node(ctor)
            if is_async:
                text = f"async def {dep}():\n    async with {code} as {name}:\n        yield {name}\n"
            else:
                text = f"def {dep}():\n    with {code} as {name}:\n        yield {name}\n"
            # The global's comments stay, above the dependency that replaces it.
            comments = [*line.leading_lines, *_trailing_comment(line)]
            new_def = statement(text).with_changes(leading_lines=comments)
            replacements.append((line, new_def))
        else:
            replacements.append((line, cst.RemovalSentinel.REMOVE))
        skip = {id(n) for n in _walk_small(line)}
        replacements += _rewrite_uses(model, name, name, dep, is_async, skip)
        return FixSpec(
            f"Replace the global session `{name}` with a per-request `Depends({dep})`",
            "unsafe",
            replacements,
        )
    except _Blocked:
        return None


def companion_fixes(model: ModuleModel) -> list[tuple[str, str, Callable[[], FixSpec | None]]]:
    """For each name imported with `from X import <name>` that may be another
    module's global session: (qualname, local name, a zero-argument builder of
    the edits for this module, which returns None when this module blocks the
    fix).  Whether a name is listed never depends on its fix, so the fix is
    built only when asked for (see `RawCandidate.fix`)."""
    out = []
    receivers: set[str] | None = None  # computed once, for the first candidate name
    for stmt, in_main in model.top_statements:
        if not isinstance(stmt, cst.ImportFrom) or isinstance(stmt.names, cst.ImportStar):
            continue
        for alias in stmt.names:
            if not isinstance(alias.name, cst.Name):
                continue
            local = alias.asname.name.value if alias.asname is not None else alias.name.value
            qualname = model.imports.get(local)
            if qualname is None or qualname.split(".")[0] in N.KNOWN_LIBRARY_ROOTS:
                continue
            if receivers is None:
                receivers = _method_receivers(model)
            if local not in receivers:
                continue  # no method is called on it: not used as a session
            # `_companion` is a `fix_builder`: `_Blocked` (or any failure) gives None.
            out.append((qualname, local, lazy_fix(_companion, model, stmt, alias, local, qualname.rsplit(".", 1)[-1])))
    return out


@fix_builder
def _companion(model, stmt: cst.ImportFrom, alias: cst.ImportAlias, local: str, imported: str) -> FixSpec:
    dep = dependency_name(imported)
    is_async = _awaited(model, local)
    names = list(stmt.names)
    already = any(isinstance(a.name, cst.Name) and a.name.value == dep and a.asname is None for a in names)
    if dep in model.imports and not already:
        raise _Blocked
    index = names.index(alias)
    if already:
        names.pop(index)
        if not names:
            raise _Blocked
        last = names[-1]
        names[-1] = last.with_changes(comma=cst.MaybeSentinel.DEFAULT)
    else:
        names[index] = cst.ImportAlias(name=cst.Name(dep), comma=alias.comma)
    replacements: list[tuple[cst.CSTNode, object]] = [(stmt, stmt.with_changes(names=names))]
    replacements += _rewrite_uses(model, local, local, dep, is_async, skip=set())
    return FixSpec(f"Use `Depends({dep})` instead of the imported global `{local}`", "unsafe", replacements)


# ---------------------------------------------------------------------------- uses
def _rewrite_uses(model, global_name: str, param_name: str, dep: str, is_async: bool, skip: set[int]):
    replacements: list[tuple[cst.CSTNode, object]] = []
    touched_routes = 0
    for func in model.functions:
        if _shadowed(func, global_name):
            continue
        uses = [n for n in func.of_type(cst.Name) if n.value == global_name and id(n) not in skip]
        if not uses:
            continue
        if model.is_route(func):
            replacements.append(_add_parameter(model, func, param_name, dep, is_async))
            touched_routes += 1
            continue
        replacements += _lifecycle_removals(func.node.body, global_name, uses)
    # Module-level uses other than the definition and imports.
    for stmt, _ in model.top_statements:
        if isinstance(stmt, (cst.Import, cst.ImportFrom)) or id(stmt) in skip:
            continue
        if isinstance(stmt, cst.BaseSmallStatement) and any(
            isinstance(n, cst.Name) and n.value == global_name for n in _walk_small(stmt)
        ):
            raise _Blocked
    replacements += _ensure_imports(model, dep, is_async, touched_routes)
    return replacements


def _lifecycle_removals(body: cst.BaseSuite, name: str, uses: list[cst.Name]):
    """Remove the statements that only manage the global; anything else blocks.

    Statements are replaced one by one (never whole blocks, so removals in nested
    blocks compose).  Their comments are kept: they move onto the next statement
    of the block (or the previous one, at the end of a block), or onto a `pass`
    left in a block that would otherwise be empty.
    """
    replacements: list[tuple[cst.CSTNode, object]] = []
    covered: set[int] = set()
    for block in _blocks(body):
        statements = list(block.body)
        doomed = [
            index
            for index, stmt in enumerate(statements)
            if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and _is_lifecycle(stmt.body[0], name)
        ]
        if not doomed:
            continue
        for index in doomed:
            covered.update(id(n) for n in _walk_small(statements[index]))
        kept = [i for i in range(len(statements)) if i not in doomed]
        comments: dict[int, list[cst.EmptyLine]] = {}
        for index in doomed:
            moved = list(statements[index].leading_lines) + _trailing_comment(statements[index])
            after = [i for i in kept if i > index]
            target = after[0] if after else (kept[-1] if kept else None)
            comments.setdefault(target if target is not None else -1, []).extend(moved)
        for index in doomed:
            replacements.append((statements[index], cst.RemovalSentinel.REMOVE))
        for index, moved in comments.items():
            if index == -1:  # every statement of the block goes: leave a `pass`
                replacements[-1] = (statements[doomed[-1]], statement("pass").with_changes(leading_lines=moved))
                continue
            stmt = statements[index]
            lines = [*moved, *stmt.leading_lines] if index > doomed[0] else [*stmt.leading_lines, *moved]
            replacements.append((stmt, stmt.with_changes(leading_lines=lines)))
    if any(id(use) not in covered for use in uses):
        raise _Blocked
    return replacements


def _trailing_comment(stmt: cst.SimpleStatementLine) -> list[cst.EmptyLine]:
    comment = stmt.trailing_whitespace.comment
    return [cst.EmptyLine(comment=comment)] if comment is not None else []


def _is_lifecycle(small: cst.BaseSmallStatement, name: str) -> bool:
    if isinstance(small, cst.Expr):
        call = small.value.expression if isinstance(small.value, cst.Await) else small.value
        return (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and dotted(call.func.value) == name
            and call.func.attr.value in _LIFECYCLE_METHODS
        )
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
        return (
            isinstance(target, cst.Attribute)
            and dotted(target.value) == name
            and target.attr.value in _LIFECYCLE_ATTRIBUTES
        )
    return False


def _add_parameter(model, func: FunctionInfo, name: str, dep: str, is_async: bool):
    alias = _annotated_alias(model, dep)
    if alias is not None:
        param = cst.Param(name=cst.Name(name), annotation=cst.Annotation(cst.Name(alias)))
    else:
        session_class = _session_class_name(model, is_async)
        param = cst.Param(
            name=cst.Name(name),
            annotation=cst.Annotation(cst.Name(session_class)),
            default=cst.parse_expression(f"Depends({dep})"),
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(" "), whitespace_after=cst.SimpleWhitespace(" ")
            ),
        )
    params = func.node.params
    if any(p.name.value == name for p in func.params):
        raise _Blocked
    if isinstance(params.star_arg, cst.Param) or params.kwonly_params or params.star_kwarg is not None:
        if params.star_kwarg is not None:
            raise _Blocked
        star = params.star_arg if isinstance(params.star_arg, cst.Param) else cst.ParamStar()
        new_params = params.with_changes(star_arg=star, kwonly_params=[*_comma_all(params.kwonly_params), param])
    elif param.default is None and any(p.default is not None for p in params.params):
        # `db: SessionDep` has no default: it must come before the first default.
        first = next(i for i, p in enumerate(params.params) if p.default is not None)
        before = list(params.params[:first])
        placed = param.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        new_params = params.with_changes(params=[*_comma_all(before), placed, *params.params[first:]])
    else:
        new_params = params.with_changes(params=[*_comma_all(params.params), param])
    return (params, new_params)


def _comma_all(params) -> list[cst.Param]:
    return [p.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for p in params]


def _annotated_alias(model, dep: str) -> str | None:
    for name, value in model.top_values.items():
        if isinstance(value, cst.Subscript) and model.resolve(value.value) in N.ANNOTATED:
            target = model._annotated_dependency(value, 0)
            if target is not None and dotted(target) == dep:
                return name
    return None


def _session_class_name(model, is_async: bool) -> str:
    wanted = N.ASYNC_SESSION_CLASSES if is_async else N.SESSION_CLASSES - N.ASYNC_SESSION_CLASSES
    for local, target in model.imports.items():
        if target in wanted:
            return local
    return "AsyncSession" if is_async else "Session"


def _ensure_imports(model, dep: str, is_async: bool, routes: int):
    if not routes or _annotated_alias(model, dep) is not None:
        return []
    needed: list[tuple[str, str]] = []
    depends = model.imports.get("Depends")
    if depends is None:
        if "Depends" in model.top_values or "Depends" in model.top_defs:
            raise _Blocked
        needed.append(("fastapi", "Depends"))
    elif depends not in N.DEPENDS_MARKERS:
        raise _Blocked
    session_class = _session_class_name(model, is_async)
    if session_class not in model.imports:
        if session_class in model.top_values or session_class in model.top_defs or session_class in model.top_classes:
            raise _Blocked
        needed.append(("sqlalchemy.ext.asyncio" if is_async else "sqlalchemy.orm", session_class))
    replacements = import_replacements(model, needed)
    if replacements is None:
        raise _Blocked
    return replacements


# ---------------------------------------------------------------------------- helpers
def _method_receivers(model) -> set[str]:
    """Every `x` (dotted) this module's functions call a method on: a cheap hint
    that an imported `x` is used as a session."""
    out = set()
    for func in model.functions:
        for call in func.of_type(cst.Call):
            if type(call.func) is cst.Attribute:
                receiver = dotted(call.func.value)
                if receiver is not None:
                    out.add(receiver)
    return out


def _awaited(model, name: str) -> bool:
    for func in model.functions:
        for node in func.of_type(cst.Await):
            call = node.expression
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and dotted(call.func.value) == name:
                return True
    return False


def _shadowed(func: FunctionInfo, name: str) -> bool:
    scope = func
    while scope is not None:
        if name in scope.globals_declared:
            return False
        if name in scope.locals or any(p.name.value == name for p in scope.params):
            return True
        scope = scope.parent
    return False


def _blocks(body: cst.BaseSuite):
    from sessionlint.lint_rules.analysis.walk import walk

    for node in walk(body):
        if isinstance(node, cst.IndentedBlock):
            yield node


def _walk_small(node: cst.CSTNode):
    from sessionlint.lint_rules.analysis.walk import walk

    return walk(node)
