from fastapi import APIRouter, HTTPException

from ..deps import OrdersDb
from ..services import orders

router = APIRouter(prefix="/orders", tags=["orders"])


@router.get("/count")
def count(db: OrdersDb):
    return {"count": orders.count_orders(db)}


@router.get("/{order_id}")
def get_order(order_id: int, db: OrdersDb):
    summary = orders.order_summary(db, order_id)
    if summary is None:
        raise HTTPException(status_code=404, detail="no such order")
    return summary
