"""One file's semantic model: imports, module-level symbols, functions, classes.

Rules ask this model questions ("is this call a new Session?", "is this parameter a
session?") instead of matching names themselves.  When the answer depends on a
symbol defined in another file (``from app.db import SessionLocal``), the model
answers with the `Requirement`s under which it is true; the resolver checks them
across the project.  `None` always means "no", an empty tuple means "yes".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import libcst as cst

from sessionlint.lint_rules.analysis import names as N
from sessionlint.lint_rules.analysis.walk import walk
from sessionlint.lint_rules.facts import Symbol  # defined there: cached facts unpickle without LibCST
from sessionlint.lint_rules.model import Requirement

Reqs = tuple[Requirement, ...]
YES: Reqs = ()

# Decorator methods that register a FastAPI/Starlette path operation.
ROUTE_METHODS = frozenset(
    {"get", "post", "put", "delete", "patch", "options", "head", "trace", "api_route", "websocket", "route"}
)


def all_params(p: cst.Parameters) -> list[cst.Param]:
    """Every parameter of a def or lambda: positional, keyword-only, *args, **kwargs."""
    out = list(p.posonly_params) + list(p.params) + list(p.kwonly_params)
    if isinstance(p.star_arg, cst.Param):
        out.append(p.star_arg)
    if p.star_kwarg is not None:
        out.append(p.star_kwarg)
    return out


def dotted(expr: cst.BaseExpression) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    # Exact type tests: this runs for most expressions of a file, and `isinstance`
    # on LibCST's ABC-based node classes is several times slower.
    kind = type(expr)
    if kind is cst.Name:
        return expr.value
    parts: list[str] = []
    while kind is cst.Attribute:
        parts.append(expr.attr.value)
        expr = expr.value
        kind = type(expr)
    if kind is cst.Name:
        parts.append(expr.value)
        return ".".join(reversed(parts))
    return None


def call_name(node: cst.CSTNode) -> str | None:
    """The method name of `x.meth(...)` / `await x.meth(...)`, else None."""
    if isinstance(node, cst.Await):
        node = node.expression
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.func.attr.value
    return None


def receiver(node: cst.CSTNode) -> str | None:
    """The dotted receiver of `x.y.meth(...)` (here `x.y`), else None."""
    if isinstance(node, cst.Await):
        node = node.expression
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return dotted(node.func.value)
    return None


@dataclass(eq=False)
class ClassInfo:
    node: cst.ClassDef
    name: str
    qualname: str
    bases: list[str | None]
    methods: list["FunctionInfo"] = field(default_factory=list)
    #: memo for lifecycle.class_session_attributes
    session_attributes: dict | None = field(default=None, repr=False)


@dataclass(eq=False)
class FunctionInfo:
    node: cst.FunctionDef
    name: str
    qualname: str
    cls: ClassInfo | None
    parent: "FunctionInfo | None"
    decorators: list[str | None]
    is_async: bool
    is_generator: bool
    locals: dict[str, cst.BaseExpression] = field(default_factory=dict)
    globals_declared: set[str] = field(default_factory=set)
    _body_nodes: list | None = field(default=None, repr=False)
    _calls_by_method: dict | None = field(default=None, repr=False)
    _by_type: dict | None = field(default=None, repr=False)

    @property
    def params(self) -> list[cst.Param]:
        return all_params(self.node.params)

    def body_nodes(self) -> list[cst.CSTNode]:
        """Every node of the body that runs when this function runs (source order).

        Computed once: most rules scan the same bodies."""
        if self._body_nodes is None:
            # Walk from the block, not from each statement: a nested `def` that is
            # itself a statement must be yielded, not entered.
            self._body_nodes = list(walk(self.node.body))[1:]
        return self._body_nodes

    def of_type(self, *types: type) -> list[cst.CSTNode]:
        """Body nodes of exactly these LibCST classes, in source order.

        Indexed once per function: `isinstance` on LibCST's ABC-based classes is
        slow, and every rule asks for a few node kinds of the same bodies.
        """
        if self._by_type is None:
            index: dict[type, list[cst.CSTNode]] = {}
            for node in self.body_nodes():
                index.setdefault(type(node), []).append(node)
            self._by_type = index
        if len(types) == 1:
            return self._by_type.get(types[0], [])
        order = {id(n): i for i, n in enumerate(self.body_nodes())} if len(types) > 1 else {}
        found = [n for t in types for n in self._by_type.get(t, [])]
        found.sort(key=lambda n: order[id(n)])
        return found

    def calls(self, method: str) -> list[cst.Call]:
        """Calls of `<something>.<method>(...)` in the body."""
        if self._calls_by_method is None:
            index: dict[str, list[cst.Call]] = {}
            for node in self.of_type(cst.Call):
                if isinstance(node.func, cst.Attribute):
                    index.setdefault(node.func.attr.value, []).append(node)
            self._calls_by_method = index
        return self._calls_by_method.get(method, [])

    def has_decorator(self, qualnames: frozenset[str], *suffixes: str) -> bool:
        for deco in self.decorators:
            if deco is None:
                continue
            if deco in qualnames or any(deco == s or deco.endswith("." + s) for s in suffixes):
                return True
        return False


class ModuleModel:
    def __init__(self, tree: cst.Module, *, path: str, module: str, is_package: bool, source: str = ""):
        self.tree = tree
        self.path = path
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.imports: dict[str, str] = {}
        self.imported_roots: set[str] = set()
        self.top_values: dict[str, cst.BaseExpression] = {}
        self.top_defs: dict[str, FunctionInfo] = {}
        self.top_classes: dict[str, ClassInfo] = {}
        self.functions: list[FunctionInfo] = []
        self.classes: list[ClassInfo] = []
        # Module-level simple statements, with whether they sit under
        # `if __name__ == "__main__":` (code that only runs as a script).
        self.top_statements: list[tuple[cst.BaseSmallStatement | cst.BaseCompoundStatement, bool]] = []
        self.has_main_guard = False
        self._symbols: dict[str, Symbol | None] = {}
        #: the file's text, for cheap "can this rule apply at all?" checks
        self.source = source
        self._everywhere: dict[type, list[cst.CSTNode]] | None = None
        self._collect(tree.body, cls=None, func=None, in_main=False, top=True)

    def nodes_of(self, node_type: type) -> list[cst.CSTNode]:
        """Every node of exactly this LibCST class anywhere in the module, nested
        scopes included, in source order.  One walk of the tree, indexed by type
        and shared by every rule that asks (`Depends(...)` calls, keyword args)."""
        if self._everywhere is None:
            index: dict[type, list[cst.CSTNode]] = {}
            for node in walk(self.tree, enter_scopes=True):
                index.setdefault(type(node), []).append(node)
            self._everywhere = index
        return self._everywhere.get(node_type, [])

    # ----------------------------------------------------------------- collection
    def _collect(self, body, *, cls, func, in_main, top) -> None:
        for stmt in body:
            if isinstance(stmt, cst.FunctionDef):
                self._add_function(stmt, cls, func, in_main, top)
            elif isinstance(stmt, cst.ClassDef):
                self._add_class(stmt, func, in_main, top)
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    self._small(small, func=func, top=top and cls is None, in_main=in_main)
            else:
                if top and cls is None and func is None:
                    self.top_statements.append((stmt, in_main))
                main = in_main or (isinstance(stmt, cst.If) and _is_main_guard(stmt.test))
                if main and not in_main:
                    self.has_main_guard = True
                for index, inner in enumerate(_inner_bodies(stmt)):
                    branch_main = main if index == 0 else in_main
                    self._collect(inner, cls=cls, func=func, in_main=branch_main, top=top)

    def _small(self, small, *, func, top, in_main) -> None:
        if isinstance(small, (cst.Import, cst.ImportFrom)):
            self._add_import(small)
        if top and func is None:
            self.top_statements.append((small, in_main))
            if not in_main:
                for name, value in _assigned(small):
                    self.top_values[name] = value
        elif func is not None:
            for name, value in _assigned(small):
                func.locals[name] = value
            if isinstance(small, cst.Global):
                func.globals_declared.update(n.name.value for n in small.names)

    def _add_import(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = dotted(alias.name)
                if full is None:
                    continue
                self.imported_roots.add(full.split(".")[0])
                if alias.asname is not None:
                    self.imports[alias.asname.name.value] = full
                else:
                    root = full.split(".")[0]
                    self.imports[root] = root
            return
        base = dotted(node.module) if node.module is not None else ""
        if node.relative:
            depth = len(node.relative)
            pkg_parts = self.package.split(".") if self.package else []
            keep = len(pkg_parts) - (depth - 1)
            prefix = ".".join(pkg_parts[: max(keep, 0)])
            base = ".".join(p for p in (prefix, base) if p)
        if base:
            self.imported_roots.add(base.split(".")[0])
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            name = alias.name.value if isinstance(alias.name, cst.Name) else dotted(alias.name)
            if name is None:
                continue
            local = alias.asname.name.value if alias.asname is not None else name
            self.imports[local] = f"{base}.{name}" if base else name

    def _add_function(self, node, cls, parent, in_main, top) -> None:
        owner = parent.qualname if parent else (cls.qualname if cls else self.module)
        decorators = [self.resolve(_strip_call(d.decorator)) for d in node.decorators]
        info = FunctionInfo(
            node=node,
            name=node.name.value,
            qualname=f"{owner}.{node.name.value}" if owner else node.name.value,
            cls=cls,
            parent=parent,
            decorators=decorators,
            is_async=node.asynchronous is not None,
            is_generator=False,
        )
        info.is_generator = bool(info.of_type(cst.Yield))
        self.functions.append(info)
        if cls is not None and parent is None:
            cls.methods.append(info)
        if top and cls is None and parent is None and not in_main:
            self.top_defs[info.name] = info
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else [node.body]
        self._collect(body, cls=None, func=info, in_main=in_main, top=False)

    def _add_class(self, node, parent, in_main, top) -> None:
        owner = parent.qualname if parent else self.module
        info = ClassInfo(
            node=node,
            name=node.name.value,
            qualname=f"{owner}.{node.name.value}" if owner else node.name.value,
            bases=[self.resolve(arg.value) for arg in node.bases],
        )
        self.classes.append(info)
        if top and parent is None and not in_main:
            self.top_classes[info.name] = info
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else [node.body]
        self._collect(body, cls=info, func=parent, in_main=in_main, top=False)

    # ----------------------------------------------------------------- names
    @property
    def imports_web_framework(self) -> bool:
        return bool(self.imported_roots & N.WEB_FRAMEWORK_ROOTS)

    def resolve(self, expr: cst.BaseExpression | None) -> str | None:
        """The qualified name an expression refers to, through imports.

        Module-level definitions of this file resolve to `<module>.<name>`.
        """
        if expr is None:
            return None
        name = dotted(expr)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head in self.imports:
            base = self.imports[head]
        elif head in self.top_values or head in self.top_defs or head in self.top_classes:
            base = f"{self.module}.{head}" if self.module else head
        else:
            base = head
        return f"{base}.{rest}" if rest else base

    def is_local_qualname(self, qualname: str) -> str | None:
        """The module-level name if `qualname` is defined in this file."""
        prefix = f"{self.module}." if self.module else ""
        if qualname.startswith(prefix):
            rest = qualname[len(prefix):]
            if "." not in rest:
                return rest
        return None

    def _external(self, kind: str, qualname: str) -> Reqs | None:
        """A requirement on a symbol that lives in another (project) module."""
        root = qualname.split(".")[0]
        if root in N.KNOWN_LIBRARY_ROOTS or "." not in qualname:
            return None
        return (Requirement(kind, qualname),)

    # ----------------------------------------------------------------- symbols
    def symbol(self, name: str) -> Symbol | None:
        """What a module-level name of this file is (memoised, cycle-safe)."""
        if name in self._symbols:
            return self._symbols[name]
        self._symbols[name] = None  # cycle guard
        result = self._compute_symbol(name)
        self._symbols[name] = result
        return result

    def _compute_symbol(self, name: str) -> Symbol | None:
        if name in self.top_defs:
            return self._function_symbol(self.top_defs[name])
        if name in self.top_classes:
            cls = self.top_classes[name]
            for base in cls.bases:
                if base in N.SESSION_CLASSES:
                    return Symbol("factory")
            return None
        if name in self.top_values:
            value = self.top_values[name]
            if isinstance(value, cst.Call):
                fq = self.resolve(value.func)
                if fq in N.SESSION_MAKERS:
                    return Symbol("factory")
                reqs = self.session_ctor(value)
                if reqs is not None:
                    return Symbol("session", reqs)
                return None
            if isinstance(value, (cst.Name, cst.Attribute)):
                target = self.resolve(value)
                if target is None:
                    return None
                local = self.is_local_qualname(target)
                if local is not None and local != name:
                    return self.symbol(local)
                if target in N.SESSION_CLASSES:
                    return Symbol("factory")
                return Symbol("alias", target=target) if self._external("x", target) else None
            if isinstance(value, cst.Subscript):
                reqs = self.session_annotation(value)
                if reqs is not None:
                    return Symbol("session_type", reqs)
            return None
        if name in self.imports:
            target = self.imports[name]
            if target in N.SESSION_CLASSES:
                return Symbol("factory")
            if target in N.SESSION_MAKERS:
                return None
            return Symbol("alias", target=target) if self._external("x", target) else None
        return None

    def _function_symbol(self, func: FunctionInfo) -> Symbol | None:
        if func.has_decorator(N.CACHE_DECORATORS, "lru_cache", "cache"):
            return None  # a cached getter hands out one shared object, not new ones
        if func.is_generator:
            for node in func.of_type(cst.Yield):
                if isinstance(node.value, cst.BaseExpression):
                    reqs = self.session_value(node.value, func)
                    if reqs is not None:
                        return Symbol("session_gen", reqs)
            return None
        for node in func.of_type(cst.Return):
            if node.value is not None:
                reqs = self.session_value(node.value, func)
                if reqs is not None:
                    return Symbol("session_fn", reqs)
        return None

    def exports(self) -> dict[str, Symbol]:
        """Every module-level symbol other files might ask about."""
        out: dict[str, Symbol] = {}
        for name in {*self.top_defs, *self.top_classes, *self.top_values, *self.imports}:
            sym = self.symbol(name)
            if sym is not None:
                out[name] = sym
        return out

    # ----------------------------------------------------------------- questions
    def factory(
        self, expr: cst.BaseExpression, func: FunctionInfo | None = None, makers_only: bool = False
    ) -> Reqs | None:
        """Is `expr` a callable that returns a new session when called?

        With `makers_only`, only session classes and `sessionmaker` objects count,
        not functions that happen to return a session.
        """
        if isinstance(expr, cst.Call):
            # sessionmaker(bind=engine)() -- a factory built and called in place
            return YES if self.resolve(expr.func) in N.SESSION_MAKERS else None
        name = dotted(expr)
        if name is None:
            return None
        head = name.split(".")[0]
        if func is not None and "." not in name:
            local = self._function_local(func, head)
            if local is not False:
                return local
        qualname = self.resolve(expr)
        if qualname is None:
            return None
        if qualname in N.SESSION_CLASSES:
            return YES
        local_name = self.is_local_qualname(qualname)
        if local_name is not None:
            sym = self.symbol(local_name)
            if sym is None:
                return None
            if sym.kind == "factory" or (sym.kind == "session_fn" and not makers_only):
                return sym.requires
            if sym.kind == "alias" and sym.target:
                return self._external("maker" if makers_only else "factory", sym.target)
            return None
        if head in self.imports:
            return self._external("maker" if makers_only else "factory", qualname)
        return None

    def _function_local(self, func: FunctionInfo, name: str) -> Reqs | None | bool:
        """Factory-ness of a name bound inside `func` (False: not bound there)."""
        scope: FunctionInfo | None = func
        while scope is not None:
            if name in scope.locals:
                value = scope.locals[name]
                if isinstance(value, cst.Call) and self.resolve(value.func) in N.SESSION_MAKERS:
                    return YES
                return None
            for param in scope.params:
                if param.name.value == name:
                    ann = param.annotation.annotation if param.annotation else None
                    if ann is not None and self._is_maker_annotation(ann):
                        return YES
                    return None
            scope = scope.parent
        return False

    def _is_maker_annotation(self, ann: cst.BaseExpression) -> bool:
        if isinstance(ann, cst.Subscript):
            ann = ann.value
        return self.resolve(ann) in N.SESSION_MAKERS

    def session_ctor(self, call: cst.BaseExpression, func: FunctionInfo | None = None) -> Reqs | None:
        """Is `call` an expression that creates a new session?"""
        if isinstance(call, cst.Await):
            return None
        if not isinstance(call, cst.Call):
            return None
        return self.factory(call.func, func)

    def session_value(self, expr: cst.BaseExpression, func: FunctionInfo) -> Reqs | None:
        """Is `expr` (in `func`) a session: a constructor call, or a local bound to one?"""
        reqs = self.session_ctor(expr, func)
        if reqs is not None:
            return reqs
        if isinstance(expr, cst.Name):
            for node in func.of_type(cst.Assign, cst.AnnAssign, cst.With):
                if (
                    isinstance(node, cst.Assign)
                    and any(isinstance(t.target, cst.Name) and t.target.value == expr.value for t in node.targets)
                ) or (
                    isinstance(node, cst.AnnAssign)
                    and node.value is not None
                    and isinstance(node.target, cst.Name)
                    and node.target.value == expr.value
                ):
                    reqs = self.session_ctor(node.value, func)
                    if reqs is not None:
                        return reqs
                if isinstance(node, (cst.With)):
                    for item in node.items:
                        if (
                            item.asname is not None
                            and isinstance(item.asname.name, cst.Name)
                            and item.asname.name.value == expr.value
                        ):
                            reqs = self.session_ctor(item.item, func)
                            if reqs is not None:
                                return reqs
        return None

    def session_annotation(self, ann: cst.BaseExpression | None) -> Reqs | None:
        """Does an annotation mean "a session" (Session, Optional[...], Annotated[...])?"""
        if ann is None:
            return None
        if isinstance(ann, cst.SimpleString):
            text = ann.evaluated_value if isinstance(ann.evaluated_value, str) else ""
            try:
                return self.session_annotation(cst.parse_expression(text))
            except cst.ParserSyntaxError:
                return None
        if isinstance(ann, cst.BinaryOperation) and isinstance(ann.operator, cst.BitOr):
            left = self.session_annotation(ann.left)
            return left if left is not None else self.session_annotation(ann.right)
        if isinstance(ann, cst.Subscript):
            outer = self.resolve(ann.value)
            elements = [e.slice.value for e in ann.slice if isinstance(e.slice, cst.Index)]
            if outer in N.ANNOTATED and elements:
                return self.session_annotation(elements[0])
            if outer in N.OPTIONAL_WRAPPERS or (outer or "").endswith("Optional"):
                for element in elements:
                    found = self.session_annotation(element)
                    if found is not None:
                        return found
            return None
        qualname = self.resolve(ann)
        if qualname is None:
            return None
        if qualname in N.SESSION_CLASSES:
            return YES
        local_name = self.is_local_qualname(qualname)
        if local_name is not None:
            sym = self.symbol(local_name)
            if sym is not None and sym.kind == "session_type":
                return sym.requires
            if sym is not None and sym.kind == "alias" and sym.target:
                return self._external("session_type", sym.target)
            cls = self.top_classes.get(local_name)
            if cls is not None and any(b in N.SESSION_CLASSES for b in cls.bases):
                return YES
            return None
        if dotted(ann) and dotted(ann).split(".")[0] in self.imports:
            return self._external("session_type", qualname)
        return None

    def depends_target(self, expr: cst.BaseExpression | None) -> cst.BaseExpression | None:
        """`X` in `Depends(X)` / `Security(X)` / `Depends(dependency=X)`."""
        if not isinstance(expr, cst.Call):
            return None
        if self.resolve(expr.func) not in N.DEPENDS_MARKERS:
            return None
        for arg in expr.args:
            if arg.keyword is None or arg.keyword.value == "dependency":
                return arg.value
        return None

    def param_dependency(self, param: cst.Param) -> cst.BaseExpression | None:
        """The dependency callable of a parameter: from its default or `Annotated` metadata."""
        target = self.depends_target(param.default)
        if target is not None:
            return target
        ann = param.annotation.annotation if param.annotation else None
        return self._annotated_dependency(ann, depth=0)

    def _annotated_dependency(self, ann, depth: int) -> cst.BaseExpression | None:
        if ann is None or depth > 3:
            return None
        if isinstance(ann, cst.Subscript) and self.resolve(ann.value) in N.ANNOTATED:
            for element in list(ann.slice)[1:]:
                if isinstance(element.slice, cst.Index):
                    target = self.depends_target(element.slice.value)
                    if target is not None:
                        return target
            return None
        name = dotted(ann) if isinstance(ann, (cst.Name, cst.Attribute)) else None
        if name and "." not in name and name in self.top_values:
            return self._annotated_dependency(self.top_values[name], depth + 1)
        return None

    def session_param(self, param: cst.Param) -> Reqs | None:
        """Is this parameter a session (by annotation, or by a session dependency)?"""
        ann = param.annotation.annotation if param.annotation else None
        reqs = self.session_annotation(ann)
        if reqs is not None:
            return reqs
        target = self.param_dependency(param)
        if target is not None:
            return self.session_dependency(target)
        return None

    def session_dependency(self, target: cst.BaseExpression) -> Reqs | None:
        """Does depending on `target` give a session?

        A dependency gives a session if it yields one, returns one, or is a
        factory FastAPI calls; for an imported target any of these may hold, so
        the requirement is `session_provider`."""
        qualname = self.resolve(target)
        if qualname is None:
            return None
        local_name = self.is_local_qualname(qualname)
        if local_name is None and qualname in N.SESSION_CLASSES:
            return YES
        if local_name is not None:
            sym = self.symbol(local_name)
            if sym is not None and sym.kind in ("session_gen", "factory", "session_fn"):
                return sym.requires
            if sym is not None and sym.kind == "alias" and sym.target:
                return self._external("session_provider", sym.target)
            return None
        name = dotted(target) or ""
        if name.split(".")[0] in self.imports:
            return self._external("session_provider", qualname)
        return None

    def is_route(self, func: FunctionInfo) -> bool:
        """A path operation: `@app.get(...)`, `@router.post(...)`, `@app.api_route(...)`."""
        for deco in func.node.decorators:
            expr = deco.decorator
            if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
                if expr.func.attr.value in ROUTE_METHODS:
                    return True
        return False

    def is_request_like(self, name: str, func: FunctionInfo | None) -> bool:
        """Does `name` hold the current request (so `name.state` is per-request)?"""
        scope = func
        while scope is not None:
            for param in scope.params:
                if param.name.value == name:
                    ann = param.annotation.annotation if param.annotation else None
                    if ann is not None:
                        return self.resolve(ann) in N.REQUEST_CLASSES or name in N.REQUEST_PARAM_NAMES
                    return name in N.REQUEST_PARAM_NAMES
            scope = scope.parent
        return name in N.REQUEST_PARAM_NAMES


# --------------------------------------------------------------------------- helpers
def _strip_call(expr: cst.BaseExpression) -> cst.BaseExpression:
    return expr.func if isinstance(expr, cst.Call) else expr


def _is_main_guard(test: cst.BaseExpression) -> bool:
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    left, right = test.left, test.comparisons[0].comparator
    names = {dotted(left), dotted(right)}
    strings = {
        n.evaluated_value for n in (left, right) if isinstance(n, cst.SimpleString)
    }
    return "__name__" in names and "__main__" in strings


def _inner_bodies(stmt) -> Iterator[object]:
    """The statement lists directly inside a compound statement."""
    body = getattr(stmt, "body", None)
    if isinstance(body, cst.IndentedBlock):
        yield body.body
    elif isinstance(body, cst.SimpleStatementSuite):
        yield [cst.SimpleStatementLine(body=body.body)]
    if isinstance(stmt, cst.Try) or isinstance(stmt, cst.TryStar):
        for handler in stmt.handlers:
            yield handler.body.body if isinstance(handler.body, cst.IndentedBlock) else []
        if stmt.orelse is not None:
            yield stmt.orelse.body.body if isinstance(stmt.orelse.body, cst.IndentedBlock) else []
        if stmt.finalbody is not None:
            yield stmt.finalbody.body.body if isinstance(stmt.finalbody.body, cst.IndentedBlock) else []
        return
    orelse = getattr(stmt, "orelse", None)
    while orelse is not None:
        if isinstance(orelse, cst.If):
            if isinstance(orelse.body, cst.IndentedBlock):
                yield orelse.body.body
            orelse = orelse.orelse
        else:
            if isinstance(orelse.body, cst.IndentedBlock):
                yield orelse.body.body
            orelse = None
    if isinstance(stmt, cst.Match):
        for case in stmt.cases:
            if isinstance(case.body, cst.IndentedBlock):
                yield case.body.body


def _assigned(small) -> list[tuple[str, cst.BaseExpression]]:
    """Simple `name = value` / `name: T = value` bindings made by a small statement."""
    if isinstance(small, cst.Assign):
        return [(t.target.value, small.value) for t in small.targets if isinstance(t.target, cst.Name)]
    if isinstance(small, cst.AnnAssign) and small.value is not None and isinstance(small.target, cst.Name):
        return [(small.target.value, small.value)]
    return []
