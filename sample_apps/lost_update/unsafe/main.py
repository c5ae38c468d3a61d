"""The lost_update sample app: account deposits.

Serve an arm with ``uvicorn sessionlint.sample_apps.lost_update.unsafe.main:app``
(or ``.safe.main:app``). Both arms scope the Session correctly (``Depends(get_db)``);
they differ only in how ``deposit`` changes the balance.
"""

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sessionlint.harness.staging import checkpoint

from .db import SessionLocal, get_db, make_engine
from .models import Account, Base

# Opened with a zero balance at startup when the table is empty.
OPENING_ACCOUNTS = ("ada", "grace", "edsger", "barbara")


class DepositIn(BaseModel):
    amount: int = Field(gt=0, description="cents")


def open_accounts(engine) -> None:
    with SessionLocal(bind=engine) as db, db.begin():
        if db.scalar(select(func.count()).select_from(Account)) == 0:
            db.add_all(Account(owner=owner, balance=0) for owner in OPENING_ACCOUNTS)


def create_app(database_url: str | None = None) -> FastAPI:
    """Build the app on `database_url`, else $SESSIONLINT_DATABASE_URL, else a
    SQLite file in a fresh temporary directory that is removed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with tempfile.TemporaryDirectory(prefix="sessionlint-lost-update-") as tmp:
            url = database_url or os.environ.get("SESSIONLINT_DATABASE_URL")
            engine = make_engine(url or "sqlite:///" + os.path.join(tmp, "app.db"))
            Base.metadata.create_all(engine)
            open_accounts(engine)
            SessionLocal.configure(bind=engine)
            app.state.engine = engine
            try:
                yield
            finally:
                engine.dispose()

    app = FastAPI(title="lost_update sample app", lifespan=lifespan)

    @app.get("/health")
    def health():
        return {"ok": True}

    @app.get("/accounts/{account_id}")
    def read_account(account_id: int, db: Session = Depends(get_db)):
        account = db.get(Account, account_id)
        if account is None:
            raise HTTPException(status_code=404, detail="account not found")
        return {"id": account.id, "owner": account.owner, "balance": account.balance}

    @app.post("/accounts/{account_id}/deposit")
    def deposit(account_id: int, body: DepositIn, db: Session = Depends(get_db)):
        account = db.get(Account, account_id)
        if account is None:
            raise HTTPException(status_code=404, detail="account not found")
        # A no-op unless the stress harness parks this request here (same point in
        # both arms: just before the balance is written).
        checkpoint("before_write")
        # Unsafe: the new balance is computed in Python from the balance read
        # above. A deposit that committed in between is overwritten: both
        # requests answer 200 and one amount is gone. The per-request Session is
        # correct and does not help -- this is an isolation bug, not a scope bug.
        account.balance = account.balance + body.amount
        db.commit()
        return {"id": account.id, "balance": account.balance}

    return app


app = create_app()
