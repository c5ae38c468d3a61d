from fastapi import APIRouter, HTTPException

from ..services.catalog import Catalog

router = APIRouter(prefix="/products", tags=["products"])


@router.get("")
def list_products(catalog: Catalog):
    return catalog.list_products()


@router.get("/{product_id}")
def get_product(product_id: int, catalog: Catalog):
    product = catalog.get_product(product_id)
    if product is None:
        raise HTTPException(status_code=404, detail="no such product")
    return {"id": product.id, "name": product.name}
