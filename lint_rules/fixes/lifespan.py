"""SL017's fix: `@app.on_event("startup"/"shutdown")` handlers -> one `lifespan`.

The handlers stay as plain functions (their names, bodies and comments are kept);
their `on_event` decorators go, a `lifespan` context manager that calls them in
registration order is added before `app = FastAPI(...)`, and the app gets
`lifespan=lifespan`.  Offered only in the simple, common shape: the app is
created in this module without `lifespan=`/`on_startup=`/`on_shutdown=`, every
handler is a module-level function without parameters, and nothing registers
handlers another way.  Unsafe: a shutdown handler now runs only if startup
completed, and a library that later sets its own lifespan is now in conflict.
"""

from __future__ import annotations

import libcst as cst

from sessionlint.lint_rules.analysis.module import FunctionInfo, ModuleModel, dotted
from sessionlint.lint_rules.fixes.transforms import fix_builder, import_replacements, statement
from sessionlint.lint_rules.rule import FixSpec

_APP_CLASSES = frozenset(
    {"fastapi.FastAPI", "fastapi.applications.FastAPI", "starlette.applications.Starlette"}
)


@fix_builder
def on_event_fix(model: ModuleModel, app_name: str) -> FixSpec | None:
    if "add_event_handler" in model.source or "lifespan" in model.top_defs or "lifespan" in model.top_values:
        return None
    line, call = _app_statement(model, app_name)
    if line is None or any(a.keyword is not None and a.keyword.value in ("lifespan", "on_startup", "on_shutdown") for a in call.args):
        return None
    handlers: dict[str, list[FunctionInfo]] = {"startup": [], "shutdown": []}
    replacements: list[tuple[cst.CSTNode, object]] = []
    for func in model.functions:
        events = [(deco, _event(deco.decorator, app_name)) for deco in func.node.decorators]
        marked = [(deco, event) for deco, event in events if event is not None]
        if not marked:
            continue
        if func.parent is not None or func.cls is not None or func.name not in model.top_defs:
            return None
        if len(marked) != 1 or marked[0][1] not in handlers or func.params:
            return None
        handlers[marked[0][1]].append(func)
        removed = marked[0][0]
        kept = [deco for deco in func.node.decorators if deco is not removed]
        # The decorator's comments stay, above the function.
        comments = [*removed.leading_lines]
        if removed.trailing_whitespace.comment is not None:
            comments.append(cst.EmptyLine(comment=removed.trailing_whitespace.comment))
        replacements.append(
            (func.node, func.node.with_changes(decorators=kept, leading_lines=[*func.node.leading_lines, *comments]))
        )
    if not (handlers["startup"] or handlers["shutdown"]):
        return None

    def calls(funcs: list[FunctionInfo]) -> str:
        return "".join(f"    {'await ' if f.is_async else ''}{f.name}()\n" for f in funcs)

    decorator = _local_name(model, "contextlib.asynccontextmanager") or "asynccontextmanager"
    app_class = model.resolve(call.func)
    annotation = f": {dotted(call.func)}" if app_class in _APP_CLASSES and dotted(call.func) else ""
    text = f"@{decorator}\nasync def lifespan(app{annotation}):\n{calls(handlers['startup'])}    yield\n{calls(handlers['shutdown'])}"
    blank = [cst.EmptyLine(), cst.EmptyLine()]
    lifespan_def = statement(text).with_changes(leading_lines=blank)
    new_args = list(call.args)
    if new_args:
        new_args[-1] = new_args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    new_args.append(cst.Arg(keyword=cst.Name("lifespan"), value=cst.Name("lifespan"), equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))))
    new_line = line.with_changes(
        leading_lines=[*blank, *(l for l in line.leading_lines if l.comment is not None)],
        body=[line.body[0].with_changes(value=call.with_changes(args=new_args))],
    )
    replacements.append((line, cst.FlattenSentinel([lifespan_def, new_line])))
    if _local_name(model, "contextlib.asynccontextmanager") is None:
        if "asynccontextmanager" in model.top_values or "asynccontextmanager" in model.top_defs:
            return None
        imports = import_replacements(model, [("contextlib", "asynccontextmanager")])
        if imports is None:
            return None
        replacements += imports
    return FixSpec("Move the startup/shutdown handlers into a `lifespan`", "unsafe", replacements)


def _app_statement(model: ModuleModel, app_name: str):
    for line in model.tree.body:
        if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1:
            small = line.body[0]
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
                and small.targets[0].target.value == app_name
                and isinstance(small.value, cst.Call)
                and model.resolve(small.value.func) in _APP_CLASSES
            ):
                return line, small.value
    return None, None


def _event(expr: cst.BaseExpression, app_name: str) -> str | None:
    if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)):
        return None
    if expr.func.attr.value != "on_event" or dotted(expr.func.value) != app_name or not expr.args:
        return None
    value = expr.args[0].value
    return value.evaluated_value if isinstance(value, cst.SimpleString) else None


def _local_name(model: ModuleModel, qualname: str) -> str | None:
    return next((local for local, target in model.imports.items() if target == qualname), None)
