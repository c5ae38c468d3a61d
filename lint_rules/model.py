"""The data every stage passes on: candidates, findings, positions.

Everything here is plain data (tuples, strings, ints) so per-file results can be
cached with `pickle` and shipped between worker processes cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Span:
    """A source range: 1-based rows, 1-based columns (ruff's convention)."""

    row: int
    column: int
    end_row: int
    end_column: int


@dataclass(frozen=True, slots=True)
class Requirement:
    """A fact about another symbol that must hold for a candidate to become a finding.

    `kind` is one of the predicates the resolver knows (see `resolve.PREDICATES`);
    `qualname` is the dotted name of the symbol, as the importing file spells it
    after resolving its imports (e.g. ``app.db.SessionLocal``).
    """

    kind: str
    qualname: str


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text in `span` with `content` (an insertion has an empty span).

    `filename` is None for an edit of the finding's own file.
    """

    span: Span
    content: str
    filename: str | None = None


@dataclass(frozen=True, slots=True)
class Fix:
    """A change that resolves a finding.

    `applicability` follows ruff: "safe" fixes keep the program's meaning and are
    applied by `--fix`; "unsafe" ones may change behaviour and need `--unsafe-fixes`.
    """

    message: str
    applicability: str
    edits: tuple[Edit, ...]

    def to_json(self) -> dict:
        return {
            "applicability": self.applicability,
            "message": self.message,
            "edits": [
                {
                    "content": edit.content,
                    "location": {"row": edit.span.row, "column": edit.span.column},
                    "end_location": {"row": edit.span.end_row, "column": edit.span.end_column},
                    **({"filename": edit.filename} if edit.filename else {}),
                }
                for edit in self.edits
            ],
        }


@dataclass(frozen=True, slots=True)
class Candidate:
    """A possible finding produced by one file's analysis.

    It becomes a finding when every `Requirement` in `requires` holds across the
    project (an empty tuple means: unconditional).  `subject` names the function or
    symbol the finding is about, so the resolver can enrich the message (e.g. with a
    route that depends on it).
    """

    code: str
    message: str
    span: Span
    requires: tuple[Requirement, ...] = ()
    subject: str | None = None
    fix: Fix | None = None
    #: fixes that span files: candidates of one group contribute edits to the
    #: group's primary finding (e.g. SL001's global and every module importing it)
    group: str | None = None
    #: a companion is never reported; it only contributes edits (or, with no
    #: fix, blocks the group's fix)
    companion: bool = False


@dataclass(slots=True)
class Finding:
    code: str
    name: str
    message: str
    filename: str
    span: Span
    severity: Severity
    url: str
    #: ruff's JSON shape (see `Fix.to_json`); edits of other files carry "filename"
    fix: dict | None = None

    def sort_key(self) -> tuple:
        return (self.filename, self.span.row, self.span.column, self.code)


@dataclass(slots=True)
class FileError:
    """A file that could not be linted: what happened, and where."""

    filename: str
    message: str
    row: int | None = None
    column: int | None = None


@dataclass(slots=True)
class Report:
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    files_checked: int = 0
    files_parsed: int = 0
    files_cached: int = 0
    #: findings resolved by `--fix` in this run
    fixed: int = 0
