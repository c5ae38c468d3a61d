from fastapi import APIRouter
from sqlalchemy import func, select

from ..db import SyncDbSession
from ..models import Comment, Note

router = APIRouter(prefix="/stats", tags=["stats"])


# PLANTED BUG (SL012): a sync Session inside `async def` blocks the event loop.
@router.get("")
async def stats(db: SyncDbSession):
    return {"notes": db.scalar(select(func.count(Note.id))), "comments": db.scalar(select(func.count(Comment.id)))}
