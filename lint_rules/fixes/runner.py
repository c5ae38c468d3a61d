"""`--fix` / `--diff`: lint, apply every applicable non-overlapping fix, re-lint,
until nothing more applies (like ruff, at most `MAX_ROUNDS` rounds)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sessionlint.lint_rules.engine import LintRequest, lint
from sessionlint.lint_rules.fixes.apply import apply_edits, edit_offsets, overlaps
from sessionlint.lint_rules.model import Report

MAX_ROUNDS = 10


@dataclass
class FixOutcome:
    report: Report
    #: absolute path -> (original text, fixed text)
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    fixed: int = 0


def run_fixes(request: LintRequest, applicabilities: tuple[str, ...]) -> FixOutcome:
    cwd = Path.cwd()
    originals: dict[str, str] = {}
    current: dict[str, str] = {}
    fixed = 0
    stdin_key = None
    if request.stdin is not None:
        name = Path(request.stdin_filename or "-")
        stdin_key = str(name if name.is_absolute() else cwd / name)
        originals[stdin_key] = current[stdin_key] = request.stdin.decode("utf-8", "replace")

    report = Report()
    for _ in range(MAX_ROUNDS):
        request.overrides = {path: text.encode("utf-8") for path, text in current.items() if path != stdin_key}
        if stdin_key is not None:
            request.stdin = current[stdin_key].encode("utf-8")
        report = lint(request)
        chosen: dict[str, list[tuple[int, int, str]]] = {}
        applied = 0
        for finding in report.findings:
            fix = finding.fix
            if not fix or fix.get("applicability") not in applicabilities or not fix.get("edits"):
                continue
            planned: dict[str, list[tuple[int, int, str]]] = {}
            ok = True
            for edit in fix["edits"]:
                path = str(cwd / (edit.get("filename") or finding.filename))
                if path not in current:
                    try:
                        # newline="": keep CRLF files CRLF (the edits carry the
                        # file's own line endings, as LibCST preserves them)
                        with open(path, encoding="utf-8", newline="") as handle:
                            current[path] = handle.read()
                    except (OSError, UnicodeDecodeError):
                        ok = False
                        break
                    originals[path] = current[path]
                offsets = edit_offsets(current[path], [edit])[0]
                taken = chosen.get(path, []) + planned.get(path, [])
                if any(overlaps(offsets, other) for other in taken):
                    ok = False  # another fix touches the same text: next round
                    break
                planned.setdefault(path, []).append(offsets)
            if not ok:
                continue
            for path, edits in planned.items():
                chosen.setdefault(path, []).extend(edits)
            applied += 1
        if not applied:
            break
        fixed += applied
        for path, edits in chosen.items():
            current[path] = apply_edits(current[path], edits)
    report.fixed = fixed
    changes = {p: (originals[p], current[p]) for p in current if current[p] != originals[p]}
    return FixOutcome(report, changes, fixed)
