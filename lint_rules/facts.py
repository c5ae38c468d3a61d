"""What one file contributes to the project-wide resolve step.

A `FileFacts` is computed from the file's text alone (plus its module name), so it
can be cached by content hash and recomputed in a worker process.  This module
imports no LibCST: a warm run unpickles facts without loading the parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sessionlint.lint_rules.model import Candidate, FileError, Requirement

Reqs = tuple[Requirement, ...]


@dataclass(frozen=True, slots=True)
class Symbol:
    """What a module-level name is, as far as sessions go.

    kind: "factory" (a sessionmaker or Session class: calling it gives a new
    session), "session_fn" (a function returning a new session), "session" (a live session
    object), "session_gen" (a generator that yields a session), "session_type" (an
    annotation alias meaning a session), "alias" (another symbol, `target`).
    """

    kind: str
    requires: Reqs = ()
    target: str | None = None


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
    #: the file's identifiers, when the identifier screen found nothing in them
    #: (`identifier_screen.py`) and the file was not analysed; None: it was
    skipped_names: frozenset[str] | None = None
    #: analysed on the tree built from `ast` (`ast_tree.py`): exports, uses and
    #: which candidates exist are exact; candidates have no span and no fix, and
    #: the engine analyses the file again (exactly) before reporting one
    approximate: bool = False

    def stale_for(self, names: frozenset[str] | None) -> bool:
        """Did the identifier screen skip this file although, with the session
        `names` now known (None: no screen at all), it must be analysed?"""
        if self.skipped_names is None:
            return False
        return names is None or not self.skipped_names.isdisjoint(names)
