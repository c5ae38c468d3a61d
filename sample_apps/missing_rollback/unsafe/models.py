"""Tables of the missing_rollback sample app."""

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Reservation(Base):
    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One reservation per seat: booking a taken seat fails at commit with
    # IntegrityError, which the app turns into 409.
    seat: Mapped[str] = mapped_column(String(40), unique=True)
    # The booking reference the client chose; unique too, so each one names
    # exactly one request.
    ticket: Mapped[int] = mapped_column(unique=True)
