"""Engine and session handling for the async_gather sample app."""

from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def make_engine(url: str) -> AsyncEngine:
    # A batch opens one session per task in the safe arm, so the pool has room for
    # a few concurrent batches; waiting for a connection is bounded.
    return create_async_engine(url, pool_size=5, max_overflow=10, pool_timeout=10)


# Created unbound at module level, as in most apps; create_app binds it to the
# app's own engine at startup, so importing this module opens no database.
# expire_on_commit=False: an AsyncSession cannot lazy-load expired attributes.
AsyncSessionLocal = async_sessionmaker(expire_on_commit=False)


async def get_db() -> AsyncIterator[AsyncSession]:
    """One session per request, closed when the request is done."""
    async with AsyncSessionLocal() as db:
        yield db
