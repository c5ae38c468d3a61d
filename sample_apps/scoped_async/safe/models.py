"""Tables of the scoped_async sample app."""

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique, so a duplicate POST fails at flush time with IntegrityError.
    value: Mapped[int] = mapped_column(unique=True)
    note: Mapped[str | None] = mapped_column(String(200))
