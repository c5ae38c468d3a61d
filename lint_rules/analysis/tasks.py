"""Where a function starts concurrent work, and which sessions that work uses.

Shared by SL008 (one session used by two or more concurrent children) and SL010
(a session handed to work that outlives the function).  The split between them:

* a child that is awaited before the function returns (`await gather(...)`,
  `asyncio.wait(...)`, a `TaskGroup`/anyio task group, a task stored in a local
  that is awaited or gathered later) is *joined*: SL008 counts it;
* an `asyncio.create_task`/`ensure_future` task nobody in the function awaits
  (a bare statement, stored on `self`/a module-level set, never awaited) is
  *fire-and-forget*: SL010 reports it, SL008 ignores it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from sessionlint.lint_rules.analysis import lifecycle as L
from sessionlint.lint_rules.analysis.module import (
    all_params,
    FunctionInfo,
    ModuleModel,
    call_name,
    dotted,
)
from sessionlint.lint_rules.analysis.walk import child_nodes, walk_with_parents

GATHERS = frozenset(
    {
        "asyncio.gather", "asyncio.tasks.gather", "asyncio.wait", "asyncio.tasks.wait",
        "asyncio.as_completed", "asyncio.tasks.as_completed",
    }
)
# `asyncio.wait(aws)` / `as_completed(aws)` take one iterable; `gather(*aws)` many.
_ITERABLE_GATHERS = frozenset(g for g in GATHERS if not g.endswith("gather"))
TASK_FUNCTIONS = frozenset(
    {"asyncio.create_task", "asyncio.tasks.create_task", "asyncio.ensure_future", "asyncio.tasks.ensure_future"}
)
LOOP_GETTERS = frozenset(
    {
        "asyncio.get_event_loop", "asyncio.get_running_loop", "asyncio.new_event_loop",
        "asyncio.events.get_event_loop", "asyncio.events.get_running_loop",
    }
)
#: Method and function names that can start concurrent work (a cheap pre-filter).
SPAWN_NAMES = frozenset({"gather", "wait", "as_completed", "create_task", "ensure_future", "start_soon"})

# Attributes of a session that are not the session itself being handed over.
# `db.close` is how a session's end is deliberately deferred
# (`StreamingResponse(..., background=BackgroundTask(db.close))`).
_NOT_THE_SESSION = frozenset({"bind", "info", "get_bind", "close"})
_LOOPS = (cst.For, cst.While)
_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)
_CONTAINER_ADDS = frozenset({"append", "add", "extend", "insert", "appendleft"})


# --------------------------------------------------------------------------- mentions
def mentions(expr: cst.CSTNode, key: str) -> bool:
    """Does `expr` use the session `key`: pass it (`f(db)`, `args=(db,)`), call it
    (`db.get(...)`), or hand over a bound method (`db.commit`)?  Lambdas are entered
    (their body runs in the child); `db.bind`/`db.info`, keyword names and
    attribute names (`other.db`) are not the session."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Attribute):
            if node.attr.value in _NOT_THE_SESSION and dotted(node.value) == key:
                continue
            if dotted(node) == key:
                return True
            stack.append(node.value)
            continue
        if isinstance(node, cst.Name):
            if node.value == key:
                return True
            continue
        if isinstance(node, cst.Arg):
            stack.append(node.value)
            continue
        if isinstance(node, cst.Lambda):
            if not any(p.name.value == key for p in _lambda_params(node)):
                stack.append(node.body)
            continue
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            continue
        stack.extend(child_nodes(node))
    return False


def _lambda_params(node: cst.Lambda):
    return all_params(node.params)


def closure_uses(func: FunctionInfo, key: str) -> bool:
    """Does a nested function's body use the enclosing function's session `key`?"""
    head = key.split(".")[0]
    if head in func.locals or any(p.name.value == head for p in func.params):
        return False  # shadowed
    for node in func.of_type(cst.Name, cst.Attribute):
        if dotted(node) == key:
            return True
    return False


def visible_session_refs(model: ModuleModel, func: FunctionInfo) -> dict[str, L.SessionRef]:
    """`lifecycle.session_refs` of `func`, plus the sessions of enclosing functions
    that `func` reaches as closures (names it doesn't rebind)."""
    refs = dict(L.session_refs(model, func))
    own = set(func.locals) | {p.name.value for p in func.params}
    scope = func.parent
    while scope is not None:
        for key, ref in L.session_refs(model, scope).items():
            if key not in refs and key.split(".")[0] not in own and not ref.shared:
                refs[key] = ref
        scope = scope.parent
    return refs


# --------------------------------------------------------------------------- spawns
@dataclass(slots=True, eq=False)
class Spawn:
    """One `create_task`/`ensure_future`/`start_soon` call."""

    call: cst.Call
    kind: str  # "task" (asyncio/loop: lives until awaited) or "group" (a task group joins it)
    group: str | None  # the task group's receiver, for "group" spawns
    children: list[cst.BaseExpression]
    many: bool = False  # in a loop or comprehension: one call site, many tasks
    in_place: bool = False  # awaited right where it is created (sequential)
    store: str | None = None  # the local the task (or a list of tasks) is kept in
    forgotten: bool = False  # a "task" nobody in the function awaits
    consumed: bool = False  # passed to a gather/wait of this function


@dataclass(slots=True)
class Child:
    """One concurrent child of a batch: where it is started, and how many."""

    node: cst.CSTNode  # where to report (the gather, or the spawning call)
    expr: cst.CSTNode | None  # what the child runs (None: see `spawn`)
    weight: int  # 2 stands for "many" (a loop or comprehension)
    spawn: Spawn | None = None


@dataclass(slots=True)
class TaskFacts:
    spawns: list[Spawn] = field(default_factory=list)
    #: batches of children that run concurrently (a gather's, a task group's, the
    #: function's joined loose tasks)
    batches: list[list[Child]] = field(default_factory=list)
    #: node id -> position in the function body (source order)
    order: dict[int, int] = field(default_factory=dict)


def may_spawn(func: FunctionInfo) -> bool:
    """Cheap pre-filter: does the function call anything that can start a task?"""
    for call in func.of_type(cst.Call):
        f = call.func
        name = f.attr.value if isinstance(f, cst.Attribute) else f.value if isinstance(f, cst.Name) else None
        if name in SPAWN_NAMES:
            return True
    return False


def task_facts(model: ModuleModel, func: FunctionInfo) -> TaskFacts:
    """The function's spawns and concurrent batches (call `may_spawn` first)."""
    return _Analysis(model, func).run()


def child_uses(child: Child, key: str, nested: dict[str, FunctionInfo]) -> bool:
    """Does this child use session `key`, directly or through a closure over it?"""
    exprs = child.spawn.children if child.spawn is not None else [child.expr]
    return uses(exprs, key, nested)


def uses(exprs, key: str, nested: dict[str, FunctionInfo]) -> bool:
    """Do these expressions (a task's coroutine, a thread's arguments) use session
    `key`: mention it, or call/pass a nested function that closes over it?"""
    for expr in exprs:
        if expr is None:
            continue
        if mentions(expr, key):
            return True
        for name in _called_names(expr):
            inner = nested.get(name)
            if inner is not None and closure_uses(inner, key):
                return True
    return False


def nested_functions(model: ModuleModel, func: FunctionInfo) -> dict[str, FunctionInfo]:
    """Functions defined directly inside `func`, by name."""
    return {f.name: f for f in model.functions if f.parent is func}


def _called_names(expr: cst.CSTNode) -> list[str]:
    """Names called or passed as callables in `expr`: `work(1)`, `partial(work, 1)`,
    and a bare `work` (`tg.start_soon(work, ...)`)."""
    out = [expr.value] if isinstance(expr, cst.Name) else []
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
            out.append(node.func.value)
        if isinstance(node, cst.Arg) and isinstance(node.value, cst.Name):
            out.append(node.value.value)
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        stack.extend(child_nodes(node))
    return out


# --------------------------------------------------------------------------- analysis
class _Analysis:
    def __init__(self, model: ModuleModel, func: FunctionInfo):
        self.model = model
        self.func = func
        self.facts = TaskFacts()
        self.parents: dict[int, tuple[cst.CSTNode, ...]] = {}
        self.awaits: list[cst.Await] = []
        self.fors: list[cst.For] = []
        self.returns: list[cst.Return] = []
        self.gathers: list[cst.Call] = []

    def run(self) -> TaskFacts:
        func, facts = self.func, self.facts
        body = func.node.body
        for stmt in body.body if isinstance(body, cst.IndentedBlock) else [body]:
            for node, ancestors in walk_with_parents(stmt):
                kind = type(node)
                if kind is cst.Call:
                    self.parents[id(node)] = ancestors
                    if self.model.resolve(node.func) in GATHERS:
                        self.gathers.append(node)
                    else:
                        spawn = self._spawn(node)
                        if spawn is not None:
                            facts.spawns.append(spawn)
                elif kind is cst.Await:
                    self.parents[id(node)] = ancestors
                    self.awaits.append(node)
                elif kind is cst.For:
                    self.fors.append(node)
                elif kind is cst.Return:
                    self.returns.append(node)
        facts.order = {id(n): i for i, n in enumerate(func.body_nodes())}
        for spawn in facts.spawns:
            self._place(spawn)

        # Children joined by a gather / wait / as_completed of this function.
        for gather in self.gathers:
            children = self._gather_children(gather)
            if children:
                facts.batches.append(children)

        joined = self._joined_names()
        loose: list[Child] = []
        groups: dict[str, list[Child]] = {}
        for spawn in facts.spawns:
            if spawn.consumed:
                continue
            if not spawn.in_place and spawn.many and spawn.store and self._awaited_in_same_loop(spawn):
                spawn.in_place = True
            if spawn.in_place:
                continue
            child = Child(spawn.call, None, 2 if spawn.many else 1, spawn)
            if spawn.kind == "group":
                groups.setdefault(spawn.group or "", []).append(child)
            elif spawn.store == "<kept>" or (spawn.store is not None and spawn.store in joined):
                loose.append(child)
            else:
                spawn.forgotten = True
        facts.batches.extend(groups.values())
        if loose:
            facts.batches.append(loose)
        return facts

    # ------------------------------------------------------------------ spawns
    def _spawn(self, call: cst.Call) -> Spawn | None:
        qualname = self.model.resolve(call.func)
        positional = [a.value for a in call.args if a.keyword is None and not a.star]
        if qualname in TASK_FUNCTIONS:
            return Spawn(call, "task", None, positional[:1])
        name = call_name(call)
        if name == "start_soon":
            return Spawn(call, "group", dotted(call.func.value) or "", [a.value for a in call.args])
        if name in ("create_task", "ensure_future"):
            owner = call.func.value
            if self._is_loop(owner):
                return Spawn(call, "task", None, positional[:1])
            if name == "create_task":  # TaskGroup.create_task: joined when the group exits
                return Spawn(call, "group", dotted(owner) or "", positional[:1])
        return None

    def _is_loop(self, owner: cst.BaseExpression) -> bool:
        if isinstance(owner, cst.Call):
            return self.model.resolve(owner.func) in LOOP_GETTERS
        name = dotted(owner)
        if name is None:
            return False
        if name.rsplit(".", 1)[-1].lower().endswith("loop"):
            return True
        value = self.func.locals.get(name)
        return isinstance(value, cst.Call) and self.model.resolve(value.func) in LOOP_GETTERS

    def _place(self, spawn: Spawn) -> None:
        """Is the task awaited where it is made, made many times, or kept in a local?"""
        in_statement = True
        for parent in reversed(self.parents[id(spawn.call)]):
            if isinstance(parent, _LOOPS + _COMPREHENSIONS):
                spawn.many = True
            if not in_statement:
                continue
            if isinstance(parent, (cst.SimpleStatementLine, cst.BaseSuite, cst.BaseCompoundStatement)):
                in_statement = False
                continue
            if isinstance(parent, cst.Await):
                spawn.in_place = True
                return
            if spawn.store is not None:
                continue
            if isinstance(parent, (cst.Assign, cst.AnnAssign)):
                targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
                names = [t.value for t in targets if isinstance(t, cst.Name)]
                # `self.task = create_task(...)`: kept on an object that outlives the call
                spawn.store = names[0] if names else "<forgotten>"
            elif isinstance(parent, cst.Return):
                spawn.store = "<kept>"  # the caller gets the task
            elif isinstance(parent, cst.Call):
                owner = parent.func.value if isinstance(parent.func, cst.Attribute) else None
                if call_name(parent) in _CONTAINER_ADDS:
                    local = isinstance(owner, cst.Name) and owner.value in self.func.locals
                    # a module-level set / `self._tasks`: the fire-and-forget idiom
                    spawn.store = owner.value if local else "<forgotten>"
                else:
                    spawn.store = "<kept>"  # handed to something else: not ours to judge

    def _awaited_in_same_loop(self, spawn: Spawn) -> bool:
        """`for x in xs: t = create_task(f(x)); await t` runs one task at a time."""
        ancestors = self.parents[id(spawn.call)]
        loop = next((p for p in reversed(ancestors) if isinstance(p, _LOOPS)), None)
        if loop is None:
            return False
        return any(
            loop in self.parents[id(node)] and mentions(node.expression, spawn.store or "")
            for node in self.awaits
        )

    def _joined_names(self) -> set[str]:
        """Locals that are awaited, gathered, iterated or returned somewhere."""
        names: set[str] = set()
        roots: list[cst.CSTNode] = [a.expression for a in self.awaits]
        roots += [f.iter for f in self.fors]
        roots += [r.value for r in self.returns if r.value is not None]
        roots += [arg.value for g in self.gathers for arg in g.args]
        for root in roots:
            stack = [root]
            while stack:
                node = stack.pop()
                if isinstance(node, cst.Name):
                    names.add(node.value)
                elif isinstance(node, cst.Attribute):
                    stack.append(node.value)
                elif not isinstance(node, (cst.Lambda, cst.FunctionDef, cst.ClassDef)):
                    stack.extend(child_nodes(node))
        return names

    def _in_loop(self, node: cst.CSTNode) -> bool:
        ancestors = self.parents.get(id(node), ())
        return any(isinstance(p, _LOOPS + _COMPREHENSIONS) for p in ancestors)

    # ------------------------------------------------------------------ gathers
    def _gather_children(self, gather: cst.Call) -> list[Child]:
        args = [a for a in gather.args if a.keyword is None]
        if self.model.resolve(gather.func) in _ITERABLE_GATHERS:
            return self._iterable(gather, args[0].value, 0) if args else []
        children: list[Child] = []
        for arg in args:
            if arg.star == "*":
                children += self._iterable(gather, arg.value, 0)
            elif not arg.star:
                children += self._single(gather, arg.value, 0)
        return children

    def _spawn_for(self, node: cst.CSTNode) -> Spawn | None:
        return next((s for s in self.facts.spawns if s.call is node), None)

    def _take(self, spawns: list[Spawn]) -> list[Child]:
        out = []
        for spawn in spawns:
            if not spawn.consumed:
                spawn.consumed = True
                out.append(Child(spawn.call, None, 2 if spawn.many else 1, spawn))
        return out

    def _single(self, gather: cst.Call, expr: cst.BaseExpression, depth: int) -> list[Child]:
        """A gather argument: a coroutine, a task, or a local holding one."""
        spawn = self._spawn_for(expr)
        if spawn is not None:
            return self._take([spawn])
        if isinstance(expr, cst.Name):
            stored = [s for s in self.facts.spawns if s.store == expr.value]
            if stored:
                return self._take(stored)
            value = self.func.locals.get(expr.value)
            if value is not None and depth < 3 and not isinstance(value, cst.Name):
                return self._single(gather, value, depth + 1)
            return []
        return [Child(gather, expr, 1)]

    def _iterable(self, gather: cst.Call, expr: cst.BaseExpression, depth: int) -> list[Child]:
        """`*coros`, `*(f(db, x) for x in xs)`, `asyncio.wait([t1, t2])`."""
        if depth > 3:
            return []
        if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            out: list[Child] = []
            for element in expr.elements:
                if isinstance(element, cst.StarredElement):
                    out += self._iterable(gather, element.value, depth + 1)
                else:
                    out += self._single(gather, element.value, depth + 1)
            return out
        if isinstance(expr, _COMPREHENSIONS):
            elt = expr.value if isinstance(expr, cst.DictComp) else expr.elt
            spawn = self._spawn_for(elt)
            if spawn is not None:
                return self._take([spawn])
            return [Child(gather, elt, 2)]
        if isinstance(expr, cst.Name):
            name = expr.value
            out = self._take([s for s in self.facts.spawns if s.store == name])
            value = self.func.locals.get(name)
            if value is not None and not isinstance(value, cst.Name):
                out += self._iterable(gather, value, depth + 1)
            for method in ("append", "add", "extend", "insert", "appendleft"):
                for call in self.func.calls(method):
                    if dotted(call.func.value) != name or not call.args:
                        continue
                    item = call.args[-1].value if method == "insert" else call.args[0].value
                    if self._spawn_for(item) is not None:
                        continue  # a task: taken above through its `store`
                    many = method == "extend" or self._in_loop(call)
                    out.append(Child(gather, item, 2 if many else 1))
            return out
        if isinstance(expr, cst.Attribute):
            return []
        return [Child(gather, expr, 2)]  # `*map(partial(f, db), xs)` and friends
