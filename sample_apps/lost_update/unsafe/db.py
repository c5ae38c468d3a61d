"""Engine and session handling for the lost_update sample app (the same in both arms)."""

from collections.abc import Iterator

from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        # def routes run in FastAPI's threadpool, not in the thread that opened
        # the connection, so pysqlite's same-thread check has to go.
        return create_engine(url, connect_args={"check_same_thread": False})
    # Room for a burst of concurrent deposits: this app is about isolation, so a
    # request should never fail for want of a connection.
    return create_engine(url, pool_size=10, max_overflow=5, pool_timeout=10)


# Created unbound at import (so importing opens no database); each app binds it
# to its own engine at startup (see create_app in main.py).
SessionLocal = sessionmaker()


# Correct session scoping, in BOTH arms: a new Session for every request, closed
# once the request is done. It does not stop lost updates (see main.py).
def get_db() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
