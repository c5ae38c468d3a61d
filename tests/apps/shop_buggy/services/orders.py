from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Order


def order_summary(db: Session, order_id: int) -> dict | None:
    order = db.get(Order, order_id)
    if order is None:
        return None
    return {"id": order.id, "product_id": order.product_id, "quantity": order.quantity}


def count_orders(db: Session) -> int:
    return db.scalar(select(func.count(Order.id))) or 0
