from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .db import SessionLocal, engine
from .models import Base, Order, Product
from .routers import orders, products, reports


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    Base.metadata.create_all(engine)
    with SessionLocal() as db:
        if db.get(Product, 1) is None:
            db.add_all(Product(id=i, name=f"product {i}", price_cents=100 * i) for i in range(1, 6))
            db.add_all(Order(id=i, product_id=i, quantity=i) for i in range(1, 6))
            db.commit()
    yield
    engine.dispose()


app = FastAPI(title="shop", lifespan=lifespan)
app.include_router(products.router)
app.include_router(orders.router)
app.include_router(reports.router)


@app.get("/health")
def health():
    return {"ok": True}
