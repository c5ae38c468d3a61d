"""`--output-format sarif`: a SARIF 2.1.0 log (GitHub code scanning, VS Code SARIF viewer).

One run.  ``tool.driver`` lists every rule of ``ctx.rules`` (sorted by code) as a
reportingDescriptor: ``id`` (code), ``name`` (kebab-case), ``shortDescription`` (the
first paragraph of the doc, i.e. the "What it does" text, else the name),
``fullDescription`` and ``help`` (the doc, as text and markdown), ``helpUri`` and
``defaultConfiguration.level`` (error -> error, warning -> warning, info -> note).

Each finding is a result with ``ruleId``, ``ruleIndex`` (when the code is in
``ctx.rules``), ``level``, ``message.text`` and one physical location.  Artifact URIs
are relative POSIX paths (percent-encoded) with ``uriBaseId`` ``%SRCROOT%``; an
absolute filename is made relative to the current directory when it lies under it,
and is otherwise given as a ``file://`` URI without a base.  Regions use the
finding's 1-based rows and columns (end column exclusive, as in SARIF);
``run.columnKind`` is ``unicodeCodePoints`` because columns count characters.

A finding's ``fix`` (ruff's shape: ``{"message", "edits": [{"content", "location",
"end_location"}], "applicability"?}``) becomes a SARIF ``fixes`` entry: one
artifactChange on the finding's file with one replacement per edit (deletedRegion +
insertedContent); ``applicability`` goes into the fix's property bag.

``invocations[0]`` is always present: ``executionSuccessful`` is false when any file
could not be linted, and each file error becomes an error-level
``toolExecutionNotification`` located at the file (and position, when known).
"""

from __future__ import annotations

import json
from pathlib import Path, PurePath, PurePosixPath
from urllib.parse import quote

from sessionlint.lint_rules.model import FileError, Finding, Report

from ._common import severity_value, short_description, sorted_errors, sorted_findings

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/sessionlint/sessionlint"
SRCROOT = "%SRCROOT%"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def artifact_location(filename: str) -> dict:
    """A SARIF artifactLocation for `filename` (see the module doc)."""
    path = Path(filename)
    if path.is_absolute():
        relative = _relative_to_cwd(path)
        if relative is None:
            return {"uri": path.as_uri()}
        path = relative
    posix = PurePath(path).as_posix().removeprefix("./")
    return {"uri": quote(posix, safe="/"), "uriBaseId": SRCROOT}


def _relative_to_cwd(path: Path) -> PurePosixPath | None:
    cwd = Path.cwd()
    for base, target in ((cwd, path), (cwd.resolve(), path.resolve())):
        try:
            return PurePosixPath(target.relative_to(base).as_posix())
        except ValueError:
            continue
    return None


def _level(severity) -> str:
    return LEVELS[severity_value(severity)]


def _region(
    row: int, column: int, end_row: int | None = None, end_column: int | None = None
) -> dict:
    region = {"startLine": max(int(row), 1), "startColumn": max(int(column), 1)}
    if end_row is not None:
        region["endLine"] = max(int(end_row), region["startLine"])
    if end_column is not None:
        region["endColumn"] = max(int(end_column), 1)
    return region


def _descriptor(rule) -> dict:
    doc = rule.doc() or rule.name
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": short_description(rule)},
        "fullDescription": {"text": doc, "markdown": doc},
        "defaultConfiguration": {"level": _level(getattr(rule, "severity", "error"))},
        "helpUri": rule.url(),
        "help": {"text": doc, "markdown": doc},
    }


def _fixes(finding: Finding) -> list[dict]:
    fix = finding.fix
    if not isinstance(fix, dict):
        return []
    replacements = []
    for edit in fix.get("edits") or []:
        start, end = edit["location"], edit.get("end_location") or edit["location"]
        replacement: dict = {
            "deletedRegion": _region(
                start["row"], start["column"], end["row"], end["column"]
            )
        }
        if edit.get("content") is not None:
            replacement["insertedContent"] = {"text": edit["content"]}
        replacements.append(replacement)
    if not replacements:  # SARIF needs at least one replacement per change
        return []
    entry: dict = {}
    if fix.get("message"):
        entry["description"] = {"text": fix["message"]}
    entry["artifactChanges"] = [
        {
            "artifactLocation": artifact_location(finding.filename),
            "replacements": replacements,
        }
    ]
    if fix.get("applicability"):
        entry["properties"] = {"applicability": fix["applicability"]}
    return [entry]


def _result(finding: Finding, index: dict[str, int]) -> dict:
    span = finding.span
    result: dict = {"ruleId": finding.code}
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    result["level"] = _level(finding.severity)
    result["message"] = {"text": finding.message}
    result["locations"] = [
        {
            "physicalLocation": {
                "artifactLocation": artifact_location(finding.filename),
                "region": _region(span.row, span.column, span.end_row, span.end_column),
            }
        }
    ]
    fixes = _fixes(finding)
    if fixes:
        result["fixes"] = fixes
    return result


def _notification(error: FileError) -> dict:
    physical: dict = {"artifactLocation": artifact_location(error.filename)}
    if error.row is not None:
        physical["region"] = _region(
            error.row, error.column if error.column is not None else 1
        )
    return {
        "level": "error",
        "message": {"text": f"Failed to lint {error.filename}: {error.message}"},
        "locations": [{"physicalLocation": physical}],
    }


def build(report: Report, ctx) -> dict:
    """The SARIF log as a dict (`render` serialises it)."""
    rules = [rule for _, rule in sorted((getattr(ctx, "rules", None) or {}).items())]
    index = {rule.code: i for i, rule in enumerate(rules)}
    driver: dict = {"name": "sessionlint", "informationUri": INFORMATION_URI}
    version = getattr(ctx, "tool_version", "")
    if version:
        driver["version"] = version
    driver["rules"] = [_descriptor(rule) for rule in rules]

    invocation: dict = {"executionSuccessful": not report.errors}
    if report.errors:
        invocation["toolExecutionNotifications"] = [
            _notification(e) for e in sorted_errors(report.errors)
        ]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "invocations": [invocation],
                "columnKind": "unicodeCodePoints",
                "results": [
                    _result(f, index) for f in sorted_findings(report.findings)
                ],
            }
        ],
    }


def render(report: Report, ctx) -> str:
    return json.dumps(build(report, ctx), indent=2) + "\n"
