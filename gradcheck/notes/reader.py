"""A note (Markdown, LaTeX, plain text or a notebook's Markdown cells) → rules.

Every math span whose formula states a derivative becomes one rule per link of its chain
(`chains.links`), at its own file:line:col; a formula introduced in the same list item or
paragraph as the correct or alternative result of a claim ("the correct result is $…$",
"应为 $…$", "reduces to $…$ when A is symmetric") is checked as another right-hand side of
that claim, with its stated condition as an assumption. Shapes and assumptions come from
declarations (`declarations.py`) in the same list item or paragraph, else in an earlier line
of the section. A derivative that cannot be read or typed is a diagnostic marked `unread`.

Rule ids are `line-L` for the first claim on line L, then `line-L.2`, `line-L.3`, … for the
further links and alternatives that start on that line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..assumptions import TABLE, SymbolShape
from ..errors import RuleError
from ..limits import MAX_UNREADABLE_RULES
from ..model import Diagnostic, Position, Rule, SymbolDecl
from . import declarations
from .chains import DERIVATIVE_ANYWHERE as _MAYBE_DERIVATIVE
from .chains import anchor_of, links
from .notebook import markdown_cells
from .spans import Clean, Document, Span, Syntax, clean, find_spans, rows

NOTE_SUFFIXES = (".md", ".markdown", ".txt", ".tex", ".ipynb")
NOTE_TAG = "note"
_HEADING_MD = re.compile(r"\s{0,3}#{1,6}(?:\s|$)")
_HEADING_TEX = re.compile(r"\s*\\(?:part|chapter|(?:sub)*section|paragraph)\*?\s*[\[{]")
_ITEM_MD = re.compile(r"\s*(?:[-*+]|\d{1,9}[.)])\s+")
_ITEM_TEX = re.compile(r"\s*\\item\b")
# what introduces the correct or an alternative result, just before its formula
_TRIGGER = re.compile(
    r"(?:correct(?:ed)?\s+(?:result|answer|formula|gradient|derivative|version)\s+(?:is|would be|"
    r"should be)|(?:it\s+)?should\s+(?:be|read)|(?:reduces|simplifies|becomes|collapses)\s+to|"
    r"(?:正确|正确的)?(?:结果|答案|公式)?\s*(?:应为|应该为|应该是|应是)|正确(?:结果|答案)?为|"
    r"退化为|化简为|简化为|变为)\s*[:：]?\s*$",
    re.IGNORECASE,
)
_ENDS_SENTENCE = re.compile(r"[。.;；!?！？\n]")


def is_note(path: Path | str) -> bool:
    """Whether a path is read as a note (by its suffix)."""
    return Path(path).suffix.lower() in NOTE_SUFFIXES


def read_note(path: Path) -> tuple[list[Rule], list[Diagnostic]]:
    """The rules of one note file, and a diagnostic for what cannot be read."""
    from .. import yaml_source

    text = yaml_source.read_text(path)
    if isinstance(text, Diagnostic):
        return [], [text]
    name = str(path)
    if path.suffix.lower() == ".ipynb":
        cells = markdown_cells(text, name)
        if isinstance(cells, Diagnostic):
            return [], [cells]
        body, place = cells
        return read_text(body, name, Syntax.MARKDOWN, place)
    syntax = Syntax.LATEX if path.suffix.lower() == ".tex" else Syntax.MARKDOWN
    return read_text(text, name, syntax)


Place = Callable[[int, int], tuple[int, int]]  # (line, column) in the text → in the file


def read_text(
    text: str, name: str, syntax: Syntax = Syntax.MARKDOWN, place: Place | None = None
) -> tuple[list[Rule], list[Diagnostic]]:
    """The rules of a note's text; `place` maps a (line, column) of `text` to the file's."""
    return _Reader(text, name, syntax, place).read()


_LINE_CHARS = 2_000  # of one line, searched for declarations
_BLOCK_CHARS = 20_000  # of one item or paragraph, searched for declarations
_WINDOW = 300  # characters before and after an alternative searched for its phrase
_DECLARATION_CHARS = 200_000  # of a note, searched for what ⊗ means
_FORMULA_CHARS = 5_000  # a formula longer than this is not read (limits.MAX_EXPRESSION_CHARS)


@dataclass(frozen=True)
class _Declared:
    """Shapes and assumptions by symbol name."""

    shapes: dict[str, SymbolDecl]
    assume: dict[str, tuple[str, ...]]

    def plus(self, later: _Declared) -> _Declared:
        assume = dict(self.assume)
        for name, names in later.assume.items():
            assume[name] = tuple(dict.fromkeys((*assume.get(name, ()), *names)))
        return _Declared({**self.shapes, **later.shapes}, assume)


def _declared_in(text: str) -> _Declared:
    shapes = {decl.name: decl for decl in declarations.shapes(text)}
    assume: dict[str, tuple[str, ...]] = {}
    for name, assumption in declarations.declared_assumptions(text):
        assume[name] = tuple(dict.fromkeys((*assume.get(name, ()), assumption)))
    return _Declared(shapes, assume)


@dataclass
class _Claim:
    """A formula that states a derivative: its anchor (for alternatives) and its block."""

    anchor: Clean
    block: tuple[int, int]
    symbols: tuple[SymbolDecl, ...]
    assume: dict[str, list[str]]


@dataclass
class _Reader:
    text: str
    name: str
    syntax: Syntax
    place: Place | None
    doc: Document = field(init=False)
    rules: list[Rule] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    per_line: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.doc = Document(self.text)
        lines = [self.doc.line_text(i) for i in range(self.doc.lines)]
        heading_re = _HEADING_TEX if self.syntax is Syntax.LATEX else _HEADING_MD
        item_re = _ITEM_TEX if self.syntax is Syntax.LATEX else _ITEM_MD
        self.lines = lines
        blank = [not line.strip() for line in lines]
        heading = [bool(heading_re.match(line)) for line in lines]
        item = [bool(item_re.match(line)) for line in lines]
        count = len(lines)
        # the block of a line: its list item (to the next item, blank line or heading), else
        # its paragraph; and the first line of its section. All in one pass each way.
        self.first = list(range(count))
        self.section = list(range(count))
        for i in range(1, count):
            opens = item[i] or heading[i] or blank[i - 1] or heading[i - 1]
            self.first[i] = i if opens else self.first[i - 1]
            self.section[i] = i if heading[i] else self.section[i - 1]
        self.last = list(range(count))
        for i in range(count - 2, -1, -1):
            closes = blank[i + 1] or heading[i + 1] or item[i + 1]
            self.last[i] = i if closes else self.last[i + 1]
        self.blocks: dict[tuple[int, int], _Declared] = {}
        self.before: dict[int, _Declared] = {}
        self.unread_count = 0
        # what ⊗ means, where the note says so ("⊗ denotes the element-wise product")
        self.otimes = declarations.otimes_declared(self.text[:_DECLARATION_CHARS])

    # ---- declarations

    def declared_before(self, line: int) -> _Declared:
        """What the lines of the section before `line` declare (later lines win)."""
        if line in self.before:
            return self.before[line]
        start = self.section[line]
        state = _Declared({}, {})
        for i in range(start, line):
            cached = self.before.get(i + 1)
            if cached is not None:
                state = cached
                continue
            state = state.plus(_declared_in(self.lines[i][:_LINE_CHARS]))
            self.before[i + 1] = state
        self.before[line] = state
        return state

    def declared(
        self, line: int, formula: str
    ) -> tuple[tuple[SymbolDecl, ...], dict[str, list[str]]]:
        """The shapes and assumptions declared for a formula on `line` (of the names it uses):
        its block's, else those of an earlier line of its section."""
        first, last = self.first[line], self.last[line]
        block = self.blocks.get((first, last))
        if block is None:
            text = "\n".join(self.lines[first : last + 1])[:_BLOCK_CHARS]
            block = self.blocks[(first, last)] = _declared_in(text)
        state = self.declared_before(first).plus(block)
        used = set(re.findall(r"[A-Za-z]", re.sub(r"\\[A-Za-z]+", " ", formula)))
        shapes = tuple(d for name, d in state.shapes.items() if name in used)
        assume = {k: list(v) for k, v in state.assume.items() if k in used and v}
        return shapes, assume

    # ---- where

    def position(self, offset: int) -> Position:
        line, column = self.doc.line_col(offset)
        if self.place is not None:
            line, column = self.place(line, column)
        return Position(self.name, line, column)

    def next_id(self, offset: int) -> str:
        line = self.position(offset).line
        count = self.per_line[line] = self.per_line.get(line, 0) + 1
        return f"line-{line}" if count == 1 else f"line-{line}.{count}"

    # ---- reading

    def read(self) -> tuple[list[Rule], list[Diagnostic]]:
        last_claim: _Claim | None = None
        for span in find_spans(self.text, self.syntax):
            line = self.doc.line_of(span.start)
            found = False
            for formula in rows(span):
                claim = self.formula(formula, span)
                if claim is not None:
                    last_claim, found = claim, True
            if found or last_claim is None:
                continue
            if last_claim.block[0] <= line <= last_claim.block[1] and self.introduced(span):
                self.alternative(span, last_claim)
        return self.rules, self.diagnostics

    def formula(self, formula: Clean, span: Span) -> _Claim | None:
        """The rules of one formula; its claim (for alternatives) when it states a derivative.
        A condition right after its span ("… = 2Ax when $A$ is symmetric") is assumed."""
        if "=" not in formula.text or not _MAYBE_DERIVATIVE.search(formula.text):
            return None  # states no derivative: cheap to tell, and most math is such
        if len(formula.text) > _FORMULA_CHARS:
            self.unread(formula[:80], RuleError(
                f"the formula is longer than {_FORMULA_CHARS} characters"))
            return None
        formula = formula[declarations.label_end(formula.text) :]
        try:  # ⊗ as the note declares it (same length: every origin stays right)
            formula = Clean(declarations.with_otimes(formula.text, self.otimes), formula.origin)
            condition = declarations.prose_condition(formula.text)
        except RuleError as err:
            self.unread(formula, err)
            return None
        stated: list[tuple[str, str]] = []
        if condition is not None:  # `… \quad (A \text{ invertible})`: prose, not a factor
            formula, stated = formula[: condition[0]], condition[1]
        line = self.doc.line_of(formula.at(0))
        symbols, assume = self.declared(line, formula.text)
        for name, assumption in [*self.after(span), *stated]:
            if assumption not in assume.setdefault(name, []):
                assume[name].append(assumption)
        names = [s.name for s in symbols]
        try:
            found = links(formula, names)
        except RuleError as err:
            self.unread(formula, err)
            return None
        if not found:
            return None
        for i, link in enumerate(found):
            where = formula.at(0) if i == 0 else link.member.at(0)
            tags = ("chain",) if len(found) > 1 else ()
            self.add(link.claim, where, symbols, assume, formula, tags, link.display)
        anchor = anchor_of(formula)
        assert anchor is not None  # a formula with links has one
        return _Claim(anchor, (self.first[line], self.last[line]), symbols, assume)

    def introduced(self, span: Span) -> bool:
        """Whether the text just before `span` (on its line) introduces a result."""
        line = self.doc.line_of(span.start)
        start = max(self.doc.starts[line], span.start - _WINDOW)
        opener = span.start - (2 if span.delimiter.value in ("$$", "\\(", "\\[") else 1)
        return _TRIGGER.search(self.text[start:max(start, opener)]) is not None

    def alternative(self, span: Span, claim: _Claim) -> None:
        """`span` as another right-hand side of `claim`, under the condition stated with it."""
        body = clean(span.text, span.start).strip(" \t\r\n,.;:，。；：")
        if not body.text or "=" in body.text:
            return
        conditions = self.condition(span)
        symbols = claim.symbols
        assume = {k: list(v) for k, v in claim.assume.items()}
        for name, assumption in conditions:
            if assumption not in assume.setdefault(name, []):
                assume[name].append(assumption)
            if TABLE[assumption].shape is SymbolShape.SQUARE:
                # "when A is symmetric" makes A square: a declared A ∈ ℝ^{m×n} gives way
                symbols = tuple(s for s in symbols if not (s.name == name and s.kind == "matrix"
                                                           and s.dims[0] != s.dims[1]))
        text = claim.anchor + clean(" = ", body.at(0)) + body
        self.add(text, body.at(0), symbols, assume, body, ("alternative",))

    def condition(self, span: Span) -> list[tuple[str, str]]:
        """The condition stated with an alternative: in its clause before the phrase that
        introduces it, or after it up to the end of the sentence (unless another result is
        introduced there, which the condition then belongs to)."""
        line = self.doc.line_of(span.start)
        start = max(self.doc.starts[line], span.start - _WINDOW)
        before = self.text[start : span.start]
        cut = max(
            (m.end() for m in re.finditer(r"\$([^$]*)\$", before) if not _symbol(m.group(1))),
            default=0,
        )
        return declarations.conditions(before[cut:]) + self.after(span)

    def after(self, span: Span) -> list[tuple[str, str]]:
        """The condition stated right after `span`, to the end of its sentence, unless another
        result is introduced there first (the condition is then that result's)."""
        end = span.end
        stop = _ENDS_SENTENCE.search(self.text, end, end + _WINDOW)
        after = self.text[end : stop.start() if stop else min(len(self.text), end + _WINDOW)]
        if any(_TRIGGER.search(after[: m.start()]) for m in re.finditer(r"\$", after)):
            return []
        return declarations.conditions(after)

    def add(
        self,
        text: Clean,
        where: int,
        symbols: tuple[SymbolDecl, ...],
        assume: dict[str, list[str]],
        written: Clean,
        tags: tuple[str, ...],
        display: str = "",
    ) -> None:
        """A rule for the claim `text`, checked as far as reading and typing go: what cannot
        be read is an `unread` diagnostic at the character it names."""
        from ..problem import compile_rule

        position = self.position(where)
        rule = Rule(
            id=self.next_id(where),
            position=position,
            claim=text.text,
            symbols=symbols,
            assume=tuple((k, tuple(v)) for k, v in assume.items()),
            title=" ".join(written.text.split())[:200],
            source=f"{Path(self.name).name}:{position.line}:{position.column}",
            tags=(NOTE_TAG, *tags),
            positions=(("claim", position),),
            display=display or None,
        )
        try:
            compile_rule(rule)
        except RuleError as err:
            self.unread(text, err)
            return
        except Exception as err:  # a formula the reader cannot handle is unread, not a crash
            self.unread(text, RuleError(f"cannot read this formula ({type(err).__name__})"))
            return
        self.rules.append(rule)

    def unread(self, text: Clean, err: RuleError) -> None:
        self.unread_count += 1
        if self.unread_count > MAX_UNREADABLE_RULES:
            if self.unread_count == MAX_UNREADABLE_RULES + 1:
                self.diagnostics.append(Diagnostic(
                    self.position(text.at(0)),
                    f"unread: more than {MAX_UNREADABLE_RULES} formulas of this note cannot be "
                    "read; the rest are not listed", unread=True))
            return
        where = self.position(text.at(err.offset))
        shown = " ".join(text.text.split())
        shown = shown if len(shown) <= 60 else shown[:59] + "…"
        self.diagnostics.append(
            Diagnostic(where, f"unread: {shown}: {err.message}", err.hint, unread=True)
        )


def load_notes(paths: Sequence[Path]) -> tuple[list[Rule], list[Diagnostic]]:
    """The rules and diagnostics of several notes."""
    rules: list[Rule] = []
    diagnostics: list[Diagnostic] = []
    for path in paths:
        found, problems = read_note(path)
        rules += found
        diagnostics += problems
    return rules, diagnostics


def _symbol(math: str) -> bool:
    """Whether a math span is just a symbol (`$A$`, `$\\mathbf{x}$`), as prose names one."""
    return re.fullmatch(r"\s*(?:\\[A-Za-z]+\s*\{\s*)?[A-Za-z](?:\s*\})?\s*", math) is not None
