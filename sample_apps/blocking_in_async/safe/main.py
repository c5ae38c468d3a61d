"""The blocking_in_async sample app: orders, a slow sales report and a health check.

Serve an arm with ``uvicorn sessionlint.sample_apps.blocking_in_async.unsafe.main:app``
(or ``.safe.main:app``); both arms differ only in how the report route is declared.
"""

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from pydantic import BaseModel
from sqlalchemy.orm import Session

from sessionlint.harness.staging import checkpoint

from .db import SessionLocal, get_db, make_engine, sales_report_query
from .models import Base, Order


class OrderIn(BaseModel):
    reference: int
    amount_cents: int


def create_app(database_url: str | None = None) -> FastAPI:
    """Build the app on `database_url`, else $SESSIONLINT_DATABASE_URL, else a
    SQLite file in a fresh temporary directory that is removed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with tempfile.TemporaryDirectory(prefix="sessionlint-blocking-in-async-") as tmp:
            url = database_url or os.environ.get("SESSIONLINT_DATABASE_URL")
            engine = make_engine(url or "sqlite:///" + os.path.join(tmp, "app.db"))
            Base.metadata.create_all(engine)
            SessionLocal.configure(bind=engine)
            app.state.engine = engine
            try:
                yield
            finally:
                engine.dispose()

    app = FastAPI(title="blocking_in_async sample app", lifespan=lifespan)

    # No database at all. As a def route it runs on a worker thread, but its answer
    # still goes out through the event loop: while the loop is blocked, it waits.
    @app.get("/health")
    def health():
        # A no-op unless the stress harness parks this request here (same in both arms).
        checkpoint("health_check")
        return {"ok": True}

    @app.post("/orders", status_code=201)
    def place_order(order: OrderIn, db: Session = Depends(get_db)):
        row = Order(reference=order.reference, amount_cents=order.amount_cents)
        db.add(row)
        db.commit()
        return {"reference": order.reference}

    # Safe: the same body as a plain `def`. FastAPI runs it on a worker thread of its
    # threadpool, so the query blocks that thread only and the loop keeps serving.
    @app.get("/reports/sales")
    def sales_report(db: Session = Depends(get_db)):
        # A no-op unless the stress harness parks this request here (same in both arms).
        checkpoint("before_report_query")
        row = db.execute(sales_report_query(db.get_bind().dialect.name)).one()
        return {"orders": row.orders, "revenue_cents": int(row.revenue_cents)}

    return app


app = create_app()
