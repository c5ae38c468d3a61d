"""`--output-format json`: a JSON array in the shape of ``ruff check --output-format json``.

Each finding is an object with the keys ``cell`` (always null: no notebooks),
``code``, ``end_location`` ({row, column}), ``filename``, ``fix`` (the finding's fix
dict, ruff's ``{"applicability", "edits", "message"}`` shape, or null),
``location``, ``message``, ``name``, ``noqa_row`` (the finding's row), ``severity``
(``"error"``, ``"warning"`` or ``"info"``) and ``url``.  Findings are sorted by
`Finding.sort_key`; the array is indented by 2 and followed by a newline, and is
``[]`` when there is nothing to report.

File errors are not part of the array (the CLI prints them to stderr).  Non-ASCII
text is \\u-escaped, so the output is plain ASCII whatever the terminal encoding.
"""

from __future__ import annotations

import json

from sessionlint.lint_rules.model import Finding, Report

from ._common import severity_value, sorted_findings


def finding_to_dict(finding: Finding) -> dict:
    span = finding.span
    return {
        "cell": None,
        "code": finding.code,
        "end_location": {"row": span.end_row, "column": span.end_column},
        "filename": finding.filename,
        "fix": finding.fix,
        "location": {"row": span.row, "column": span.column},
        "message": finding.message,
        "name": finding.name,
        "noqa_row": span.row,
        "severity": severity_value(finding.severity),
        "url": finding.url,
    }


def render(report: Report, ctx) -> str:
    items = [finding_to_dict(f) for f in sorted_findings(report.findings)]
    return json.dumps(items, indent=2) + "\n"
