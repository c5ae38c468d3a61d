"""SQLAlchemy hooks: event listeners (session, pool, engine) wired to the `Tracker`.

Everything here goes through SQLAlchemy's public event API, registered at class
level (``event.listen(Session, ...)``, ``event.listen(Pool, ...)``,
``event.listen(Engine, ...)``) so sessions, pools and engines the app creates later
are covered, and removed again by `uninstall`.

One exception: SQLAlchemy has no "session created" event, and the creation site
is what a user needs to find the bug. So while installed, ``Session.__init__`` is
wrapped to record where each session is made (and whether a ``scoped_session``
registry made it); uninstall restores the original. Sessions made before that are
recorded where they are first used, and said so.

``do_orm_execute`` is registered first (``insert=True``) and runs the statement
itself through ``ORMExecuteState.invoke_statement()``: that gives each execution
a start *and* an end, which is what overlap detection needs. Later listeners still
run (invoke_statement resumes the chain after ours), and the result is returned
unchanged.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

from .context import current_actor, mark_inside_session, unmark_inside_session
from .tracker import Tracker


class Listeners:
    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self._registered: list[tuple[object, str, object]] = []
        self._original_init = None
        self._flushing: dict[int, set] = {}  # id(record) -> actors inside a flush

    def install(self) -> None:
        tracker = self.tracker
        self._wrap_session_init()

        def do_orm_execute(state):
            actor = current_actor()
            record = tracker.use(state.session, "execute", actor)
            tracker.enter(record, actor)
            token = mark_inside_session(record)
            try:
                return state.invoke_statement()
            finally:
                unmark_inside_session(token)
                tracker.leave(record, actor)

        def before_flush(session, flush_context, instances):
            actor = current_actor()
            record = tracker.use(session, "flush", actor)
            tracker.enter(record, actor)
            with tracker.lock:  # shared with flush_done on other threads
                self._flushing.setdefault(id(record), set()).add(actor)

        def flush_done(session, *args):
            # after_flush_postexec on success; after_soft_rollback when the flush failed.
            record = tracker.sessions.get(session)
            if record is None:
                return
            actor = current_actor()
            with tracker.lock:
                actors = self._flushing.get(id(record))
                if not actors or actor not in actors:
                    return
                actors.discard(actor)
                if not actors:  # one entry per session flushing now, not per session ever flushed
                    del self._flushing[id(record)]
            tracker.leave(record, actor)

        def after_attach(session, instance):
            tracker.use(session, "attach")

        def after_begin(session, transaction, connection):
            tracker.transaction_began(session, connection)

        def after_transaction_end(session, transaction):
            tracker.transaction_ended(session, transaction)

        def checkout(dbapi_connection, connection_record, connection_proxy):
            tracker.checked_out(dbapi_connection, connection_record)

        def checkin(dbapi_connection, connection_record):
            tracker.checked_in(connection_record)

        def engine_connect(connection):
            tracker.engine_connected(connection.engine)

        def before_cursor_execute(connection, cursor, statement, parameters, context, executemany):
            tracker.cursor_execute(connection)

        self._listen(Session, "do_orm_execute", do_orm_execute, insert=True)
        self._listen(Session, "before_flush", before_flush)
        self._listen(Session, "after_flush_postexec", flush_done)
        self._listen(Session, "after_soft_rollback", flush_done)
        self._listen(Session, "after_attach", after_attach)
        self._listen(Session, "after_begin", after_begin)
        self._listen(Session, "after_transaction_end", after_transaction_end)
        self._listen(Pool, "checkout", checkout)
        self._listen(Pool, "checkin", checkin)
        self._listen(Engine, "engine_connect", engine_connect)
        self._listen(Engine, "before_cursor_execute", before_cursor_execute)

    def uninstall(self) -> None:
        while self._registered:
            target, name, fn = self._registered.pop()
            if event.contains(target, name, fn):
                event.remove(target, name, fn)
        if self._original_init is not None:
            Session.__init__ = self._original_init
            self._original_init = None

    def _listen(self, target, name: str, fn, **kw) -> None:
        event.listen(target, name, fn, **kw)
        self._registered.append((target, name, fn))

    def _wrap_session_init(self) -> None:
        original = Session.__init__
        tracker = self.tracker

        def __init__(session, *args, **kwargs):
            original(session, *args, **kwargs)
            tracker.session_created(session)

        __init__.__wrapped__ = original  # type: ignore[attr-defined]
        __init__.__doc__ = original.__doc__
        self._original_init = original
        Session.__init__ = __init__
