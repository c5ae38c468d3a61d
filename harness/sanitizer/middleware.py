"""Tag each HTTP request for the sanitizer: a pure ASGI wrapper.

`RequestTagMiddleware` gives each request a `RequestInfo` in a context variable,
and tells the installed sanitizer when the request starts, when its last body
chunk has been sent (after that, session use is "after the response"), and when
the app call returns (background tasks and dependency teardown included).

Without an installed sanitizer, or for a request already tagged by an outer
wrapper (a mounted sub-app), it passes straight through.

`patch_starlette()` puts the same wrapper in front of every Starlette/FastAPI
application for the pytest plugin, where the test builds its own TestClient.
"""

from __future__ import annotations

import functools

from .context import RequestInfo, current_request, enter_request, leave_request
from .tracker import active


class RequestTagMiddleware:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        tracker = active()
        if scope["type"] != "http" or tracker is None or current_request() is not None:
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "?")
        query = scope.get("query_string") or b""
        if query:
            path += "?" + query.decode("latin-1")[:80]
        request = RequestInfo(scope.get("method", "?"), path)
        tracker.request_started(request)

        async def tagged_send(message) -> None:
            if message["type"] == "http.response.start":
                request.status = message.get("status")
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                tracker.response_sent(request)

        token = enter_request(request)
        try:
            await self.app(scope, receive, tagged_send)
        except BaseException as exc:
            request.error = f"{type(exc).__name__}: {exc}"[:200]
            raise
        finally:
            leave_request(token)
            tracker.request_ended(request)


_original_call = None


def patch_starlette() -> None:
    """Route every Starlette application call through `RequestTagMiddleware` (until `unpatch_starlette`)."""
    global _original_call
    from starlette.applications import Starlette

    if _original_call is not None:
        return
    original = Starlette.__call__

    @functools.wraps(original)
    async def __call__(self, scope, receive, send):
        await RequestTagMiddleware(functools.partial(original, self))(scope, receive, send)

    _original_call = original
    Starlette.__call__ = __call__


def unpatch_starlette() -> None:
    global _original_call
    from starlette.applications import Starlette

    if _original_call is not None:
        Starlette.__call__ = _original_call
        _original_call = None
