"""`sessionlint stress`: run the stress scenarios and report both arms side by side.

Wired into the CLI with `add_stress_parser(subparsers)` and `run_stress(args)`.
This module imports nothing heavy at import time: the harness (FastAPI,
SQLAlchemy, httpx, anyio, rich) is imported inside `run_stress`, so the lint path
never loads it.

Exit status (a CI gate):

* 0 -- the expectation held. With ``--expect demo`` (the default): every safe arm
  is clean and every unsafe arm shows its failure. With ``--expect clean``: every
  arm is clean.
* 1 -- it did not: a safe arm showed anomalies, an unsafe arm showed none (demo),
  any arm showed anomalies (clean), or an arm was *inconclusive* -- it crashed,
  timed out, could not be checked, or answered fewer than 90 % of its requests
  with 2xx (so "0 anomalies" would prove nothing).
* 2 -- usage or setup error (unknown scenario, missing extra, bad database URL).
"""

from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_EXPECTATION_FAILED, EXIT_ERROR = 0, 1, 2


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
    parser.add_argument("--database-url", metavar="URL",
                        help="SQLAlchemy URL of a database server to run on (a fresh database is created and "
                        "dropped per arm); default: a SQLite file in a temporary directory")
    parser.add_argument("--mode", choices=("staged", "load"), default="staged",
                        help="staged: scripted, deterministic interleavings via in-app barriers (default); "
                        "load: free-running random concurrent workload")
    parser.add_argument("--arm", choices=("unsafe", "safe", "both"), default="both", help="which arm(s) to run (default: both)")
    parser.add_argument("--requests", type=_positive_int, default=500, metavar="N", help="load mode: total requests per arm (default: 500)")
    parser.add_argument("--concurrency", type=_positive_int, default=16, metavar="N", help="load mode: concurrent workers (default: 16)")
    parser.add_argument("--duration", type=_positive_float, default=10.0, metavar="SECONDS",
                        help="time budget per arm, both modes (default: 10)")
    parser.add_argument("--rounds", type=_positive_int, default=5, metavar="N", help="staged mode: scripted rounds per arm (default: 5)")
    parser.add_argument("--seed", type=int, default=0, help="workload seed (the OS thread schedule is not reproducible)")
    parser.add_argument("--timeout", type=_positive_float, metavar="SECONDS",
                        help="hard limit per arm: the arm's process is killed after it (default: duration + 30)")
    parser.add_argument("--expect", choices=("demo", "clean"), default="demo",
                        help="demo: unsafe arms must fail and safe arms be clean (default); clean: every arm must be clean")
    parser.add_argument("--json", metavar="PATH", dest="json_path", help="write the whole result as JSON to PATH (- for stdout)")
    parser.add_argument("--history-dir", metavar="DIR", help="keep each arm's history (JSONL) in DIR")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a --database-url on a non-loopback host (databases are created and dropped there)")
    parser.add_argument("--no-color", action="store_true", help="plain terminal output")
    # Test hook: make each arm's process crash or hang on purpose.
    parser.add_argument("--inject", choices=("abort", "segfault", "hang"), help=argparse.SUPPRESS)
    return parser


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
    if args.database_url:
        problem = _check_database_url(args.database_url, allow_remote=args.allow_remote)
        if problem:
            print(f"sessionlint stress: --database-url: {problem}", file=sys.stderr)
            return EXIT_ERROR

    from sessionlint.harness.report import build_result, exit_code, render_terminal, write_json
    from sessionlint.harness.runner import ArmOptions, run_arm

    arms = ("unsafe", "safe") if args.arm == "both" else (args.arm,)
    json_to_stdout = args.json_path == "-"
    out = sys.stderr if json_to_stdout else sys.stdout
    progress = _Progress(out, enabled=not args.no_color and out.isatty())
    results = []
    for name in chosen:
        for arm in arms:
            history_path = None
            if args.history_dir:
                from pathlib import Path

                Path(args.history_dir).mkdir(parents=True, exist_ok=True)
                history_path = str(Path(args.history_dir) / f"{name}-{arm}.jsonl")
            options = ArmOptions(
                scenario=name, arm=arm, mode=args.mode, database_url=args.database_url,
                requests=args.requests, concurrency=args.concurrency, duration=args.duration,
                rounds=args.rounds, seed=args.seed, timeout=args.timeout, inject=args.inject,
                history_path=history_path,
            )
            with progress.step(f"{name}: {arm} arm ({args.mode})"):
                results.append(run_arm(options))
    result = build_result(results, expect=args.expect, mode=args.mode, seed=args.seed)
    render_terminal(result, file=out, color=not args.no_color)
    if args.json_path:
        write_json(result, args.json_path)
    return exit_code(result)


def _missing_extras() -> list[str]:
    from importlib.util import find_spec

    return [name for name in ("fastapi", "sqlalchemy", "httpx", "anyio") if find_spec(name) is None]


def _check_database_url(url: str, allow_remote: bool = False) -> str | None:
    """Loopback only: the harness creates and drops databases on this server."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        return str(exc)
    if parsed.get_backend_name() == "sqlite" or allow_remote:
        return None
    host = parsed.host or "localhost"
    if host not in ("localhost", "127.0.0.1", "::1") and not host.startswith("127."):
        return f"{host} is not a loopback address; the harness creates and drops databases there (pass --allow-remote if you mean it)"
    return None


class _Progress:
    """A spinner line per arm when the output is a terminal (rich), else nothing."""

    def __init__(self, file, enabled: bool) -> None:
        self.file = file
        self.enabled = enabled

    def step(self, label: str):
        from contextlib import nullcontext

        if not self.enabled:
            return nullcontext()
        try:
            from rich.console import Console
        except ImportError:
            return nullcontext()
        return Console(file=self.file, stderr=self.file is sys.stderr).status(label)
