from fastapi import APIRouter, BackgroundTasks

from ..db import AsyncSessionLocal
from ..services import notes

router = APIRouter(prefix="/notes", tags=["views"])


@router.get("/{note_id}/view")
async def view_note(note_id: int, tasks: BackgroundTasks):
    # Fixed: the task opens its own session; it gets the id, not the request's session.
    tasks.add_task(record_view, note_id)
    return {"queued": True}


async def record_view(note_id: int) -> None:
    async with AsyncSessionLocal() as session:
        await notes.add_view(session, note_id)
