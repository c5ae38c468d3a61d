"""Engine and session handling for the blocking_in_async sample app."""

import time
from collections.abc import Iterator

from sqlalchemy import Engine, create_engine, event, func, make_url, select
from sqlalchemy.orm import Session, sessionmaker

from .models import Order

# How long the sales report takes on the database. Real reports get slow through
# big scans; here the database's sleep function stands in for one, so the demo
# behaves the same on SQLite, PostgreSQL and MariaDB.
REPORT_SECONDS = 1.0


def _sleep_ms(milliseconds: int) -> int:
    time.sleep(milliseconds / 1000)
    return 0


def make_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        # Dependencies run in FastAPI's threadpool and routes on the loop or on
        # other worker threads, so pysqlite's same-thread check has to go.
        engine = create_engine(url, pool_size=10, max_overflow=0, pool_timeout=5,
                               connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def configure_sqlite(dbapi_connection, connection_record):
            # SQLite has no sleep function: give every new connection one.
            dbapi_connection.create_function("sleep_ms", 1, _sleep_ms)
            # WAL, so a long report (a reader) does not lock out order writes.
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

        return engine
    return create_engine(url, pool_size=10, max_overflow=0, pool_timeout=5)


def sales_report_query(dialect_name: str):
    """Order count and revenue, plus the slow part: the backend's own sleep function."""
    if dialect_name == "sqlite":
        slow = func.sleep_ms(int(REPORT_SECONDS * 1000))
    elif dialect_name == "postgresql":
        slow = func.pg_sleep(REPORT_SECONDS)
    else:  # MariaDB / MySQL
        slow = func.sleep(REPORT_SECONDS)
    return select(
        func.count(Order.id).label("orders"),
        func.coalesce(func.sum(Order.amount_cents), 0).label("revenue_cents"),
        slow.label("waited"),
    )


# Unbound at import (importing opens no database); create_app binds it to the
# app's engine at startup. Serve one app per process, as uvicorn and the harness do.
SessionLocal = sessionmaker()


def get_db() -> Iterator[Session]:
    """One Session per request, closed when the request is done."""
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
