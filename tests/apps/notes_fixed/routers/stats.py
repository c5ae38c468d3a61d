from fastapi import APIRouter
from sqlalchemy import func, select

from ..db import SyncDbSession
from ..models import Comment, Note

router = APIRouter(prefix="/stats", tags=["stats"])


# Fixed: a `def` route, which FastAPI runs on its threadpool.
@router.get("")
def stats(db: SyncDbSession):
    return {"notes": db.scalar(select(func.count(Note.id))), "comments": db.scalar(select(func.count(Comment.id)))}
