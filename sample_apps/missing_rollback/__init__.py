"""Sample app pair for SL006 no-rollback-after-error: one caught IntegrityError poisons a
session that nobody rolls back.

A tiny seat-reservation service: ``POST /reservations {"seat": "A1", "ticket": 17}``
books a seat (201), or answers 409 "seat already taken" when the seat's unique
constraint rejects the INSERT -- the usual "let the database decide, catch
IntegrityError" pattern. ``GET /reservations`` lists the tickets booked.

* ``unsafe`` -- one module-level ``db = SessionLocal()`` that outlives every
  request, and an ``except IntegrityError`` that answers 409 without
  ``rollback()``. After the first taken seat the Session stays "inactive": every
  later request, whatever it does, fails with ``PendingRollbackError`` (500)
  until a restart (sqlalchemy#10251).
* ``safe`` -- a Session per request from the ``get_db`` yield dependency (closed in
  ``finally``, so even a forgotten rollback would die with the request), and
  ``db.rollback()`` in the handler, so the 409 leaves nothing behind.

``diff -r unsafe safe`` shows only those two changes. No staging checkpoints are
needed: the failure is sequential (one request fails, the next ones pay for it).
"""
