"""missing-rollback: a caught IntegrityError poisons a session nobody rolls back (SL006).

The sample app (``sample_apps/missing_rollback``) books seats:
``POST /reservations {"seat": s, "ticket": t}`` answers 201, or 409 when seat s is
already taken (the seat's unique constraint fails the commit and the app catches
the IntegrityError); ``GET /reservations`` lists every booked ticket. Tickets are
the harness's unique values, recorded under the single key ``"tickets"``; booking a
taken seat is a ``reject`` (its ticket must never be persisted).

The unsafe arm uses one module-level Session and answers the 409 without
``rollback()``; the safe arm uses a Session per request and rolls back. Invariant
I3 (antipatterns.md §5): after one failed request, later requests still succeed.

Staged round (sequential: no barrier is needed, the damage outlives the request)::

    A: POST seat s, ticket a  -- 201 in both arms (round 1; later rounds of the
                                 unsafe arm already fail)
    B: POST seat s, ticket b  -- the seat is taken: IntegrityError at commit, 409.
                                 unsafe: the shared Session is left "inactive"
    C: POST seat s', ticket c -- a free seat. unsafe: PendingRollbackError, 500;
                                 safe: 201
    D: GET /reservations      -- unsafe: PendingRollbackError, 500; safe: 200

So every staged run of the unsafe arm shows server errors (the error taxonomy
names PendingRollbackError), on every database, and its availability collapses;
the safe arm serves every request (B's 409 is the intended answer).

Load mode mixes bookings of fresh seats, reads, and bookings of seats an earlier
request was seen to book (201), so those are certainly taken and must get 409.
"""

from __future__ import annotations

import random
import weakref

from sqlalchemy import text

from ..driver import Driver, Op, Round
from ._common import pick, sample_module

NAME = "missing-rollback"
TITLE = "Missing rollback"
CODES = ("SL006",)
ARMS = ("unsafe", "safe")
KEY = "tickets"
DESCRIPTION = (
    "A module-level Session whose `except IntegrityError: return 409` never calls "
    "rollback() (unsafe) vs a Session per request from Depends(get_db) that is rolled "
    "back in the handler (safe)."
)
EXPECTED_FAILURE = (
    "after one request fails its commit (409), every later request fails with "
    "PendingRollbackError (500)"
)
SYMPTOMS = ("server_errors",)
# What every staged run of the unsafe arm shows, on every database (tests hold it to this).
STAGED_SHOWS = ("server_errors",)
# Session-scope and data-integrity anomalies count (a shared session could also
# commit or expose a failed request's row); isolation anomalies are lost-update's.
ANOMALY_FAMILIES = ("session", "integrity")

# Load mode's mix: reads, bookings of free seats, bookings of seats known to be taken.
MIX = (("read", 0.30), ("append", 0.50), ("reject", 0.20))

# Per driver (one run): seats a request was answered 201 for, i.e. certainly taken.
_taken: weakref.WeakKeyDictionary[Driver, list[str]] = weakref.WeakKeyDictionary()


def create_app(arm: str, database_url: str):
    return sample_module("missing_rollback", arm, "main", ARMS).create_app(database_url)


def metadata(arm: str):
    return sample_module("missing_rollback", arm, "models", ARMS).Base.metadata


def read_final_state(connection) -> dict[str, list[int]]:
    tickets = connection.execute(text("SELECT ticket FROM reservations ORDER BY id")).scalars().all()
    return {KEY: [int(t) for t in tickets]}


def _tickets(body) -> list[int]:
    tickets = body["tickets"]
    if not isinstance(tickets, list):
        raise TypeError(f"tickets is {type(tickets).__name__}, not a list")
    return [int(t) for t in tickets]


def read() -> Op:
    return Op("read", "GET", "/reservations", key=KEY, observe=_tickets)


def book(seat: str, ticket: int, *, taken: list[str] | None = None) -> Op:
    """Book a free seat (201). With `taken`, a 201 adds the seat to that list."""

    def booked(body) -> int:
        if taken is not None:
            taken.append(seat)
        return int(body["ticket"])

    return Op("append", "POST", "/reservations", json={"seat": seat, "ticket": ticket}, key=KEY, value=ticket,
              observe=booked)


def book_taken(seat: str, ticket: int) -> Op:
    """Book a seat that is already taken: the app must answer 409 and keep nothing."""
    return Op("reject", "POST", "/reservations", json={"seat": seat, "ticket": ticket}, key=KEY, value=ticket)


def seat_for(ticket: int) -> str:
    return f"seat-{ticket}"


def load_op(rng: random.Random, driver: Driver) -> Op:
    taken = _taken.setdefault(driver, [])
    kind = pick(rng, MIX)
    if kind == "read":
        return read()
    ticket = driver.unique()
    if kind == "reject" and taken:
        return book_taken(rng.choice(taken), ticket)
    return book(seat_for(ticket), ticket, taken=taken)


async def staged_round(r: Round) -> None:
    a, b, c = r.unique(), r.unique(), r.unique()
    seat = seat_for(a)
    await r.call(0, book(seat, a))
    # B: the same seat. Its commit fails; the unsafe arm answers 409 and leaves
    # its module-level Session inactive.
    await r.call(1, book_taken(seat, b))
    # C and D touch nothing B did: they fail only because they inherit B's Session.
    await r.call(2, book(seat_for(c), c))
    await r.call(3, read())
