"""Math spans of a note (Markdown, LaTeX or a notebook's Markdown), with their offsets.

`$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]` and the display environments (`equation`, `align`,
`gather`, `multline`, their starred forms, …) are found in one pass. Markdown code (fenced
blocks and inline backticks) and TeX comments hold no math. A delimiter that is never closed
is text, not math. Every search for a closer remembers its answer, so a file full of
unclosed delimiters is read in linear time.

`Clean` is a cleaned-up formula (alignment `&`, `\\\\`, `\\tag{…}`, `\\label{…}` removed) that
remembers, for every character, the offset in the document it came from.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class Syntax(str, Enum):
    """How a note is written: what counts as code and as a comment."""

    MARKDOWN = "markdown"
    LATEX = "latex"


class Delimiter(str, Enum):
    """How a span of math is delimited."""

    INLINE = "$"
    DISPLAY = "$$"
    PAREN = "\\("
    BRACKET = "\\["
    ENVIRONMENT = "environment"


ENVIRONMENTS = (
    "equation", "equation*", "align", "align*", "aligned", "gather", "gather*",
    "multline", "multline*", "eqnarray", "eqnarray*", "flalign", "flalign*", "split",
    "displaymath", "math",
)  # fmt: skip
_BEGIN = re.compile(r"\\begin\{([a-z]+\*?)\}")
_FENCE = re.compile(r"[ \t]{0,3}(`{3,}|~{3,})")
_BREAK = re.compile(r"\r\n|[\r\n]")
_INLINE_CHARS = 5_000  # an inline formula is searched for its closing `$` this far at most


@dataclass(frozen=True)
class Span:
    """One math span: its text as written (between the delimiters) and where it starts."""

    text: str
    start: int  # offset of text[0] in the document
    end: int  # offset just after the closing delimiter
    delimiter: Delimiter
    environment: str = ""

    @property
    def display(self) -> bool:
        return self.delimiter is not Delimiter.INLINE and self.delimiter is not Delimiter.PAREN


class Document:
    """A note's text and its line starts: offset ↔ 1-based (line, column)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in _BREAK.finditer(text)]

    def line_col(self, offset: int) -> tuple[int, int]:
        """The 1-based line and column (in characters) of `offset`."""
        index = bisect.bisect_right(self.starts, offset) - 1
        return index + 1, offset - self.starts[index] + 1

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1

    def line_text(self, index: int) -> str:
        """The text of 0-based line `index`, without its end."""
        start = self.starts[index]
        stop = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.text)
        return self.text[start:stop].rstrip("\r\n")

    @property
    def lines(self) -> int:
        return len(self.starts)


_FinderFind = Callable[[str, int], int]


class _Finder:
    """`str.find` that remembers each needle's last answer: the next occurrence after a start
    is the same for every start up to it, so repeated searches cost linear time in all."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.memo: dict[str, tuple[int, int]] = {}

    def find(self, needle: str, start: int) -> int:
        known = self.memo.get(needle)
        if known is not None and known[0] <= start and (known[1] == -1 or known[1] >= start):
            return known[1]
        found = self.text.find(needle, start)
        self.memo[needle] = (start, found)
        return found


def _escaped(text: str, i: int) -> bool:
    """Whether text[i] follows an odd number of backslashes."""
    count = 0
    while i - count - 1 >= 0 and text[i - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def find_spans(text: str, syntax: Syntax = Syntax.MARKDOWN) -> list[Span]:
    """Every math span of `text`, in order; unclosed delimiters are left as text."""
    spans: list[Span] = []
    find = _Finder(text).find
    n = len(text)
    i = 0
    line_start = True
    while i < n:
        ch = text[i]
        if line_start and syntax is Syntax.MARKDOWN and (fence := _FENCE.match(text, i)):
            i = _after_fence(text, fence.end(), fence.group(1), find)
            continue
        line_start = ch in "\r\n"
        if ch == "`" and syntax is Syntax.MARKDOWN:
            i = _after_code(text, i, find)
        elif ch == "%" and syntax is Syntax.LATEX and not _escaped(text, i):
            stop = _line_end(text, i, find)
            i = stop
        elif ch == "$" and not _escaped(text, i):
            i = _dollar(text, i, find, spans)
        elif ch == "\\" and i + 1 < n and text[i + 1] in "([":
            closer = "\\)" if text[i + 1] == "(" else "\\]"
            j = find(closer, i + 2)
            if j < 0:
                i += 2
                continue
            kind = Delimiter.PAREN if text[i + 1] == "(" else Delimiter.BRACKET
            spans.append(Span(text[i + 2 : j], i + 2, j + 2, kind))
            i = j + 2
        elif ch == "\\" and text.startswith("\\begin{", i) and (m := _BEGIN.match(text, i)):
            name = m.group(1)
            closer = f"\\end{{{name}}}"
            j = find(closer, m.end()) if name in ENVIRONMENTS else -1
            if j < 0:
                i = m.end()
                continue
            spans.append(Span(text[m.end() : j], m.end(), j + len(closer),
                              Delimiter.ENVIRONMENT, name))
            i = j + len(closer)
        elif ch == "\\":
            i += 2  # an escaped character (\$, \\) is never a delimiter
        else:
            i += 1
    return spans


def _line_end(text: str, i: int, find: _FinderFind) -> int:
    j = find("\n", i)
    return len(text) if j < 0 else j


def _after_fence(text: str, i: int, fence: str, find: _FinderFind) -> int:
    """The offset after a fenced code block that opens with `fence` (ends the file if open)."""
    j = _line_end(text, i, find)
    while j < len(text):
        k = j + 1
        m = _FENCE.match(text, k)
        if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
            return _line_end(text, m.end(), find)
        j = _line_end(text, k, find)
    return len(text)


def _after_code(text: str, i: int, find: _FinderFind) -> int:
    """After an inline code span (a run of backticks closed by the same run on that line)."""
    j = i
    while j < len(text) and text[j] == "`":
        j += 1
    run = text[i:j]
    end = _line_end(text, j, find)
    k = text.find(run, j, end)
    return j if k < 0 else k + len(run)


def _dollar(text: str, i: int, find: _FinderFind, spans: list[Span]) -> int:
    """A `$$…$$` or `$…$` span at i, appended to `spans`; the offset to go on from."""
    if text.startswith("$$", i):
        j = find("$$", i + 2)
        while j > 0 and _escaped(text, j):
            j = find("$$", j + 1)
        if j < 0:
            return i + 2
        spans.append(Span(text[i + 2 : j], i + 2, j + 2, Delimiter.DISPLAY))
        return j + 2
    # Pandoc's rule: `$` opens before a non-space and closes after one, not before a digit
    # ("costs $5 and $6" is not math); inline math stays within its paragraph.
    if i + 1 >= len(text) or text[i + 1].isspace():
        return i + 1
    limit = min(len(text), i + _INLINE_CHARS)
    for blank in ("\n\n", "\n\r\n"):
        k = find(blank, i)
        if 0 <= k < limit:
            limit = k
    j = i + 1
    while True:
        j = text.find("$", j, limit)
        if j < 0:
            return i + 1
        if _escaped(text, j) or text[j - 1].isspace() or text[j + 1 : j + 2].isdigit():
            j += 1
            continue
        break
    if "`" in text[i + 1 : j]:  # a code span takes precedence over math
        return i + 1
    spans.append(Span(text[i + 1 : j], i + 1, j + 1, Delimiter.INLINE))
    return j + 1


# ---- cleaned formulas ----

_DROP = re.compile(
    r"\\(?:tag|label|eqref|ref)\*?\s*\{[^{}]*\}|\\(?:nonumber|notag|displaystyle|textstyle)\b"
)


@dataclass(frozen=True)
class Clean:
    """A formula's text and, for each character, the document offset it came from."""

    text: str
    origin: tuple[int, ...]

    def at(self, index: int) -> int:
        """The document offset of character `index` (the last one past the end)."""
        if not self.origin:
            return 0
        return self.origin[max(0, min(index, len(self.origin) - 1))]

    def strip(self, chars: str = " \t\r\n") -> Clean:
        text = self.text
        start, stop = 0, len(text)
        while start < stop and text[start] in chars:
            start += 1
        while stop > start and text[stop - 1] in chars:
            stop -= 1
        return self[start:stop]

    def __getitem__(self, part: slice) -> Clean:
        return Clean(self.text[part], self.origin[part])

    def __add__(self, other: Clean) -> Clean:
        return Clean(self.text + other.text, self.origin + other.origin)


def clean(text: str, start: int) -> Clean:
    """`text` (found at offset `start`) with `&`, `\\\\`, `\\tag{…}`, `\\label{…}` and line
    ends made spaces, every other character kept with its origin."""
    chars = list(text)
    for m in _DROP.finditer(text):
        chars[m.start() : m.end()] = [" "] * (m.end() - m.start())
    i = 0
    while i < len(chars):
        if chars[i] == "\\" and i + 1 < len(chars) and chars[i + 1] == "\\":
            chars[i] = chars[i + 1] = " "
            i += 2
            continue
        if chars[i] == "\\":
            i += 2
            continue
        if chars[i] in "&\r\n\t":
            chars[i] = " "
        i += 1
    return Clean("".join(chars), tuple(range(start, start + len(text))))


def rows(span: Span) -> list[Clean]:
    """The formulas of a span: one per row of an environment (split at `\\\\`), where a row
    that starts with `=` (an `&=` continuation) continues the row before; else the span."""
    text, start = span.text, span.start
    if span.delimiter is not Delimiter.ENVIRONMENT and "\\\\" not in text:
        return [clean(text, start).strip()]
    pieces: list[Clean] = []
    last = 0
    for m in re.finditer(r"\\\\(?:\[[^\]]*\])?", text):
        if _escaped(text, m.start()):
            continue
        pieces.append(clean(text[last : m.start()], start + last))
        last = m.end()
    pieces.append(clean(text[last:], start + last))
    formulas: list[Clean] = []
    for piece in pieces:
        body = piece.strip()
        if not body.text:
            continue
        if formulas and body.text.startswith("="):
            formulas[-1] = formulas[-1] + clean(" ", body.at(0)) + body
        else:
            formulas.append(body)
    return formulas
