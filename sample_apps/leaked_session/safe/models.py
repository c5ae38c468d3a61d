"""Tables of the leaked_session sample app."""

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique: POST /items answers 409 for a value that is already stored.
    value: Mapped[int] = mapped_column(unique=True)
    note: Mapped[str | None] = mapped_column(String(200))
