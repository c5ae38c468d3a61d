"""Command line: `sessionlint [check] PATH...`, `sessionlint rule CODE`.

Imports are deferred to the command that needs them, so `sessionlint --version`
and the lint path never import a web framework, SQLAlchemy or httpx.
"""

from __future__ import annotations

import argparse
import os
import sys

from sessionlint import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
COMMANDS = ("check", "rule", "stress")
FORMATS = ("text", "json", "sarif", "github", "junit")


def _parser(with_stress: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sessionlint",
        description="Find SQLAlchemy session misuse in FastAPI and Python code.",
        epilog="`sessionlint PATH...` is short for `sessionlint check PATH...`. "
        "Exit status: 0 clean, 1 findings, 2 usage, configuration or internal error.",
    )
    parser.add_argument("--version", action="version", version=f"sessionlint {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="lint files and directories (the default command)")
    check.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .); - reads stdin")
    sel = check.add_argument_group("rule selection")
    sel.add_argument("--select", action="append", metavar="RULES", help="comma-separated codes, prefixes or names (replaces the configured set)")
    sel.add_argument("--extend-select", action="append", default=[], metavar="RULES", help="add rules to the selected set")
    sel.add_argument("--ignore", action="append", default=[], metavar="RULES", help="rules to leave out")
    fixes = check.add_argument_group("fixes")
    fixes.add_argument("--fix", action="store_true", help="apply safe fixes (and unsafe ones with --unsafe-fixes)")
    fixes.add_argument("--unsafe-fixes", action="store_true", help="also apply fixes that may change behaviour")
    fixes.add_argument("--diff", action="store_true", help="print the fixes as a unified diff instead of writing them; exit 1 if there is one")
    out = check.add_argument_group("output")
    out.add_argument("--output-format", choices=FORMATS, help="report format (default: text; env SESSIONLINT_OUTPUT_FORMAT)")
    out.add_argument("-o", "--output-file", metavar="FILE", help="write the report to FILE instead of stdout")
    out.add_argument("--show-source", action="store_true", default=None, help="show the offending source under each finding")
    out.add_argument("--no-show-source", dest="show_source", action="store_false")
    out.add_argument("--statistics", action="store_true", help="print a count per rule instead of each finding")
    out.add_argument("-e", "--exit-zero", action="store_true", help="exit 0 even when there are findings")
    out.add_argument("--no-color", action="store_true", help="never color the text output (also: NO_COLOR)")
    files = check.add_argument_group("files")
    files.add_argument("--config", metavar="FILE", help="use this pyproject.toml or sessionlint.toml")
    files.add_argument("--stdin-filename", metavar="NAME", help="the path to report for source read from stdin (`-`)")
    files.add_argument("--exclude", action="append", metavar="PATTERNS", help="gitignore-style patterns to skip (replaces the defaults)")
    files.add_argument("--extend-exclude", action="append", default=[], metavar="PATTERNS", help="patterns to skip in addition")
    files.add_argument("--force-exclude", action="store_true", default=None, help="apply excludes to files named on the command line too (pre-commit)")
    files.add_argument("--no-respect-gitignore", dest="respect_gitignore", action="store_false", default=None, help="lint files that .gitignore excludes")
    perf = check.add_argument_group("cache and speed")
    perf.add_argument("--no-cache", action="store_true", help="neither read nor write the results cache")
    perf.add_argument("--cache-dir", metavar="DIR", help="where to keep the cache (default: .sessionlint_cache; env SESSIONLINT_CACHE_DIR)")
    perf.add_argument("--jobs", type=int, metavar="N", help="worker processes for large runs (default: CPU count)")
    perf.add_argument("--no-screen", action="store_true", help="parse every file instead of only those that can matter (debugging)")

    if with_stress:  # `check` (every lint call) needn't import the stress command at all
        from sessionlint.commands.stress import add_stress_parser  # argparse only: no heavy imports

        add_stress_parser(sub)

    rule = sub.add_parser("rule", help="explain a rule")
    rule.add_argument("rule", nargs="?", metavar="RULE", help="code or name, e.g. SL004 or close-not-in-finally")
    rule.add_argument("--all", action="store_true", help="explain every rule")
    rule.add_argument("--output-format", choices=("text", "json"), default="text")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "check")
    parser = _parser(with_stress=argv[0] != "check")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    from sessionlint.config import ConfigError

    try:
        if args.command == "rule":
            from sessionlint.commands.rule import run_rule

            return run_rule(args)
        if args.command == "stress":
            from sessionlint.commands.stress import run_stress

            return run_stress(args)
        from sessionlint.commands.check import run_check

        return run_check(args)
    except ConfigError as exc:
        print(f"sessionlint: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("sessionlint: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception as exc:  # never a bare traceback for the user
        import traceback

        if os.environ.get("SESSIONLINT_DEBUG"):
            traceback.print_exc()
        print(
            f"sessionlint: internal error: {type(exc).__name__}: {exc}\n"
            f"Please report this with the command you ran; set SESSIONLINT_DEBUG=1 for a traceback.",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
