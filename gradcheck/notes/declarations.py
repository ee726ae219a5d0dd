"""Shapes and assumptions declared in a note's prose and math, found by patterns (never run).

- shapes: `A \\in \\mathbb{R}^{m \\times n}`, `x ∈ ℝⁿ`, `A, B \\in \\mathbb{R}^{n \\times n}`,
  "$x$ 为 $n$ 维向量", "$x$ is an $n$-dimensional vector", "$A$ is an $m \\times n$ matrix";
- assumptions: "where X is symmetric", "$A$ 对称", "symmetric $A$", "X 为正定矩阵", … A
  phrase opened by a condition word ("when", "if", "当 … 时") is a *condition*, which only
  an alternative result takes (see `conditions`), never a declaration of the section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from ..errors import RuleError
from ..model import SymbolDecl

_WRAP = r"(?:\\(?:mathbf|boldsymbol|bm|vec|mathrm|mathit)\s*\{\s*)?"
_NAME = rf"{_WRAP}([A-Za-z])(?:\s*\}})?"
_NAMES = rf"({_WRAP}[A-Za-z](?:\s*\}})?(?:\s*,\s*{_WRAP}[A-Za-z](?:\s*\}})?)*)"
_REALS = (
    r"(?:\\mathbb\s*\{\s*R\s*\}|\\mathbb\s+R|\\mathbf\s*\{\s*R\s*\}|\\R(?![A-Za-z])"
    r"|\\Re(?![A-Za-z])|ℝ)"
)
_SUPERSCRIPTS = str.maketrans("ⁿᵐᵏᵖᵈ⁰¹²³⁴⁵⁶⁷⁸⁹", "nmkpd0123456789")
_SUP = "[ⁿᵐᵏᵖᵈ⁰¹²³⁴⁵⁶⁷⁸⁹]+"
_EXPONENT = rf"(?:\^\s*(?:\{{([^{{}}]*)\}}|([A-Za-z0-9]))|({_SUP}(?:\s*[×xˣ]\s*{_SUP})?))?"
_IN = re.compile(rf"{_NAMES}\s*(?:\\in(?![A-Za-z])|∈)\s*{_REALS}\s*{_EXPONENT}")
_DIM = r"\s*\$\s*([A-Za-z]|[0-9]{1,2})\s*\$\s*"
_VECTOR_ZH = re.compile(rf"\$\s*{_NAME}\s*\$\s*(?:为|是)\s*(?:一个)?{_DIM}维(?:的)?(?:列)?向量")
_VECTOR_EN = re.compile(
    rf"\$\s*{_NAME}\s*\$\s*(?:is|be)\s+an?{_DIM}-?\s*dim(?:ensional)?\s+(?:column\s+)?vector",
    re.IGNORECASE,
)
_MATRIX = re.compile(
    rf"\$\s*{_NAME}\s*\$\s*(?:为|是|is|be)\s*(?:an?\s+|一个)?\s*\$\s*([A-Za-z]|[0-9]{{1,2}})\s*"
    r"(?:\\times|×|x)\s*([A-Za-z]|[0-9]{1,2})\s*\$\s*(?:的)?\s*(?:real\s+)?(?:matrix|矩阵)",
    re.IGNORECASE,
)

# assumption words, longest first (positive definite before positive)
WORDS: tuple[tuple[str, str], ...] = (
    ("symmetric positive definite", "spd"),
    ("symmetric positive-definite", "spd"),
    ("positive definite", "spd"),
    ("positive-definite", "spd"),
    ("对称正定", "spd"),
    ("正定", "spd"),
    ("spd", "spd"),
    ("symmetric", "symmetric"),
    ("对称", "symmetric"),
    ("invertible", "invertible"),
    ("nonsingular", "invertible"),
    ("non-singular", "invertible"),
    ("可逆", "invertible"),
    ("非奇异", "invertible"),
    ("orthogonal", "orthogonal"),
    ("正交", "orthogonal"),
    ("diagonal", "diagonal"),
    ("对角", "diagonal"),
)
_EN = tuple((w, a) for w, a in WORDS if w.isascii())
_ZH = tuple((w, a) for w, a in WORDS if not w.isascii())
_WORD_EN = "(" + "|".join(re.escape(w) for w, _ in _EN) + r")\b"
_WORD_ZH = "(" + "|".join(re.escape(w) for w, _ in _ZH) + ")"
_MEANING = {w: a for w, a in WORDS}
_DOLLAR = rf"\$\s*{_NAME}\s*\$"
_BARE = r"(?<![A-Za-z\\])([A-Za-z])(?![A-Za-z])"
_BARE_UPPER = r"(?<![A-Za-z\\])([A-Z])(?![A-Za-z])"
# (pattern, the groups that may hold the name, the group of the word)
_PATTERNS = (
    (re.compile(rf"(?:{_DOLLAR}|{_BARE})\s+(?:is|be|are)\s+(?:an?\s+)?(?:real\s+)?{_WORD_EN}",
                re.IGNORECASE), (1, 2), 3),
    (re.compile(rf"(?:{_DOLLAR}|{_BARE})\s*(?:为|是)?\s*(?:一个)?\s*{_WORD_ZH}"), (1, 2), 3),
    (re.compile(rf"{_WORD_EN}\s+(?:matrix\s+)?(?:{_DOLLAR}|{_BARE_UPPER})", re.IGNORECASE),
     (2, 3), 1),
    (re.compile(rf"{_WORD_ZH}\s*(?:的)?\s*(?:矩阵)?\s*(?:{_DOLLAR}|{_BARE})"), (2, 3), 1),
)
_CONDITION_WORD = re.compile(r"(?:当|若|如果|假如|\bwhen\b|\bif\b|\bwhenever\b|\bprovided\b)",
                             re.IGNORECASE)
_CLAUSE_END = re.compile(r"[，,。.;；:：（()）\n]")


@dataclass(frozen=True)
class Found:
    """An assumption phrase: the symbol, the assumption, where, and whether it is a condition."""

    name: str
    assumption: str
    start: int
    end: int
    conditional: bool


def _dims(text: str) -> tuple[str, ...] | None:
    """`m \\times n` → ("m", "n"); `n` → ("n",); None when not a list of dimensions."""
    text = text.translate(_SUPERSCRIPTS)
    parts = [p.strip() for p in re.split(r"\\times|×|ˣ|,|(?<=\w)\s*x\s*(?=\w)", text)]
    if not parts or len(parts) > 2 or not all(re.fullmatch(r"[A-Za-z]|[0-9]{1,2}", p)
                                              for p in parts):
        return None
    return tuple(parts)


def _decl(name: str, dims: tuple[str, ...] | None) -> SymbolDecl | None:
    if dims is None:
        return SymbolDecl(name, "scalar", ())
    values = tuple(int(d) if d.isdigit() else d for d in dims)
    if any(v == 0 or (isinstance(v, int) and v > 16) for v in values):
        return None
    if len(values) == 2 and values[1] == 1:
        values = values[:1]
    return SymbolDecl(name, "vector" if len(values) == 1 else "matrix", values)


def _names(text: str) -> list[str]:
    return re.findall(r"(?<![A-Za-z\\])[A-Za-z](?![A-Za-z])", re.sub(r"\\[A-Za-z]+", " ", text))


_ELEMENT_OF = re.compile(r"\\in(?![A-Za-z])|∈")
_BEFORE_IN, _AFTER_IN = 120, 80  # characters around an ∈ that its names and its ℝ^{…} fill


def _memberships(text: str) -> list[re.Match[str]]:
    """`_IN`'s matches, each looked for around an ∈ only: over a whole block the pattern is
    quadratic in a long list of letters and commas (`a, a, a, …`: seconds for 20,000
    characters), around each ∈ it is bounded."""
    found: list[re.Match[str]] = []
    done = 0
    for element_of in _ELEMENT_OF.finditer(text):
        if element_of.start() < done:
            continue
        start = max(done, element_of.start() - _BEFORE_IN)
        m = _IN.search(text, start, element_of.end() + _AFTER_IN)
        if m is not None and m.start() <= element_of.start() < m.end():
            found.append(m)
            done = m.end()
    return found


def shapes(text: str) -> list[SymbolDecl]:
    """The shapes `text` declares, in order."""
    found: list[tuple[int, SymbolDecl]] = []
    for m in _memberships(text):
        exponent = m.group(2) or m.group(3) or m.group(4)
        dims = _dims(exponent) if exponent else None
        if exponent and dims is None:
            continue
        for name in _names(m.group(1)):
            if (decl := _decl(name, dims)) is not None:
                found.append((m.start(), decl))
    for pattern in (_VECTOR_ZH, _VECTOR_EN):
        for m in pattern.finditer(text):
            if (decl := _decl(m.group(1), (m.group(2),))) is not None:
                found.append((m.start(), decl))
    for m in _MATRIX.finditer(text):
        if (decl := _decl(m.group(1), (m.group(2), m.group(3)))) is not None:
            found.append((m.start(), decl))
    return [decl for _, decl in sorted(found, key=lambda item: item[0])]


def assumptions(text: str) -> list[Found]:
    """Every assumption phrase of `text`, conditions marked."""
    found: list[Found] = []
    for pattern, name_groups, word_group in _PATTERNS:
        for m in pattern.finditer(text):
            name = m.group(name_groups[0]) or m.group(name_groups[1])
            meaning = _MEANING.get(m.group(word_group).lower())
            if not name or meaning is None:
                continue
            found.append(Found(name, meaning, m.start(), m.end(), _conditional(text, m.start())))
    return sorted(found, key=lambda f: f.start)


def _conditional(text: str, start: int) -> bool:
    """Whether the phrase at `start` is opened by a condition word in its own clause."""
    clause_start = 0
    for m in _CLAUSE_END.finditer(text, 0, start):
        clause_start = m.end()
    return _CONDITION_WORD.search(text, clause_start, start) is not None


def declared_assumptions(text: str) -> list[tuple[str, str]]:
    """The (symbol, assumption) pairs `text` declares (conditions left out)."""
    return [(f.name, f.assumption) for f in assumptions(text) if not f.conditional]


def conditions(text: str) -> list[tuple[str, str]]:
    """The (symbol, assumption) pairs `text` states as a condition ("when A is symmetric")."""
    return [(f.name, f.assumption) for f in assumptions(text) if f.conditional]


# `… = (A^{-1})^\top \quad (A \text{ invertible})`: a condition in prose after the formula, in
# brackets, inside the math. Read as a factor, (A) would silently multiply the claim.
# (`W_{\text{old}}` is a subscript, not prose.)
_TRAILING_PROSE = re.compile(
    r"(?:\\q?quad|\\[ ,;:!]|\s)*\(\s*([^()]*(?<![_^{])(?<![_^]\{)\\(?:text|mbox|textrm)\s*"
    r"\{[^()]*)\)[\s.,;]*$"
)
# `\text{Sigmoid}': \quad \frac{d}{dx}σ(x) = …`: a label before the formula, not a factor
_LABEL = re.compile(r"^\s*\\(?:text|mathrm|textbf|mbox)\s*\{[^{}]*\}\s*'*\s*:\s*(?:\\q?quad\s*)?")


def label_end(formula: str) -> int:
    """Where a formula starts after a leading label (`\\text{Tanh}': \\quad`); 0 if none."""
    found = _LABEL.match(formula)
    return found.end() if found else 0
_CONDITION_CHARS = 300  # at the end of a formula, searched for a condition in prose
_PROSE_COMMAND = re.compile(r"\\(?:text|mbox|textrm|mathbf|boldsymbol|mathrm)\s*\{([^{}]*)\}")
_NAME_THEN_WORDS = re.compile(r"^([A-Za-z])\s+(?!is\b)([A-Za-z][A-Za-z -]*)$")


def prose_condition(formula: str) -> tuple[int, list[tuple[str, str]]] | None:
    """Where a trailing bracketed condition in prose starts in `formula`, and the (symbol,
    assumption) pairs it states; None when the formula ends in no such brackets. Raises
    RuleError when the words name no assumption gradcheck knows: never a silent guess."""
    tail = max(0, len(formula) - _CONDITION_CHARS)  # the regex is quadratic in what it scans
    found = _TRAILING_PROSE.search(formula, tail)
    if found is None:
        return None
    words = _PROSE_COMMAND.sub(r" \1 ", found.group(1))
    words = " ".join(re.sub(r"\\[A-Za-z]+|[{}$]", " ", words).split())
    plain = _NAME_THEN_WORDS.match(words)
    stated = assumptions(f"{plain.group(1)} is {plain.group(2)}" if plain else words)
    if not stated:
        raise RuleError(
            f"a condition in prose that gradcheck cannot read: ({words})",
            found.start(1),
            "state it as an assumption, e.g. --assume A:invertible",
        )
    return found.start(), [(f.name, f.assumption) for f in stated]


class Otimes(str, Enum):
    """What ⊗ (\\otimes) stands for where a text says so: the Kronecker product in most texts,
    the elementwise (Hadamard) product in some machine-learning texts (Parr & Howard)."""

    KRONECKER = "kronecker"
    HADAMARD = "hadamard"


_ELEMENTWISE_WORDS = r"(?:element[- ]?wise|entry[- ]?wise|hadamard|逐元素|按元素)"
_OTIMES = r"(?:\\otimes(?![A-Za-z])|⊗)"
_OTIMES_HADAMARD = re.compile(
    rf"{_OTIMES}[^.。\n]{{0,80}}?{_ELEMENTWISE_WORDS}|{_ELEMENTWISE_WORDS}[^.。\n]{{0,80}}?{_OTIMES}",
    re.IGNORECASE,
)
_OTIMES_KRONECKER = re.compile(
    rf"{_OTIMES}[^.。\n]{{0,80}}?kronecker|kronecker[^.。\n]{{0,80}}?{_OTIMES}", re.IGNORECASE
)


def otimes_declared(text: str) -> Otimes | None:
    """The reading of ⊗ that a sentence of `text` declares ("⊗ denotes the element-wise
    product", "the Kronecker product ⊗"); None when none does, or both are declared."""
    hadamard = _OTIMES_HADAMARD.search(text) is not None
    kronecker = _OTIMES_KRONECKER.search(text) is not None
    if hadamard == kronecker:
        return None
    return Otimes.HADAMARD if hadamard else Otimes.KRONECKER


def with_otimes(text: str, reading: Otimes | None) -> str:
    """`text` with ⊗ read as declared: as ⊙ where it is the Hadamard product, written with as
    many characters so that every column stays where it was. Undeclared, unchanged: the parser
    refuses ⊗, naming both readings. Raises RuleError where ⊗ is the declared Kronecker
    product, which the language does not have."""
    if reading is Otimes.KRONECKER and (found := re.search(_OTIMES, text)) is not None:
        raise RuleError(
            "⊗ is the Kronecker product here, which gradcheck's language does not have",
            found.start(),
            "see rules/UNSUPPORTED.md",
        )
    if reading is not Otimes.HADAMARD:
        return text
    return re.sub(r"\\otimes(?![A-Za-z])", r"\\odot  ", text).replace("⊗", "⊙")
