"""Engine and session handling for the engine_per_request sample app."""

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.orm import Session

# Small pool settings, the same for every engine this app makes: one engine may
# hold at most 3 connections.
POOL = {"pool_size": 3, "max_overflow": 0, "pool_timeout": 1}


def make_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        # def routes run in FastAPI's threadpool, not in the thread that opened
        # the connection, so pysqlite's same-thread check has to go.
        return create_engine(url, connect_args={"check_same_thread": False}, **POOL)
    return create_engine(url, **POOL)


# Unsafe (SL011): a new engine for every request. An engine is a connection
# pool, so each request connects to the database from scratch, and when the
# request ends its pool -- with the connection still open inside it -- is simply
# dropped: nobody calls dispose(), so the connection stays open until the
# garbage collector gets to the abandoned pool.
def get_db(request: Request) -> Iterator[Session]:
    engine = make_engine(request.app.state.database_url)
    with Session(engine) as db:
        yield db
