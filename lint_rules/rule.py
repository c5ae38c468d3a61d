"""The base class every rule derives from.

A rule is one small class in `lint_rules/rules/`, with a stable code, a kebab-case
name, a severity and a docstring in ruff's shape (What it does / Why is this bad? /
Example / Use instead / Fix safety).  `sessionlint rule` and `docs/rules/` are
generated from that docstring, so it is the single source of a rule's text.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, ClassVar, Union

from sessionlint.lint_rules.model import Requirement, Severity

if TYPE_CHECKING:
    import libcst as cst

    from sessionlint.lint_rules.analysis.module import ModuleModel

DOCS_URL = "https://github.com/sessionlint/sessionlint/blob/main/docs/rules/{code}.md"


@dataclass(slots=True)
class FixSpec:
    """A fix as the rule sees it: CST nodes and what to put in their place.

    The engine turns it into text edits (and drops it if the result would not
    parse).  `replacements` maps an original node to its new node,
    `cst.RemovalSentinel.REMOVE`, or a `cst.FlattenSentinel` of several nodes.
    """

    message: str
    applicability: str  # "safe" | "unsafe"
    replacements: list[tuple["cst.CSTNode", object]]


#: What a rule passes as `fix=`: the fix, no fix, or a zero-argument callable
#: that builds it (returning None when it can't be made).
FixSource = Union[FixSpec, Callable[[], Union[FixSpec, None]], None]


def lazy_fix(build: Callable[..., FixSpec | None], *args) -> Callable[[], FixSpec | None]:
    """`build(*args)`, run at most once and only when the fix is first asked for.

    The arguments are bound now (no late binding of loop variables), and the
    result is memoised, so candidates handed the same callable share one fix
    object, as they would if it had been built eagerly."""
    return functools.cache(functools.partial(build, *args))


class RawCandidate:
    """One finding as a rule reported it, before positions and text edits.

    Fixes are built lazily: `check()` may hand over a callable instead of a
    `FixSpec`, and it only runs when `fix` is read.  Building a fix needs the
    tree's whitespace, comments and commas (`with_changes`, `code_for_node`,
    `leading_lines`, ...), which trees built from CPython's `ast` do not have;
    an analysis on such trees runs every rule and never reads `fix`.
    """

    __slots__ = ("node", "message", "requires", "subject", "_fix", "group", "companion")

    def __init__(
        self,
        node: "cst.CSTNode",
        message: str,
        requires: tuple[Requirement, ...],
        subject: str | None,
        fix: FixSource = None,
        group: str | None = None,
        companion: bool = False,
    ) -> None:
        self.node = node
        self.message = message
        self.requires = requires
        self.subject = subject
        self._fix = fix
        self.group = group
        self.companion = companion

    @property
    def fix(self) -> FixSpec | None:
        """The fix, built (and cached) on first access."""
        fix = self._fix
        if fix is not None and not isinstance(fix, FixSpec):
            fix = self._fix = fix()
        return fix

    def __repr__(self) -> str:
        return (
            f"RawCandidate(node={self.node!r}, message={self.message!r}, requires={self.requires!r}, "
            f"subject={self.subject!r}, fix={self._fix!r}, group={self.group!r}, companion={self.companion!r})"
        )


class Reporter:
    """Collects a rule's raw candidates for one file."""

    def __init__(self) -> None:
        self.items: list[tuple[str, RawCandidate]] = []

    def for_rule(self, code: str) -> "RuleReporter":
        return RuleReporter(self, code)


class RuleReporter:
    def __init__(self, sink: Reporter, code: str) -> None:
        self._sink = sink
        self._code = code

    def __call__(
        self,
        node,
        message: str,
        requires=(),
        subject: str | None = None,
        fix: FixSource = None,
        *,
        group: str | None = None,
        companion: bool = False,
    ) -> None:
        self._sink.items.append(
            (self._code, RawCandidate(node, message, tuple(requires), subject, fix, group, companion))
        )


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity] = Severity.ERROR
    #: Whether the rule is on when the user selects nothing.
    default: ClassVar[bool] = True
    #: Text that must occur in a file for this rule to fire there, *unless* the file
    #: mentions a session symbol exported by another project file (the screen adds
    #: those names itself).  The screen is exact: see `lint_rules/screen.py`.
    screen_tokens: ClassVar[frozenset[str]] = frozenset({"Session", "sessionmaker"})
    #: Regexes (on the decoded text) of which one must also match for this rule to
    #: fire; empty: no further condition.  The screen uses them when a file
    #: contains only tokens of rules whose patterns all fail (and no exported
    #: session name): such a file is not parsed.  They must be implied by the
    #: rule's own code (e.g. the cheap text gates its `check` starts with).
    screen_patterns: ClassVar[tuple[str, ...]] = ()

    def check(self, model: "ModuleModel", report: RuleReporter) -> None:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def url(cls) -> str:
        return DOCS_URL.format(code=cls.code, name=cls.name)
