"""Tables of the blocking_in_async sample app."""

from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique, so every order the harness places can be traced back to its request.
    reference: Mapped[int] = mapped_column(unique=True)
    amount_cents: Mapped[int]
