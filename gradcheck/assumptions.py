"""The assumption table: every assumption on a symbol, one row each.

A row holds everything about its assumption: what it implies, the shape it needs, how each
backend builds a value that satisfies it, which identity the canonical form may use, and how a
diagnosis proposes it. Builders are named by strings, registered under that name in the
backend (`strategies.CONSTRUCTIONS` / `REFINEMENTS` / `DIRECTIONS`, `symbolic.CONSTRAINTS`),
so that this module imports nothing (`gradcheck --help` stays instant). Adding an assumption
is one row here plus its builders there.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType


class SymbolShape(Enum):
    """What a symbol must be for an assumption to make sense."""

    SQUARE = "square matrix"
    VECTOR = "vector"
    ANY = "any"


class Canonical(Enum):
    """The identity the canonical form (calculus/) may use for a symbol so assumed."""

    NONE = ""
    SYMMETRIC = "Sᵀ = S"
    ORTHOGONAL = "QᵀQ = QQᵀ = I"
    SUMS_TO_ONE = "𝟏ᵀy = 1"


@dataclass(frozen=True)
class Repair:
    """How a diagnosis proposes the assumption for a symbol that lacks it."""

    shape: SymbolShape  # proposed for a square matrix (one f alone makes square) or for a vector
    order: int  # proposals are checked in this order; the first that holds names the mistake
    sentence: str  # the diagnosis, with {name} for the symbol


@dataclass(frozen=True)
class Assumption:
    """One assumption a rule may state about a symbol (or a function's domain implies)."""

    name: str
    shape: SymbolShape
    implies: tuple[str, ...]  # assumptions that hold whenever this one does
    # Where two assumptions on one symbol would build it differently, the stronger wins: a
    # value that is fixed whole (orthogonal) over a fixed pattern (diagonal) over a refined
    # draw (positive, symmetric).
    strength: int
    numeric: str  # its value builder in strategies.py (CONSTRUCTIONS or REFINEMENTS)
    direction: str  # its builder of a direction dX inside the set; "" where dX is free
    symbolic: str  # its substitution in symbolic.CONSTRAINTS; "" where generic symbols do
    positive_symbols: bool  # sympy's entries are positive symbols (log x, √x simplify)
    canonical: Canonical
    repair: Repair | None  # None: a diagnosis never proposes it
    declarable: bool = True  # False: only a function's domain implies it (log det X)


def _rows(*rows: Assumption) -> Mapping[str, Assumption]:
    return MappingProxyType({row.name: row for row in rows})


# The order of the rows is the order in which messages list the known assumptions.
TABLE: Mapping[str, Assumption] = _rows(
    Assumption(
        "symmetric",
        SymbolShape.SQUARE,
        implies=(),
        strength=3,
        numeric="symmetric",
        direction="symmetric",
        symbolic="symmetric",
        positive_symbols=False,
        canonical=Canonical.SYMMETRIC,
        repair=Repair(SymbolShape.SQUARE, 1, "the claim holds only if {name} is symmetric"),
    ),
    Assumption(
        "spd",
        SymbolShape.SQUARE,
        implies=("symmetric", "posdet"),
        strength=7,
        numeric="spd",
        direction="",  # a symmetric direction, from `symmetric`
        symbolic="",  # symmetric entries, from `symmetric`
        positive_symbols=False,
        canonical=Canonical.NONE,
        repair=Repair(SymbolShape.SQUARE, 4, "the claim holds only if {name} is an spd matrix"),
    ),
    Assumption(
        "invertible",
        SymbolShape.SQUARE,
        implies=(),
        strength=6,
        numeric="invertible",
        direction="",
        symbolic="",  # generic symbols: det X is a nonzero polynomial
        positive_symbols=False,
        canonical=Canonical.NONE,
        repair=None,
    ),
    Assumption(
        "orthogonal",
        SymbolShape.SQUARE,
        implies=("invertible",),
        strength=9,
        numeric="orthogonal",
        direction="orthogonal",
        symbolic="orthogonal",
        positive_symbols=False,
        canonical=Canonical.ORTHOGONAL,
        repair=Repair(
            SymbolShape.SQUARE, 2, "the claim holds only if {name} is an orthogonal matrix"
        ),
    ),
    Assumption(
        "diagonal",
        SymbolShape.SQUARE,
        implies=("symmetric",),
        strength=8,
        numeric="diagonal",
        direction="diagonal",
        symbolic="diagonal",
        positive_symbols=False,
        canonical=Canonical.NONE,  # Dᵀ = D, from `symmetric`
        repair=Repair(SymbolShape.SQUARE, 3, "the claim holds only if {name} is a diagonal matrix"),
    ),
    Assumption(
        "positive",
        SymbolShape.ANY,
        implies=(),
        strength=4,
        numeric="positive",
        direction="",
        symbolic="",
        positive_symbols=True,
        canonical=Canonical.NONE,
        repair=Repair(SymbolShape.VECTOR, 2, "the claim holds only if {name} is positive"),
    ),
    Assumption(
        "probability",
        SymbolShape.VECTOR,
        implies=("positive",),
        # A vector meets the square structures only at size 1, where their directions win.
        strength=1,
        numeric="probability",
        direction="probability",
        symbolic="probability",
        positive_symbols=False,  # positive symbols, from `positive`
        canonical=Canonical.SUMS_TO_ONE,
        repair=Repair(
            SymbolShape.VECTOR, 1, "the claim holds only if {name} is a probability vector"
        ),
    ),
    Assumption(
        "nonzero",
        SymbolShape.ANY,
        implies=(),
        strength=2,
        numeric="nonzero",
        direction="",
        symbolic="",  # generic symbols are not all 0
        positive_symbols=False,
        canonical=Canonical.NONE,
        repair=None,
    ),
    Assumption(
        "posdet",
        SymbolShape.SQUARE,
        implies=("invertible",),
        strength=5,
        numeric="invertible",  # an invertible matrix, its determinant's sign fixed
        direction="",
        symbolic="",  # generic symbols; log det is exact wherever det X > 0
        positive_symbols=False,
        canonical=Canonical.NONE,
        repair=None,
        declarable=False,
    ),
)

DECLARABLE: tuple[str, ...] = tuple(name for name, row in TABLE.items() if row.declarable)


def closure(names: Iterable[str]) -> frozenset[str]:
    """The known names among `names` and every assumption they imply."""
    found: set[str] = set()
    todo = [n for n in names if n in TABLE]
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(TABLE[name].implies)
    return frozenset(found)


def strongest_first(names: Iterable[str]) -> tuple[Assumption, ...]:
    """The rows of `names` and of what they imply, the strongest structure first."""
    return _strongest_first(frozenset(names))


@functools.lru_cache(maxsize=1024)  # asked for every symbol of every sample drawn
def _strongest_first(names: frozenset[str]) -> tuple[Assumption, ...]:
    return tuple(sorted((TABLE[n] for n in closure(names)), key=lambda row: -row.strength))


def canonical_uses(names: Iterable[str]) -> frozenset[Canonical]:
    """The identities the canonical form may use for a symbol assumed `names`."""
    return frozenset(row.canonical for row in strongest_first(names)) - {Canonical.NONE}


def proposals(shape: SymbolShape) -> tuple[str, ...]:
    """The assumptions a diagnosis proposes for a symbol of `shape`, in the order it tries them."""
    proposed = sorted(
        (row.repair.order, name)
        for name, row in TABLE.items()
        if row.repair is not None and row.repair.shape is shape
    )
    return tuple(name for _, name in proposed)
