"""`--output-format junit`: JUnit XML for CI test-report viewers.

Shape (ruff's, with a single suite)::

    <?xml version="1.0" encoding="UTF-8"?>
    <testsuites name="sessionlint" tests="3" failures="2" errors="1">
      <testsuite name="sessionlint" tests="3" failures="2" errors="1" skipped="0">
        <testcase name="Failed to lint" classname="app/broken.py" line="3" column="7">
          <error message="invalid syntax">line 3, col 7, invalid syntax</error>
        </testcase>
        <testcase name="org.sessionlint.SL001" classname="app/db.py" line="3" column="6">
          <failure message="SL001 Module-level session" type="SL001">line 3, col 6, Module-level session</failure>
        </testcase>
        ...

One testcase per finding (sorted by `Finding.sort_key`), named
``org.sessionlint.CODE`` with the file path as ``classname``, as ruff does: JUnit
allows one ``<failure>`` per testcase, so grouping a file's findings into one
testcase would not be valid JUnit.  The failure's ``message`` attribute starts with
the code (viewers show it without the testcase name) and its ``type`` is the code.  File errors come first, one testcase each with an
``<error>``.  A clean run is one passing testcase, ``classname="sessionlint"
name="No errors found"``.  Characters XML 1.0 cannot carry are replaced by U+FFFD.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from sessionlint.lint_rules.model import FileError, Finding, Report

from ._common import sorted_errors, sorted_findings

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _where(row: int | None, column: int | None) -> str:
    if row is None:
        return ""
    return f"line {row}, col {column if column is not None else 1}, "


def _error_case(suite: ET.Element, error: FileError) -> None:
    case = ET.SubElement(
        suite, "testcase", name="Failed to lint", classname=_clean(error.filename)
    )
    if error.row is not None:
        case.set("line", str(error.row))
        if error.column is not None:
            case.set("column", str(error.column))
    element = ET.SubElement(case, "error", message=_clean(error.message))
    element.text = _clean(_where(error.row, error.column) + error.message)


def _finding_case(suite: ET.Element, finding: Finding) -> None:
    span = finding.span
    case = ET.SubElement(
        suite,
        "testcase",
        name=f"org.sessionlint.{finding.code}",
        classname=_clean(finding.filename),
        line=str(span.row),
        column=str(span.column),
    )
    element = ET.SubElement(
        case,
        "failure",
        message=_clean(f"{finding.code} {finding.message}"),
        type=finding.code,
    )
    element.text = _clean(_where(span.row, span.column) + finding.message)


def render(report: Report, ctx) -> str:
    findings = sorted_findings(report.findings)
    errors = sorted_errors(report.errors)
    tests = max(len(findings) + len(errors), 1)
    counts = {
        "tests": str(tests),
        "failures": str(len(findings)),
        "errors": str(len(errors)),
    }
    root = ET.Element("testsuites", name="sessionlint", **counts)
    suite = ET.SubElement(root, "testsuite", name="sessionlint", **counts, skipped="0")
    for error in errors:
        _error_case(suite, error)
    for finding in findings:
        _finding_case(suite, finding)
    if not findings and not errors:
        ET.SubElement(
            suite, "testcase", name="No errors found", classname="sessionlint"
        )
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
