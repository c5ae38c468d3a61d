"""Load a user's ASGI app the way uvicorn does, and run its lifespan.

``load_app("pkg.module:app", app_dir="src")`` imports ``pkg.module`` (with
`app_dir` first on ``sys.path``) and returns its ``app`` attribute (dotted paths
such as ``module:container.app`` work too).

`lifespan(app)` drives the ASGI lifespan protocol (startup ... shutdown), which
``httpx.ASGITransport`` does not: without it the app's engine, created at startup,
would not exist. An app that does not speak the lifespan protocol is served
without one, as uvicorn's ``--lifespan auto`` does. The state a Starlette lifespan
yields is handed to each request by the driver's `InstrumentedApp`.
"""

from __future__ import annotations

import importlib
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path


class AppLoadError(Exception):
    """The app could not be imported or started; the message says why and what to do."""


def load_app(spec: str, app_dir: str | None = None):
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise AppLoadError(f"--app {spec!r}: expected 'package.module:attribute', e.g. 'myproject.main:app'")
    if app_dir is not None:
        directory = str(Path(app_dir).resolve())
        if not Path(directory).is_dir():
            raise AppLoadError(f"--app-dir {app_dir!r} is not a directory")
        if directory not in sys.path:
            sys.path.insert(0, directory)
    elif "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # uvicorn imports from the current directory too
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise AppLoadError(f"could not import module {module_name!r} ({exc}); run from the project root "
                               "or pass --app-dir DIR") from exc
        raise AppLoadError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        raise AppLoadError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from exc
    target = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise AppLoadError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not callable(target):
        raise AppLoadError(f"{spec} is a {type(target).__name__}, not an ASGI application")
    return target


@dataclass
class Lifespan:
    state: dict = field(default_factory=dict)  # what a Starlette lifespan yielded, for each request's scope
    note: str | None = None  # set when the app does not speak the lifespan protocol


@asynccontextmanager
async def lifespan(app, timeout: float = 30.0):
    """Run `app`'s startup, yield a `Lifespan`, run its shutdown.

    As uvicorn's ``--lifespan auto``: an app that raises on the lifespan scope before
    completing startup (without reporting ``lifespan.startup.failed``) does not speak
    the protocol, and is served without startup/shutdown (the note says so). A failed
    startup it reports raises `AppLoadError`.
    """
    import anyio

    to_app_send, to_app_receive = anyio.create_memory_object_stream(4)
    started, stopped = anyio.Event(), anyio.Event()
    outcome: dict[str, object] = {}
    info = Lifespan()

    async def receive():
        return await to_app_receive.receive()

    async def send(message) -> None:
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            outcome["started"] = True
            started.set()
        elif kind == "lifespan.startup.failed":
            outcome["startup_failed"] = message.get("message", "")
            started.set()
        elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            if kind.endswith("failed"):
                outcome["shutdown_failed"] = message.get("message", "")
            stopped.set()

    async def run_app() -> None:
        try:
            await app({"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": info.state},
                      receive, send)
        except Exception as exc:
            outcome["error"] = exc
        finally:
            started.set()
            stopped.set()

    failure: AppLoadError | None = None
    body_error: Exception | None = None
    async with anyio.create_task_group() as tg:
        tg.start_soon(run_app)
        await to_app_send.send({"type": "lifespan.startup"})
        with anyio.fail_after(timeout):
            await started.wait()
        if "startup_failed" in outcome:
            # Raised after the task group, so the caller sees this error, not an ExceptionGroup.
            failure = AppLoadError("the app's lifespan startup failed: "
                                   + _last_line(outcome["startup_failed"]) + " (check the database the app is configured with)")
            tg.cancel_scope.cancel()
        else:
            supported = "started" in outcome
            if not supported:
                error = outcome.get("error")
                info.note = ("the app does not support the ASGI lifespan protocol"
                             + (f" (it raised {type(error).__name__}: {error})" if error else "")
                             + "; it was served without startup/shutdown")
            try:
                yield info
            except Exception as exc:
                # Re-raised after the task group: raised inside it, the caller's own error
                # (e.g. "no requests to send") would come out wrapped in an ExceptionGroup.
                body_error = exc
            finally:
                if supported:
                    await to_app_send.send({"type": "lifespan.shutdown"})
                    with anyio.move_on_after(timeout):
                        await stopped.wait()
                tg.cancel_scope.cancel()
    if failure is not None:
        raise failure
    if body_error is not None:
        raise body_error
    if "shutdown_failed" in outcome:
        raise AppLoadError(f"the app's lifespan shutdown failed: {outcome['shutdown_failed']}")


def _last_line(message) -> str:
    """Starlette reports a failed startup with the whole traceback: its last line says what
    (SQLAlchemy appends a "Background on this error" link and the SQL; skip those)."""
    lines = [line.strip() for line in str(message or "").strip().splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(("(Background on this error", "[SQL:", "[parameters:"))]
    return lines[-1] if lines else "no message"
