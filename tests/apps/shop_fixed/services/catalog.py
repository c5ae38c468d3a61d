from typing import Annotated

from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import DbSession
from ..models import Product


class CatalogService:
    def __init__(self, db: Session) -> None:
        self.db = db

    def list_products(self) -> list[dict]:
        rows = self.db.scalars(select(Product).order_by(Product.id)).all()
        return [{"id": p.id, "name": p.name, "price_cents": p.price_cents} for p in rows]

    def get_product(self, product_id: int) -> Product | None:
        return self.db.get(Product, product_id)


def get_catalog(db: DbSession) -> CatalogService:
    return CatalogService(db)


Catalog = Annotated[CatalogService, Depends(get_catalog)]
