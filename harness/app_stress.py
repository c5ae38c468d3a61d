"""``sessionlint stress --app pkg.module:app``: the session sanitizer on a user's own app.

1. install the sanitizer (before the import, so sessions made at import time get
   their creation site), import the app like uvicorn (`app_loading`), run its lifespan;
2. build the traffic: the app's OpenAPI operations of the chosen methods (GET by
   default) with Hypothesis-generated parameters (`openapi_requests`), plus the
   requests listed in ``--requests-file`` (`request_specs`);
3. fire it in-process (``httpx.ASGITransport``; nothing leaves the process), with
   `concurrency` closed-loop workers, bounded by a request count and a time budget;
4. report the sanitizer's findings (grouped, creation sites, example request
   pairs), errors by exception type, availability and latency. Exit status 1 if
   there is any finding, like a linter.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .request_specs import RequestSpec

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


@dataclass
class AppStressOptions:
    requests: int = 300
    concurrency: int = 8
    duration: float = 10.0
    request_timeout: float = 10.0
    seed: int = 0
    methods: tuple[str, ...] = ("GET",)
    seeds: dict[str, list[Any]] = field(default_factory=dict)  # --param NAME=...
    extra_requests: list[RequestSpec] = field(default_factory=list)  # --requests-file
    per_operation: int = 30  # generated examples per OpenAPI operation
    use_openapi: bool = True
    sequential: bool = False  # send the pool in order (request n = pool[n % len]) instead of at random
    check_postgres: bool = True


@dataclass
class AppStressReport:
    app: str
    sanitizer: Any  # sanitizer.SanitizerReport
    operations: list[str]
    sent: int = 0
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # exception type (or HTTP 5xx) -> count
    error_examples: dict[str, str] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    # (seconds since the traffic started, latency, "ok"|"fail"|"info") per answer: the HTML plot
    timeline: list[tuple[float, float, str]] = field(default_factory=list)
    elapsed: float = 0.0
    stopped_by: str = "requests"
    notes: list[str] = field(default_factory=list)

    @property
    def findings(self):
        return self.sanitizer.groups

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def availability(self) -> float:
        """Share of requests answered without a server error (no 5xx, no transport failure)."""
        if not self.sent:
            return 0.0
        good = sum(count for status, count in self.statuses.items() if status < 500)
        return good / self.sent

    @property
    def success_rate(self) -> float:
        return sum(c for s, c in self.statuses.items() if 200 <= s < 300) / self.sent if self.sent else 0.0

    def latency(self) -> dict[str, float] | None:
        from .checker import LatencyStats

        stats = LatencyStats.of(self.latencies)
        return stats.to_dict() if stats is not None else None

    def exit_code(self) -> int:
        return EXIT_FINDINGS if self.findings else EXIT_CLEAN

    def to_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "operations": self.operations,
            "requests": {"sent": self.sent, "answered": self.answered,
                         "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                         "per_second": round(self.sent / self.elapsed, 1) if self.elapsed else None},
            "availability": round(self.availability, 4),
            "success_rate": round(self.success_rate, 4),
            "errors": dict(self.errors.most_common()),
            "error_examples": self.error_examples,
            "latency": self.latency(),
            "elapsed": round(self.elapsed, 3),
            "stopped_by": self.stopped_by,
            "notes": self.notes,
            "sanitizer": self.sanitizer.to_json(),
            "exit_code": self.exit_code(),
        }

    def render(self) -> str:
        lat = self.latency()
        rate = f"{self.sent / self.elapsed:.0f} req/s" if self.elapsed else "-"
        lines = [
            f"sessionlint stress --app {self.app}",
            f"  traffic: {self.sent} requests over {len(self.operations)} operation(s) in {self.elapsed:.2f} s "
            f"({rate}, stopped by {self.stopped_by})",
            "  statuses: " + (", ".join(f"{s}: {c}" for s, c in sorted(self.statuses.items())) or "none"),
            f"  availability (no 5xx): {self.availability:.1%}   2xx: {self.success_rate:.1%}",
        ]
        if lat:
            lines.append(f"  latency: p50 {lat['p50'] * 1000:.1f} ms, p99 {lat['p99'] * 1000:.1f} ms, "
                         f"max {lat['max'] * 1000:.1f} ms")
        if self.errors:
            lines.append("  errors by type:")
            for name, count in self.errors.most_common():
                example = self.error_examples.get(name)
                lines.append(f"    {name}: {count}" + (f"  e.g. {example}" if example else ""))
        lines += [f"  note: {note}" for note in self.notes]
        lines.append("")
        lines.append(self.sanitizer.render())
        lines.append("")
        if self.findings:
            lines.append(f"{len(self.findings)} finding(s): the app misuses SQLAlchemy sessions (exit 1)")
        else:
            lines.append("no session misuse seen under this traffic (exit 0)")
        return "\n".join(lines)


def stress_app(app_or_spec, options: AppStressOptions | None = None, *, app_dir: str | None = None,
               label: str | None = None) -> AppStressReport:
    """Synchronous entry point (not from inside a running event loop)."""
    import anyio

    return anyio.run(lambda: stress_app_async(app_or_spec, options or AppStressOptions(), app_dir=app_dir, label=label))


async def stress_app_async(app_or_spec, options: AppStressOptions, *, app_dir: str | None = None,
                           label: str | None = None) -> AppStressReport:
    from .app_loading import load_app
    from .sanitizer import Sanitizer

    sanitizer = Sanitizer(check_postgres=options.check_postgres)
    sanitizer.install()
    try:
        if isinstance(app_or_spec, str):
            app = load_app(app_or_spec, app_dir)
            label = label or app_or_spec
        else:
            app = app_or_spec
            label = label or getattr(app, "title", None) or type(app).__name__
        return await _run(app, label, options, sanitizer)
    finally:
        sanitizer.uninstall()


async def _run(app, label: str, options: AppStressOptions, sanitizer) -> AppStressReport:
    import anyio
    import httpx

    from .app_loading import lifespan
    from .driver import InstrumentedApp

    async with lifespan(app) as started:
        # InstrumentedApp: each request's exception (by our request header) and the lifespan state.
        recorder = InstrumentedApp(sanitizer.wrap(app), started.state)
        transport = httpx.ASGITransport(app=recorder, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://sessionlint.invalid",
                                     timeout=options.request_timeout) as client:
            pool, operations, notes = await _build_pool(app, client, options)
            if started.note:
                notes.insert(0, started.note)
            report = AppStressReport(label, None, operations, notes=notes)
            await _fire(client, pool, options, report, recorder)
        report.sanitizer = await anyio.to_thread.run_sync(sanitizer.report)
    return report


async def _build_pool(app, client, options: AppStressOptions) -> tuple[list[RequestSpec], list[str], list[str]]:
    from .openapi_requests import generate, operations

    notes: list[str] = []
    pool: list[RequestSpec] = []
    if options.use_openapi:
        schema = None
        if callable(getattr(app, "openapi", None)):
            schema = app.openapi()
        else:
            response = await client.get("/openapi.json")
            if response.status_code == 200:
                schema = response.json()
        if schema is None:
            notes.append("the app serves no OpenAPI schema (/openapi.json): only --requests-file requests are sent")
        else:
            ops = operations(schema, set(options.methods))
            skipped = [op.label for op in ops if op.path.startswith(("/docs", "/redoc", "/openapi"))]
            ops = [op for op in ops if op.label not in skipped]
            pool.extend(generate(ops, options.seeds, options.per_operation, options.seed))
    pool.extend(options.extra_requests)
    if not pool:
        raise ValueError("no requests to send: the schema has no operations for methods "
                         f"{', '.join(options.methods)} and no --requests-file was given")
    operations_seen = list(dict.fromkeys(spec.label for spec in pool))
    return pool, operations_seen, notes


async def _fire(client, pool: list[RequestSpec], options: AppStressOptions, report: AppStressReport,
                recorder) -> None:
    import anyio
    import httpx

    from .driver import REQUEST_HEADER

    started = time.perf_counter()
    deadline = started + options.duration
    counter = iter(range(options.requests))

    async def worker(slot: int) -> None:
        rng = random.Random(f"{options.seed}/{slot}")
        for number in counter:
            if time.perf_counter() >= deadline:
                report.stopped_by = "duration"
                return
            spec = pool[number % len(pool)] if options.sequential else rng.choice(pool)
            report.sent += 1
            sent_at = time.perf_counter()
            try:
                response = await client.request(spec.method, spec.path, json=spec.body,
                                                headers={REQUEST_HEADER: str(number)})
            except httpx.TimeoutException:
                _error(report, "RequestTimeout", f"{spec.method} {spec.path}: no answer in {options.request_timeout:g} s")
                continue
            except Exception as exc:
                _error(report, type(exc).__name__, f"{spec.method} {spec.path}: {exc}")
                continue
            answered_at = time.perf_counter()
            report.latencies.append(answered_at - sent_at)
            status = response.status_code
            kind = "ok" if status < 400 else "fail" if status < 500 else "info"
            report.timeline.append((answered_at - started, answered_at - sent_at, kind))
            report.statuses[response.status_code] += 1
            if response.status_code >= 500:
                described = recorder.errors.pop(str(number), None)  # "Type: message"
                if described is not None:
                    name, _, message = described.partition(": ")
                    _error(report, name, f"{spec.method} {spec.path}: {message[:160]}")
                else:
                    _error(report, f"HTTP {response.status_code}", f"{spec.method} {spec.path}: {response.text[:160]}")

    with anyio.move_on_after(options.duration + options.request_timeout + 1) as overtime:
        async with anyio.create_task_group() as tg:
            for slot in range(max(1, options.concurrency)):
                tg.start_soon(worker, slot)
    if overtime.cancel_called:  # requests still in flight past the time budget were abandoned
        report.stopped_by = "duration"
    report.elapsed = time.perf_counter() - started


def _error(report: AppStressReport, name: str, example: str) -> None:
    report.errors[name] += 1
    report.error_examples.setdefault(name, " ".join(example.split())[:200])


def write_json(report: AppStressReport, path: str) -> None:
    text = json.dumps(report.to_json(), indent=2, default=str)
    if path == "-":
        sys.stdout.write(text + "\n")
    else:
        with open(path, "w", encoding="utf-8") as file:
            file.write(text + "\n")


def _app_usage_problem(args) -> str | None:
    """Options of the scenario runs that mean nothing (or something unsafe) with --app."""
    if getattr(args, "scenarios", None):
        return f"--app stresses your app; do not also name scenarios ({' '.join(args.scenarios)})"
    if getattr(args, "database_url", None):
        return ("--database-url is for the sample apps; your app uses the database it is configured with -- "
                "point it at a throwaway database through its own settings (e.g. an environment variable)")
    if getattr(args, "url", None):
        return "--app runs the app in-process; --url drives a running server of a sample scenario"
    from importlib.util import find_spec

    if find_spec("hypothesis") is None:
        return "needs hypothesis to generate requests from the OpenAPI schema; pip install 'sessionlint[stress]'"
    return None


def run_from_args(args) -> int:
    """The ``--app`` branch of ``sessionlint stress`` (args from its argparse parser)."""
    from .app_loading import AppLoadError
    from .openapi_requests import parse_seed
    from .request_specs import RequestsFileError, load_requests_file

    problem = _app_usage_problem(args)
    if problem:
        print(f"sessionlint stress --app: {problem}", file=sys.stderr)
        return EXIT_ERROR
    try:
        seeds = dict(parse_seed(text) for text in (args.param or ()))
        extra = load_requests_file(args.requests_file) if args.requests_file else []
    except (ValueError, RequestsFileError) as exc:
        print(f"sessionlint stress: {exc}", file=sys.stderr)
        return EXIT_ERROR
    methods = tuple(m.strip().upper() for m in (args.methods or "GET").split(",") if m.strip())
    options = AppStressOptions(
        requests=args.requests, concurrency=args.concurrency, duration=args.duration, seed=args.seed,
        methods=methods, seeds=seeds, extra_requests=extra,
    )
    try:
        report = stress_app(args.app, options, app_dir=args.app_dir)
    except AppLoadError as exc:
        print(f"sessionlint stress: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except ValueError as exc:
        print(f"sessionlint stress --app {args.app}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    out = sys.stderr if args.json_path == "-" else sys.stdout
    print(report.render(), file=out)
    if args.json_path:
        write_json(report, args.json_path)
    if args.html_path:
        from .app_report_html import write_app_html

        try:
            write_app_html(report, args.html_path)
        except OSError as exc:
            print(f"sessionlint stress: --html: could not write {args.html_path}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_ERROR
    return report.exit_code()
