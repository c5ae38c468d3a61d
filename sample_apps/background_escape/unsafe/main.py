"""The background_escape sample app: sign-ups with a welcome mail sent in the background.

Serve an arm with ``uvicorn sessionlint.sample_apps.background_escape.unsafe.main:app``
(or ``.safe.main:app``); both arms differ only in what the background job is given.
"""

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import BackgroundTasks, Depends, FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .db import SessionLocal, get_db, make_engine
from .mail import send_mail
from .models import Base, MailLog, User


class SignupIn(BaseModel):
    email: str


# Unsafe: the job borrows the request's Session and the User it loaded. The commit
# in signup() expired `user`, so `user.email` reloads it through that Session: a
# pooled connection is checked out (and a transaction begun) before the mail goes
# out and is only given back by the commit below -- the Session itself is closed
# after this job, when FastAPI (>= 0.118) tears the request's dependencies down.
# On FastAPI 0.106-0.117 the Session is closed *before* the job runs, and the same
# line raises DetachedInstanceError after the client already got its 201.
def send_welcome(db: Session, user: User) -> None:
    send_mail(to=user.email, subject="Welcome!", body="Thanks for signing up.")
    db.add(MailLog(user_id=user.id, kind="welcome", recipient=user.email))
    db.commit()


def create_app(database_url: str | None = None) -> FastAPI:
    """Build the app on `database_url`, else $SESSIONLINT_DATABASE_URL, else a
    SQLite file in a fresh temporary directory that is removed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with tempfile.TemporaryDirectory(prefix="sessionlint-background-escape-") as tmp:
            url = database_url or os.environ.get("SESSIONLINT_DATABASE_URL")
            engine = make_engine(url or "sqlite:///" + os.path.join(tmp, "app.db"))
            Base.metadata.create_all(engine)
            SessionLocal.configure(bind=engine)
            app.state.engine = engine
            try:
                yield
            finally:
                engine.dispose()

    app = FastAPI(title="background_escape sample app", lifespan=lifespan)

    @app.get("/health")
    def health():
        return {"ok": True}

    @app.post("/signup", status_code=201)
    def signup(payload: SignupIn, tasks: BackgroundTasks, db: Session = Depends(get_db)):
        user = User(email=payload.email)
        db.add(user)
        # The INSERT runs here; a duplicate address raises IntegrityError (500).
        db.flush()
        # Read what the answer needs before the commit: after it every attribute
        # is expired, and touching one would reload it (a new transaction that
        # the request's Session keeps open until it is closed).
        body = {"id": user.id, "email": user.email}
        db.commit()
        tasks.add_task(send_welcome, db, user)
        return body

    @app.get("/users/{user_id}")
    def read_user(user_id: int, db: Session = Depends(get_db)):
        user = db.get(User, user_id)
        if user is None:
            raise HTTPException(status_code=404, detail="user not found")
        mails = db.scalar(select(func.count()).select_from(MailLog).where(MailLog.user_id == user_id))
        return {"id": user.id, "email": user.email, "mails_sent": mails}

    return app


app = create_app()
