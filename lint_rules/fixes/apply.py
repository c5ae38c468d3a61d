"""Apply fix edits to source text (ruff's rules: non-overlapping, first wins)."""

from __future__ import annotations


def _offset(lines_start: list[int], row: int, column: int) -> int:
    return lines_start[row - 1] + column - 1


def line_starts(text: str) -> list[int]:
    starts = [0]
    index = text.find("\n")
    while index != -1:
        starts.append(index + 1)
        index = text.find("\n", index + 1)
    starts.append(len(text) + 1)
    return starts


def edit_offsets(text: str, edits: list[dict]) -> list[tuple[int, int, str]]:
    starts = line_starts(text)
    out = []
    for edit in edits:
        loc, end = edit["location"], edit["end_location"]
        out.append((_offset(starts, loc["row"], loc["column"]), _offset(starts, end["row"], end["column"]), edit["content"]))
    return out


def apply_edits(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply non-overlapping (start, end, content) edits; the caller checked overlap."""
    pieces = []
    cursor = 0
    for start, end, content in sorted(edits, key=lambda e: (e[0], e[1])):
        pieces.append(text[cursor:start])
        pieces.append(content)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def overlaps(a: tuple[int, int, str], b: tuple[int, int, str]) -> bool:
    return a[0] < b[1] and b[0] < a[1] or (a[0] == b[0] and a[1] == b[1])
