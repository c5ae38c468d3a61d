"""The async_gather sample app: a deposit ledger that records a batch concurrently.

Serve an arm with ``uvicorn sessionlint.sample_apps.async_gather.unsafe.main:app``
(or ``.safe.main:app``); both arms differ only in which session the gathered
tasks use.
"""

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .db import AsyncSessionLocal, get_db, make_engine
from .models import Base, Deposit


class DepositBatch(BaseModel):
    amounts: list[int] = Field(min_length=1, max_length=20)


async def record_deposit(account: str, amount: int) -> None:
    """Record one deposit and commit it, in a session of its own: safe to run as a task.

    Each deposit commits on its own, so a batch is not all-or-nothing; for that,
    await the deposits one after another on the request's session instead.
    """
    async with AsyncSessionLocal() as db:
        db.add(Deposit(account=account, amount=amount))
        await db.commit()


def create_app(database_url: str | None = None) -> FastAPI:
    """Build the app on the async `database_url`, else $SESSIONLINT_DATABASE_URL,
    else a SQLite file (aiosqlite) in a temporary directory removed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with tempfile.TemporaryDirectory(prefix="sessionlint-async-gather-") as tmp:
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

    app = FastAPI(title="async_gather sample app", lifespan=lifespan)

    @app.get("/health")
    async def health():
        return {"ok": True}

    @app.post("/accounts/{account}/deposits", status_code=201)
    async def deposit_batch(account: str, batch: DepositBatch):
        # Safe: no session is shared; each task opens its own (AsyncSession per task).
        await asyncio.gather(*(record_deposit(account, amount) for amount in batch.amounts))
        return {"account": account, "deposited": sum(batch.amounts), "count": len(batch.amounts)}

    @app.get("/accounts/{account}")
    async def balance(account: str, db: AsyncSession = Depends(get_db)):
        total = await db.scalar(select(func.coalesce(func.sum(Deposit.amount), 0)).where(Deposit.account == account))
        return {"account": account, "balance": int(total or 0)}

    return app


app = create_app()
