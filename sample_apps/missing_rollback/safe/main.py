"""The missing_rollback sample app: seat reservations.

Serve an arm with ``uvicorn sessionlint.sample_apps.missing_rollback.unsafe.main:app``
(or ``.safe.main:app``); the arms differ only in the Session's scope and in the
rollback after a failed commit.
"""

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import SessionLocal, get_db, make_engine
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
            app.state.engine = engine
            try:
                yield
            finally:
                engine.dispose()

    app = FastAPI(title="missing_rollback sample app", lifespan=lifespan)

    @app.get("/health")
    def health():
        return {"ok": True}

    @app.post("/reservations", status_code=201)
    def reserve(body: ReservationIn, db: Session = Depends(get_db)):
        db.add(Reservation(seat=body.seat, ticket=body.ticket))
        try:
            db.commit()
        except IntegrityError:
            # Safe: the failed flush left the Session "inactive"; roll it back
            # before answering, so the Session is usable again (and the
            # per-request scope means no other request could have inherited it).
            db.rollback()
            return JSONResponse({"detail": f"seat {body.seat} is already taken"}, status_code=409)
        return {"seat": body.seat, "ticket": body.ticket}

    @app.get("/reservations")
    def list_reservations(db: Session = Depends(get_db)):
        return {"tickets": list(db.scalars(select(Reservation.ticket).order_by(Reservation.ticket)))}

    return app


app = create_app()
