"""`sessionlint stress`: run the stress scenarios and report both arms side by side.

Wired into the CLI with `add_stress_parser(subparsers)` and `run_stress(args)`.
This module imports nothing heavy at import time: the harness (FastAPI,
SQLAlchemy, httpx, anyio, rich) is imported inside `run_stress`, so the lint path
never loads it.

Where the app runs: by default each arm's app is called in-process in a child
process (``--server asgi``); ``--server uvicorn`` serves it with uvicorn on
127.0.0.1 in that child, over real TCP; ``--url`` drives a server that is already
running (load mode only). ``--html`` writes a self-contained report with plots; a
progress line per arm shows on a terminal.

Exit status (a CI gate):

* 0 -- the expectation held. With ``--expect demo`` (the default): every safe arm
  is clean and every unsafe arm shows its failure. With ``--expect clean``: every
  arm is clean.
* 1 -- it did not: a safe arm showed anomalies, an unsafe arm showed none (demo),
  any arm showed anomalies (clean), or an arm was *inconclusive* -- it crashed,
  timed out, could not be checked, or answered fewer than 90 % of its requests
  with 2xx (so "0 anomalies" would prove nothing).
* 2 -- usage or setup error (unknown scenario, missing extra, bad database URL or --url,
  an --html path that cannot be written).
"""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager

EXIT_OK, EXIT_EXPECTATION_FAILED, EXIT_ERROR = 0, 1, 2
SERVERS = ("asgi", "uvicorn")  # as harness.live.SERVERS (not imported: this module stays light)


def add_stress_parser(subparsers) -> argparse.ArgumentParser:
    """Add the `stress` subcommand to an argparse subparsers object; returns its parser."""
    parser = subparsers.add_parser(
        "stress",
        help="fire concurrent requests at the sample apps and show each session failure",
        description="Run stress scenarios against the sample apps' unsafe and safe arms, in a child "
        "process each, and report anomalies, availability and latency side by side.",
        epilog="Exit status: 0 the expectation held (demo: every unsafe arm fails and every safe arm "
        "is clean; clean: every arm is clean), 1 it did not or an arm was inconclusive "
        "(crashed, timed out, or availability below 90 %), 2 usage or setup error.",
    )
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="scenarios to run (default: all; see --list)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    _add_workload_options(parser)
    _add_target_options(parser)
    _add_output_options(parser)
    _add_app_options(parser)
    # Test hook: make each arm's process crash or hang on purpose.
    parser.add_argument("--inject", choices=("abort", "segfault", "hang"), help=argparse.SUPPRESS)
    return parser


def _add_workload_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("workload")
    group.add_argument("--mode", choices=("staged", "load"), default=None,
                       help="staged: scripted, deterministic interleavings via in-app barriers (default); "
                       "load: free-running random concurrent workload (the only mode with --url)")
    group.add_argument("--arm", choices=("unsafe", "safe", "both"), default="both", help="which arm(s) to run (default: both)")
    group.add_argument("--requests", type=_positive_int, default=500, metavar="N", help="load mode: total requests per arm (default: 500)")
    group.add_argument("--concurrency", type=_positive_int, default=16, metavar="N", help="load mode: concurrent workers (default: 16)")
    group.add_argument("--duration", type=_positive_float, default=10.0, metavar="SECONDS",
                       help="time budget per arm, both modes (default: 10)")
    group.add_argument("--rounds", type=_positive_int, default=5, metavar="N", help="staged mode: scripted rounds per arm (default: 5)")
    group.add_argument("--seed", type=int, default=0, help="workload seed (the OS thread schedule is not reproducible)")
    group.add_argument("--timeout", type=_positive_float, metavar="SECONDS",
                       help="hard limit per arm: the arm's process is killed after it (default: duration + 30)")
    group.add_argument("--expect", choices=("demo", "clean"), default="demo",
                       help="demo: unsafe arms must fail and safe arms be clean (default); clean: every arm must be clean")
    group.add_argument("--jobs", "-j", type=_positive_int, default=None, metavar="N",
                       help="arms run at once, each in its own process (default: staged mode 2 or the CPU "
                       "count if lower; load mode and --url 1, so throughput and latency are not shared)")


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("where the app runs")
    group.add_argument("--database-url", metavar="URL",
                       help="SQLAlchemy URL of a database server to run on (a fresh database is created and "
                       "dropped per arm); default: a SQLite file in a temporary directory. With --url: the "
                       "database that server uses, read (read-only) to check lost and persisted-aborted writes")
    group.add_argument("--server", choices=SERVERS, default=None,
                       help="asgi: call the app in-process through httpx.ASGITransport (default); uvicorn: serve "
                       "it with uvicorn on 127.0.0.1 (a free port) in the arm's process, over real TCP")
    group.add_argument("--url", metavar="URL",
                       help="drive a server that is already running (load mode; one SCENARIO and --arm unsafe|safe "
                       "saying what it runs); loopback only unless --allow-remote")
    group.add_argument("--allow-remote", action="store_true",
                       help="allow a --url or --database-url on a non-loopback host")


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--json", metavar="PATH", dest="json_path", help="write the whole result as JSON to PATH (- for stdout)")
    group.add_argument("--html", metavar="PATH", dest="html_path",
                       help="write a self-contained HTML report (tables and latency/anomaly plots) to PATH")
    group.add_argument("--history-dir", metavar="DIR",
                       help="keep each arm's history in DIR: <scenario>-<arm>.jsonl (Jepsen-shaped events) and "
                       "<scenario>-<arm>.elle.edn (its list-append operations for elle-cli)")
    group.add_argument("--no-color", action="store_true", help="plain terminal output, no progress display")


def _add_app_options(parser: argparse.ArgumentParser) -> None:
    # `--app`: the session sanitizer on the user's own app (harness/app_stress.py). It
    # reuses --requests, --concurrency, --duration, --seed and --json from above.
    group = parser.add_argument_group("your own app (--app; runs the session sanitizer)")
    group.add_argument("--app", metavar="MODULE:ATTR",
                       help="stress your ASGI app in-process, e.g. myproject.main:app, with the session sanitizer "
                       "installed; exit 1 if it finds session misuse")
    group.add_argument("--app-dir", metavar="DIR", help="import the app from DIR (like uvicorn --app-dir)")
    group.add_argument("--methods", metavar="M1,M2", default="GET",
                       help="HTTP methods of the OpenAPI operations to call (default: GET)")
    group.add_argument("--param", action="append", metavar="NAME=LOW..HIGH|V1,V2",
                       help="seed a path/query parameter instead of generating it, e.g. --param item_id=1..50 (repeatable)")
    group.add_argument("--requests-file", metavar="PATH",
                       help="JSON or TOML list of requests ({method, path, body}) to send besides the schema's")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def run_stress(args) -> int:
    """Run `sessionlint stress` with parsed `args`; returns the exit status (see module doc)."""
    missing = _missing_extras()
    if missing:
        print(f"sessionlint stress: needs {', '.join(missing)}; install with: pip install 'sessionlint[stress]'", file=sys.stderr)
        return EXIT_ERROR

    if getattr(args, "app", None):
        from sessionlint.harness.app_stress import run_from_args

        return run_from_args(args)

    from sessionlint.harness import scenarios

    if args.list:
        for name in scenarios.names():
            print(f"{name:<18} {scenarios.SUMMARIES.get(name, '')}")
        return EXIT_OK
    try:
        chosen = [scenarios.canonical(name) for name in args.scenarios] or scenarios.names()
    except scenarios.UnknownScenario as exc:
        print(f"sessionlint stress: {exc}", file=sys.stderr)
        return EXIT_ERROR
    chosen = list(dict.fromkeys(chosen))
    problem = _usage_problem(args)
    if problem:
        print(f"sessionlint stress: {problem}", file=sys.stderr)
        return EXIT_ERROR
    mode = args.mode or ("load" if args.url else "staged")

    from sessionlint.harness.report import build_result, exit_code, render_terminal, write_json
    from sessionlint.harness.runner import ArmOptions, run_arm

    arms = ("unsafe", "safe") if args.arm == "both" else (args.arm,)
    json_to_stdout = args.json_path == "-"
    out = sys.stderr if json_to_stdout else sys.stdout
    if args.url and not args.database_url:
        print("sessionlint stress: note: without --database-url the target's database is not read, so lost "
              "acknowledged writes and aborted writes that persisted are NOT checked", file=sys.stderr)
    jobs = args.jobs or _default_jobs(mode, args.url)
    all_options = [
        ArmOptions(
            scenario=name, arm=arm, mode=mode, database_url=args.database_url,
            requests=args.requests, concurrency=args.concurrency, duration=args.duration,
            rounds=args.rounds, seed=args.seed, timeout=args.timeout, inject=args.inject,
            history_path=_history_path(args.history_dir, name, arm),
            server=args.server or "asgi", url=args.url,
        )
        for name in chosen
        for arm in arms
    ]
    with ProgressDisplay(out, enabled=not args.no_color and not json_to_stdout and out.isatty()) as display:

        def run_one(options):
            with display.arm(options) as progress_path:
                options.progress_path = progress_path
                return run_arm(options)

        if jobs == 1:
            results = [run_one(options) for options in all_options]
        else:
            # Each arm is its own process: threads here only wait for them. Results
            # keep the scenario/arm order whatever finishes first.
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(jobs, len(all_options))) as pool:
                results = list(pool.map(run_one, all_options))
    if args.history_dir:
        _export_for_elle(results)
    result = build_result(results, expect=args.expect, mode=mode, seed=args.seed)
    render_terminal(result, file=out, color=not args.no_color)
    if args.json_path:
        write_json(result, args.json_path)
    if args.html_path:
        from sessionlint.harness.report_html import write_html

        try:
            write_html(result, args.html_path)
        except OSError as exc:
            print(f"sessionlint stress: --html: could not write {args.html_path}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_ERROR
    return exit_code(result)


def _default_jobs(mode: str, url: str | None) -> int:
    """Staged arms are paced by barriers, not by the CPU: two at a time is safe on any
    machine with two cores. Load-mode figures (req/s, latency) would be shared, so one."""
    if mode != "staged" or url:
        return 1
    import os

    return max(1, min(2, os.cpu_count() or 1))


def _usage_problem(args) -> str | None:
    """What is wrong with this combination of options, in words; None when nothing is."""
    if args.database_url:
        problem = _check_database_url(args.database_url, allow_remote=args.allow_remote, read_only=bool(args.url))
        if problem:
            return f"--database-url: {problem}"
    if args.url:
        from sessionlint.harness.live import check_target_url

        problem = check_target_url(args.url, allow_remote=args.allow_remote)
        if problem:
            return f"--url: {problem}"
        if args.mode == "staged":
            return ("--url: staged mode needs the app inside the harness's process (its barriers are in-process); "
                    "a running server can only be driven with --mode load (the default with --url)")
        if args.server:
            return "--url and --server exclude each other: --url drives a server the harness did not start"
        if len(args.scenarios) != 1:
            return ("--url needs exactly one SCENARIO, the one whose workload the server speaks, e.g. "
                    "`sessionlint stress shared-session --url http://127.0.0.1:8000 --arm safe`")
        if args.arm == "both":
            return "--url targets one server: say which arm it runs with --arm unsafe or --arm safe"
    if args.html_path:
        from pathlib import Path

        parent = Path(args.html_path).resolve().parent
        if not parent.is_dir():
            return f"--html: directory {parent} does not exist"
    return None


def _export_for_elle(results) -> None:
    """Next to each kept history, its list-append operations in elle-cli's EDN (with the final
    state as a last read), so Elle can check the same run independently."""
    from pathlib import Path

    from sessionlint.harness.history import History

    for arm in results:
        if not arm.history_path:
            continue
        path = Path(arm.history_path)
        final = (arm.child or {}).get("final_state")
        try:
            History.from_jsonl(path).to_elle(path.with_suffix(".elle.edn"), final=final)
        except (OSError, ValueError) as exc:
            print(f"sessionlint stress: could not export {path} for elle-cli: {exc}", file=sys.stderr)


def _history_path(history_dir: str | None, name: str, arm: str) -> str | None:
    if not history_dir:
        return None
    from pathlib import Path

    Path(history_dir).mkdir(parents=True, exist_ok=True)
    return str(Path(history_dir) / f"{name}-{arm}.jsonl")


def _missing_extras() -> list[str]:
    from importlib.util import find_spec

    return [name for name in ("fastapi", "sqlalchemy", "httpx", "anyio") if find_spec(name) is None]


def _check_database_url(url: str, allow_remote: bool = False, read_only: bool = False) -> str | None:
    """Loopback only: the harness creates and drops databases on this server (or, with
    --url, reads the target's database)."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        return str(exc)
    if parsed.get_backend_name() == "sqlite" or allow_remote:
        return None
    from sessionlint.harness.live import is_loopback_host

    host = parsed.host or "localhost"
    if not is_loopback_host(host):  # an address, not a prefix: "127.example.com" is remote
        what = "reads the target's data there" if read_only else "creates and drops databases there"
        return f"{host} is not a loopback address; the harness {what} (pass --allow-remote if you mean it)"
    return None


class ProgressDisplay:
    """A live line per arm on a terminal: scenario/arm, phase, requests done, elapsed time.

    The arm runs in a child process, which keeps a small JSON progress file up to
    date (`harness.progress`); a thread here polls it ten times a second and updates
    a rich progress bar. Disabled (no thread, no file, no output) when the output is
    not a terminal, with --no-color, or when JSON goes to stdout. The lines are
    cleared when the run ends, before the report is printed.
    """

    poll_interval = 0.1

    def __init__(self, file, enabled: bool) -> None:
        self.file = file
        self.enabled = enabled
        self._progress = None
        self._tmpdir = None

    def __enter__(self) -> ProgressDisplay:
        if not self.enabled:
            return self
        try:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
        except ImportError:
            self.enabled = False
            return self
        import tempfile

        self._tmpdir = tempfile.TemporaryDirectory(prefix="sessionlint-progress-")
        console = Console(file=self.file, stderr=self.file is sys.stderr)
        self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=16),
                                  TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
                                  console=console, transient=True)
        self._progress.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self._progress is not None:
            self._progress.stop()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()

    @contextmanager
    def arm(self, options):
        """Show one arm while the block runs; yields the progress file's path (None when disabled)."""
        if self._progress is None:
            yield None
            return
        import threading
        from pathlib import Path

        path = str(Path(self._tmpdir.name) / f"{options.scenario}-{options.arm}.json")
        staged = options.mode == "staged"
        total = options.rounds if staged else options.requests
        label = f"{options.scenario}/{options.arm} ({options.mode}" + (
            ", --url)" if options.url else f", {options.server})" if options.server != "asgi" else ")")
        task = self._progress.add_task(label, total=total, counts="starting")
        stop = threading.Event()
        poller = threading.Thread(target=self._poll, args=(task, path, staged, total, stop),
                                  name="sessionlint-progress", daemon=True)
        poller.start()
        try:
            yield path
        finally:
            stop.set()
            poller.join(timeout=2)
            self._update(task, path, staged, total)
            self._progress.update(task, completed=total)
            self._progress.stop_task(task)

    def _poll(self, task, path: str, staged: bool, total: int, stop) -> None:
        while not stop.wait(self.poll_interval):
            self._update(task, path, staged, total)

    def _update(self, task, path: str, staged: bool, total: int) -> None:
        from sessionlint.harness.progress import read_progress

        data = read_progress(path)
        if data is None:
            return
        done = data.get("ok", 0) + data.get("fail", 0) + data.get("info", 0)
        if staged:
            counts = f"{data.get('rounds', 0)}/{total} rounds, {done:,} req"
        else:
            counts = f"{done:,}/{total:,} req"
        counts += f" · ok {data.get('ok', 0):,} fail {data.get('fail', 0):,} info {data.get('info', 0):,}"
        if data.get("phase") not in (None, "running"):
            counts += f" · {data['phase']}"
        self._progress.update(task, completed=min(data.get("rounds", 0) if staged else done, total), counts=counts)
