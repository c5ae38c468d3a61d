from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from .db import SessionLocal


# PLANTED BUG (SL005): hands out a session and never closes it.
def get_orders_db() -> Session:
    return SessionLocal()


OrdersDb = Annotated[Session, Depends(get_orders_db)]
