"""`sessionlint rule CODE|NAME` and `sessionlint rule --all`: a rule's documentation."""

from __future__ import annotations

import json

from sessionlint.config import ConfigError
from sessionlint.selection import expand


def run_rule(args) -> int:
    from sessionlint.lint_rules.registry import all_rules

    rules = all_rules()
    if args.all:
        chosen = list(rules.values())
    elif args.rule:
        codes = expand(args.rule, rules)
        if len(codes) != 1:
            raise ConfigError(f"{args.rule!r} matches {len(codes)} rules; name one code, e.g. {sorted(codes)[0]}")
        chosen = [rules[codes.pop()]]
    else:
        raise ConfigError("name a rule (e.g. `sessionlint rule SL001`) or pass --all")
    if args.output_format == "json":
        payload = [
            {
                "code": r.code,
                "name": r.name,
                "severity": r.severity.value,
                "default": r.default,
                "url": r.url(),
                "explanation": r.doc(),
            }
            for r in chosen
        ]
        print(json.dumps(payload if args.all else payload[0], indent=2))
    else:
        print("\n\n".join(f"# {r.name} ({r.code})\n\n{r.doc()}" for r in chosen))
    return 0
