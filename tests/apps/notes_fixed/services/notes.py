from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Comment, Note


async def get_note(session: AsyncSession, note_id: int) -> Note | None:
    return await session.get(Note, note_id)


async def count_comments(session: AsyncSession, note_id: int) -> int:
    return await session.scalar(select(func.count(Comment.id)).where(Comment.note_id == note_id)) or 0


async def add_view(session: AsyncSession, note_id: int) -> None:
    await session.execute(update(Note).where(Note.id == note_id).values(views=Note.views + 1))
    await session.commit()
