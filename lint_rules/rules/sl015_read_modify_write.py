from __future__ import annotations

import libcst as cst

from sessionlint.lint_rules.analysis import lifecycle as L
from sessionlint.lint_rules.analysis.module import FunctionInfo, ModuleModel, call_name, dotted, receiver
from sessionlint.lint_rules.analysis.walk import walk
from sessionlint.lint_rules.model import Severity
from sessionlint.lint_rules.rule import Rule, RuleReporter

# Session methods that start a load chain.
_SESSION_LOADS = frozenset({"get", "get_one", "scalar", "scalars", "execute", "query"})
# Session methods that return one object by themselves.
_SESSION_ONE = frozenset({"get", "get_one", "scalar"})
# Result / Query methods that return one object.
_ONE = frozenset({"one", "first", "one_or_none", "scalar_one", "scalar_one_or_none", "scalar", "get"})
# Result / Query methods that return many objects (for `for obj in ...:`).
_MANY = frozenset({"all", "scalars", "unique", "fetchall", "partitions", "yield_per"})
# Methods allowed between the session call and the terminal one.
_CHAIN = frozenset(
    {
        "filter", "filter_by", "where", "order_by", "limit", "offset", "options", "join",
        "outerjoin", "scalars", "unique", "execution_options", "populate_existing",
        "with_for_update", "params", "enable_eagerloads", "distinct", "group_by",
    }
)
_ARITHMETIC = (
    cst.Add, cst.Subtract, cst.Multiply, cst.Divide, cst.FloorDivide, cst.Modulo, cst.Power,
    cst.BitOr, cst.BitAnd, cst.BitXor, cst.LeftShift, cst.RightShift, cst.MatrixMultiply,
)


class ReadModifyWrite(Rule):
    """## What it does
    Flags `obj.attr = obj.attr + ...`, `obj.attr += ...` and `obj.attr -= ...` on
    an object loaded through a session in the same function (`db.get(...)`,
    `db.scalars(...).one()`, `db.query(...).first()`, `db.execute(select(...))
    .scalar_one()`, their awaited forms, or a `for` loop over such a result), when
    the function then commits, the load has no `.with_for_update()` /
    `with_for_update=` and the file declares no `version_id_col`.

    Opt-in (`--select SL015`): many such fields have a single writer (a user
    editing their own profile), where the pattern is harmless.

    ## Why is this bad?
    The new value is computed in Python from a value read earlier. Two requests
    that run at the same time both read the old value, both write old value + 1,
    and one increment is lost. Nothing raises: every request returns 200, the
    counter (stock, balance, vote count) just ends up short. In a benchmark of
    100 concurrent deposits of 1 with correct per-request sessions, the balance
    grew by 16–22, not 100. This is a transaction-isolation bug, so the
    per-request session pattern does not prevent it.

    ## Example
    ```python
    @router.post("/accounts/{account_id}/deposit")
    def deposit(account_id: int, amount: int, db: Session = Depends(get_db)):
        account = db.get(Account, account_id)
        account.balance += amount
        db.commit()
    ```

    ## Use instead
    ```python
    @router.post("/accounts/{account_id}/deposit")
    def deposit(account_id: int, amount: int, db: Session = Depends(get_db)):
        db.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(balance=Account.balance + amount)
        )
        db.commit()
    ```

    or lock the row while reading it (`select(Account).where(...).with_for_update()`,
    `db.get(Account, account_id, with_for_update=True)`), or add optimistic
    locking (`__mapper_args__ = {"version_id_col": version}`: the loser raises
    `StaleDataError: UPDATE statement on table 'account' expected to update 1
    row(s); 0 were matched.` and can retry).

    ## Fix safety
    No automatic fix: which remedy fits (atomic UPDATE, row lock, version
    column, SERIALIZABLE with retries) depends on the database and the code
    around it. The rule only sees one file, so a `version_id_col` declared in
    another module does not silence it; use `# noqa: SL015` there.
    """

    code = "SL015"
    name = "read-modify-write"
    severity = Severity.INFO
    default = False

    def check(self, model: ModuleModel, report: RuleReporter) -> None:
        if "version_id_col" in model.source:
            return  # optimistic locking: the losing writer gets StaleDataError
        for func in model.functions:
            if not func.calls("commit") and not func.calls("begin"):
                continue
            if not func.of_type(cst.AugAssign) and not func.of_type(cst.Assign):
                continue
            refs = L.session_refs(model, func)
            if not refs:
                continue
            loaded = _loaded_objects(func, refs)
            if not loaded:
                continue
            order = {id(n): i for i, n in enumerate(func.body_nodes())}
            commits = _commit_points(func, refs, order)
            if not commits:
                continue
            for node in func.of_type(cst.Assign, cst.AugAssign):
                target = _rmw_target(node)
                if target is None:
                    continue
                root = target.split(".")[0]
                load = loaded.get(root)
                if load is None:
                    continue
                position = order[id(node)]
                load_position, ref_key = load
                if load_position >= position:
                    continue
                if not any(start <= position and position < end for start, end in commits):
                    continue
                report(
                    node,
                    f"`{target}` is read, changed in Python and written back, then committed: two "
                    f"concurrent requests both read the old value and one update is silently lost (no "
                    f"error, the total just comes out short); use an atomic `update(...).values("
                    f"{target.rsplit('.', 1)[-1]}=Model.{target.rsplit('.', 1)[-1]} + ...)`, load it "
                    f"`.with_for_update()`, or add a `version_id_col`",
                    refs[ref_key].requires,
                    func.qualname,
                )


def _loaded_objects(func: FunctionInfo, refs) -> dict[str, tuple[int, str]]:
    """Local name -> (position of the load, session key), for objects loaded
    through a session without a row lock."""
    order: dict[int, int] | None = None
    out: dict[str, tuple[int, str]] = {}
    for node in func.of_type(cst.Assign, cst.AnnAssign, cst.For):
        if isinstance(node, cst.Assign):
            if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
                continue
            name, value, many = node.targets[0].target.value, node.value, False
        elif isinstance(node, cst.AnnAssign):
            if node.value is None or not isinstance(node.target, cst.Name):
                continue
            name, value, many = node.target.value, node.value, False
        else:
            if not isinstance(node.target, cst.Name):
                continue
            name, value, many = node.target.value, node.iter, True
        key = _session_load(value, refs, many, func)
        if key is None or _locked(func, value):
            continue
        if order is None:
            order = {id(n): i for i, n in enumerate(func.body_nodes())}
        out.setdefault(name, (order[id(node)], key))
    return out


def _strip(expr: cst.BaseExpression) -> cst.BaseExpression:
    while isinstance(expr, cst.Await):
        expr = expr.expression
    return expr


def _session_load(expr: cst.BaseExpression, refs, many: bool, func: FunctionInfo) -> str | None:
    """The session key if `expr` loads ORM objects through a session.

    A result kept in a local first is followed (`result = await db.execute(stmt)`
    ... `result.scalar_one()`)."""
    expr = _strip(expr)
    if not isinstance(expr, cst.Call):
        return None
    method = call_name(expr)
    key = receiver(expr)
    if key in refs and method in _SESSION_LOADS:
        # `db.get(...)` alone is an object; `db.scalars(...)` alone only for a loop.
        if method in _SESSION_ONE or (many and method in ("scalars", "query")):
            return key
        return None
    if method not in (_MANY if many else _ONE):
        return None
    # Walk down the chain: `.one()` <- `.filter(...)` <- ... <- `db.query(...)`.
    current = _strip(expr.func.value)
    followed: set[str] = set()
    for _ in range(12):
        if isinstance(current, cst.Name) and current.value in func.locals and current.value not in followed:
            followed.add(current.value)
            current = _strip(func.locals[current.value])
            continue
        if not isinstance(current, cst.Call) or not isinstance(current.func, cst.Attribute):
            return None
        method = current.func.attr.value
        key = receiver(current)
        if key in refs and method in _SESSION_LOADS:
            return key
        if method not in _CHAIN and method not in _MANY:
            return None
        current = _strip(current.func.value)
    return None


def _locked(func: FunctionInfo, expr: cst.BaseExpression) -> bool:
    """`.with_for_update()` / `with_for_update=` in the load, or in a statement
    built earlier in a local (`stmt = select(...).with_for_update()`)."""
    seen: set[str] = set()
    stack = [expr]
    while stack:
        for node in walk(stack.pop()):
            if isinstance(node, cst.Call):
                if call_name(node) in ("with_for_update", "with_lockmode"):
                    return True
                if any(a.keyword is not None and a.keyword.value == "with_for_update" for a in node.args):
                    return True
            elif isinstance(node, cst.Name) and node.value in func.locals and node.value not in seen:
                seen.add(node.value)
                stack.append(func.locals[node.value])
    return False


def _rmw_target(node: cst.CSTNode) -> str | None:
    """`obj.attr` for `obj.attr += x` or `obj.attr = <arithmetic on obj.attr>`."""
    if isinstance(node, cst.AugAssign):
        if isinstance(node.target, cst.Attribute):
            return dotted(node.target)
        return None
    if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Attribute):
        return None
    target = dotted(node.targets[0].target)
    if target is None:
        return None
    reads = arithmetic = False
    for inner in walk(node.value):
        if isinstance(inner, cst.BinaryOperation) and isinstance(inner.operator, _ARITHMETIC):
            arithmetic = True
        elif isinstance(inner, cst.Attribute) and dotted(inner) == target:
            reads = True
    return target if reads and arithmetic else None


def _commit_points(func: FunctionInfo, refs, order) -> list[tuple[int, float]]:
    """Ranges of positions whose writes get committed in this function:
    `[0, commit)` for each `session.commit()`, and the body of `with x.begin():`."""
    out: list[tuple[int, float]] = []
    for call in func.calls("commit"):
        if receiver(call) in refs:
            out.append((0, order[id(call)]))
    if func.calls("begin"):
        for node in func.of_type(cst.With):
            for item in node.items:
                expr = _strip(item.item)
                if isinstance(expr, cst.Call) and call_name(expr) == "begin":
                    positions = [order.get(id(n), -1) for n in walk(node.body)]
                    out.append((order[id(node)], max(positions) + 1))
                    break
    return out
