"""The shared_session sample app: a tiny item store.

Serve an arm with ``uvicorn sessionlint.sample_apps.shared_session.unsafe.main:app``
(or ``.safe.main:app``); both arms differ only in how the Session is scoped.
"""

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import select

from sessionlint.harness.staging import checkpoint

from .db import SessionLocal, db, make_engine
from .models import Base, Item


class ItemIn(BaseModel):
    value: int
    reject: bool = False
    note: str | None = None


def create_app(database_url: str | None = None) -> FastAPI:
    """Build the app on `database_url`, else $SESSIONLINT_DATABASE_URL, else a
    SQLite file in a fresh temporary directory that is removed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with tempfile.TemporaryDirectory(prefix="sessionlint-shared-session-") as tmp:
            url = database_url or os.environ.get("SESSIONLINT_DATABASE_URL")
            engine = make_engine(url or "sqlite:///" + os.path.join(tmp, "app.db"))
            Base.metadata.create_all(engine)
            # The engine is this app's own, made at startup; the module-level
            # session factory is bound to it here, so whichever app is serving
            # owns the database.
            SessionLocal.configure(bind=engine)
            # The one module-level Session already exists (db.py made it at
            # import), so point it at this engine too; every request then uses it.
            db.bind = engine
            app.state.engine = engine
            try:
                yield
            finally:
                db.close()  # give its connection back before the pool goes
                engine.dispose()

    app = FastAPI(title="shared_session sample app", lifespan=lifespan)

    # No `-> dict` return annotations: with one, FastAPI validates the response in
    # its threadpool while the request's session still holds a connection, and a
    # burst of requests larger than the pool then stalls until pool_timeout.
    @app.get("/health")
    def health():
        return {"ok": True}

    @app.post("/items", status_code=201)
    def create_item(item: ItemIn):
        row = Item(value=item.value, note=item.note)
        db.add(row)
        # The INSERT runs here. A duplicate value raises IntegrityError and is
        # left unhandled (500), as in most apps.
        db.flush()
        # A no-op unless the stress harness stages an interleaving here, e.g. "park
        # this request after its flush while another request reads" (same in both arms).
        checkpoint("after_flush")
        if item.reject:
            db.rollback()
            raise HTTPException(status_code=409, detail="rejected")
        db.commit()
        return {"id": row.id, "value": row.value}

    @app.get("/items")
    def list_items():
        return {"values": list(db.scalars(select(Item.value).order_by(Item.value)))}

    @app.get("/items/{value}")
    def read_item(value: int):
        row = db.scalar(select(Item).where(Item.value == value))
        if row is None:
            raise HTTPException(status_code=404, detail="item not found")
        return {"value": row.value, "note": row.note}

    return app


app = create_app()
