from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from .db import get_db

# Fixed: the orders router uses the per-request dependency that closes in `finally`.
OrdersDb = Annotated[Session, Depends(get_db)]
