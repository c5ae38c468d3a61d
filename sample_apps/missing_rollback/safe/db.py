"""Engine and session handling for the missing_rollback sample app."""

from collections.abc import Iterator

from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        # def routes run in FastAPI's threadpool, not in the thread that opened
        # the connection, so pysqlite's same-thread check has to go.
        return create_engine(url, connect_args={"check_same_thread": False})
    # A small pool with a short timeout: a request that cannot get a
    # connection fails fast instead of hanging.
    return create_engine(url, pool_size=3, max_overflow=0, pool_timeout=2)


# Created unbound at import (so importing opens no database); each app binds it
# to its own engine at startup (see create_app in main.py).
SessionLocal = sessionmaker()


# Safe: a new Session for every request, closed once the request is done.
# close() also discards a transaction a failed commit left behind, so whatever
# one request did to its Session cannot reach the next request.
def get_db() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
