"""Engine and session handling for the background_escape sample app."""

from collections.abc import Iterator

from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.orm import Session, sessionmaker

# A small pool with a short timeout: connections held by background jobs show up
# as request failures within a second instead of a slow drift.
POOL_SIZE = 2
POOL_TIMEOUT = 1.0


def make_engine(url: str) -> Engine:
    connect_args = {}
    if make_url(url).get_backend_name() == "sqlite":
        # def routes, their dependencies and background tasks each run on some
        # worker thread of FastAPI's threadpool, so pysqlite's same-thread check
        # has to go (file databases still get a QueuePool in SQLAlchemy 2.x).
        connect_args["check_same_thread"] = False
    return create_engine(url, pool_size=POOL_SIZE, max_overflow=0, pool_timeout=POOL_TIMEOUT,
                         connect_args=connect_args)


# Unbound at import (importing opens no database); create_app binds it to the
# app's engine at startup. Serve one app per process, as uvicorn and the harness do.
SessionLocal = sessionmaker()


def get_db() -> Iterator[Session]:
    """One Session per request, closed when the request's dependencies are torn down."""
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
