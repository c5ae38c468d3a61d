"""Small helpers shared by the test modules (import as `from helpers import ...`)."""

from __future__ import annotations

from pathlib import Path

# A project's db.py: a factory and a yield dependency whose close() is not in
# `finally:` (SL004), the shape most cross-file tests build on.
DB = '''\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)


def get_db():
    db = SessionLocal()
    yield db
    db.close()
'''


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    """Create `files` (relative path -> text or bytes) under `root`."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return root


SERVER_URL_VARIABLES = {"postgresql": "SESSIONLINT_TEST_POSTGRES_URL", "mariadb": "SESSIONLINT_TEST_MARIADB_URL"}


def server_database_url(variable: str) -> str:
    """The server URL in $`variable`, or skip -- except under CI=true, where a missing or
    unreachable server fails the test (CI must test the server databases)."""
    import os

    import pytest

    url = os.environ.get(variable)
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    if not url:
        if in_ci:
            pytest.fail(f"${variable} is not set: CI must test the server databases (make test sets it)")
        pytest.skip(f"${variable} not set")
    if not _reachable(url):
        if in_ci:
            pytest.fail(f"${variable}={url}: the server is unreachable; start it (see README) — under CI=true this fails")
        pytest.skip(f"${variable}: no server")
    return url


def _reachable(url: str) -> bool:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    try:
        engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:
        return False
    return True


class AppReturns:
    """ASGI wrapper for TestClient tests that count pooled connections or live objects.

    TestClient hands back a response once its body is sent, while FastAPI may still be
    running a yield dependency's teardown; and the anyio worker thread that ran a ``def``
    route drops its references to the call (arguments, exception, traceback, so the
    request's Session) only *after* handing the result back. `settle` waits out both
    without sleeping: it waits until the app has returned, then runs one more sequential
    request (``GET /health``), which lands on that same idle worker -- the only one a
    sequential client needs -- after it has let go of the previous call.
    """

    def __init__(self, app) -> None:
        import threading

        self.app = app
        self.started = 0
        self.returned = 0
        self._changed = threading.Condition()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            with self._changed:
                self.started += 1
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                with self._changed:
                    self.returned += 1
                    self._changed.notify_all()

    def wait(self, requests: int, timeout: float = 10.0) -> None:
        """Until the app has returned from `requests` HTTP calls in all."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.returned >= requests, timeout):
                raise AssertionError(f"the app returned from {self.returned} of {requests} requests "
                                     f"within {timeout:g} s")

    def settle(self, client, health: str = "/health") -> None:
        """Until every request so far has returned and no worker thread still holds one."""
        with self._changed:
            sent = self.started + 1  # every request so far, and this one
        response = client.get(health)
        if response.status_code != 200:
            raise AssertionError(f"GET {health} answered {response.status_code}: {response.text}")
        self.wait(sent)
