"""The engine_per_request sample app: a tiny item store.

Serve an arm with ``uvicorn sessionlint.sample_apps.engine_per_request.unsafe.main:app``
(or ``.safe.main:app``); both arms differ only in where ``get_db`` gets its engine.
"""

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from sessionlint.harness.staging import checkpoint

from .db import get_db, make_engine
from .models import Base, Item


class ItemIn(BaseModel):
    value: int
    note: str | None = None


def create_app(database_url: str | None = None) -> FastAPI:
    """Build the app on `database_url`, else $SESSIONLINT_DATABASE_URL, else a
    SQLite file in a fresh temporary directory that is removed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with tempfile.TemporaryDirectory(prefix="sessionlint-engine-per-request-") as tmp:
            url = database_url or os.environ.get("SESSIONLINT_DATABASE_URL")
            url = url or "sqlite:///" + os.path.join(tmp, "app.db")
            # The app's engine, made once at startup; it creates the schema.
            engine = make_engine(url)
            Base.metadata.create_all(engine)
            app.state.engine = engine
            # The URL it was configured with; get_db in the unsafe arm builds an
            # engine of its own from it for every request.
            app.state.database_url = url
            try:
                yield
            finally:
                engine.dispose()

    app = FastAPI(title="engine_per_request sample app", lifespan=lifespan)

    # No `-> dict` return annotations: with one, FastAPI validates the response in
    # its threadpool while the request's session still holds a connection.
    @app.get("/health")
    def health():
        return {"ok": True}

    @app.post("/items", status_code=201)
    def create_item(item: ItemIn, db: Session = Depends(get_db)):
        row = Item(value=item.value, note=item.note)
        db.add(row)
        db.flush()
        # A no-op unless the stress harness stages an interleaving here (same in
        # both arms): the request holds its connection while it is parked.
        checkpoint("after_flush")
        db.commit()
        return {"id": row.id, "value": row.value}

    @app.get("/items")
    def list_items(db: Session = Depends(get_db)):
        return {"values": list(db.scalars(select(Item.value).order_by(Item.value)))}

    @app.get("/items/{value}")
    def read_item(value: int, db: Session = Depends(get_db)):
        row = db.scalar(select(Item).where(Item.value == value))
        if row is None:
            raise HTTPException(status_code=404, detail="item not found")
        return {"value": row.value, "note": row.note}

    return app


app = create_app()
