"""The scoped_async sample app: a tiny item store on an AsyncSession.

Serve an arm with ``uvicorn sessionlint.sample_apps.scoped_async.unsafe.main:app``
(or ``.safe.main:app``); this file is the same in both arms: they differ only in
``db.get_db``, i.e. in where the request's session comes from.
"""

import itertools
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sessionlint.harness.staging import acheckpoint

from .db import AsyncSessionLocal, get_db, make_engine
from .models import Base, Item

# Numbers handed to sessions by GET /whoami, once per session (id() could be
# reused by a later session once an earlier one is garbage-collected).
_session_numbers = itertools.count(1)


class ItemIn(BaseModel):
    value: int
    reject: bool = False
    note: str | None = None


def create_app(database_url: str | None = None) -> FastAPI:
    """Build the app on the async `database_url`, else $SESSIONLINT_DATABASE_URL,
    else a SQLite file (aiosqlite) in a temporary directory removed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with tempfile.TemporaryDirectory(prefix="sessionlint-scoped-async-") as tmp:
            url = database_url or os.environ.get("SESSIONLINT_DATABASE_URL")
            engine = make_engine(url or "sqlite+aiosqlite:///" + os.path.join(tmp, "app.db"))
            async with engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
            AsyncSessionLocal.configure(bind=engine)
            app.state.engine = engine
            try:
                yield
            finally:
                await engine.dispose()

    app = FastAPI(title="scoped_async sample app", lifespan=lifespan)

    @app.get("/health")
    async def health():
        return {"ok": True}

    @app.post("/items", status_code=201)
    async def create_item(item: ItemIn, db: AsyncSession = Depends(get_db)):
        row = Item(value=item.value, note=item.note)
        db.add(row)
        # A no-op unless the stress harness stages an interleaving here, e.g. "park
        # this request between add() and flush() while another request runs".
        await acheckpoint("after_add")
        # The INSERT runs here. A duplicate value raises IntegrityError (500).
        await db.flush()
        if item.reject:
            await db.rollback()
            raise HTTPException(status_code=409, detail="rejected")
        await db.commit()
        return {"id": row.id, "value": row.value}

    @app.get("/items")
    async def list_items(db: AsyncSession = Depends(get_db)):
        return {"values": list(await db.scalars(select(Item.value).order_by(Item.value)))}

    @app.get("/whoami")
    async def whoami(db: AsyncSession = Depends(get_db)):
        """Which session serves this request: a debugging aid (and the harness's probe)."""
        if "number" not in db.info:
            db.info["number"] = next(_session_numbers)
        await acheckpoint("whoami")
        return {"session": db.info["number"]}

    return app


app = create_app()
