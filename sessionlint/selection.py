"""Turn `--select/--ignore/--extend-select` selectors into a set of rule codes.

A selector is `ALL`, a code (`SL001`), a code prefix (`SL00`, `SL`), or a rule
name (`global-session`) -- the same forms ruff accepts, plus names.
"""

from __future__ import annotations

from typing import Iterable

from sessionlint.config import ConfigError


def expand(selector: str, rules: dict) -> set[str]:
    token = selector.strip()
    if not token:
        return set()
    if token.upper() == "ALL":
        return set(rules)
    upper = token.upper()
    codes = {code for code in rules if code.startswith(upper)} if upper.startswith("SL") else set()
    if codes:
        return codes
    for code, rule in rules.items():
        if rule.name == token.lower():
            return {code}
    names = ", ".join(f"{c} ({r.name})" for c, r in rules.items())
    raise ConfigError(f"unknown rule selector {selector!r}; known rules: {names}")


def expand_all(selectors: Iterable[str], rules: dict) -> set[str]:
    out: set[str] = set()
    for selector in selectors:
        for part in selector.split(","):
            out |= expand(part, rules)
    return out


def resolve_selection(
    rules: dict,
    select: Iterable[str] | None,
    extend_select: Iterable[str] = (),
    ignore: Iterable[str] = (),
) -> frozenset[str]:
    if select is None:
        chosen = {code for code, rule in rules.items() if rule.default}
    else:
        chosen = expand_all(select, rules)
    chosen |= expand_all(extend_select, rules)
    chosen -= expand_all(ignore, rules)
    return frozenset(chosen)
