"""The missing_rollback sample app: seat reservations.

Serve an arm with ``uvicorn sessionlint.sample_apps.missing_rollback.unsafe.main:app``
(or ``.safe.main:app``); the arms differ only in the Session's scope and in the
rollback after a failed commit.
"""

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .db import SessionLocal, db, make_engine
from .models import Base, Reservation


class ReservationIn(BaseModel):
    seat: str = Field(min_length=1, max_length=40)
    ticket: int


def create_app(database_url: str | None = None) -> FastAPI:
    """Build the app on `database_url`, else $SESSIONLINT_DATABASE_URL, else a
    SQLite file in a fresh temporary directory that is removed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with tempfile.TemporaryDirectory(prefix="sessionlint-missing-rollback-") as tmp:
            url = database_url or os.environ.get("SESSIONLINT_DATABASE_URL")
            engine = make_engine(url or "sqlite:///" + os.path.join(tmp, "app.db"))
            Base.metadata.create_all(engine)
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

    app = FastAPI(title="missing_rollback sample app", lifespan=lifespan)

    @app.get("/health")
    def health():
        return {"ok": True}

    @app.post("/reservations", status_code=201)
    def reserve(body: ReservationIn):
        db.add(Reservation(seat=body.seat, ticket=body.ticket))
        try:
            db.commit()
        except IntegrityError:
            # Unsafe: the failed flush left the Session "inactive", and nothing
            # rolls it back. This request still answers a tidy 409, but every
            # later use of the Session raises PendingRollbackError, and this
            # Session serves every later request.
            return JSONResponse({"detail": f"seat {body.seat} is already taken"}, status_code=409)
        return {"seat": body.seat, "ticket": body.ticket}

    @app.get("/reservations")
    def list_reservations():
        return {"tickets": list(db.scalars(select(Reservation.ticket).order_by(Reservation.ticket)))}

    return app


app = create_app()
