import os
import tempfile

# A throwaway SQLite file unless the environment points the app elsewhere (a sync
# SQLAlchemy URL; the async engine uses the matching async driver).
DATABASE_URL = os.environ.get("NOTES_DATABASE_URL") or "sqlite:///" + os.path.join(
    tempfile.mkdtemp(prefix="notes-"), "notes.db")
ASYNC_DATABASE_URL = DATABASE_URL.replace("sqlite://", "sqlite+aiosqlite://", 1).replace(
    "postgresql+psycopg://", "postgresql+asyncpg://", 1)
