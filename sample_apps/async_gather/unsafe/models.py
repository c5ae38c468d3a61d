"""Tables of the async_gather sample app."""

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Deposit(Base):
    """One ledger line; an account's balance is the sum of its deposits."""

    __tablename__ = "deposits"

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(64), index=True)
    amount: Mapped[int]
