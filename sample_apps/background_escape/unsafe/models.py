"""Tables of the background_escape sample app."""

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique, so signing up twice fails at flush time with IntegrityError.
    email: Mapped[str] = mapped_column(String(200), unique=True)


class MailLog(Base):
    """One row per mail actually sent: the background job's own write."""

    __tablename__ = "mail_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(50))
    recipient: Mapped[str] = mapped_column(String(200))
