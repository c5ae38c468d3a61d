"""Sample app pair for SL003/SL004/SL005: sessions nobody closes.

A tiny item store in two arms that differ only in how each Session is closed
(``diff -r unsafe safe`` shows nothing else):

* ``unsafe`` -- three leaks, one per rule, each on its own route:
  ``GET /stats`` opens a Session in the route and never closes it (SL003);
  ``GET /items/{value}`` and ``POST /items`` use a yield dependency whose
  ``close()`` is not in ``finally`` (SL004), so every 404 / 409 leaks;
  ``GET /items`` uses a dependency that *returns* a Session (SL005), which
  FastAPI never closes.
* ``safe`` -- the same routes with ``with`` blocks and ``try/finally``.

A leaked Session keeps its pooled connection checked out (and, on PostgreSQL or
MariaDB, a transaction open) until the garbage collector breaks its reference
cycles. The pool is small (3 connections, no overflow, 1 s timeout), so three
leaks are enough to make the next request fail with ``QueuePool limit of size 3
overflow 0 reached, connection timed out``.

Each arm's ``main.create_app(database_url=None)`` builds the FastAPI app; the
module-level ``app`` is for ``uvicorn sessionlint.sample_apps.leaked_session.<arm>.main:app``.
See ``harness/scenarios/leaked_session.py`` for the staged round.
"""
