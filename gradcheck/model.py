"""Frozen data shared by every stage: rules, evidence, verdicts, reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import TYPE_CHECKING

from .assumptions import DECLARABLE

if TYPE_CHECKING:
    from .lang.ast import Node


@dataclass(frozen=True)
class Position:
    """A place in a rule file (1-based line and column)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def shifted(self, offset: int) -> Position:
        """The position `offset` characters further along the same line."""
        return Position(self.file, self.line, self.column + offset)


class Kind(str, Enum):
    """What a rule states about f."""

    GRADIENT = "gradient"
    JACOBIAN = "jacobian"
    HESSIAN = "hessian"
    DIFFERENTIAL = "differential"


class Layout(str, Enum):
    """Denominator layout (Matrix Cookbook, d2l) or numerator layout."""

    DENOMINATOR = "denominator"
    NUMERATOR = "numerator"


class Expect(str, Enum):
    """What the author of a rule expects of it."""

    HOLDS = "holds"
    FAILS = "fails"


class Status(str, Enum):
    """The verdict on a rule (spec §4)."""

    HOLDS = "holds"
    HOLDS_NUMERIC = "holds (numeric only)"
    FAILS = "fails"
    ILL_FORMED = "ill-formed"
    ERROR = "error"


class ExitCode(IntEnum):
    """Process exit codes of `gradcheck verify` and `gradcheck check`."""

    OK = 0
    UNEXPECTED = 1
    UNREADABLE = 2
    INTERNAL = 3  # an unexpected exception outside any rule's check (pytest's INTERNAL_ERROR)


ASSUMPTIONS = DECLARABLE  # the names a rule may assume (assumptions.py has the table)


class SymbolicStatus(str, Enum):
    """What sympy established about a claim (`SymbolicEvidence.status`)."""

    PROVED = "proved"
    DISPROVED = "disproved"
    TIMEOUT = "timeout"
    UNSUPPORTED = "unsupported"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class SymbolDecl:
    """A declared symbol: `scalar`, `vector(n)` or `matrix(m, n)`; dims are names or ints."""

    name: str
    kind: str
    dims: tuple[str | int, ...]


@dataclass(frozen=True)
class Rule:
    """One rule as written in a file, before any expression is parsed.

    Either `claim` (one-line form) or `f`, `wrt`, `kind` and `rhs` (structured form) is set.
    `positions` maps a field name (and `symbols.NAME`, `assume.NAME`) to where its value starts;
    `quoted` holds the fields whose value was a quoted YAML scalar (columns shift by one).
    """

    id: str
    position: Position
    claim: str | None = None
    f: str | None = None
    wrt: str | None = None
    kind: Kind | None = None
    rhs: str | None = None
    symbols: tuple[SymbolDecl, ...] = ()
    assume: tuple[tuple[str, tuple[str, ...]], ...] = ()
    layout: Layout = Layout.DENOMINATOR
    expect: Expect = Expect.HOLDS
    title: str | None = None
    source: str | None = None
    note: str | None = None  # for people: an erratum's story, a caveat
    correct: str | None = None  # for a known-wrong rule: the id of its correct twin
    tags: tuple[str, ...] = ()
    positions: tuple[tuple[str, Position], ...] = ()
    quoted: frozenset[str] = frozenset()
    display: str | None = None  # shown instead of the typed rule (a note's chain link as written)

    def position_of(self, field_name: str) -> Position:
        """Where the value of `field_name` starts, or the rule's own position."""
        return dict(self.positions).get(field_name, self.position)

    def text_position(self, field_name: str, offset: int) -> Position:
        """The position of character `offset` inside the string value of `field_name`."""
        start = self.position_of(field_name)
        return start.shifted(offset + (1 if field_name in self.quoted else 0))


@dataclass(frozen=True)
class Diagnostic:
    """An unreadable file or rule: where, what, and what to write instead."""

    position: Position
    message: str
    hint: str = ""
    rule_id: str | None = None
    # a formula of a note that states a derivative but cannot be read: reported, and it fails
    # the run only with --strict (Report.strict)
    unread: bool = False

    def __str__(self) -> str:
        text = f"{self.position}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


Matrix = tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class Counterexample:
    """A minimal input on which the claim and the true derivative differ."""

    sizes: tuple[tuple[str, int], ...]
    inputs: tuple[tuple[str, Matrix], ...]
    true: Matrix
    claimed: Matrix
    abs_error: float
    rel_error: float
    note: str = ""


@dataclass(frozen=True)
class SymbolicEvidence:
    """What sympy established, at which sizes, and why."""

    status: SymbolicStatus
    sizes: tuple[tuple[tuple[str, int], ...], ...] = ()
    detail: str = ""
    seconds: float = 0.0
    all_sizes: bool = False  # the claim's canonical matrix form is the derived derivative's
    matrix_detail: str = ""

    def __post_init__(self) -> None:
        # A status given by its value ("proved", as JSON has it) is read as the enum member.
        object.__setattr__(self, "status", SymbolicStatus(self.status))


@dataclass(frozen=True)
class NumericEvidence:
    """What torch.autograd established on hypothesis inputs."""

    examples: int
    max_abs_error: float
    max_rel_error: float
    rtol: float
    atol: float
    counterexample: Counterexample | None = None
    detail: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class CrossCheck:
    """The sympy and the autograd derivative compared at one sample point."""

    agreed: bool
    max_diff: float
    sizes: tuple[tuple[str, int], ...] = ()
    detail: str = ""


class Category(str, Enum):
    """The kind of mistake a diagnosis names (most specific first, as the repairs are tried)."""

    LAYOUT = "layout"  # the claim holds in the other layout
    INVERSE = "inverse"  # X⁻¹ for X⁻ᵀ (or back), or the factors of a product in a wrong order
    TRANSPOSED = "transposed"  # the claim, one term or one factor is transposed
    SCALE = "scale"  # the claim is c times the derivative
    ASSUMPTION = "assumption"  # the claim holds only under an assumption the rule lacks
    TERM = "term"  # the claim misses or adds one term
    SHAPE = "shape"  # the claim's shape is not the derivative's
    DIFFERS = "differs"  # none of these

    def __str__(self) -> str:
        return self.value  # as written in reports and JSON, in f-strings too


@dataclass(frozen=True)
class Statement:
    """A compiled rule as it was checked (resolved ASTs and the symbols' shapes): what a
    reporter needs to print it in any notation without compiling it again."""

    kind: Kind
    layout: Layout
    wrt: str
    f: Node
    claim: Node
    shapes: tuple[tuple[str, tuple[str | int, str | int]], ...]


@dataclass(frozen=True)
class Diagnosis:
    """What kind of mistake a failing claim is, and what to write instead."""

    category: Category
    detail: str  # one sentence
    suggestion: str  # the right formula
    corrected: str = ""  # the corrected rule as YAML
    confirmed: bool = False  # the repaired claim was verified

    def __post_init__(self) -> None:
        # A category given by its value ("shape", as JSON has it) is read as the enum member.
        object.__setattr__(self, "category", Category(self.category))


@dataclass(frozen=True)
class Verdict:
    """The outcome for one rule, with all its evidence."""

    rule_id: str
    status: Status
    expect: Expect
    display: str
    message: str = ""
    position: Position | None = None
    kind: Kind | None = None
    symbolic: SymbolicEvidence | None = None
    numeric: NumericEvidence | None = None
    crosscheck: CrossCheck | None = None
    diagnostics: tuple[Diagnostic, ...] = ()
    source: str | None = None
    tags: tuple[str, ...] = ()
    seconds: float = 0.0
    diagnosis: Diagnosis | None = None
    statement: Statement | None = None  # None when the rule could not be compiled

    @property
    def as_expected(self) -> bool:
        """True when the rule did what its `expect` says."""
        if self.expect is Expect.FAILS:
            return self.status is Status.FAILS
        return self.status in (Status.HOLDS, Status.HOLDS_NUMERIC)

    @property
    def readable(self) -> bool:
        """False when the rule could not be read or typed."""
        return self.status is not Status.ILL_FORMED

    @property
    def outcome(self) -> str:
        """The verdict as shown to a user, e.g. `fails (expected)`."""
        if self.expect is Expect.FAILS and self.status is Status.FAILS:
            return "fails (expected)"
        if self.expect is Expect.FAILS and self.status in (Status.HOLDS, Status.HOLDS_NUMERIC):
            return f"{self.status.value} (expected to fail)"
        return self.status.value


@dataclass(frozen=True)
class Report:
    """Every verdict of a run, the file-level errors, and how the run was made."""

    verdicts: tuple[Verdict, ...]
    seed: int
    seconds: float
    errors: tuple[Diagnostic, ...] = ()
    examples: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    unread: tuple[Diagnostic, ...] = ()  # formulas of notes that could not be read
    strict: bool = False  # unread formulas make the run unreadable (exit 2)

    @property
    def exit_code(self) -> ExitCode:
        """2 if anything was unreadable (an unread formula of a note only when strict), else 1
        if any rule is not as expected, else 0."""
        if self.errors or any(not v.readable for v in self.verdicts):
            return ExitCode.UNREADABLE
        if self.strict and self.unread:
            return ExitCode.UNREADABLE
        if any(not v.as_expected for v in self.verdicts):
            return ExitCode.UNEXPECTED
        return ExitCode.OK


@dataclass(frozen=True)
class Options:
    """How thoroughly to check; the defaults are what `gradcheck verify` uses."""

    seed: int = 0
    examples: int = 60
    max_numeric_size: int = 4
    max_symbolic_size: int = 3
    symbolic_timeout: float = 20.0
    rtol: float = 1e-7
    atol: float = 1e-9
    jobs: int = 1  # rules checked in parallel processes; results do not depend on it
    diagnose: bool = True  # explain failing rules (costs a few checks of repaired claims)
    # sizes the numeric check draws at, e.g. (("n", 1024),); a dimension not named is drawn
    numeric_sizes: tuple[tuple[str, int], ...] = ()
