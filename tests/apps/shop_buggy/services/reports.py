from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from ..models import Order, Product
from ..settings import DATABASE_URL


def revenue_report() -> dict:
    # PLANTED BUG (SL011): a new engine -- a new connection pool -- for every report.
    report_engine = create_engine(DATABASE_URL, connect_args={"check_same_thread": False})
    with Session(report_engine) as db:
        total = db.scalar(select(func.sum(Product.price_cents * Order.quantity)).select_from(Order).join(Product)) or 0
    return {"revenue_cents": total}
