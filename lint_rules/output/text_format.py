"""`--output-format text`: ruff's concise lines, optionally with source snippets.

Layout (every line ends with a newline; the whole output is one string):

* File errors first (files that could not be linted are not findings), one line each,
  in ruff's wording::

      error: Failed to lint app/broken.py:3:7: invalid syntax
      error: Failed to lint app/unreadable.py: permission denied

  The ``:row:col`` part is there only when the error knows its position.

* Then one line per finding, sorted by `Finding.sort_key`::

      app/db.py:3:6: SL001 Module-level session shared by every request

  With ``ctx.show_source`` each line is followed by a snippet in the shape of ruff's
  ``full`` format: a line-number gutter, up to one line before the span, the span's
  line(s), carets under the span on its first line, up to one line after, and a
  blank line.  Tabs are shown as four spaces and wide (East Asian) characters as two
  columns, so the carets stay under the right characters.  A span longer than
  `MAX_SPAN_LINES` lines is cut with a ``...`` gutter line.  If
  ``ctx.read_source(filename)`` returns None, or the row is outside the file, the
  snippet is skipped.

* Then the summary: ``All checks passed!`` when there are no findings and no file
  errors, else ``Found N error(s).`` (N counts findings only) with
  `` (M file(s) could not be linted)`` before the period when files failed.

With ``ctx.statistics`` the findings and the summary are replaced by ``ruff
--statistics`` lines, ``count<TAB>CODE<TAB>name`` sorted by count (descending) then
code; file errors are still printed first.  Like ruff, a clean run prints nothing in
that mode.

With ``ctx.color``: the path is bold, the code (and the carets) red, the word
``error`` of file errors bold red.  No escape codes otherwise.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

from sessionlint.lint_rules.decoding import LINE_BREAK
from sessionlint.lint_rules.model import FileError, Finding, Report

from ._common import plural, sorted_errors, sorted_findings

#: Span lines shown in a snippet before it is cut with "...".
MAX_SPAN_LINES = 5
TAB = "    "

_BOLD = "\x1b[1m"
_RED = "\x1b[31m"
_BOLD_RED = "\x1b[1;31m"
_RESET = "\x1b[0m"



def render(report: Report, ctx) -> str:
    color = bool(getattr(ctx, "color", False))
    out: list[str] = [
        _error_line(error, color) for error in sorted_errors(report.errors)
    ]
    findings = sorted_findings(report.findings)

    if getattr(ctx, "statistics", False):
        out.extend(_statistics(findings, ctx))
        return "".join(line + "\n" for line in out)

    applicable = tuple(getattr(ctx, "fix_applicabilities", ("safe",)))
    sources: dict[str, list[str] | None] = {}
    for finding in findings:
        out.append(_finding_line(finding, color, _fixable(finding, applicable)))
        if getattr(ctx, "show_source", False):
            if finding.filename not in sources:
                text = ctx.read_source(finding.filename)
                sources[finding.filename] = (
                    None if text is None else LINE_BREAK.split(text)
                )
            lines = sources[finding.filename]
            if lines is not None:
                out.extend(_snippet(finding, lines, color))

    out.append(
        _summary(len(findings), len({e.filename for e in report.errors}), getattr(report, "fixed", 0))
    )
    fixable = sum(1 for f in findings if _fixable(f, applicable))
    hidden = sum(1 for f in findings if f.fix and not _fixable(f, applicable))
    if fixable:
        out.append(f"[*] {fixable} fixable with the `--fix` option.")
    if hidden:
        out.append(f"{plural(hidden, 'hidden fix', 'hidden fixes')} can be enabled with the `--unsafe-fixes` option.")
    return "".join(line + "\n" for line in out)


def _fixable(finding: Finding, applicable: tuple[str, ...]) -> bool:
    fix = finding.fix
    return bool(fix) and fix.get("applicability", "safe") in applicable


def _paint(text: str, style: str, color: bool) -> str:
    return f"{style}{text}{_RESET}" if color else text


def _error_line(error: FileError, color: bool) -> str:
    where = error.filename
    if error.row is not None:
        where += f":{error.row}"
        if error.column is not None:
            where += f":{error.column}"
    return (
        f"{_paint('error', _BOLD_RED, color)}: Failed to lint {where}: {error.message}"
    )


def _finding_line(finding: Finding, color: bool, fixable: bool = False) -> str:
    span = finding.span
    path = _paint(finding.filename, _BOLD, color)
    code = _paint(finding.code, _RED, color)
    marker = " [*]" if fixable else ""
    return f"{path}:{span.row}:{span.column}: {code}{marker} {finding.message}"


def _summary(findings: int, failed_files: int, fixed: int = 0) -> str:
    if not findings and not failed_files:
        return f"Found {plural(fixed, 'error')} ({fixed} fixed, 0 remaining)." if fixed else "All checks passed!"
    failed = (
        f" ({plural(failed_files, 'file')} could not be linted)" if failed_files else ""
    )
    if fixed:
        return f"Found {plural(findings + fixed, 'error')} ({fixed} fixed, {findings} remaining){failed}."
    return f"Found {plural(findings, 'error')}{failed}."


def _statistics(findings: list[Finding], ctx) -> list[str]:
    counts = Counter(f.code for f in findings)
    names = {f.code: f.name for f in findings}
    rules = getattr(ctx, "rules", None) or {}
    lines = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        rule = rules.get(code)
        name = getattr(rule, "name", None) or names[code]
        lines.append(f"{count}\t{code}\t{name}")
    return lines


# -- snippets -------------------------------------------------------------------------


def _char_width(ch: str) -> int:
    if ch == "\t":
        return len(TAB)
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _width(text: str) -> int:
    return sum(_char_width(ch) for ch in text)


def _display(text: str) -> str:
    return text.replace("\t", TAB).rstrip()


def _snippet(finding: Finding, lines: list[str], color: bool) -> list[str]:
    span = finding.span
    # A file ending in a newline splits into a trailing "" that is not a line.
    count = len(lines) - 1 if len(lines) > 1 and lines[-1] == "" else len(lines)
    if not 1 <= span.row <= count:
        return []
    end_row = min(max(span.end_row, span.row), count)

    shown_end = end_row
    cut = end_row - span.row + 1 > MAX_SPAN_LINES
    if cut:
        shown_end = span.row + MAX_SPAN_LINES - 2
    first = max(span.row - 1, 1)
    last = shown_end if cut else min(end_row + 1, count)
    gutter = len(str(last))
    pad = " " * gutter

    def numbered(row: int) -> str:
        text = _display(lines[row - 1])
        return f"{row:>{gutter}} | {text}" if text else f"{row:>{gutter}} |"

    # Carets: from the start column to the span's end on its first line (to the end
    # of the line for a multi-line span), at least one.
    line = lines[span.row - 1]
    start = min(max(span.column, 1) - 1, len(line))
    if span.end_row > span.row:
        stop = len(line)
    else:
        stop = min(max(span.end_column - 1, start), len(line))
    carets = max(_width(line[start:stop]), 1)
    caret_text = _paint("^" * carets + " " + finding.code, _RED, color)

    out = [f"{pad} |"]
    for row in range(first, span.row):
        out.append(numbered(row))
    out.append(numbered(span.row))
    out.append(f"{pad} | {' ' * _width(line[:start])}{caret_text}")
    for row in range(span.row + 1, last + 1):
        out.append(numbered(row))
    if cut:
        out.append(f"{'.' * max(gutter, 3)}")
    out.append(f"{pad} |")
    out.append("")
    return out
