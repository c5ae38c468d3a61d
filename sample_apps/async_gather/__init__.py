"""Sample app pair for SL008 (one AsyncSession shared by concurrent tasks).

A tiny deposit ledger in two arms that differ only in which session the
``asyncio.gather`` tasks of ``POST /accounts/{account}/deposits`` use
(``diff -r unsafe safe`` shows nothing else):

* ``unsafe`` -- the request's ``AsyncSession`` (from the ``get_db`` dependency) is
  handed to every gathered task. An AsyncSession is one unsynchronised object with
  one connection and one transaction: while the first task awaits the database
  inside ``commit()``, the next task calls ``commit()`` on the same session, and
  SQLAlchemy raises ``IllegalStateChangeError`` (on every database: the check runs
  before any SQL). The request answers 500 and the batch is half-applied.
* ``safe`` -- every task opens its own session from the ``async_sessionmaker``
  (``async with AsyncSessionLocal() as db``), SQLAlchemy's "AsyncSession per task".

Each arm's ``main.create_app(database_url=None)`` builds the FastAPI app on an async
URL (``sqlite+aiosqlite``, ``postgresql+asyncpg``, ``mysql+aiomysql``); the module-level
``app`` is for ``uvicorn sessionlint.sample_apps.async_gather.<arm>.main:app``.
No staging checkpoint is needed: the event loop itself starts the second task while
the first one is parked inside ``commit()`` (see ``harness/scenarios/async_gather.py``).
"""
