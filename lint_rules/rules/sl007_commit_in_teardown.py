from __future__ import annotations

import libcst as cst

from sessionlint.lint_rules.analysis import lifecycle as L
from sessionlint.lint_rules.analysis import request_scope as R
from sessionlint.lint_rules.analysis.module import FunctionInfo, ModuleModel, call_name, receiver
from sessionlint.lint_rules.analysis.walk import walk_with_parents
from sessionlint.lint_rules.model import Requirement, Severity
from sessionlint.lint_rules.rule import Rule, RuleReporter


class CommitInTeardown(Rule):
    """## What it does
    Flags a FastAPI yield dependency that commits its session *after* the `yield`
    (right after it, in `else:`, after the `try`, or in `finally:`), and one that
    yields inside `with session.begin():` / `with SessionLocal.begin() as db:`,
    which commits when the block exits, also after the `yield`.

    ## Why is this bad?
    The code after `yield` is the dependency's teardown. Since FastAPI 0.118 the
    teardown of a dependency with the default `scope="request"` runs **after the
    response has been sent**. If the commit fails (a unique constraint, a
    serialization failure, a dropped connection), the client has already
    received `200 OK` for data that was never stored; the error only shows up in
    the server log:

    ```
    sqlalchemy.exc.IntegrityError: (psycopg.errors.UniqueViolation) duplicate key
    value violates unique constraint "users_email_key"
    ```

    (On FastAPI 0.106–0.117 the same code answered 500; upgrading silently turns
    the error into a lost write.) The transaction also stays open, holding its
    locks and its pooled connection, while a `StreamingResponse` streams and while
    background tasks run.

    A generator counts as a dependency when this file uses it in `Depends(...)` /
    `Security(...)`, when it takes `Depends(...)` parameters itself, when it
    yields a session and is not a `@contextmanager`/`@asynccontextmanager` helper,
    a pytest fixture, or part of a command-line script (a `__main__` guard and no
    web framework import), or, for any other top-level generator, when another
    linted file uses it in `Depends(...)`. The classic `@contextmanager def session_scope():` that
    commits after `yield` is correct (the `with` body has finished by then) and is
    not flagged. A dependency used here only as `Depends(get_db, scope="function")`
    is torn down before the response is sent and is not flagged either.

    ## Example
    ```python
    def get_db():
        with SessionLocal() as db:
            yield db
            db.commit()


    @app.post("/users")
    def create_user(email: str, db: Session = Depends(get_db)):
        db.add(User(email=email))
        return {"created": email}
    ```

    ## Use instead
    Commit in the endpoint (or the service it calls), where a failure still
    becomes the response:

    ```python
    def get_db():
        with SessionLocal() as db:
            yield db


    @app.post("/users")
    def create_user(email: str, db: Session = Depends(get_db)):
        db.add(User(email=email))
        db.commit()
        return {"created": email}
    ```

    or keep the commit and declare `Depends(get_db, scope="function")` (FastAPI
    ≥ 0.121), which tears the dependency down before the response is sent.

    ## Fix safety
    No automatic fix yet. Moving a commit changes which errors reach the client and
    when the transaction ends, so a fix would be unsafe.
    """

    code = "SL007"
    name = "commit-in-teardown"
    severity = Severity.WARNING

    def check(self, model: ModuleModel, report: RuleReporter) -> None:
        for func in model.functions:
            if not func.is_generator:
                continue
            commits = func.calls("commit")
            begins = func.calls("begin")
            if not commits and not begins:
                continue
            if R.is_context_manager(func) or L.is_pytest_fixture(func):
                continue  # `with`-helpers: commit after yield = after the with-body
            refs = L.session_refs(model, func)
            if not refs and not begins:
                continue
            dependency = self._as_dependency(model, func, refs)
            if dependency is None:
                continue
            late_commits, late_begins = _after_yield(func, commits, begins)
            uses = R.local_depends_uses(model, func)
            shown = f"{func.cls.name}.{func.name}" if func.cls is not None else func.name
            target = (uses[0].target if uses else None) or shown
            for node in late_commits:
                key = receiver(node)
                ref = refs.get(key or "")
                if ref is None:
                    continue
                report(
                    node,
                    f"`{key}.commit()` runs in the teardown of dependency `{shown}`, after the "
                    f"response is sent (FastAPI ≥ 0.118): a failed commit still answers 200; commit "
                    f"in the endpoint, or use `Depends({target}, scope=\"function\")`",
                    ref.requires + dependency,
                    func.qualname,
                )
            for node in late_begins:
                reqs = self._begin_session(model, func, node, refs)
                if reqs is None:
                    continue
                report(
                    node,
                    f"Dependency `{shown}` yields inside `{receiver(node)}.begin()`, which commits "
                    f"when the block exits, after the response is sent (FastAPI ≥ 0.118): a failed "
                    f"commit still answers 200; commit in the endpoint, or use "
                    f"`Depends({target}, scope=\"function\")`",
                    reqs + dependency,
                    func.qualname,
                )

    def _as_dependency(self, model: ModuleModel, func: FunctionInfo, refs) -> tuple[Requirement, ...] | None:
        """`()` when `func` is (or looks like) a request-scoped FastAPI dependency,
        a `used_in_depends` requirement when only another file can tell, else None."""
        uses = R.local_depends_uses(model, func)
        if uses:
            if all(u.scope == "function" for u in uses):
                return None  # torn down before the response is sent
            return ()
        if func.name in R.scan(model).wrapped_as_cm or R.is_lifespan(model, func):
            return None
        if R.has_depends_param(model, func):
            return ()
        script = model.has_main_guard and not model.imports_web_framework
        if R.yielded_session(model, func, refs) is not None and not script:
            return ()
        if func.parent is None and func.cls is None:
            return (Requirement("used_in_depends", func.qualname),)
        return None

    def _begin_session(self, model: ModuleModel, func: FunctionInfo, node: cst.Call, refs):
        """The requirements under which `x.begin()` begins a session transaction."""
        target = node.func.value if isinstance(node.func, cst.Attribute) else None
        if target is None:
            return None
        key = receiver(node)
        if key in refs:
            return refs[key].requires
        return model.factory(target, func, makers_only=True)  # SessionLocal.begin()


def _after_yield(func: FunctionInfo, commits, begins) -> tuple[list[cst.Call], list[cst.Call]]:
    """The commits that run after a `yield`, and the `begin()` blocks a `yield` is inside."""
    wanted = {id(n) for n in commits}
    begin_ids = {id(n) for n in begins}
    yields: list[tuple[int, tuple]] = []
    found: list[tuple[int, cst.Call, tuple]] = []
    begin_blocks: dict[int, cst.Call] = {}  # id(With) -> begin() call it frames
    inside_begin: set[int] = set()
    index = 0
    body = func.node.body
    for stmt in body.body if isinstance(body, cst.IndentedBlock) else [body]:
        for node, parents in walk_with_parents(stmt):
            index += 1
            kind = type(node)
            if kind is cst.Yield:
                yields.append((index, parents))
                for parent in parents:
                    if id(parent) in begin_blocks:
                        inside_begin.add(id(parent))
            elif kind is cst.Call:
                if id(node) in wanted:
                    found.append((index, node, parents))
                elif id(node) in begin_ids and call_name(node) == "begin":
                    for parent in reversed(parents):
                        if type(parent) is cst.WithItem and parent.item is node:
                            continue
                        if type(parent) is cst.With:
                            if any(item.item is node for item in parent.items):
                                begin_blocks[id(parent)] = node
                        break
    late = [
        node for at, node, parents in found
        if any(y_at < at and not _exclusive(y_parents, parents) for y_at, y_parents in yields)
    ]
    late_begins = [begin_blocks[key] for key in begin_blocks if key in inside_begin]
    return late, late_begins


def _exclusive(first: tuple, second: tuple) -> bool:
    """Do two nodes (given by their ancestors) sit in branches that never both run
    (the `if` and `else` of one statement, two `except` clauses, `except`/`else`)?"""
    depth = 0
    while depth < len(first) and depth < len(second) and first[depth] is second[depth]:
        depth += 1
    if depth == 0 or depth >= len(first) or depth >= len(second):
        return False
    common, a, b = first[depth - 1], first[depth], second[depth]
    if isinstance(common, cst.If):
        return {id(a), id(b)} == {id(common.body), id(common.orelse)}
    if isinstance(common, (cst.Try, cst.TryStar)):
        handlers = {id(h) for h in common.handlers}
        orelse = id(common.orelse) if common.orelse is not None else None
        in_a = id(a) in handlers or id(a) == orelse
        in_b = id(b) in handlers or id(b) == orelse
        return in_a and in_b
    if isinstance(common, cst.Match):
        return True  # two different `case` blocks
    return False
