"""Serving an arm over real TCP, and targeting a server someone else runs.

Two ways to put an app in front of the driver (`serve`):

* ``asgi`` (the default): the harness runs the app's lifespan itself and the driver's
  clients call the app through ``httpx.ASGITransport`` -- no sockets;
* ``uvicorn``: a ``uvicorn.Server`` serves the app *in the child's own process and
  event loop* (so the staging barriers, which live in this process, still work) on a
  socket bound to 127.0.0.1 and a free port; uvicorn runs the lifespan, the clients
  talk HTTP over TCP. `uvicorn_server` always stops it -- on success, on an error
  and on cancellation -- with ``should_exit``, then ``force_exit``, then cancelling
  its task, each step bounded.

In both modes the app is wrapped in the driver's `InstrumentedApp` (error capture,
requests in flight, stage tag), so the runner's probes and verdicts do not depend
on the mode.

``--url`` mode (`child_run_url`): the driver fires the scenario's load workload at a
server that is already running. Nothing of the app is in our process, so there are
no barriers (load mode only), no pool probes, and the final state is read only when
the user names the server's database -- read-only, never created or dropped.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

SERVERS = ("asgi", "uvicorn")
STARTUP_TIMEOUT = 30.0  # seconds for uvicorn to run the app's startup and listen
STOP_TIMEOUT = 10.0  # seconds for a graceful stop before uvicorn is forced, then cancelled
GRACEFUL_SHUTDOWN = 2.0  # uvicorn's own bound on waiting for open connections at shutdown
NOT_CHECKED_WITHOUT_DATABASE = (
    "the final state was not read, so lost acknowledged writes and aborted writes that persisted "
    "were NOT checked; pass --database-url with the database this server uses to check them"
)


class LiveServerError(RuntimeError):
    """The live server could not be started (its startup failed or timed out)."""


# -- targets ------------------------------------------------------------------------------------


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_target_url(url: str, allow_remote: bool = False) -> str | None:
    """Why `url` cannot be a ``--url`` target, or None when it can."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http:// or https:// URL with a host (e.g. http://127.0.0.1:8000)"
    if not allow_remote and not is_loopback_host(parts.hostname):
        return (f"{parts.hostname} is not a loopback address; the harness fires hundreds of requests "
                "that write data there (pass --allow-remote if you mean it)")
    return None


# -- uvicorn in this process ----------------------------------------------------------------------


@dataclass
class LiveServer:
    host: str
    port: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class _QuietAfterResponse:
    """Swallow an app exception once its 500 has been sent.

    Starlette's ServerErrorMiddleware answers 500 and then re-raises; uvicorn would
    log a full traceback per failing request, which floods the arm's log in load
    mode. `InstrumentedApp` has already recorded the error for the history, so after
    a response has started there is nothing left to tell. Exceptions before any
    response still reach uvicorn (it answers 500 and logs them).
    """

    def __init__(self, app) -> None:
        self.app = app
        self.swallowed = 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if not started:
                raise
            self.swallowed += 1


def _bind_free_port(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))  # port 0: the OS picks a free port, and we hold it from here on
    return sock


def accepts_connections(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something listens on host:port (a refused connection means the port is free)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@asynccontextmanager
async def uvicorn_server(app, *, host: str = "127.0.0.1", startup_timeout: float = STARTUP_TIMEOUT,
                         stop_timeout: float = STOP_TIMEOUT) -> AsyncIterator[LiveServer]:
    """Serve `app` with uvicorn in this event loop for the duration of the block.

    uvicorn runs the app's lifespan (startup before the block, shutdown after). The
    server is stopped however the block ends; ``info`` then says whether it stopped,
    how many requests it served over TCP, and whether its port was free afterwards.
    """
    import anyio
    import uvicorn

    sock = _bind_free_port(host)
    live = LiveServer(host, sock.getsockname()[1], {"kind": "uvicorn", "uvicorn": uvicorn.__version__})
    live.info["url"] = live.url
    quiet = _QuietAfterResponse(app)
    # log_config=None: leave the process's logging alone (uvicorn only sets its levels).
    config = uvicorn.Config(quiet, lifespan="on", log_level="warning", log_config=None, access_log=False,
                            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN)
    server = uvicorn.Server(config)
    failure: dict[str, str] = {}

    async def run() -> None:
        try:
            await server.serve(sockets=[sock])
        except SystemExit as exc:  # uvicorn's way of saying the app's startup failed
            failure["error"] = f"uvicorn exited with status {exc.code} (the app's startup failed; see the log)"
        except Exception as exc:
            failure["error"] = f"{type(exc).__name__}: {exc}"

    # A plain asyncio task, not an anyio task group: errors of the block must reach the
    # caller as they are, not wrapped in an ExceptionGroup; this function owns the task.
    task = asyncio.get_running_loop().create_task(run())
    started_at = time.perf_counter()
    try:
        with anyio.move_on_after(startup_timeout):
            while not server.started and not task.done():
                await anyio.sleep(0.005)
        if not server.started:
            problem = failure.get("error") or f"uvicorn did not start within {startup_timeout:g} s"
            raise LiveServerError(f"could not serve the app with uvicorn on {live.url}: {problem}")
        live.info["startup"] = round(time.perf_counter() - started_at, 4)
        yield live
    finally:
        with anyio.CancelScope(shield=True):
            live.info["stop"] = await _stop(server, task, stop_timeout)
        sock.close()  # uvicorn closes it on a normal shutdown; this covers the others
        state = getattr(server, "server_state", None)
        live.info["total_requests"] = getattr(state, "total_requests", None)
        live.info["app_exceptions_after_response"] = quiet.swallowed
        live.info["stopped"] = task.done()
        live.info["port_free_after_stop"] = not accepts_connections(host, live.port)
        if failure.get("error") and server.started:
            live.info["error"] = failure["error"]


async def _stop(server, task: asyncio.Task, timeout: float) -> str:
    """Stop uvicorn, bounded: graceful, then forced, then cancelled. Returns how it stopped."""
    if task.done():
        return "already stopped"
    server.should_exit = True
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if done:
        return "graceful"
    server.force_exit = True  # stop waiting for open connections and background tasks
    done, _ = await asyncio.wait({task}, timeout=2.0)
    if done:
        return "forced"
    task.cancel()
    await asyncio.wait({task}, timeout=2.0)
    return "cancelled"


# -- choosing how the app is served ---------------------------------------------------------------


@dataclass
class Served:
    app: Any  # driver.InstrumentedApp: what the driver (or uvicorn) calls
    base_url: str | None  # None: call it in-process through ASGITransport
    info: dict[str, Any]


@asynccontextmanager
async def serve(app, kind: str = "asgi") -> AsyncIterator[Served]:
    """Put `app` in front of the driver: in-process (``asgi``) or over TCP (``uvicorn``)."""
    from .driver import InstrumentedApp, lifespan

    if kind == "asgi":
        async with lifespan(app) as state:  # ASGITransport sends no lifespan events: run it here
            yield Served(InstrumentedApp(app, state), None, {"kind": "asgi"})
    elif kind == "uvicorn":
        instrumented = InstrumentedApp(app)  # uvicorn runs the lifespan and passes its state itself
        async with uvicorn_server(instrumented) as live:
            yield Served(instrumented, live.url, live.info)
    else:
        raise ValueError(f"server must be one of {SERVERS}, not {kind!r}")


# -- --url: a server someone else runs -------------------------------------------------------------


_SYNC_DRIVERS = {"aiosqlite": "sqlite", "asyncpg": "postgresql+psycopg", "psycopg_async": "postgresql+psycopg",
                 "aiomysql": "mysql+pymysql", "asyncmy": "mysql+pymysql"}


def read_only_url(url: str) -> str:
    """A synchronous, read-only version of the server's database URL.

    Async drivers are swapped for their synchronous counterparts (the reader is
    synchronous); a SQLite file is opened with ``mode=ro`` so it cannot be written.
    """
    from sqlalchemy import make_url

    parsed = make_url(url)
    sync = _SYNC_DRIVERS.get(parsed.get_driver_name())
    if sync is not None:
        parsed = parsed.set(drivername="mariadb+pymysql" if parsed.get_backend_name() == "mariadb" else sync)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise ValueError("an in-memory SQLite database belongs to the server's process; name its file instead")
        query = dict(parsed.query, mode="ro", uri="true")
        parsed = parsed.set(database=f"file:{parsed.database}", query=query)
    return parsed.render_as_string(hide_password=False)


def read_state_read_only(scenario, url: str) -> tuple[Any, str | None, Any]:
    """``scenario.read_final_state`` through a fresh read-only connection.

    Returns (state, server version, dialect). PostgreSQL and MySQL/MariaDB get a
    ``READ ONLY`` transaction; SQLite a ``mode=ro`` file; the transaction is rolled back.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from .runner import _server_version

    engine = create_engine(read_only_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if engine.dialect.name in ("postgresql", "mysql", "mariadb"):
                connection.execute(text("SET TRANSACTION READ ONLY"))
            state = scenario.read_final_state(connection)
            connection.rollback()
        return state, _server_version(engine), engine.dialect
    finally:
        engine.dispose()


def _non_empty_lists(state: Any) -> dict[str, int]:
    if not isinstance(state, dict):
        return {}
    return {str(k): len(v) for k, v in state.items() if isinstance(v, list) and v}


async def child_run_url(spec: dict) -> dict:
    """The child's run in ``--url`` mode: load workload against ``spec["url"]``."""
    import anyio
    import anyio.to_thread

    from . import scenarios
    from .driver import Driver, DriverConfig
    from .history import History
    from .progress import ProgressFile
    from .runner import versions

    scenario = scenarios.load(spec["scenario"])
    database_url = spec.get("database_url")
    progress = ProgressFile(spec.get("progress_path"))
    notes: list[str] = [f"target: {spec['url']} (a server the harness did not start; versions below are the "
                        "harness's own, not necessarily the server's)"]
    timings: dict[str, float] = {}
    database: dict[str, Any] | None = None
    t0 = time.perf_counter()
    if database_url:
        # The checker attributes every value a read returns to a request of this run:
        # data left from before would show as garbage reads, so refuse to start.
        initial, server_version, dialect = await anyio.to_thread.run_sync(read_state_read_only, scenario, database_url)
        leftovers = _non_empty_lists(initial)
        if leftovers:
            held = ", ".join(f"{n:,} value(s) under {k!r}" for k, n in leftovers.items())
            return {"error": (f"the server's database already holds data ({held}); the checker needs it empty "
                              "at the start: restart the server on a fresh database")}
        database = {"label": "the target server's database (read-only)",
                    "backend": "mariadb" if getattr(dialect, "is_mariadb", False) else dialect.name,
                    "name": database_url.rsplit("/", 1)[-1], "driver": dialect.driver,
                    "server_version": server_version}
    else:
        notes.append(NOT_CHECKED_WITHOUT_DATABASE)
        notes.append("the target's database must be empty at the start (values from earlier runs read as garbage)")
    timings["startup"] = time.perf_counter() - t0

    config = DriverConfig(mode="load", requests=spec["requests"], concurrency=spec["concurrency"],
                          duration=spec["duration"], seed=spec["seed"], request_timeout=spec["request_timeout"])
    history = History()
    driver = Driver(None, history, config, base_url=spec["url"].rstrip("/"))
    driver.on_complete = progress.driver_stats
    progress.phase("running")
    t1 = time.perf_counter()
    try:
        await driver.run_load(scenario.load_op)
    finally:
        await driver.aclose()
    timings["drive"] = time.perf_counter() - t1
    progress.driver_stats(driver.stats)
    history.to_jsonl(spec["history_path"])

    final_state = final_state_error = None
    if database_url:
        progress.phase("final state")
        t2 = time.perf_counter()
        try:
            final_state, _, _ = await anyio.to_thread.run_sync(read_state_read_only, scenario, database_url)
        except Exception as exc:
            final_state_error = f"{type(exc).__name__}: {exc}"
        timings["final_read"] = time.perf_counter() - t2
    timings["total"] = time.perf_counter() - t0
    progress.phase("done")
    return {
        "error": None,
        "scenario": spec["scenario"],
        "arm": spec["arm"],
        "mode": "load",
        "config": asdict(config),
        "server": {"kind": "url", "url": spec["url"]},
        "database": database,
        "versions": versions(database["driver"] if database else None),
        "final_state": final_state,
        "final_state_error": final_state_error,
        "final_state_checked": bool(database_url),
        "probes": {},
        "driver": asdict(driver.stats),
        "staging": None,
        "warnings": {},
        "notes": notes + driver.stats.notes,
        "timings": {k: round(v, 4) for k, v in timings.items()},
    }
