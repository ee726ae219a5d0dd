"""A Jupyter notebook's Markdown cells as one text, and the way back to the file's lines.

The notebook is read with `json.loads` (plain data, no hooks). The cells are joined with a
blank line between them. Each line of a cell's `source` list is found in the file as the
JSON string it is written as (nbformat writes one per line), so that a position in the
joined text maps to the line and column of that character inside the JSON file.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable
from dataclasses import dataclass

from ..model import Diagnostic, Position


@dataclass(frozen=True)
class _Line:
    """Where one line of the joined text is in the file: its 1-based line, the column of the
    JSON string's opening quote (0-based index), the text, and how the file escapes it."""

    file_line: int
    quote: int
    text: str
    ascii: bool


def markdown_cells(
    raw: str, name: str
) -> tuple[str, Callable[[int, int], tuple[int, int]]] | Diagnostic:
    """The Markdown cells of a notebook as one text, and (line, col) → (file line, col)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as err:
        return Diagnostic(Position(name, 1, 1), f"not a notebook: invalid JSON ({err})"[:200],
                          "a .ipynb file is a Jupyter notebook (JSON)")
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        return Diagnostic(Position(name, 1, 1), "not a notebook: no `cells` list",
                          "a .ipynb file is a Jupyter notebook (JSON)")
    file_lines = raw.split("\n")
    index = _index(file_lines)
    cursor = 0
    joined: list[_Line | None] = []
    texts: list[str] = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", [])
        parts = [source] if isinstance(source, str) else source
        if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            continue
        if texts:
            texts.append("")
            joined.append(None)
        for line in "".join(parts).split("\n"):
            found = _locate(index, file_lines, cursor, line)
            if found is not None:
                cursor = found.file_line - 1
            texts.append(line)
            joined.append(found)

    def place(line: int, column: int) -> tuple[int, int]:
        entry = joined[line - 1] if 0 < line <= len(joined) else None
        if entry is None:
            return 1, 1
        prefix = json.dumps(entry.text[: column - 1], ensure_ascii=entry.ascii)
        return entry.file_line, entry.quote + len(prefix)  # the quote's column, +1, −1

    return "\n".join(texts), place


def _index(lines: list[str]) -> dict[str, list[int]]:
    """Each line of the file stripped of its indentation and trailing comma → its indices."""
    found: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        key = line.strip().removesuffix(",")
        if key.startswith('"'):
            found.setdefault(key, []).append(index)
    return found


def _locate(index: dict[str, list[int]], lines: list[str], cursor: int, text: str) -> _Line | None:
    """The first line from `cursor` that is `text` (with or without its newline) as JSON."""
    if not text:
        return None
    for ascii_only in (False, True):
        for ending in ('\\n"', '"'):
            needle = json.dumps(text, ensure_ascii=ascii_only)[:-1] + ending
            at = bisect.bisect_left(hits := index.get(needle, []), cursor)
            if at < len(hits):
                line = hits[at]
                return _Line(line + 1, lines[line].index('"'), text, ascii_only)
    return None
