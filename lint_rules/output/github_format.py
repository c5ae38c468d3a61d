"""`--output-format github`: GitHub Actions workflow commands (annotations).

One line per finding, sorted by `Finding.sort_key`::

    ::error title=sessionlint (SL001),file=app/db.py,line=3,col=6,endLine=3,endColumn=12::app/db.py:3:6: SL001 message

The command is ``error``, ``warning`` or ``notice`` after the finding's severity
(error / warning / info).  Escaping follows the runner's rules
(actions/toolkit ``command.ts``): in the message ``%`` -> ``%25``, CR -> ``%0D``,
LF -> ``%0A``; in property values additionally ``:`` -> ``%3A`` and ``,`` -> ``%2C``.

File errors come first, as ``::error file=PATH,line=R,col=C::MESSAGE`` (``line`` and
``col`` only when known).  Nothing is printed for a clean run.
"""

from __future__ import annotations

from sessionlint.lint_rules.model import FileError, Finding, Report

from ._common import severity_value, sorted_errors, sorted_findings

LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(name: str, properties: list[tuple[str, object]], message: str) -> str:
    props = ",".join(
        f"{key}={escape_property(str(value))}" for key, value in properties
    )
    return f"::{name} {props}::{escape_data(message)}"


def _finding(finding: Finding) -> str:
    span = finding.span
    level = LEVELS[severity_value(finding.severity)]
    properties = [
        ("title", f"sessionlint ({finding.code})"),
        ("file", finding.filename),
        ("line", span.row),
        ("col", span.column),
        ("endLine", span.end_row),
        ("endColumn", span.end_column),
    ]
    message = (
        f"{finding.filename}:{span.row}:{span.column}: {finding.code} {finding.message}"
    )
    return _command(level, properties, message)


def _error(error: FileError) -> str:
    properties: list[tuple[str, object]] = [("file", error.filename)]
    if error.row is not None:
        properties.append(("line", error.row))
        if error.column is not None:
            properties.append(("col", error.column))
    return _command("error", properties, error.message)


def render(report: Report, ctx) -> str:
    lines = [_error(e) for e in sorted_errors(report.errors)]
    lines += [_finding(f) for f in sorted_findings(report.findings)]
    return "".join(line + "\n" for line in lines)
