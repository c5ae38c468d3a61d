from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .db import AsyncSessionLocal, async_engine, sync_engine
from .models import Base, Comment, Note
from .routers import notes, stats, views


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with async_engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    async with AsyncSessionLocal() as session:
        if await session.get(Note, 1) is None:
            session.add_all(Note(id=i, title=f"note {i}") for i in range(1, 6))
            session.add_all(Comment(note_id=1 + i % 5, body=f"comment {i}") for i in range(12))
            await session.commit()
    yield
    await async_engine.dispose()
    sync_engine.dispose()


app = FastAPI(title="notes", lifespan=lifespan)
app.include_router(notes.router)
app.include_router(views.router)
app.include_router(stats.router)
