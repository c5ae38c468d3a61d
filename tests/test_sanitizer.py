"""Unit tests of the session sanitizer on small purpose-built apps (deterministic: events, no sleeps)."""

from __future__ import annotations

import threading

import anyio
import pytest
from fastapi import Depends, FastAPI, Request
from sqlalchemy import Integer, create_engine, event, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from sessionlint.harness.app_stress import AppStressOptions, stress_app_async
from sessionlint.harness.request_specs import RequestSpec
from sessionlint.harness.sanitizer import AlreadyInstalled, Sanitizer
from sessionlint.harness.sanitizer.sites import is_plumbing
from sessionlint.harness.sanitizer.tracker import active


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "rows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)


def _engine(tmp_path, on_connect=None):
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", connect_args={"check_same_thread": False})
    if on_connect is not None:
        event.listen(engine, "connect", on_connect)
    Base.metadata.create_all(engine)
    return engine


def _stress(app, requests, concurrency=1, total=None):
    specs = [RequestSpec(m, p) for m, p in requests]
    options = AppStressOptions(requests=total or len(specs), concurrency=concurrency, use_openapi=False,
                               sequential=True, extra_requests=specs, duration=10)
    return anyio.run(lambda: stress_app_async(app, options)).sanitizer


def test_install_uninstall_restores_sqlalchemy():
    original_init = Session.__init__
    sanitizer = Sanitizer()
    with sanitizer:
        assert active() is sanitizer.tracker
        assert Session.__init__ is not original_init
        with pytest.raises(AlreadyInstalled):
            Sanitizer().install()
    assert active() is None
    assert Session.__init__ is original_init
    # After uninstall nothing is recorded any more.
    engine = create_engine("sqlite://")
    with Session(engine) as session:
        session.execute(text("select 1"))
    assert sanitizer.tracker.sessions_seen == 0


def test_plumbing_is_skipped_but_sample_apps_are_user_code():
    assert is_plumbing("sqlalchemy.orm.session")
    assert is_plumbing("sessionlint.harness.sanitizer.tracker")
    assert is_plumbing("starlette.routing")
    assert not is_plumbing("sessionlint.sample_apps.shared_session.unsafe.db")
    assert not is_plumbing("myproject.db")


def test_per_request_dependency_is_clean(tmp_path):
    engine = _engine(tmp_path)
    factory = sessionmaker(engine)

    def get_db():
        db = factory()
        try:
            yield db
        finally:
            db.close()

    app = FastAPI()

    @app.get("/rows")
    def rows(db: Session = Depends(get_db)):
        db.add(Row())
        db.commit()
        return {"n": len(db.scalars(text("select id from rows")).all())}

    report = _stress(app, [("GET", "/rows")] * 40, concurrency=6)
    assert report.requests == 40 and report.sessions == 40
    assert not report.groups, report.render()


def test_session_kept_on_app_state_is_shared_between_requests(tmp_path):
    engine = _engine(tmp_path)
    app = FastAPI()

    @app.get("/cached")
    def cached(request: Request):
        if not hasattr(request.app.state, "db"):
            # Made by the first request, reused by the rest: the misuse under test.
            request.app.state.db = Session(engine)  # noqa: SL002
        request.app.state.db.execute(text("select 1"))
        request.app.state.db.rollback()
        return {}

    report = _stress(app, [("GET", "/cached")] * 3)
    (group,) = [g for g in report.groups if g.kind == "session-shared-between-requests"]
    assert group.code == "SL002" and group.count == 2
    assert group.site.function == "cached" and group.site.filename == __file__
    creator, user = group.examples[0]  # (the request that made it, a later one that used it)
    assert creator.startswith("GET /cached (#") and user.startswith("GET /cached (#") and creator != user


def test_repeated_findings_are_counted_not_kept(tmp_path, monkeypatch):
    from sessionlint.harness.sanitizer import tracker as tracker_module

    monkeypatch.setattr(tracker_module, "MAX_KEPT_PER_SITE", 3)
    engine = _engine(tmp_path)
    # Made outside any request (on purpose): every request that uses it is a finding.
    shared = Session(engine)  # noqa: SL003
    app = FastAPI()

    trackers = set()

    @app.get("/shared")
    def use_shared():
        trackers.add(active())
        shared.execute(text("select 1"))
        shared.rollback()
        return {}

    report = _stress(app, [("GET", "/shared")] * 8)
    shared.close()
    (tracker,) = trackers
    (group,) = [g for g in report.groups if g.kind == "session-created-outside-request"]
    assert group.count == 8, report.render()
    assert len([f for f in tracker.findings if f.kind == group.kind]) == 3


def test_session_used_by_a_thread_while_its_request_uses_it(tmp_path):
    inside, go_on = threading.Event(), threading.Event()

    def gate(dbapi_connection, record):
        def wait_gate():
            inside.set()
            go_on.wait(5)
            return 1

        dbapi_connection.create_function("wait_gate", 0, wait_gate)

    engine = _engine(tmp_path, on_connect=gate)
    factory = sessionmaker(engine)
    app = FastAPI()

    @app.get("/race")
    def race():
        with factory() as db:
            # The race under test: one session used by this thread and another at once.
            worker = threading.Thread(target=lambda: db.execute(text("select wait_gate()")))  # noqa: SL010
            worker.start()
            assert inside.wait(5)  # the thread is now executing on the session
            db.add(Row())  # ... and the request touches it at the same time
            go_on.set()
            worker.join(5)
            db.rollback()
        return {}

    report = _stress(app, [("GET", "/race")])
    (group,) = [g for g in report.groups if g.kind == "concurrent-session-use"]
    assert group.codes[0] == "SL010"
    assert group.site.function == "race"


def test_leaked_connection_and_idle_checkout(tmp_path):
    engine = _engine(tmp_path)
    leaked = []
    app = FastAPI()

    @app.get("/leak")
    def leak():
        connection = engine.connect()  # never closed
        connection.execute(text("select 1"))
        leaked.append(connection)
        return {}

    report = _stress(app, [("GET", "/leak")] * 2)
    kinds = {g.kind: g for g in report.groups}
    assert kinds["connection-left-checked-out"].count == 2
    assert kinds["connection-held-at-idle"].count == 2
    assert kinds["connection-left-checked-out"].site.function == "leak"
    for connection in leaked:
        connection.close()


def test_transaction_left_open_is_confirmed_in_pg_stat_activity():
    from helpers import server_database_url

    url = server_database_url("SESSIONLINT_TEST_POSTGRES_URL")
    engine = create_engine(url, pool_size=2, max_overflow=0)
    app = FastAPI()
    holder = {"db": Session(engine)}  # made outside any request, like a module-level session

    @app.get("/read")
    def read():
        holder["db"].execute(text("select 1"))  # autobegin: the transaction stays open
        return {}

    try:
        report = _stress(app, [("GET", "/read")] * 3)
        kinds = {g.kind: g for g in report.groups}
        assert "transaction-left-open" in kinds, report.render()
        assert report.pg_idle_in_transaction, report.render()
        assert any(row["last_query"].strip().lower() == "select 1" for row in report.pg_idle_in_transaction)
        assert kinds["transaction-left-open"].evidence["pg_stat_activity idle in transaction"] >= 1
    finally:
        holder["db"].close()
        engine.dispose()


def test_check_in_from_a_finalizer_while_the_tracker_is_busy_does_not_deadlock():
    """A garbage collection under the tracker's lock can finalize a pool
    connection nobody returned; its check-in event re-enters the tracker on the
    same thread.  (This deadlocked a load run of a sample app.)"""
    from sessionlint.harness.sanitizer.tracker import Tracker

    tracker = Tracker()
    record = object()
    tracker.checkouts[id(record)] = "an open checkout"
    done = threading.Event()

    def busy_then_finalizer() -> None:
        with tracker.lock:  # e.g. inside _check_concurrency
            tracker.checked_in(record)  # what the pool's finalizer calls
        done.set()

    worker = threading.Thread(target=busy_then_finalizer, daemon=True)
    worker.start()
    assert done.wait(5), "checked_in blocked on the lock its own thread holds"
    assert id(record) not in tracker.checkouts
