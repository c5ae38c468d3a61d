"""Sample app pair for SL011 engine-per-request.

A tiny item store in two arms that differ only in where the request's Session gets
its engine (``diff -r unsafe safe`` shows nothing else):

* ``unsafe`` -- the ``get_db`` dependency calls ``create_engine`` for every request:
  a new engine is a new connection pool, so every request opens (and leaves open
  until the garbage collector finds the abandoned pool) a new database connection.
* ``safe`` -- one engine, made in the lifespan; ``get_db`` opens a Session on it, so
  requests reuse the pool's connections.

Both arms use the same small pool settings (3 connections, no overflow), so "one
pool's worth of connections" is 3: the unsafe arm passes that after three requests.

Each arm's ``main.create_app(database_url=None)`` builds the FastAPI app; the
module-level ``app`` is for ``uvicorn sessionlint.sample_apps.engine_per_request.<arm>.main:app``.
See ``harness/scenarios/engine_per_request.py`` for the staged round.
"""
