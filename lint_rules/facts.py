"""What one file contributes to the project-wide resolve step.

A `FileFacts` is computed from the file's text alone (plus its module name), so it
can be cached by content hash and recomputed in a worker process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sessionlint.lint_rules.analysis.module import Symbol
from sessionlint.lint_rules.model import Candidate, FileError


@dataclass(slots=True)
class FileFacts:
    path: str
    module: str
    exports: dict[str, Symbol] = field(default_factory=dict)
    #: (dependency qualname, name of the function that depends on it); a qualname
    #: starting with "@" is an imported `Annotated[..., Depends(x)]` alias used as
    #: a parameter annotation, resolved through `annotated_aliases` of its module
    depends_uses: list[tuple[str, str]] = field(default_factory=list)
    #: module-level `Alias = Annotated[T, Depends(x)]`: alias name -> x's qualname
    annotated_aliases: dict[str, str] = field(default_factory=dict)
    candidates: list[Candidate] = field(default_factory=list)
    #: row -> codes/names listed in a `# noqa: ...` comment on that row
    noqa: dict[int, frozenset[str]] = field(default_factory=dict)
    error: FileError | None = None
