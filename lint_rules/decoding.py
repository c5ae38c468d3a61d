"""Source bytes -> text, the way the interpreter decodes a module (no LibCST here:
the engine checks every file with this before deciding whether to parse it)."""

from __future__ import annotations

import io
import re
import tokenize

# Line breaks as Python's tokenizer counts rows: `str.splitlines` also breaks at
# form feeds, vertical tabs and Unicode separators, which would shift the rows.
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def decode(data: bytes) -> str:
    """Decode Python source the way the interpreter does (PEP 263 cookie, BOM)."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)
    return text[1:] if text.startswith("\ufeff") else text


def decode_error(data: bytes) -> str | None:
    """Why `data` is not lintable Python source text, or None."""
    if b"\x00" in data:
        return "file contains a NUL byte; it is not Python source"
    try:
        decode(data)
    except (UnicodeDecodeError, SyntaxError, LookupError) as exc:
        return f"cannot decode file: {exc}; save it as UTF-8 (or fix its coding cookie)"
    return None
