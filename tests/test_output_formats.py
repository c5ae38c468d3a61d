"""The five report renderers (`lint_rules/output/*_format.py`), on synthetic reports.

The rules are small stubs defined here, so these tests do not depend on the rule
registry.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from sessionlint.lint_rules.model import FileError, Finding, Report, Severity, Span
from sessionlint.lint_rules.output import FORMATS, OutputContext, render
from sessionlint.lint_rules.rule import Rule

SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


class StubError(Rule):
    """## What it does
    Flags a stub error
    spanning two lines.

    ## Why is this bad?
    Because.
    """

    code = "SL901"
    name = "stub-error"
    severity = Severity.ERROR


class StubWarning(Rule):
    """## What it does
    Flags a stub warning."""

    code = "SL902"
    name = "stub-warning"
    severity = Severity.WARNING


class StubInfo(Rule):
    code = "SL903"
    name = "stub-info"
    severity = Severity.INFO


RULES = {rule.code: rule for rule in (StubError, StubWarning, StubInfo)}

SOURCES = {
    "app/db.py": (
        "import sqlalchemy\n"
        "from sqlalchemy.orm import Session\n"
        "\n"
        "session = Session(engine)\n"
        "print(session)\n"
    ),
    "app/routes.py": "def get_db():\n    db = SessionLocal()\n    return db\n",
}

FIX = {
    "applicability": "unsafe",
    "message": "Create the session per request",
    "edits": [
        {
            "content": "SessionLocal",
            "location": {"row": 4, "column": 11},
            "end_location": {"row": 4, "column": 18},
        },
        {
            "content": "",
            "location": {"row": 5, "column": 1},
            "end_location": {"row": 6, "column": 1},
        },
    ],
}


def finding(code, filename, span, message, fix=None) -> Finding:
    rule = RULES[code]
    return Finding(
        code=code,
        name=rule.name,
        message=message,
        filename=filename,
        span=Span(*span),
        severity=rule.severity,
        url=rule.url(),
        fix=fix,
    )


def full_report() -> Report:
    # deliberately out of order: every renderer sorts
    return Report(
        findings=[
            finding(
                "SL903",
                "app/routes.py",
                (2, 5, 3, 14),
                "Dependency returns session: use yield, not return (50%)",
            ),
            finding(
                "SL901", "app/db.py", (4, 11, 4, 26), "Module-level session", fix=FIX
            ),
            finding("SL902", "app/db.py", (1, 1, 1, 18), "Session not closed"),
        ],
        errors=[FileError("app/broken.py", "invalid syntax", 3, 7)],
        files_checked=3,
    )


def ctx(**kwargs) -> OutputContext:
    kwargs.setdefault("rules", RULES)
    kwargs.setdefault("tool_version", "0.1.0")
    kwargs.setdefault("read_source", SOURCES.get)
    return OutputContext(**kwargs)


# -- dispatch -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_through_dispatch(fmt):
    assert isinstance(render(fmt, full_report(), ctx()), str)
    assert isinstance(render(fmt, Report(), ctx()), str)


# -- text -----------------------------------------------------------------------------


def test_text_lines_and_summary():
    assert render("text", full_report(), ctx()).splitlines() == [
        "error: Failed to lint app/broken.py:3:7: invalid syntax",
        "app/db.py:1:1: SL902 Session not closed",
        "app/db.py:4:11: SL901 Module-level session",
        "app/routes.py:2:5: SL903 Dependency returns session: use yield, not return (50%)",
        "Found 3 errors (1 file could not be linted).",
        "1 hidden fix can be enabled with the `--unsafe-fixes` option.",
    ]


def test_text_fix_hints():
    """Like ruff: fixable findings are marked `[*]` and counted after the summary;
    fixes that need --unsafe-fixes are counted as hidden until it is given."""
    report = full_report()
    report.errors = []
    unsafe = render("text", report, ctx(fix_applicabilities=("safe", "unsafe"))).splitlines()
    assert unsafe[-2:] == ["Found 3 errors.", "[*] 1 fixable with the `--fix` option."]
    assert "app/db.py:4:11: SL901 [*] Module-level session" in unsafe
    report.fixed = 2
    assert render("text", report, ctx()).splitlines()[-2] == "Found 5 errors (2 fixed, 3 remaining)."


def test_text_summary_wording():
    report = full_report()
    report.errors = []
    for finding in report.findings:
        finding.fix = None
    assert render("text", report, ctx()).splitlines()[-1] == "Found 3 errors."
    report.findings = report.findings[:1]
    assert render("text", report, ctx()).splitlines()[-1] == "Found 1 error."
    assert render("text", Report(), ctx()) == "All checks passed!\n"
    only_errors = Report(errors=[FileError("x.py", "unreadable")])
    assert render("text", only_errors, ctx()) == (
        "error: Failed to lint x.py: unreadable\nFound 0 errors (1 file could not be linted).\n"
    )


def test_text_show_source_carets_line_up():
    out = render("text", full_report(), ctx(show_source=True))
    block = out.split("app/db.py:4:11: SL901 Module-level session\n")[1].split("\n\n")[
        0
    ]
    assert block.splitlines() == [
        "  |",
        "3 |",
        "4 | session = Session(engine)",
        "  |           ^^^^^^^^^^^^^^^ SL901",
        "5 | print(session)",
        "  |",
    ]
    code_line, caret_line = block.splitlines()[2:4]
    start = caret_line.index("^")
    assert code_line[start : start + caret_line.count("^")] == "Session(engine)"
    # first line of a file: no line before it
    first = out.split("app/db.py:1:1: SL902 Session not closed\n")[1].split("\n\n")[0]
    assert first.splitlines() == [
        "  |",
        "1 | import sqlalchemy",
        "  | ^^^^^^^^^^^^^^^^^ SL902",
        "2 | from sqlalchemy.orm import Session",
        "  |",
    ]
    # multi-line span: carets to the end of the first line, then the rest of the span
    multi = out.split("(50%)\n")[1].split("\n\n")[0]
    assert multi.splitlines() == [
        "  |",
        "1 | def get_db():",
        "2 |     db = SessionLocal()",
        "  |     ^^^^^^^^^^^^^^^^^^^ SL903",
        "3 |     return db",
        "  |",
    ]
    assert out.endswith(
        "\nFound 3 errors (1 file could not be linted).\n"
        "1 hidden fix can be enabled with the `--unsafe-fixes` option.\n"
    )


def test_text_show_source_tabs_wide_chars_and_missing_source():
    source = "x = 1\n\tdb = Session()  # 会话\n"
    report = Report(
        findings=[
            finding("SL901", "t.py", (2, 7, 2, 16), "m"),
            finding("SL902", "w.py", (1, 1, 1, 2), "m"),
        ]
    )
    out = render(
        "text", report, ctx(show_source=True, read_source={"t.py": source}.get)
    )
    lines = out.splitlines()
    assert (
        lines[lines.index("2 |     db = Session()  # 会话") + 1]
        == "  |          ^^^^^^^^^ SL901"
    )
    # no source for w.py: just the line
    assert lines[-2:] == ["w.py:1:1: SL902 m", "Found 2 errors."]


def test_text_show_source_row_outside_file_is_skipped():
    report = Report(findings=[finding("SL901", "app/db.py", (40, 1, 40, 2), "m")])
    assert (
        render("text", report, ctx(show_source=True))
        == "app/db.py:40:1: SL901 m\nFound 1 error.\n"
    )


def test_text_long_span_is_cut():
    source = "".join(f"line{i}\n" for i in range(1, 21))
    report = Report(findings=[finding("SL901", "l.py", (2, 1, 15, 3), "m")])
    out = render(
        "text", report, ctx(show_source=True, read_source={"l.py": source}.get)
    )
    assert out.splitlines()[1:9] == [
        "  |",
        "1 | line1",
        "2 | line2",
        "  | ^^^^^ SL901",
        "3 | line3",
        "4 | line4",
        "5 | line5",
        "...",
    ]


def test_text_statistics():
    report = Report(
        findings=[
            finding("SL902", "a.py", (1, 1, 1, 2), "m"),
            finding("SL901", "a.py", (2, 1, 2, 2), "m"),
            finding("SL901", "b.py", (1, 1, 1, 2), "m"),
            finding("SL903", "b.py", (3, 1, 3, 2), "m"),
            finding("SL901", "c.py", (1, 1, 1, 2), "m"),
        ],
        errors=[FileError("d.py", "boom")],
    )
    assert render("text", report, ctx(statistics=True)).splitlines() == [
        "error: Failed to lint d.py: boom",
        "3\tSL901\tstub-error",
        "1\tSL902\tstub-warning",
        "1\tSL903\tstub-info",
    ]
    assert render("text", Report(), ctx(statistics=True)) == ""


def test_text_color():
    report = Report(findings=[finding("SL901", "a.py", (1, 2, 1, 3), "m")])
    plain = render("text", report, ctx())
    assert "\x1b[" not in plain
    colored = render("text", report, ctx(color=True))
    assert colored.splitlines()[0] == "\x1b[1ma.py\x1b[0m:1:2: \x1b[31mSL901\x1b[0m m"


# -- json -----------------------------------------------------------------------------


def test_json_ruff_shape():
    data = json.loads(render("json", full_report(), ctx()))
    assert [item["code"] for item in data] == ["SL902", "SL901", "SL903"]
    assert data[1] == {
        "cell": None,
        "code": "SL901",
        "end_location": {"row": 4, "column": 26},
        "filename": "app/db.py",
        "fix": FIX,
        "location": {"row": 4, "column": 11},
        "message": "Module-level session",
        "name": "stub-error",
        "noqa_row": 4,
        "severity": "error",
        "url": StubError.url(),
    }
    assert list(data[1]) == sorted(data[1])  # ruff's key order
    assert data[0]["fix"] is None
    assert [item["severity"] for item in data] == ["warning", "error", "info"]


def test_json_empty_and_indented():
    assert render("json", Report(errors=[FileError("x.py", "boom")]), ctx()) == "[]\n"
    out = render("json", full_report(), ctx())
    assert out.startswith('[\n  {\n    "cell": null,')


# -- sarif ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sarif_validator():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def sarif(report: Report, validator, **kwargs) -> dict:
    log = json.loads(render("sarif", report, ctx(**kwargs)))
    validator.validate(log)
    return log


def test_sarif_schema_is_vendored():
    assert SCHEMA_PATH.is_file()
    assert json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))["$schema"].startswith(
        "http://json-schema.org/"
    )


def test_sarif_full_report(sarif_validator):
    log = sarif(full_report(), sarif_validator)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "sessionlint"
    assert driver["version"] == "0.1.0"
    assert [r["id"] for r in driver["rules"]] == ["SL901", "SL902", "SL903"]
    error_rule, _, info_rule = driver["rules"]
    assert error_rule["name"] == "stub-error"
    assert (
        error_rule["shortDescription"]["text"]
        == "Flags a stub error spanning two lines."
    )
    assert error_rule["fullDescription"]["text"] == StubError.doc()
    assert error_rule["help"]["text"] == StubError.doc()
    assert error_rule["helpUri"] == StubError.url()
    assert info_rule["shortDescription"]["text"] == "stub-info"  # no docstring
    levels = [r["defaultConfiguration"]["level"] for r in driver["rules"]]
    assert levels == ["error", "warning", "note"]

    results = run["results"]
    assert [(r["ruleId"], r["ruleIndex"], r["level"]) for r in results] == [
        ("SL902", 1, "warning"),
        ("SL901", 0, "error"),
        ("SL903", 2, "note"),
    ]
    location = results[1]["locations"][0]["physicalLocation"]
    assert location == {
        "artifactLocation": {"uri": "app/db.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 4, "startColumn": 11, "endLine": 4, "endColumn": 26},
    }
    assert results[1]["message"]["text"] == "Module-level session"
    assert "fixes" not in results[0]

    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert "invalid syntax" in note["message"]["text"]
    assert note["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 3,
        "startColumn": 7,
    }


def test_sarif_fix(sarif_validator):
    report = Report(
        findings=[finding("SL901", "app/db.py", (4, 11, 4, 26), "m", fix=FIX)]
    )
    (result,) = sarif(report, sarif_validator)["runs"][0]["results"]
    (fix,) = result["fixes"]
    assert fix["description"] == {"text": "Create the session per request"}
    assert fix["properties"] == {"applicability": "unsafe"}
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"] == {"uri": "app/db.py", "uriBaseId": "%SRCROOT%"}
    assert change["replacements"] == [
        {
            "deletedRegion": {
                "startLine": 4,
                "startColumn": 11,
                "endLine": 4,
                "endColumn": 18,
            },
            "insertedContent": {"text": "SessionLocal"},
        },
        {
            "deletedRegion": {
                "startLine": 5,
                "startColumn": 1,
                "endLine": 6,
                "endColumn": 1,
            },
            "insertedContent": {"text": ""},
        },
    ]
    # a fix without edits cannot be expressed in SARIF: it is left out
    report.findings[0].fix = {"message": "nothing", "edits": []}
    (result,) = sarif(report, sarif_validator)["runs"][0]["results"]
    assert "fixes" not in result


def test_sarif_errors_only(sarif_validator):
    report = Report(
        errors=[FileError("x.py", "unreadable"), FileError("y.py", "bad", 2, None)]
    )
    run = sarif(report, sarif_validator)["runs"][0]
    assert run["results"] == []
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["locations"][0]["physicalLocation"].get("region") for n in notes] == [
        None,
        {"startLine": 2, "startColumn": 1},
    ]


def test_sarif_empty(sarif_validator):
    log = sarif(Report(), sarif_validator)
    run = log["runs"][0]
    assert run["results"] == []
    assert run["invocations"] == [{"executionSuccessful": True}]
    log = sarif(Report(), sarif_validator, tool_version="")
    assert "version" not in log["runs"][0]["tool"]["driver"]


def test_sarif_paths(sarif_validator, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inside = tmp_path / "pkg" / "a b.py"
    outside = Path("/elsewhere/mod.py")
    report = Report(
        findings=[
            finding("SL901", str(inside), (1, 1, 1, 2), "m"),
            finding("SL901", str(outside), (1, 1, 1, 2), "m"),
            finding("SL901", "./rel/x.py", (1, 1, 1, 2), "m"),
        ]
    )
    results = sarif(report, sarif_validator)["runs"][0]["results"]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in results]
    # sorted by filename: "./rel/x.py" < "/elsewhere/mod.py" < "/tmp/.../pkg/a b.py"
    assert uris == [
        {"uri": "rel/x.py", "uriBaseId": "%SRCROOT%"},
        {"uri": "file:///elsewhere/mod.py"},
        {"uri": "pkg/a%20b.py", "uriBaseId": "%SRCROOT%"},
    ]


def test_sarif_unknown_rule_has_no_index(sarif_validator):
    report = Report(findings=[finding("SL901", "a.py", (1, 1, 1, 2), "m")])
    log = sarif(report, sarif_validator, rules={})
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "SL901"
    assert "ruleIndex" not in result
    assert log["runs"][0]["tool"]["driver"]["rules"] == []


# -- github ---------------------------------------------------------------------------


def test_github_lines():
    assert render("github", full_report(), ctx()).splitlines() == [
        "::error file=app/broken.py,line=3,col=7::invalid syntax",
        (
            "::warning title=sessionlint (SL902),file=app/db.py,line=1,col=1,endLine=1,endColumn=18"
            "::app/db.py:1:1: SL902 Session not closed"
        ),
        (
            "::error title=sessionlint (SL901),file=app/db.py,line=4,col=11,endLine=4,endColumn=26"
            "::app/db.py:4:11: SL901 Module-level session"
        ),
        (
            "::notice title=sessionlint (SL903),file=app/routes.py,line=2,col=5,endLine=3,endColumn=14"
            "::app/routes.py:2:5: SL903 Dependency returns session: use yield, not return (50%25)"
        ),
    ]
    assert render("github", Report(), ctx()) == ""


def test_github_escaping():
    report = Report(
        findings=[
            finding("SL901", "dir,1/a:b%.py", (1, 2, 1, 3), "100% done,\r\nsee: here")
        ],
        errors=[FileError("c:,d.py", "bad\nthing: 5%")],
    )
    assert render("github", report, ctx()).splitlines() == [
        "::error file=c%3A%2Cd.py::bad%0Athing: 5%25",
        (
            "::error title=sessionlint (SL901),file=dir%2C1/a%3Ab%25.py,line=1,col=2,endLine=1,endColumn=3"
            "::dir,1/a:b%25.py:1:2: SL901 100%25 done,%0D%0Asee: here"
        ),
    ]


# -- junit ----------------------------------------------------------------------------


def test_junit_full_report():
    out = render("junit", full_report(), ctx())
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(out.encode("utf-8"))
    assert root.tag == "testsuites"
    assert root.attrib == {
        "name": "sessionlint",
        "tests": "4",
        "failures": "3",
        "errors": "1",
    }
    (suite,) = root
    assert suite.get("name") == "sessionlint"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == (
        "4",
        "3",
        "1",
    )
    cases = suite.findall("testcase")
    assert len(cases) == 4
    error_case = cases[0]
    assert error_case.get("classname") == "app/broken.py"
    assert error_case.find("error").get("message") == "invalid syntax"
    failures = [
        (c.get("name"), c.get("classname"), c.find("failure")) for c in cases[1:]
    ]
    assert [(n, cls) for n, cls, _ in failures] == [
        ("org.sessionlint.SL902", "app/db.py"),
        ("org.sessionlint.SL901", "app/db.py"),
        ("org.sessionlint.SL903", "app/routes.py"),
    ]
    for name, _, failure in failures:
        code = name.rsplit(".", 1)[1]
        assert code in failure.get("message")
        assert failure.get("type") == code
    assert failures[1][2].text == "line 4, col 11, Module-level session"
    assert failures[1][2].get("message") == "SL901 Module-level session"
    assert (cases[2].get("line"), cases[2].get("column")) == ("4", "11")


def test_junit_empty():
    root = ET.fromstring(render("junit", Report(), ctx()).encode("utf-8"))
    assert root.attrib == {
        "name": "sessionlint",
        "tests": "1",
        "failures": "0",
        "errors": "0",
    }
    (case,) = root.iter("testcase")
    assert case.attrib == {"name": "No errors found", "classname": "sessionlint"}
    assert len(case) == 0


def test_junit_escapes_markup_and_control_characters():
    report = Report(
        findings=[
            finding("SL901", "a&b.py", (1, 1, 1, 2), 'use <yield> & "close"\x00\nnext')
        ]
    )
    root = ET.fromstring(render("junit", report, ctx()).encode("utf-8"))
    failure = root.find("./testsuite/testcase/failure")
    assert failure.get("message") == 'SL901 use <yield> & "close"\ufffd\nnext'
    assert root.find("./testsuite/testcase").get("classname") == "a&b.py"
