"""background-escape: the request's Session handed to a background task (SL010) vs ids.

The sample app (``sample_apps/background_escape``) signs users up: ``POST /signup
{"email": ...}`` stores the user (201) and queues a job that sends a welcome mail
(a slow SMTP round trip) and then logs it in ``mail_log``. Each sign-up is recorded
as an ``append`` of a unique integer ``v`` (address ``user<v>@example.com``) to the
key ``"users"``.

What goes wrong depends on FastAPI (antipatterns.md §SL10). On >= 0.118 the job
runs *before* the request's dependencies are torn down, so the unsafe job works,
but the request's Session reloads the expired ``User`` when the job reads
``user.email`` and holds that pooled connection for the whole mail. On 0.106-0.117
the Session is closed first and the job dies with ``DetachedInstanceError`` after
the client got its 201.

Staged round (the pool holds ``POOL_SIZE`` connections, no overflow)::

    S0..Sn-1: POST /signup  -- each job parks at checkpoint "sending_mail", mid-send:
                               unsafe: each holds a connection (the reload of user.email);
                               safe: none holds anything
    C:        POST /signup  -- unsafe: no connection left; after pool_timeout the
                               QueuePool raises TimeoutError (500);
                               safe: 201
    S* released              -- the mails go out and are logged

So every round of the unsafe arm shows a pool timeout and a server error on
FastAPI >= 0.118; on 0.106-0.117 the jobs die before they reach the checkpoint
(the round's notes say so) and every sign-up lacks its mail (``STAGED_SHOWS``
follows the installed version). The safe arm serves everything in both bands. httpx's ASGITransport runs
background tasks before the client's call returns, so the parked sign-ups are
still "in flight" while C runs -- which is also what a real server's worker sees.

``probe(app)`` checks the jobs' own writes at quiescence: every stored user must
have its welcome mail logged. A job that failed after the response (the
0.106-0.117 band) leaves a user without one, reported as ``lost_background_work``.
"""

from __future__ import annotations

import random

from sqlalchemy import text

from ..driver import Driver, Op, Round
from ._common import health, pick, sample_module

NAME = "background-escape"
TITLE = "Session escapes into a background task"
CODES = ("SL010",)
ARMS = ("unsafe", "safe")
KEY = "users"
DESCRIPTION = (
    "A background job that sends the welcome mail with the request's Session and User "
    "(unsafe) vs one given the user's id and address that opens its own Session (safe)."
)
EXPECTED_FAILURE = ("requests timing out on a pool drained by background jobs (FastAPI >= 0.118), "
                    "or background jobs that failed after the response (0.106-0.117)")
SYMPTOMS = ("pool_timeouts", "server_errors", "held_connections", "lost_background_work", "errors_after_response")


def _fastapi_runs_tasks_before_teardown() -> bool:
    """FastAPI >= 0.118 runs background tasks before request-scope teardown (PR #14099)."""
    from importlib.metadata import version

    major, minor = (int(part) for part in version("fastapi").split(".")[:2])
    return (major, minor) >= (0, 118)


# What every staged round shows depends on the installed FastAPI's band: from 0.118
# on, the parked jobs drain the pool; on 0.106-0.117 every job dies on the closed
# Session (DetachedInstanceError) and its mail is never logged.
STAGED_SHOWS = (("pool_timeouts", "server_errors") if _fastapi_runs_tasks_before_teardown()
                else ("lost_background_work",))
ANOMALY_FAMILIES = ("session", "integrity")

PAIR = "background_escape"
# Load mode's mix: mostly sign-ups (each queues a slow mail), some health checks.
MIX = (("signup", 0.8), ("health", 0.2))


def create_app(arm: str, database_url: str):
    return sample_module(PAIR, arm, "main").create_app(database_url)


def metadata(arm: str):
    return sample_module(PAIR, arm, "models").Base.metadata


def pool_size(arm: str = "unsafe") -> int:
    return sample_module(PAIR, arm, "db").POOL_SIZE


def _value_of(email: str) -> int:
    return int(email.removeprefix("user").split("@", 1)[0])


def read_final_state(connection) -> dict[str, list[int]]:
    emails = connection.execute(text("SELECT email FROM users ORDER BY id")).scalars().all()
    return {KEY: [_value_of(e) for e in emails]}


def signup(value: int) -> Op:
    return Op("append", "POST", "/signup", json={"email": f"user{value}@example.com"}, key=KEY, value=value)


def load_op(rng: random.Random, driver: Driver) -> Op:
    kind = pick(rng, MIX)
    return health() if kind == "health" else signup(driver.unique())


async def staged_round(r: Round) -> None:
    import anyio

    parked = []
    async with anyio.create_task_group() as tg:
        # Fill the pool's capacity with sign-ups whose mail jobs are mid-send.
        for index in range(pool_size()):
            name = f"S{index}"
            barrier = r.arm(name, "sending_mail")
            pending = r.start(tg, index, signup(r.unique()), tag=r.tag(name))
            await r.reached(barrier, pending)
            parked.append(barrier)
        try:
            # One more sign-up while every earlier job is still sending.
            await r.call(len(parked), signup(r.unique()))
        finally:
            for barrier in parked:
                barrier.release()


def probe(app) -> dict:
    """Users whose welcome mail was never logged: background jobs that failed after the response."""
    engine = app.state.engine
    query = text("SELECT u.id, u.email FROM users u WHERE NOT EXISTS "
                 "(SELECT 1 FROM mail_log m WHERE m.user_id = u.id AND m.kind = 'welcome') ORDER BY u.id")
    with engine.connect() as connection:
        missing = connection.execute(query).all()
    example = None
    if missing:
        example = (f"user {missing[0].id} ({missing[0].email}) got 201 but no welcome mail was logged: "
                   "its background job failed after the response")
    return {"background_work_lost": {"count": len(missing), "example": example}}
