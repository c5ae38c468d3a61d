from fastapi import APIRouter, BackgroundTasks

from ..db import DbSession
from ..services import notes

router = APIRouter(prefix="/notes", tags=["views"])


@router.get("/{note_id}/view")
async def view_note(note_id: int, session: DbSession, tasks: BackgroundTasks):
    # PLANTED BUG (SL010): the request's session goes to a task that runs after the response.
    tasks.add_task(notes.add_view, session, note_id)
    return {"queued": True}
