from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Order, Product


def revenue_report(db: Session) -> dict:
    total = db.scalar(select(func.sum(Product.price_cents * Order.quantity)).select_from(Order).join(Product)) or 0
    return {"revenue_cents": total}
