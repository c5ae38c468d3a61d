"""Helpers shared by the renderers (private: not an output format)."""

from __future__ import annotations

from collections.abc import Iterable

from sessionlint.lint_rules.model import FileError, Finding, Severity


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=Finding.sort_key)


def sorted_errors(errors: Iterable[FileError]) -> list[FileError]:
    return sorted(
        errors, key=lambda e: (e.filename, e.row or 0, e.column or 0, e.message)
    )


def severity_value(severity) -> str:
    """`Severity.WARNING` or ``"warning"`` -> ``"warning"`` (unknown values -> ``"error"``)."""
    try:
        return Severity(severity).value
    except ValueError:
        return Severity.ERROR.value


def plural(count: int, word: str, plural_form: str | None = None) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {plural_form or word + 's'}"


def short_description(rule) -> str:
    """One line about a rule: the first paragraph of its docstring that is not a
    markdown heading (in ruff's doc shape, the body of "What it does"), else its name."""
    doc = rule.doc() if hasattr(rule, "doc") else ""
    paragraph: list[str] = []
    in_code = False
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            in_code = not in_code
            if paragraph:
                break
            continue
        if in_code:
            continue
        if not stripped or stripped.startswith("#"):
            if paragraph:
                break
            continue
        paragraph.append(stripped)
    return " ".join(paragraph) or getattr(rule, "name", "") or getattr(rule, "code", "")
