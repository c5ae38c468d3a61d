"""The exact text screen: decide, before parsing, which files can matter.

A file can only yield a finding (or help resolve one elsewhere) if its text names
a session API (`Session`, `sessionmaker`, ... -- each rule's `screen_tokens`) or a
symbol another project file exports as a session thing (a factory, a session, a
session dependency, a session annotation alias) or re-exports one.  Every such
reference spells the name in the file's text -- imports, aliases and attribute
access all do -- so a file that contains none of these names cannot produce a
finding.  The engine screens in rounds: parse the files that mention the base
tokens, add the session symbols they export, screen the rest again, until no new
file passes.  `tests/test_screen.py` proves the results equal an unscreened run.
"""

from __future__ import annotations

import re
from typing import Iterable

from sessionlint.lint_rules.facts import FileFacts

_SESSION_KINDS = frozenset({"factory", "session_fn", "session", "session_gen", "session_type"})


def session_symbol_names(facts: Iterable[FileFacts]) -> set[str]:
    """Names exported as session things, and aliases that lead to them."""
    facts = list(facts)
    names: set[str] = set()
    aliases: list[tuple[str, str]] = []
    for item in facts:
        for name, sym in item.exports.items():
            if sym.kind in _SESSION_KINDS:
                names.add(name)
            elif sym.kind == "alias" and sym.target:
                aliases.append((name, sym.target.rsplit(".", 1)[-1]))
    changed = True
    while changed:
        changed = False
        for name, target in aliases:
            if target in names and name not in names:
                names.add(name)
                changed = True
    return names


class Screen:
    def __init__(self, tokens: Iterable[str]):
        tokens = sorted(set(tokens), key=len, reverse=True)
        self.tokens = frozenset(tokens)
        pattern = b"|".join(re.escape(t.encode()) for t in tokens)
        self._regex = re.compile(pattern) if tokens else None

    def passes(self, data: bytes) -> bool:
        return self._regex is not None and self._regex.search(data) is not None
