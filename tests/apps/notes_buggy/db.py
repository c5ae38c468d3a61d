from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

from .settings import ASYNC_DATABASE_URL, DATABASE_URL

async_engine = create_async_engine(ASYNC_DATABASE_URL, pool_size=5, max_overflow=0, pool_timeout=2)
AsyncSessionLocal = async_sessionmaker(async_engine, expire_on_commit=False)

# The stats module still uses the sync engine (a legacy report).
sync_engine = create_engine(DATABASE_URL, connect_args={"check_same_thread": False})
SyncSessionLocal = sessionmaker(sync_engine)


async def get_session() -> AsyncIterator[AsyncSession]:
    async with AsyncSessionLocal() as session:
        yield session


def get_sync_session() -> Iterator[Session]:
    with SyncSessionLocal() as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(get_session)]
SyncDbSession = Annotated[Session, Depends(get_sync_session)]
