"""Engine and session handling for the leaked_session sample app."""

from collections.abc import Iterator

from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.orm import Session, sessionmaker

# A small pool with a short timeout: a few leaked sessions are enough to starve
# every later request, and they fail after one second instead of thirty.
POOL = {"pool_size": 3, "max_overflow": 0, "pool_timeout": 1}


def make_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        # def routes run in FastAPI's threadpool, not in the thread that opened
        # the connection, so pysqlite's same-thread check has to go. A SQLite
        # file uses a QueuePool too, so the same limits apply.
        return create_engine(url, connect_args={"check_same_thread": False}, **POOL)
    return create_engine(url, **POOL)


# Created unbound at module level, as in most apps; create_app binds it to the
# app's own engine at startup, so importing this module opens no database.
SessionLocal = sessionmaker()


# Safe: close() in `finally`, so it runs when the route raises too (FastAPI
# throws the route's exception into the generator at the `yield`).
def get_db() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


# Safe: a yield dependency, so FastAPI runs its teardown after the response;
# the `with` block closes the Session on every path.
def get_reader() -> Iterator[Session]:
    with SessionLocal() as db:
        yield db
