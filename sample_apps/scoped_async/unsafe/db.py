"""Engine and session handling for the scoped_async sample app."""

import threading
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_scoped_session,
    async_sessionmaker,
    create_async_engine,
)


def make_engine(url: str) -> AsyncEngine:
    # A small pool with a bounded wait: nothing here should hold connections for long.
    return create_async_engine(url, pool_size=5, max_overflow=0, pool_timeout=5)


# Created unbound at module level, as in most apps; create_app binds it to the
# app's own engine at startup, so importing this module opens no database.
# expire_on_commit=False: an AsyncSession cannot lazy-load expired attributes.
AsyncSessionLocal = async_sessionmaker(expire_on_commit=False)

# Unsafe: a registry that keys sessions by thread, the scoped_session recipe of
# thread-per-request frameworks. FastAPI runs every async def route and async
# dependency on the event loop's one thread, so all requests in flight share ONE
# AsyncSession, and the first request to finish removes it under the others.
Session = async_scoped_session(AsyncSessionLocal, scopefunc=threading.get_ident)


async def get_db() -> AsyncIterator[AsyncSession]:
    try:
        yield Session()
    finally:
        await Session.remove()
