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

Per rule, `screen_patterns` can narrow this: a file whose only tokens belong to
rules with patterns, none of which match, is skipped too (those rules can't
fire, no other rule has a token there).  Which tokens a file contains, and which
patterns match, are kept in the cache index, so a warm run screens without
reading a file (`engine._Files.passes`).
"""

from __future__ import annotations

import re
from typing import Iterable

from sessionlint.lint_rules.facts import FileFacts

_SESSION_KINDS = frozenset({"factory", "session_fn", "session", "session_gen", "session_type"})


def base_tokens(rules) -> frozenset[str]:
    """Every rule's `screen_tokens`: the tokens the screen starts from, before
    the session names the project's own files export."""
    return frozenset().union(*(rule.screen_tokens for rule in rules.values()))


def session_symbol_names(facts: Iterable[FileFacts]) -> set[str]:
    """Names exported as session things, and aliases that lead to them.

    `Annotated[..., Depends(x)]` aliases count too: a parameter annotated with one
    declares a dependency (`used by ...` in messages, `used_in_depends`) without
    spelling `Depends` in its own file."""
    facts = list(facts)
    names: set[str] = set()
    aliases: list[tuple[str, str]] = []
    for item in facts:
        names.update(item.annotated_aliases)
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


class TokenSearch:
    """Which of some tokens occur in a file's bytes.

    A few tokens (the usual case: the rules' own plus a project's handful of
    session names) are looked for one by one with `bytes.__contains__`, which
    skips through the text far faster than a regex alternation.  Many tokens
    are first tried as one alternation, which rejects the usual file with no hit
    in one pass; only a file with a hit is checked token by token (the regex
    alone can't tell: `AsyncSession` hides the `Session` inside it)."""

    DIRECT_LIMIT = 32

    def __init__(self, tokens: Iterable[str]):
        self.tokens = tuple((t, t.encode()) for t in sorted(set(tokens), key=len, reverse=True))
        self._regex = None
        if len(self.tokens) > self.DIRECT_LIMIT:
            self._regex = re.compile(b"|".join(re.escape(raw) for _, raw in self.tokens))

    def found_in(self, data: bytes) -> frozenset[str]:
        if self._regex is not None and self._regex.search(data) is None:
            return frozenset()
        return frozenset(token for token, raw in self.tokens if raw in data)
