"""pytest plugin: ``pytest --sessionlint`` runs the session sanitizer over your tests.

Registered through the ``pytest11`` entry point, so installing sessionlint makes it
available; it does nothing (and imports nothing heavy) unless asked:

* ``pytest --sessionlint`` -- the sanitizer is installed around each test (setup,
  call, teardown) and judged when the test function has passed. Every request the test
  and its fixtures' setup make through a Starlette/FastAPI app
  (``TestClient``, ``httpx.ASGITransport``) is tagged, and a test whose requests
  shared a session, leaked one, left a transaction or connection open, made an
  engine per request, or ran a sync session on the event loop **fails**, naming
  the finding, its lint code and the creation site.
* ``--sessionlint-ignore SL001`` (repeatable) or ``@pytest.mark.sessionlint_ignore("SL001")``
  drops findings whose main code is listed -- e.g. for a suite that deliberately
  overrides ``get_db`` with one session per test.
* the ``sessionlint_stress`` fixture fires concurrent requests at an app inside a
  test and returns the `AppStressReport` for assertions (with or without
  ``--sessionlint``).

Works with pytest-xdist: each worker process has its own sanitizer.
"""

from __future__ import annotations

import pytest

_SANITIZER_KEY = pytest.StashKey[object]()


def pytest_addoption(parser) -> None:
    group = parser.getgroup("sessionlint", "SQLAlchemy session sanitizer")
    group.addoption("--sessionlint", action="store_true", default=False,
                    help="fail tests whose requests misuse SQLAlchemy sessions (shared, leaked, left open, ...)")
    group.addoption("--sessionlint-ignore", action="append", default=[], metavar="CODE",
                    help="ignore sanitizer findings whose main code is CODE (repeatable), e.g. SL001")


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "sessionlint_ignore(*codes): ignore these sanitizer codes in this test (with --sessionlint)")


def _enabled(config) -> bool:
    return bool(config.getoption("sessionlint", default=False))


# Plain hooks and old-style hookwrappers only: this plugin loads in every pytest run
# of an environment where sessionlint is installed, so it must import and register
# on pytest 7 as well (new-style ``wrapper=True`` needs pluggy >= 1.2).


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    if _enabled(item.config):
        from sessionlint.harness.sanitizer import Sanitizer

        # Installed before fixtures run (tryfirst), so requests a fixture makes are watched too.
        sanitizer = Sanitizer(patch_apps=True)
        sanitizer.install()
        item.stash[_SANITIZER_KEY] = sanitizer


@pytest.hookimpl(trylast=True)
def pytest_runtest_call(item) -> None:
    # Runs after the test function passed (a failing test never gets here).
    sanitizer = item.stash.get(_SANITIZER_KEY, None)
    if sanitizer is not None:
        groups = _request_findings(sanitizer, _ignored(item))
        if groups:
            pytest.fail(_describe(item, groups), pytrace=False)


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_teardown(item, nextitem):
    # Findings are judged at the end of the call phase: requests a fixture makes while
    # tearing down are watched but do not fail the test.
    yield
    sanitizer = item.stash.get(_SANITIZER_KEY, None)
    if sanitizer is not None:
        sanitizer.uninstall()
        del item.stash[_SANITIZER_KEY]


def _ignored(item) -> set[str]:
    codes = {code.upper() for code in item.config.getoption("sessionlint_ignore") or ()}
    for marker in item.iter_markers("sessionlint_ignore"):
        codes.update(str(code).upper() for code in marker.args)
    return codes


def _request_findings(sanitizer, ignored: set[str]):
    """Findings caused by requests. Connections the test itself holds (a fixture's session)
    are not the app's doing, so idle findings count only for checkouts made in a request."""
    from sessionlint.harness.sanitizer.findings import group

    tracker = sanitizer.tracker
    findings = list(tracker.findings)
    findings += [f for f in tracker.idle_findings() if f.requests and f.requests != ("outside any request",)]
    return [g for g in group(findings, tracker.dropped) if g.code not in ignored]


def _describe(item, groups) -> str:
    lines = [f"sessionlint: requests made by {item.nodeid} misused SQLAlchemy sessions "
             f"({len(groups)} finding(s)):"]
    for found in groups:
        lines.append(found.describe())
    lines.append("(ignore a code with --sessionlint-ignore CODE or @pytest.mark.sessionlint_ignore(\"CODE\"))")
    return "\n".join(lines)


@pytest.fixture
def sessionlint_stress(request):
    """Fire concurrent requests at an ASGI app and return the sanitizer's `AppStressReport`::

        def test_no_session_misuse(sessionlint_stress):
            report = sessionlint_stress(app, requests=[("GET", "/items/1")], total=200, concurrency=8)
            assert not report.findings, report.render()

    `requests` lists (method, path) or (method, path, json_body) tuples; without it the
    app's OpenAPI GET operations are used (`params` seeds path parameters, e.g.
    ``{"item_id": range(1, 20)}``). The app's lifespan is run for the stress.
    """
    from sessionlint.harness.app_stress import AppStressOptions, stress_app_async
    from sessionlint.harness.request_specs import RequestSpec

    def stress(app, requests=None, *, total: int = 200, concurrency: int = 8, duration: float = 10.0,
               methods=("GET",), params=None, seed: int = 0):
        specs = [RequestSpec(r[0].upper(), r[1], r[2] if len(r) > 2 else None) for r in (requests or ())]
        options = AppStressOptions(
            requests=total, concurrency=concurrency, duration=duration, seed=seed,
            methods=tuple(m.upper() for m in methods), seeds={k: list(v) for k, v in (params or {}).items()},
            extra_requests=specs, use_openapi=not specs,
        )
        per_test = request.node.stash.get(_SANITIZER_KEY, None)
        if per_test is not None:  # one sanitizer at a time: pause the per-test one
            per_test.uninstall()
        try:
            return _run_outside_loop(lambda: stress_app_async(app, options))
        finally:
            if per_test is not None:
                per_test.install()

    return stress


def _run_outside_loop(make_coroutine):
    """anyio.run, on a fresh thread if this thread already runs an event loop (async tests)."""
    import asyncio

    import anyio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return anyio.run(make_coroutine)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, make_coroutine).result()
