"""Sample app pair for SL009 (a thread-scoped session registry in an async app).

A tiny item store (async: AsyncEngine/AsyncSession) in two arms whose only
difference is ``db.py``'s ``get_db`` dependency (``diff -r unsafe safe``):

* ``unsafe`` -- ``async_scoped_session(..., scopefunc=threading.get_ident)``: the
  classic "one session per thread, ``remove()`` at the end of the request" recipe.
  Every ``async def`` route runs on the event loop's one thread, so every request
  in flight gets the same AsyncSession: one request reads another's unflushed
  rows, and one request's ``remove()`` (or rollback) throws away another's work.
* ``safe`` -- a new AsyncSession per request from the ``async_sessionmaker``
  (``async with AsyncSessionLocal() as db: yield db``).

Each arm's ``main.create_app(database_url=None)`` builds the FastAPI app on an async
URL; the module-level ``app`` is for
``uvicorn sessionlint.sample_apps.scoped_async.<arm>.main:app``.

Both arms call ``await acheckpoint("after_add")`` in ``POST /items`` (between
``add()`` and ``flush()``) and ``await acheckpoint("whoami")`` in ``GET /whoami``:
no-ops unless ``sessionlint stress`` stages an interleaving there (see
``harness/scenarios/scoped_async.py``).
"""
