"""`--fix` and `--diff` for `sessionlint check`."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from sessionlint.lint_rules.fixes.runner import FixOutcome, run_fixes


def _display(path: str) -> str:
    try:
        return Path(path).relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path


def apply_fixes(request, applicable, *, to_stdout: bool) -> FixOutcome:
    """Fix and write the files; with stdin input, print the fixed source instead
    (the caller then sends the report to stderr, like ruff)."""
    outcome = run_fixes(request, applicable)
    if to_stdout:
        text = next(iter(outcome.changes.values()), (None, None))[1]
        if text is None and request.stdin is not None:
            text = request.stdin.decode("utf-8", "replace")
        sys.stdout.write(text or "")
        sys.stdout.flush()
        return outcome
    for path, (_, new) in outcome.changes.items():
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(new)
    return outcome


def print_diff(request, applicable) -> int:
    outcome = run_fixes(request, applicable)
    for path, (old, new) in sorted(outcome.changes.items()):
        name = _display(path)
        before, after = (name, name) if name.startswith("/") else (f"a/{name}", f"b/{name}")
        sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True), before, after))
    fixes = outcome.fixed
    if fixes:
        print(f"Would fix {fixes} error{'s' if fixes != 1 else ''}.", file=sys.stderr)
        return 1
    print("No fixes available.", file=sys.stderr)
    return 2 if outcome.report.errors else 0
