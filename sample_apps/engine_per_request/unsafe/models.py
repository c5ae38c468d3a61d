"""Tables of the engine_per_request sample app."""

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique: every POST stores a value no other request stored.
    value: Mapped[int] = mapped_column(unique=True)
    note: Mapped[str | None] = mapped_column(String(200))
