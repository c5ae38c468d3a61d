"""Where a cold run's time goes: how many files and lines each screen lets
through, and what parsing the survivors costs.

    python bench/screen_funnel.py DIR [DIR ...]

Single process, first screen round only (the session names a project exports
add a few files in later rounds).  The files that pass both screens are
analysed on trees built from their `ast` (`lint_rules/ast_tree.py`); LibCST's
own parse of the same files is measured beside it, as what the analysis cost
before (no rule has run in that figure).
"""

from __future__ import annotations

import ast
import gc
import json
import sys
import time
from pathlib import Path

from sessionlint.lint_rules.analyze import screen_tokens
from sessionlint.lint_rules.decoding import decode
from sessionlint.lint_rules.identifier_screen import screen_file
from sessionlint.lint_rules.screen import TokenSearch


def _lines(text: str) -> int:
    return text.count("\n")


def funnel(dirs: list[Path]) -> dict:
    tokens = screen_tokens()
    search = TokenSearch(tokens)
    texts: list[str] = []
    total_files = total_lines = 0
    for directory in dirs:
        for path in sorted(directory.rglob("*.py")):
            data = path.read_bytes()
            total_files += 1
            total_lines += data.count(b"\n")
            if search.found_in(data):
                try:
                    texts.append(decode(data))
                except (UnicodeDecodeError, SyntaxError, LookupError):
                    pass
    gc.set_threshold(100_000, 50, 100)  # as the analysis workers run
    start = time.perf_counter()
    verdicts = [(text, screen_file(text, tokens, frozenset())) for text in texts]
    kept = [(text, tree) for text, tree in verdicts if isinstance(tree, ast.Module)]
    identifier_seconds = time.perf_counter() - start

    from sessionlint.lint_rules.ast_tree import from_ast
    from sessionlint.lint_rules.analyze import analyze
    from sessionlint.lint_rules.trusted_parse import parse_valid_python

    start = time.perf_counter()
    for text, tree in kept:
        from_ast(tree, text)
    build_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for text, _ in kept:  # the whole per-file analysis: screen, build, model, rules
        analyze(text.encode(), "m.py", "m", False, frozenset())
    analyse_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for text, _ in kept:
        parse_valid_python(text)  # what the analysis parsed with before the built trees
    libcst_seconds = time.perf_counter() - start
    return {
        "files": total_files,
        "lines": total_lines,
        "text_files": len(texts),
        "text_lines": sum(map(_lines, texts)),
        "identifier_files": len(kept),
        "identifier_lines": sum(_lines(text) for text, _ in kept),
        "identifier_seconds": identifier_seconds,
        "build_seconds": build_seconds,
        "analyse_seconds": analyse_seconds,
        "libcst_seconds": libcst_seconds,
    }


if __name__ == "__main__":
    print(json.dumps(funnel([Path(p) for p in sys.argv[1:]]), indent=2))
