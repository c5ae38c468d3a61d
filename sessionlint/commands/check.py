"""`sessionlint check`: settings from config + command line → engine → report."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pathspec

from sessionlint import __version__
from sessionlint.config import ConfigError, find_config, load_config
from sessionlint.selection import expand_all, resolve_selection

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _split(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def run_check(args) -> int:
    from sessionlint.lint_rules.discovery import DEFAULT_EXCLUDE, DiscoveryOptions
    from sessionlint.lint_rules.engine import LintRequest, lint
    from sessionlint.lint_rules.output import OutputContext, render
    from sessionlint.lint_rules.registry import rule_catalog

    raw_paths = args.paths or ["."]
    use_stdin = raw_paths == ["-"]
    if "-" in raw_paths and not use_stdin:
        raise ConfigError("`-` (stdin) cannot be combined with other paths")
    if args.stdin_filename and not use_stdin:
        raise ConfigError("--stdin-filename needs `-` as the path")
    for raw in raw_paths:
        if raw != "-" and not os.path.lexists(raw):
            raise ConfigError(f"{raw}: no such file or directory")

    if args.config:
        config_path = Path(args.config)
        if not config_path.is_file():
            raise ConfigError(f"--config {args.config}: no such file")
        config = load_config(config_path)
    else:
        start = Path(args.stdin_filename).parent if use_stdin and args.stdin_filename else Path(raw_paths[0] if not use_stdin else ".")
        config = load_config(find_config(start.resolve() if start.exists() else Path.cwd()))

    cache_dir = None
    if not args.no_cache:
        chosen = args.cache_dir or os.environ.get("SESSIONLINT_CACHE_DIR")
        cache_dir = Path(chosen).resolve() if chosen else (config.cache_dir or config.root / ".sessionlint_cache")
    # Rule metadata from the cache when it is there: importing the rules loads
    # LibCST, which a run that parses nothing doesn't need.
    rules = rule_catalog(None if use_stdin else cache_dir)  # stdin runs never write a cache
    # Name the config file when one of its rule selectors is unknown.
    for key, values in (
        ("select", config.select or []),
        ("extend-select", config.extend_select),
        ("ignore", config.ignore),
        *(("per-file-ignores", codes) for codes in config.per_file_ignores.values()),
    ):
        try:
            expand_all(values, rules)
        except ConfigError as exc:
            raise ConfigError(f"{config.where or config.path}: `{key}`: {exc}") from None
    select = _split(args.select) if args.select is not None else config.select
    selected = resolve_selection(
        rules,
        select,
        config.extend_select + (_split(args.extend_select) or []),
        config.ignore + (_split(args.ignore) or []),
    )
    per_file = [
        (pathspec.GitIgnoreSpec.from_lines([pattern]), frozenset(expand_all(codes, rules)))
        for pattern, codes in config.per_file_ignores.items()
    ]
    exclude = _split(args.exclude) if args.exclude is not None else config.exclude
    discovery = DiscoveryOptions(
        root=config.root,
        exclude=tuple(exclude) if exclude is not None else DEFAULT_EXCLUDE,
        extend_exclude=tuple(config.extend_exclude + (_split(args.extend_exclude) or [])),
        respect_gitignore=config.respect_gitignore if args.respect_gitignore is None else args.respect_gitignore,
        force_exclude=config.force_exclude if args.force_exclude is None else args.force_exclude,
    )

    stdin = sys.stdin.buffer.read() if use_stdin else None
    request = LintRequest(
        paths=[Path(p) for p in raw_paths if p != "-"],
        root=config.root,
        selected=selected,
        discovery=discovery,
        per_file_ignores=per_file,
        cache_dir=cache_dir if not use_stdin else None,
        max_file_size=config.max_file_size,
        screen=not args.no_screen,
        jobs=args.jobs,
        stdin=stdin,
        stdin_filename=args.stdin_filename,
        rules=rules,
    )
    applicable = ("safe", "unsafe") if args.unsafe_fixes else ("safe",)
    if args.diff:
        from sessionlint.commands.fixing import print_diff

        return print_diff(request, applicable)
    outcome = None
    if args.fix:
        from sessionlint.commands.fixing import apply_fixes

        outcome = apply_fixes(request, applicable, to_stdout=use_stdin)
        report = outcome.report
    else:
        report = lint(request)
    if not use_stdin and report.files_checked == 0:
        # like ruff: an empty run is usually a path typo or a .gitignore/exclude surprise
        print(
            "sessionlint: warning: no Python files found under the given path(s) "
            "(excluded files and .gitignore are skipped; see --no-respect-gitignore, --exclude)",
            file=sys.stderr,
        )

    fmt = args.output_format or os.environ.get("SESSIONLINT_OUTPUT_FORMAT") or config.output_format or "text"
    if fmt not in ("text", "json", "sarif", "github", "junit"):
        raise ConfigError(f"unknown output format {fmt!r}; choose text, json, sarif, github or junit")
    stdin_source = stdin.decode("utf-8", "replace") if stdin is not None else None

    def read_source(filename: str) -> str | None:
        if stdin_source is not None:
            return stdin_source
        try:
            return Path(filename).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    to_file = bool(args.output_file)
    color = (
        fmt == "text" and not to_file and not args.no_color and not os.environ.get("NO_COLOR") and sys.stdout.isatty()
    )
    ctx = OutputContext(
        rules=rules,
        show_source=bool(args.show_source),
        statistics=args.statistics,
        read_source=read_source,
        color=color,
        tool_version=__version__,
        fix_applicabilities=applicable,
    )
    text = render(fmt, report, ctx)
    if fmt == "json":
        for error in report.errors:
            print(f"sessionlint: error: {error.filename}: {error.message}", file=sys.stderr)
    if to_file:
        Path(args.output_file).write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
    elif text:
        # With `- --fix` stdout carries the fixed source, so the report goes to stderr.
        stream = sys.stderr if (use_stdin and args.fix) else sys.stdout
        stream.write(text if text.endswith("\n") else text + "\n")
    if report.errors:
        return EXIT_ERROR
    if report.findings and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN
