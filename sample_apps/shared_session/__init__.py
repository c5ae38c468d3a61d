"""Sample app pair for SL01 global-session (and SL02, its disguises).

A tiny item store in two arms that differ only in how the SQLAlchemy Session is
scoped (``diff -r unsafe safe`` shows nothing else):

* ``unsafe`` -- one module-level ``db = SessionLocal()`` used by every request, so
  concurrent requests share one transaction, one failed flush poisons later
  requests, and one request's ``commit()`` can commit another's half-done work.
* ``safe`` -- the per-request ``get_db`` yield dependency: a fresh Session for each
  request, closed in ``finally``.

Each arm's ``main.create_app(database_url=None)`` builds the FastAPI app; the
module-level ``app`` is for ``uvicorn sessionlint.sample_apps.shared_session.<arm>.main:app``.

Both arms call ``checkpoint("after_flush")`` (``sessionlint.harness.staging``) right
after the flush in ``POST /items``: a no-op unless ``sessionlint stress`` stages an
interleaving there (it parks request A after its flush while B reads and C commits;
see ``harness/scenarios/shared_session.py``).
"""
