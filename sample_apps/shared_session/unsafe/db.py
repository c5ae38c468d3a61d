"""Engine and session handling for the shared_session sample app."""

from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.orm import sessionmaker


def make_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        # def routes run in FastAPI's threadpool, not in the thread that opened
        # the connection, so pysqlite's same-thread check has to go.
        return create_engine(url, connect_args={"check_same_thread": False})
    # A small pool with a short timeout makes held connections fail fast.
    return create_engine(url, pool_size=5, max_overflow=0, pool_timeout=5)


# Created unbound, at module level as in most apps: each app makes its own
# engine at startup and binds this factory to it (see create_app in main.py).
# So importing this module opens no database, and apps started one after another
# in one process (the tests) each get their own. Two apps *serving at the same
# time* in one process would share whichever bound last: serve one app per
# process, as uvicorn and the harness do.
SessionLocal = sessionmaker()


# Unsafe: ONE Session for the whole process, made at import time and used by
# every request, concurrent ones included (SL01 global-session).
db = SessionLocal()
