"""Sample app pair for SL12 blocking-session-in-async-def.

A small shop backend: ``POST /orders`` records an order, ``GET /reports/sales``
runs a slow aggregate over all orders (about a second -- stood in for by the
database's sleep function, see ``db.sales_report_query``), ``GET /health`` answers
the load balancer. The two arms differ only in how the report route is declared
(``diff -r unsafe safe``):

* ``unsafe`` -- ``async def`` with the sync ``Session`` from ``Depends(get_db)``:
  the query runs on the event loop thread and blocks it, so while one report runs
  no other request of the worker -- ``/health`` included -- is answered.
* ``safe`` -- the same body as a plain ``def``: FastAPI runs it in its threadpool
  and the loop stays free (an ``AsyncSession`` with ``await`` would do too).

Staging hooks, the same points in both arms (``sessionlint.harness.staging``):
``before_report_query`` just before the report's query and ``health_check`` in
``/health`` -- no-ops unless ``sessionlint stress`` parks a request there (see
``harness/scenarios/blocking_in_async.py``). ``async def`` code waits with
``await acheckpoint(...)``, which never blocks the loop itself.
"""
