import asyncio

from fastapi import APIRouter, HTTPException

from ..db import DbSession
from ..services import notes

router = APIRouter(prefix="/notes", tags=["notes"])


@router.get("/{note_id}")
async def read_note(note_id: int, session: DbSession):
    note = await notes.get_note(session, note_id)
    if note is None:
        raise HTTPException(status_code=404, detail="no such note")
    return {"id": note.id, "title": note.title, "views": note.views}


@router.get("/{note_id}/overview")
async def overview(note_id: int, session: DbSession):
    # PLANTED BUG (SL008): two concurrent tasks share one AsyncSession.
    note, comments = await asyncio.gather(notes.get_note(session, note_id), notes.count_comments(session, note_id))
    if note is None:
        raise HTTPException(status_code=404, detail="no such note")
    return {"id": note.id, "title": note.title, "comments": comments}
