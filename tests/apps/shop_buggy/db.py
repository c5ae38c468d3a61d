from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from .settings import DATABASE_URL

engine = create_engine(DATABASE_URL, connect_args={"check_same_thread": False}, pool_size=5, max_overflow=0,
                       pool_timeout=2)
SessionLocal = sessionmaker(bind=engine)


def get_db() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


DbSession = Annotated[Session, Depends(get_db)]
