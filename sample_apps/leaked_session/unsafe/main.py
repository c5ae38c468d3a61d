"""The leaked_session sample app: a tiny item store whose sessions leak.

Serve an arm with ``uvicorn sessionlint.sample_apps.leaked_session.unsafe.main:app``
(or ``.safe.main:app``); both arms differ only in how each Session is closed.
"""

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sessionlint.harness.staging import checkpoint

from .db import SessionLocal, get_db, get_reader, make_engine
from .models import Base, Item


class ItemIn(BaseModel):
    value: int
    note: str | None = None
    # Validate only: the app checks the value, then refuses to store it (409).
    reject: bool = False


def create_app(database_url: str | None = None) -> FastAPI:
    """Build the app on `database_url`, else $SESSIONLINT_DATABASE_URL, else a
    SQLite file in a fresh temporary directory that is removed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with tempfile.TemporaryDirectory(prefix="sessionlint-leaked-session-") as tmp:
            url = database_url or os.environ.get("SESSIONLINT_DATABASE_URL")
            engine = make_engine(url or "sqlite:///" + os.path.join(tmp, "app.db"))
            Base.metadata.create_all(engine)
            # The module-level session factory is bound to this app's engine here,
            # so whichever app is serving owns the database.
            SessionLocal.configure(bind=engine)
            app.state.engine = engine
            try:
                yield
            finally:
                engine.dispose()

    app = FastAPI(title="leaked_session sample app", lifespan=lifespan)

    # No `-> dict` return annotations: with one, FastAPI validates the response in
    # its threadpool while the request's session still holds a connection.
    @app.get("/health")
    def health():
        return {"ok": True}

    @app.post("/items", status_code=201)
    def create_item(item: ItemIn, db: Session = Depends(get_db)):
        # Check first, so a duplicate is a clean 409 rather than an IntegrityError.
        exists = db.scalar(select(Item.id).where(Item.value == item.value)) is not None
        # A no-op unless the stress harness stages an interleaving here (same in
        # both arms); by now this request's session holds a pooled connection.
        checkpoint("after_query")
        if exists:
            raise HTTPException(status_code=409, detail="value already stored")
        if item.reject:
            # Refused after the check's SELECT: this session's transaction is
            # open and its connection checked out when the route raises.
            raise HTTPException(status_code=409, detail="rejected")
        row = Item(value=item.value, note=item.note)
        db.add(row)
        db.commit()
        return {"id": row.id, "value": row.value}

    @app.get("/items")
    def list_items(db: Session = Depends(get_reader)):
        values = list(db.scalars(select(Item.value).order_by(Item.value)))
        checkpoint("after_query")
        return {"values": values}

    @app.get("/items/{value}")
    def read_item(value: int, db: Session = Depends(get_db)):
        row = db.scalar(select(Item).where(Item.value == value))
        checkpoint("after_query")
        if row is None:
            raise HTTPException(status_code=404, detail="item not found")
        return {"value": row.value, "note": row.note}

    @app.get("/stats")
    def stats():
        # Unsafe (SL003): a Session opened in the route and never closed. The
        # count's SELECT checks a connection out, and nothing gives it back.
        db = SessionLocal()
        count = db.scalar(select(func.count(Item.id)))
        checkpoint("after_query")
        return {"items": count}

    return app


app = create_app()
