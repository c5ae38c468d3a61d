"""Where did this happen in the *user's* code? The first stack frame outside the plumbing.

A session is created by ``SessionLocal()`` in the user's ``get_db``, but the Python
stack at that moment also holds SQLAlchemy, FastAPI's dependency machinery,
Starlette, anyio's worker threads and our own listeners. The site we report is the
innermost frame whose module belongs to none of those, as ``path:line in function``.

Walking frames is the sanitizer's most expensive step (a few microseconds), so the
per-code-object verdict "plumbing or not" is cached.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

# Top-level packages (and stdlib modules) that are never the user's code.
PLUMBING = frozenset({
    "sqlalchemy", "fastapi", "starlette", "anyio", "asyncio", "contextlib", "concurrent",
    "threading", "greenlet", "httpx", "pydantic", "functools", "typing", "contextvars",
    "sniffio", "_pytest", "pluggy", "uvicorn", "runpy", "importlib",
})
# sessionlint's own code is plumbing too -- except the sample apps, which play the user.
OWN_PACKAGE = "sessionlint"
OWN_USER_CODE = ("sessionlint.sample_apps",)

_verdicts: dict[object, bool] = {}


@dataclass(frozen=True)
class Site:
    filename: str
    line: int
    function: str

    def __str__(self) -> str:
        return f"{_display_path(self.filename)}:{self.line} in {self.function}"

    def to_json(self) -> dict[str, object]:
        return {"file": _display_path(self.filename), "line": self.line, "function": self.function}


UNKNOWN = Site("<unknown>", 0, "?")


def is_plumbing(module: str) -> bool:
    top = module.partition(".")[0]
    if top == OWN_PACKAGE:
        return not module.startswith(OWN_USER_CODE)
    return top in PLUMBING


def _frame_is_plumbing(frame) -> bool:
    code = frame.f_code
    verdict = _verdicts.get(code)
    if verdict is None:
        verdict = is_plumbing(frame.f_globals.get("__name__") or "")
        _verdicts[code] = verdict
    return verdict


def user_site(skip: int = 1) -> Site:
    """The innermost frame of the calling thread outside the plumbing (skipping `skip` frames)."""
    try:
        frame = sys._getframe(skip + 1)
    except ValueError:
        return UNKNOWN
    while frame is not None:
        if not _frame_is_plumbing(frame):
            return Site(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return _site_in_parent_greenlet()


def _site_in_parent_greenlet() -> Site:
    """AsyncSession runs its sync core in a greenlet whose stack ends at SQLAlchemy's
    ``greenlet_spawn``: the user's coroutine is on the parent greenlet's (suspended) stack."""
    greenlet = sys.modules.get("greenlet")
    if greenlet is None:
        return UNKNOWN
    current = greenlet.getcurrent()
    parent = getattr(current, "parent", None)
    while parent is not None:
        frame = getattr(parent, "gr_frame", None)
        while frame is not None:
            if not _frame_is_plumbing(frame):
                return Site(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)
            frame = frame.f_back
        parent = getattr(parent, "parent", None)
    return UNKNOWN


def user_site_and_modules(skip: int = 1, wanted: tuple[str, ...] = ()) -> tuple[Site, bool]:
    """`user_site`, plus whether any frame up to it belongs to one of the modules `wanted`
    (one walk instead of two: this runs for every session created)."""
    try:
        frame = sys._getframe(skip + 1)
    except ValueError:
        return UNKNOWN, False
    seen = False
    while frame is not None:
        if not _frame_is_plumbing(frame):
            return Site(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name), seen
        if wanted and not seen and frame.f_globals.get("__name__") in wanted:
            seen = True
        frame = frame.f_back
    return UNKNOWN, seen


def stack_functions(skip: int = 1, limit: int = 60) -> list[tuple[str, str]]:
    """(module, function) of each frame, innermost first."""
    out: list[tuple[str, str]] = []
    try:
        frame = sys._getframe(skip + 1)
    except ValueError:
        return out
    while frame is not None and limit > 0:
        out.append((frame.f_globals.get("__name__") or "", frame.f_code.co_name))
        frame = frame.f_back
        limit -= 1
    return out


def _display_path(filename: str) -> str:
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive (Windows)
        return filename
    return filename if relative.startswith("..") else relative
