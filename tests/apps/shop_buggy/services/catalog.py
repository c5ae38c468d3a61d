from typing import Annotated

from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import SessionLocal
from ..models import Product

# PLANTED BUG (SL001): one session for the whole process, shared by every request.
_session = SessionLocal()


class CatalogService:
    def __init__(self, db: Session) -> None:
        self.db = db

    def list_products(self) -> list[dict]:
        rows = self.db.scalars(select(Product).order_by(Product.id)).all()
        return [{"id": p.id, "name": p.name, "price_cents": p.price_cents} for p in rows]

    def get_product(self, product_id: int) -> Product | None:
        return self.db.get(Product, product_id)


def get_catalog() -> CatalogService:
    return CatalogService(_session)


Catalog = Annotated[CatalogService, Depends(get_catalog)]
