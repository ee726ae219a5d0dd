"""A rule file as YAML data with positions, within the limits: read safely, load safely, and
recover rule by rule when the document as a whole cannot be read.

Reading refuses anything that is not a regular file (a FIFO never blocks, /dev/zero is never
read) and anything larger than `limits.MAX_FILE_BYTES`. Loading is ruamel's round-trip loader
(plain data; a tag never builds a Python object) with the limits checked on the event stream
as the composer takes each event, so a too-deep or too-expanding document stops at the event
that crosses the limit, before anything recurses: nesting (`MAX_YAML_DEPTH`, aliases
included), nodes reached through aliases (`MAX_YAML_ALIAS_NODES`, counted with repetition),
recursive aliases, and digits of a number (`MAX_LITERAL_DIGITS`). Every failure is a
`Diagnostic` with the file, line and column.
"""

from __future__ import annotations

import os
import re
import stat
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedSeq
from ruamel.yaml.constructor import ConstructorError, DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError, YAMLFutureWarning, YAMLWarning
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    ScalarEvent,
)
from ruamel.yaml.parser import RoundTripParser
from ruamel.yaml.reader import Reader, ReaderError

from gradcheck import limits
from gradcheck.model import Diagnostic, Position

# The line breaks of ruamel's marks (its Reader counts only these), so that lines agree.
_BREAK = re.compile(r"\r\n|[\r\n]")
# A scalar that ruamel may construct as an int or a float (an over-approximation).
_NUMBER = re.compile(
    r"[-+]?(?:0[xX][0-9a-fA-F_]+|0[oObB][0-7_]+|(?:[0-9][0-9_:]*)?\.?[0-9_]*(?:[eE][-+]?[0-9_]+)?)"
)
_RULES_KEY = re.compile(r"(?P<indent> *)(?:rules|'rules'|\"rules\")[ \t]*:(?P<rest>.*)")
_ITEM_ID = re.compile(r"[ \t]*(?:-[ \t]+)?id[ \t]*:[ \t]*(['\"]?)([A-Za-z0-9][A-Za-z0-9._-]*)\1"
                      r"[ \t]*(?:#.*)?")
_QUOTE_HINT = "quote claims containing ':' or '#' or backslashes with single quotes"
_RECOVERY = "the file could not be read as a whole, and rule-by-rule recovery needs"
_NO_ITEMS = "a top-level `rules:` list (its items `- ` indented with spaces, below `rules:`)"
_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def split_lines(text: str) -> list[str]:
    """The lines of `text` without their ends, split where ruamel's marks count a new line."""
    return _BREAK.split(text)


def column_index(line: str, column: int) -> int:
    """The index in `line` of a mark's 0-based `column` (ruamel does not count U+FEFF)."""
    index = 0
    for char in line:
        if column == 0 and char != "\ufeff":
            break
        column -= char != "\ufeff"
        index += 1
    return index


# ---- files ----


def file_kind(path: Path) -> str:
    """'file' (regular, after symlinks), 'folder', 'missing', or what else it is ('a socket')."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):  # missing, a broken symlink, a loop, a NUL in the name
        return "missing"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def not_regular(path: Path, kind: str) -> Diagnostic:
    """The diagnostic for a named path that is neither a regular file nor a folder."""
    return Diagnostic(
        Position(str(path), 1, 1),
        f"not a regular file: it is {kind}",
        "name a rule file (*.yaml) or a folder of rule files",
    )


def read_text(path: Path) -> str | Diagnostic:
    """The text of a regular UTF-8 file of at most `limits.MAX_FILE_BYTES` bytes."""
    start = Position(str(path), 1, 1)
    kind = file_kind(path)
    if kind == "missing":
        return Diagnostic(start, "no such file or folder", "check the path")
    if kind != "file":
        return not_regular(path, kind)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)  # O_NONBLOCK: a FIFO swapped in after the stat never blocks
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return not_regular(path, "a special file (it was replaced while being read)")
            if info.st_size > limits.MAX_FILE_BYTES:
                return _too_large(start, info.st_size)
            data = _read_at_most(fd, limits.MAX_FILE_BYTES + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        return Diagnostic(start, f"cannot read the file: {exc.strerror or exc}")
    if len(data) > limits.MAX_FILE_BYTES:  # it grew after the stat
        return _too_large(start, len(data))
    return _decoded(data, str(path))


STDIN = "<stdin>"  # the file name of rules read from standard input


def read_stdin() -> str | Diagnostic:
    """Standard input as text, within the same limits as a file (read: at most one byte over)."""
    import sys

    try:
        data = sys.stdin.buffer.read(limits.MAX_FILE_BYTES + 1)
    except (OSError, ValueError, AttributeError) as exc:  # closed, or not a byte stream
        return Diagnostic(Position(STDIN, 1, 1), f"cannot read standard input: {exc}")
    if len(data) > limits.MAX_FILE_BYTES:
        return _too_large(Position(STDIN, 1, 1), len(data))
    return _decoded(data, STDIN)


def _decoded(data: bytes, name: str) -> str | Diagnostic:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8", errors="replace")
        lines = split_lines(before)
        where = Position(name, len(lines), len(lines[-1]) + 1)
        return Diagnostic(where, "the file is not UTF-8 text", "save it as UTF-8")


def _read_at_most(fd: int, size: int) -> bytes:
    """Up to `size` bytes from `fd`."""
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _too_large(start: Position, size: int) -> Diagnostic:
    return Diagnostic(
        start,
        f"the file is too large: {size:,} bytes, and a rule file has at most "
        f"{limits.MAX_FILE_BYTES:,} bytes",
        "split the rules into several files in one folder",
    )


# ---- loading ----


@dataclass(frozen=True)
class Entry:
    """One item of the top-level `rules:` list read on its own: its value, or its problem."""

    position: Position
    value: Any = None
    problem: Diagnostic | None = None


@dataclass(frozen=True)
class Loaded:
    """A YAML document. `entries` is None when the document was read as a whole; otherwise
    the file was recovered rule by rule, `document` is the file without the items of `rules:`
    (None if even that cannot be read), and `entries` are the items."""

    document: Any
    entries: tuple[Entry, ...] | None = None
    problems: tuple[Diagnostic, ...] = ()


def load(text: str, file: str) -> Loaded:
    """The YAML document in `text`; when it cannot be read as a whole, each rule on its own."""
    try:
        return Loaded(_load(text, file, 0, _Budget()))
    except _Unreadable as whole:
        return _recover(text, file, whole.diagnostic)


class LimitError(MarkedYAMLError):
    """A document that crosses one of the limits, at the event where it does."""

    def __init__(self, mark: Any, problem: str, hint: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.hint = hint


class _Unreadable(Exception):
    """A text that ruamel cannot load, as a diagnostic."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


class _Budget:
    """The nodes reached through aliases so far in one file."""

    def __init__(self) -> None:
        self.alias_nodes = 0


_OPEN = (-1, -1)  # an anchor whose collection is still being read


class _Watch:
    """The limits, checked event by event: nesting, alias expansion, recursion, digits."""

    def __init__(self, budget: _Budget, outer: int) -> None:
        self.budget = budget
        self.outer = outer  # levels around the text read (1 for an item of `rules:`)
        self.open: list[list[Any]] = []  # per open collection: [anchor, nodes, height below]
        self.anchors: dict[str, tuple[int, int]] = {}  # anchor → (nodes, height)

    def see(self, event: Any) -> None:
        if isinstance(event, DocumentStartEvent):
            self.anchors = {}
        elif isinstance(event, CollectionStartEvent):
            if self.outer + len(self.open) >= limits.MAX_YAML_DEPTH:
                raise LimitError(event.start_mark, *_too_deep())
            if event.anchor is not None:
                self.anchors[event.anchor] = _OPEN
            self.open.append([event.anchor, 1, 0])
        elif isinstance(event, CollectionEndEvent) and self.open:
            anchor, nodes, height = self.open.pop()
            self._add(anchor, nodes, height + 1)
        elif isinstance(event, ScalarEvent):
            self._digits(event)
            self._add(event.anchor, 1, 0)
        elif isinstance(event, AliasEvent):
            self._alias(event)

    def _alias(self, event: Any) -> None:
        known = self.anchors.get(event.anchor)
        if known is None:
            return  # an undefined alias: the composer reports it
        if known == _OPEN:
            raise LimitError(
                event.start_mark,
                f"the alias *{event.anchor} refers to a node that contains it",
                "a rule file cannot hold a recursive structure: write the value out",
            )
        nodes, height = known
        if self.outer + len(self.open) + height > limits.MAX_YAML_DEPTH:
            raise LimitError(event.start_mark, *_too_deep(f"the alias *{event.anchor} nests "))
        self.budget.alias_nodes += nodes
        if self.budget.alias_nodes > limits.MAX_YAML_ALIAS_NODES:
            raise LimitError(
                event.start_mark,
                f"YAML aliases expand to more than {limits.MAX_YAML_ALIAS_NODES:,} nodes in this "
                f"file (at *{event.anchor})",
                "write the values out instead of repeating aliases (`*name`)",
            )
        self._add(None, nodes, height)

    def _add(self, anchor: str | None, nodes: int, height: int) -> None:
        if anchor is not None:
            self.anchors[anchor] = (nodes, height)
        if self.open:
            top = self.open[-1]
            top[1] += nodes
            top[2] = max(top[2], height)

    @staticmethod
    def _digits(event: Any) -> None:
        quoted = event.style not in (None, "")
        if quoted and event.tag in (None, "!!str", "tag:yaml.org,2002:str"):
            return  # text: the expression language bounds its own literals
        value = event.value
        if len(value) <= limits.MAX_LITERAL_DIGITS or not _NUMBER.fullmatch(value):
            return
        digits = sum(char.isalnum() for char in value)  # hex digits too; 0x, e: about right
        if digits > limits.MAX_LITERAL_DIGITS:
            raise LimitError(
                event.start_mark,
                f"a number of {digits:,} digits: a number in a rule file has at most "
                f"{limits.MAX_LITERAL_DIGITS} digits",
                "write a shorter number",
            )


def _too_deep(what: str = "") -> tuple[str, str]:
    return (
        f"{what or 'YAML is nested '}more than {limits.MAX_YAML_DEPTH} levels deep",
        "a rule needs five levels (rules, a rule, symbols or assume, a list): flatten the value",
    )


class _Parser(RoundTripParser):
    """The round-trip parser, checking each event against the limits as the composer takes
    it: an error stops the composer (which recurses per level) before it goes deeper."""

    watch: _Watch

    def get_event(self) -> Any:
        event = super().get_event()
        self.watch.see(event)
        return event


class _BadValue(ConstructorError):
    """A value that ruamel's constructor fails on with a plain exception."""


class _Constructor(RoundTripConstructor):
    """The round-trip constructor; a value it cannot build (`!!int ''`, `!!float x`) is a
    YAML error at that node instead of a ValueError or IndexError from inside ruamel."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except YAMLError:
            raise
        except Exception as exc:  # ruamel's scalar constructors raise plain exceptions
            raise _BadValue(
                problem=f"cannot read this value ({type(exc).__name__}: {exc})"[:300],
                problem_mark=node.start_mark,
            ) from exc


def _load(text: str, file: str, first_line: int, budget: _Budget, outer: int = 0) -> Any:
    """The document in `text`, whose first line is line `first_line` (0-based) of `file`, and
    which sits `outer` levels deep in the file."""
    reader = type("_Reader", (_ReaderAt,), {"first_line": first_line})
    yaml = YAML(typ="rt")  # round-trip: plain data only; a tag never builds a Python object
    yaml.Reader, yaml.Parser, yaml.Constructor = reader, _Parser, _Constructor
    yaml.preserve_quotes = True
    yaml.allow_duplicate_keys = False
    yaml.parser.watch = _Watch(budget, outer)
    try:
        with warnings.catch_warnings():  # a reused anchor is valid YAML: no note on stderr
            warnings.simplefilter("ignore", YAMLWarning)
            warnings.simplefilter("ignore", YAMLFutureWarning)
            return yaml.load(text)
    except YAMLError as exc:
        raise _Unreadable(_yaml_diagnostic(file, text, first_line, exc)) from exc
    except Exception as exc:  # a last resort: ruamel failing in a way not seen yet
        where = Position(file, first_line + 1, 1)
        problem = f"invalid YAML: {type(exc).__name__}: {exc}"[:300]
        raise _Unreadable(Diagnostic(where, problem, "simplify this part of the file")) from exc


class _ReaderAt(Reader):
    """ruamel's Reader, counting lines from `first_line`: marks of a part are file marks."""

    first_line = 0

    def reset_reader(self) -> None:
        super().reset_reader()
        self.line = self.first_line


def _yaml_diagnostic(file: str, text: str, first_line: int, exc: YAMLError) -> Diagnostic:
    """One diagnostic for a YAML error: where, what, and what to write instead."""
    problem = str(getattr(exc, "problem", None) or exc)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if ("end of stream" in problem or "<stream end>" in problem) and getattr(
        exc, "context_mark", None
    ):
        mark = getattr(exc, "context_mark", None)  # an unclosed quote or bracket: its start
    where = Position(file, mark.line + 1, mark.column + 1) if mark else Position(file, 1, 1)
    if isinstance(exc, LimitError):
        return Diagnostic(where, problem, exc.hint)
    if isinstance(exc, _BadValue):
        return Diagnostic(where, f"invalid YAML: {problem}", "rule files are plain data: "
                          "remove the tag (`!!int`, `!!float`, ...) and quote the value")
    if isinstance(exc, DuplicateKeyError):
        return Diagnostic(where, problem, "write each key once per rule")
    if isinstance(exc, ReaderError):
        lines = split_lines(text[: exc.position])
        where = Position(file, first_line + len(lines), len(lines[-1]) + 1)
        return Diagnostic(
            where,
            f"invalid YAML: character #x{exc.character:04x} is not allowed",
            "remove the control character",
        )
    if "escape" in problem:
        hint = "in double quotes a backslash is an escape: write LaTeX claims in single quotes"
    elif "'\\t'" in problem:
        hint = "indent with spaces, not tabs"
    elif "block" in problem:
        hint = "indent every key of a rule to the same column, with spaces"
    elif "merg" in problem or "<<" in problem:
        hint = "`<<:` merges a mapping (`<<: *name`): remove it or point it at a mapping"
    elif "alias" in problem:
        hint = "define the anchor (`&name`) before its alias (`*name`), or write the value out"
    elif "quoted scalar" in str(getattr(exc, "context", None)):
        hint = "close the quote that starts here"
    elif "single document" in str(getattr(exc, "context", None)):
        hint = "a rule file is one YAML document: remove the `---` line and what follows it"
    else:
        hint = _QUOTE_HINT
    context = getattr(exc, "context", None)
    return Diagnostic(
        where, f"invalid YAML: {problem}" + (f" ({context})" if context else ""), hint
    )


# ---- recovery, rule by rule ----


def _recover(text: str, file: str, whole: Diagnostic) -> Loaded:
    """Read the items of the top-level `rules:` list apart (split at their `- ` lines), and the
    rest of the file without them; each unreadable part is reported on its own."""
    lines = _BREAK.split(text)
    ends = [match.group(0) for match in _BREAK.finditer(text)] + [""]
    found = _find_items(lines)
    if isinstance(found, str):
        message = f"{_RECOVERY} {found}: {whole.message}"
        return Loaded(None, (), (replace(whole, message=message),))
    key, starts, end = found
    parts = _Parts(file, lines, ends)
    problems: list[Diagnostic] = []
    skeleton = "".join(  # each item line blank, ending in "\n": a "\r" then "\n" would be one
        line + ends[index] if not key < index < end else "\n"[: len(ends[index])]
        for index, line in enumerate(lines)
    )
    document = None
    try:
        document = parts.load(skeleton, 0, outer=0)
    except _Unreadable as part:
        problems.append(part.diagnostic)
    spans = list(zip(starts, [*starts[1:], end], strict=True))
    entries = parts.items(spans, whole)
    if not problems and not any(entry.problem for entry in entries):
        problems.append(whole)  # every part reads on its own: keep the reason nothing read
    return Loaded(document, tuple(entries), tuple(problems))


_RUN = 64  # items of `rules:` read as one list while a file is recovered


class _Parts:
    """The parts of one file read apart: one alias budget for all (a part that cannot be read
    spends none of it), and the items of `rules:` read in runs, split where a run fails."""

    def __init__(self, file: str, lines: Sequence[str], ends: Sequence[str]) -> None:
        self.file, self.lines, self.ends = file, lines, ends
        self.alias_nodes = 0

    def load(self, text: str, first_line: int, *, outer: int) -> Any:
        budget = _Budget()
        budget.alias_nodes = self.alias_nodes
        value = _load(text, self.file, first_line, budget, outer)
        self.alias_nodes = budget.alias_nodes
        return value

    def items(self, spans: Sequence[tuple[int, int]], whole: Diagnostic) -> list[Entry]:
        """An entry per span (the first and the stop line of an item), read in runs of at most
        `_RUN` items: a failure costs a re-read of one run, not of the rest of the file."""
        entries: list[Entry] = []
        unreadable = 0
        for low in range(0, len(spans), _RUN):
            if unreadable >= limits.MAX_UNREADABLE_RULES:
                entries.append(self._give_up(spans[low][0]))
                break
            found = self._read_run(spans[low : low + _RUN], whole)
            unreadable += sum(entry.problem is not None for entry in found)
            entries += found
        return entries

    def _read_run(self, spans: Sequence[tuple[int, int]], whole: Diagnostic) -> list[Entry]:
        """The items of `spans` read as one list; when that fails, the items before the failing
        one as a list, the failing one alone, and the rest again: each step moves on by at
        least one item."""
        entries: list[Entry] = []
        low, bad = 0, None
        while low < len(spans):
            if bad is None:
                try:
                    entries += self._run(spans, low, len(spans))
                    break
                except _Unreadable as part:
                    bad = self._containing(spans, low, part.diagnostic.position.line - 1)
            if bad > low:
                try:
                    entries += self._run(spans, low, bad)
                except _Unreadable as part:  # the run fails before the item expected
                    at = self._containing(spans, low, part.diagnostic.position.line - 1)
                    bad = min(bad - 1, at)
                    continue
            entries.append(self._alone(*spans[bad], whole))
            low, bad = bad + 1, None
        return entries

    @staticmethod
    def _containing(spans: Sequence[tuple[int, int]], low: int, line: int) -> int:
        """The index (≥ low) of the item holding 0-based `line`, clamped to low..len - 1."""
        return next((i for i in range(low, len(spans)) if line < spans[i][1]), len(spans) - 1)

    def _text(self, first: int, stop: int) -> str:
        return "".join(self.lines[index] + self.ends[index] for index in range(first, stop))

    def _run(self, spans: Sequence[tuple[int, int]], low: int, high: int) -> list[Entry]:
        """Items low..high-1 read together; an error if any of them cannot be read."""
        first = spans[low][0]
        value = self.load(self._text(first, spans[high - 1][1]), first, outer=1)
        if not isinstance(value, CommentedSeq) or len(value) != high - low:
            where = Position(self.file, first + 1, 1)  # not seen: each item has one `- ` line
            raise _Unreadable(Diagnostic(where, "this rule cannot be read on its own"))
        return [
            Entry(Position(self.file, line + 1, col + 1), item)
            for index, item in enumerate(value)
            for line, col in [value.lc.item(index)]
        ]

    def _alone(self, first: int, stop: int, whole: Diagnostic) -> Entry:
        """One item of `rules:` (lines first..stop-1, 0-based), read on its own."""
        lines = self.lines[first:stop]
        start = Position(self.file, first + 1, len(lines[0]) - len(lines[0].lstrip(" ")) + 1)
        label = _label(lines)
        try:
            (entry,) = self._run([(first, stop)], 0, 1)
            return entry
        except _Unreadable as part:
            problem = part.diagnostic
        if "undefined alias" in problem.message:
            if first < whole.position.line <= stop:  # the reason the file failed is here
                problem = whole
            else:
                problem = replace(
                    problem,
                    hint="this rule was read on its own because another part of the file "
                    "cannot be read, so it cannot use an anchor (&name) defined outside it: fix "
                    "the other problem first",
                )
        return Entry(start, problem=replace(problem, rule_id=label))

    def _give_up(self, first: int) -> Entry:
        where = Position(self.file, first + 1, 1)
        return Entry(where, problem=Diagnostic(
            where,
            f"more than {limits.MAX_UNREADABLE_RULES} rules of this file cannot be read: the "
            "rest of the file is not read",
            "fix the rules above first (is this a rule file?)",
        ))


def _label(lines: Sequence[str]) -> str | None:
    """The id of an item, read from its text (`- id: name` or `id: name` under it), if any."""
    dash = re.match(r" *-[ \t]+", lines[0])
    keys = dash.end() if dash else -1
    for index, line in enumerate(lines):
        content = line.lstrip(" ")
        if (index == 0 or len(line) - len(content) == keys) and (
            match := _ITEM_ID.fullmatch(line)
        ):
            return match.group(2)
    return None


def _find_items(lines: Sequence[str]) -> str | tuple[int, list[int], int]:
    """(the `rules:` line, the first line of each item, the line after the list), or why not."""
    top: int | None = None
    key: int | None = None
    for index, line in enumerate(lines):
        content = line.lstrip(" ")
        if not content.strip() or content.startswith("#"):
            continue
        if line.startswith(("%", "---")) and top is None:
            continue  # directives and the document start
        indent = len(line) - len(content)
        top = indent if top is None else top
        if indent == top and (match := _RULES_KEY.fullmatch(line)):
            rest = match.group("rest").strip(" \t")
            if rest and not rest.startswith("#"):
                return "a top-level `rules:` list (`rules:` alone on its line, a `- ` per rule)"
            key = index
            break
    if key is None or top is None:
        return "a top-level `rules:` list (no `rules:` line was found)"
    starts: list[int] = []
    item = -1
    for index in range(key + 1, len(lines)):
        line = lines[index]
        content = line.lstrip(" ")
        if not content.strip() or content.startswith("#"):
            continue
        indent = len(line) - len(content)
        dash = content.startswith("-") and content[1:2] in ("", " ", "\t")
        if not starts:
            if not dash or indent < top:
                return _NO_ITEMS
            item = indent
            starts.append(index)
        elif indent == 0 and line.startswith(("---", "...")) and line[3:4] in ("", " ", "\t"):
            return key, starts, index
        elif indent == item and dash:
            starts.append(index)
        elif content.startswith("\t") or indent > top:
            continue  # inside the current item: its own problem, if any
        else:
            return key, starts, index
    if not starts:
        return _NO_ITEMS
    return key, starts, len(lines)
