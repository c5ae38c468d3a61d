"""Cross-file resolution: turn per-file candidates into findings.

Runs on every invocation (it is cheap: dictionary look-ups over cached facts), so a
change to `db.py` changes findings in `routes.py` even when `routes.py` came from
the cache.
"""

from __future__ import annotations

from typing import Callable, Iterable

from sessionlint.lint_rules.facts import FileFacts
from sessionlint.lint_rules.model import Candidate, Requirement

# Requirement kind -> symbol kinds that satisfy it.
_SATISFIES = {
    "factory": {"factory", "session_fn"},
    "maker": {"factory"},
    "session_provider": {"factory", "session_fn", "session_gen"},
    "session": {"session"},
    "session_gen": {"session_gen"},
    "session_type": {"session_type"},
}

Loader = Callable[[str, str], "FileFacts | None"]


class ProjectIndex:
    def __init__(self, facts: Iterable[FileFacts], loader: Loader | None = None):
        self.modules: dict[str, FileFacts] = {}
        self._loader = loader
        self._missing: set[str] = set()
        for item in facts:
            self.add(item)
        self._memo: dict[tuple[str, str], bool] = {}
        self._uses: dict[str, list[tuple[str, str]]] | None = None

    def add(self, facts: FileFacts) -> None:
        if facts.module and facts.module not in self.modules:
            self.modules[facts.module] = facts

    # ------------------------------------------------------------- lookup
    def _module(self, name: str, origin: str) -> FileFacts | None:
        facts = self.modules.get(name)
        if facts is None and self._loader is not None and name not in self._missing:
            facts = self._loader(name, origin)
            if facts is None:
                self._missing.add(name)
            else:
                self.modules.setdefault(name, facts)
                self._uses = None
        return facts

    def _split(self, qualname: str, origin: str) -> tuple[FileFacts, str] | None:
        parts = qualname.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            facts = self._module(".".join(parts[:cut]), origin)
            if facts is not None:
                return (facts, ".".join(parts[cut:])) if cut == len(parts) - 1 else None
        return None

    def canonical(self, qualname: str, origin: str = "") -> str:
        """Follow re-exports (`from .db import SessionLocal`) to the defining module."""
        seen = set()
        while qualname not in seen:
            seen.add(qualname)
            found = self._split(qualname, origin)
            if found is None:
                return qualname
            facts, name = found
            sym = facts.exports.get(name)
            if sym is None or sym.kind != "alias" or not sym.target:
                return qualname
            origin, qualname = facts.path, sym.target
        return qualname

    # ------------------------------------------------------------- predicates
    def holds(self, req: Requirement, origin: str = "") -> bool:
        key = (req.kind, req.qualname)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = False  # cycle guard: a symbol can't justify itself
        result = self._holds(req, origin)
        self._memo[key] = result
        return result

    def _holds(self, req: Requirement, origin: str) -> bool:
        if req.kind == "used_in_depends":
            return bool(self.dependents(req.qualname))
        qualname = self.canonical(req.qualname, origin)
        found = self._split(qualname, origin)
        if found is None:
            return False
        facts, name = found
        sym = facts.exports.get(name)
        if sym is None or sym.kind not in _SATISFIES.get(req.kind, ()):
            return False
        return all(self.holds(inner, facts.path) for inner in sym.requires)

    def dependents(self, qualname: str) -> list[tuple[str, str]]:
        """(function, file) pairs that declare `Depends(<qualname>)`."""
        canon_subject = self.canonical(qualname)
        while self._uses is None:
            # `canonical` may load modules lazily, which resets `_uses`: build into
            # a local table and retry until a build loads nothing new.
            uses: dict[str, list[tuple[str, str]]] = {}
            self._uses = uses
            for facts in list(self.modules.values()):
                for target, func in facts.depends_uses:
                    if target.startswith("@"):
                        target = self._alias_dependency(target[1:], facts.path)
                        if target is None:
                            continue
                    canon = self.canonical(target, facts.path)
                    uses.setdefault(canon, []).append((func, facts.path))
        return self._uses.get(canon_subject, [])

    def _alias_dependency(self, alias: str, origin: str) -> str | None:
        """The dependency behind an imported `Annotated[..., Depends(x)]` alias."""
        found = self._split(self.canonical(alias, origin), origin)
        if found is None:
            return None
        facts, name = found
        return facts.annotated_aliases.get(name)

    def accept(self, candidate: Candidate, origin: str) -> bool:
        return all(self.holds(req, origin) for req in candidate.requires)

    def describe_users(
        self, candidate: Candidate, display: Callable[[str], str] = str, here: str = ""
    ) -> str:
        """', used by route `x` (routes.py)' -- where a dependency is used, if anywhere."""
        if not candidate.subject:
            return ""
        users = [(f, p) for f, p in self.dependents(candidate.subject) if f]
        if not users:
            return ""
        func, path = users[0]
        more = f" and {len(users) - 1} more" if len(users) > 1 else ""
        where = "" if path == here else f" in {display(path)}"
        return f" (used by `{func}`{where}{more})"
