"""LibCST's parse without re-validating what its own parser built.

Every LibCST node checks its fields in `__post_init__` (`_validate`), also when
the parser creates it: on the bench corpus that is 13 % of the parse, spent
proving that the parser's output is a valid tree (LibCST's own source notes the
cost).  For a file CPython's `ast` has already accepted, the tree describes
valid Python by construction, so the check is skipped for the duration of the
parse.  Nodes built later (fixes) are validated as usual.

Only call this for text that `ast.parse` accepted; anything else goes through
`libcst.parse_module`, whose validation errors become the file's syntax error.
"""

from __future__ import annotations

import libcst as cst

try:  # a private module: if a LibCST release moves it, parse the ordinary way
    from libcst._nodes.base import CSTNode as _Node

    _VALIDATING = _Node.__dict__["__post_init__"]
except (ImportError, KeyError):  # pragma: no cover
    _Node = None


def _skip(self) -> None:
    """A node the parser built: valid by construction."""


def parse_valid_python(text: str) -> cst.Module:
    if _Node is None:  # pragma: no cover
        return cst.parse_module(text)
    # The analysis of one file runs on one thread at a time (see
    # `analyze.on_large_stack`), so no other parse sees the switch.
    _Node.__post_init__ = _skip
    try:
        return cst.parse_module(text)
    finally:
        _Node.__post_init__ = _VALIDATING
