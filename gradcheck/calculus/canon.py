"""A canonical form for matrix expressions: sums of monomials, scalars in front, then a chain.

Every rewrite here is an identity that holds at every size, so two expressions with the same
canonical form are equal for all sizes. The converse does not hold: different forms prove
nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction
from functools import cached_property
from typing import assert_never

Dim = str | int
ORTHOGONAL = "orthogonal"  # the tag of an orthogonal symbol (QᵀQ = I), in its atoms' payload
CONSTANT = "const"  # the tag of a named number (π) in a 1×1 symbol's payload


class Unsupported(Exception):
    """An expression outside what the canonical form handles."""


class _Kind(Enum):
    # The repr is the value's: canonical order sorts by repr() of nested atoms and scalars,
    # and a kind must sort (and so print formulas) exactly as its name once did.
    def __repr__(self) -> str:
        return repr(self.value)


class AtomKind(_Kind):
    """What a chain factor is; its payload follows from it."""

    SYM = "sym"  # a symbol X: (name, tag)
    DIR = "dir"  # the direction dX: (name, tag)
    INV = "inv"  # X⁻¹ of a symbol: (name, tag)
    ONES = "ones"  # 𝟏 of its shape: ()
    FN = "fn"  # f(M) elementwise: (op, M)
    HAD = "had"  # a ⊙ b ⊙ …: ((base, exponent), …)
    INVX = "invx"  # the inverse of an expression: (M,)
    DIAG = "diag"  # diag(v), a diagonal matrix: (v,)
    DG = "dg"  # the diagonal of a matrix as a vector: (M,)
    SOFTMAX = "softmax"  # (v,)


class ScalarKind(_Kind):
    """What a scalar factor is; its payload follows from it."""

    SYM = "sym"  # a 1×1 symbol or direction: (AtomKind, name), or (CONSTANT, π)
    CHAIN = "chain"  # a 1×1 product: the chain's atoms
    POLY = "poly"  # a power of a scalar sum: (sum,)
    FN = "fn"  # f(s): (op, s)
    DIM = "dim"  # tr(I) = n: (n,)
    TR = "tr"  # a trace of a square chain: the chain's atoms
    DET = "det"  # (M,)
    LOGDET = "logdet"  # (M,)
    NORM = "norm"  # (u,)
    LSE = "lse"  # logsumexp: (v,)


@dataclass(frozen=True)
class Atom:
    """A factor of a matrix product: a symbol, X⁻¹, dX, 𝟏, f(M) elementwise, a ⊙ b, diag(v)…"""

    kind: AtomKind
    payload: tuple
    rows: Dim
    cols: Dim
    t: bool = False
    symmetric: bool = False

    @cached_property
    def key(self) -> str:
        return repr((self.kind, self.payload, self.t, self.rows, self.cols))

    @property
    def orthogonal(self) -> bool:
        """An orthogonal symbol Q (QᵀQ = QQᵀ = I, Q⁻¹ = Qᵀ)."""
        return self.kind is AtomKind.SYM and self.payload[1] == ORTHOGONAL

    def transposed(self) -> Atom:
        if self.symmetric:
            return self
        match self.kind:
            case AtomKind.FN:
                op, arg = self.payload
                return Atom(AtomKind.FN, (op, arg.T), self.cols, self.rows)
            case AtomKind.HAD:
                bases = tuple(sorted(((b.T, e) for b, e in self.payload), key=_pair_key))
                return Atom(AtomKind.HAD, bases, self.cols, self.rows)
            case AtomKind.INVX:
                return Atom(AtomKind.INVX, (self.payload[0].T,), self.cols, self.rows)
            case AtomKind.ONES:
                return Atom(AtomKind.ONES, (), self.cols, self.rows)
            case (
                AtomKind.SYM
                | AtomKind.DIR
                | AtomKind.INV
                | AtomKind.DIAG
                | AtomKind.DG
                | AtomKind.SOFTMAX
            ):
                return Atom(self.kind, self.payload, self.cols, self.rows, not self.t)
            case _:
                assert_never(self.kind)


@dataclass(frozen=True)
class Scalar:
    """A scalar factor: λ, aᵀx (a 1×1 chain), tr(…), det(…), ‖…‖, f(s), a polynomial…"""

    kind: ScalarKind
    payload: tuple

    @cached_property
    def key(self) -> str:
        return repr((self.kind, self.payload))


Scalars = tuple[tuple[Scalar, Fraction], ...]
Chain = tuple[Atom, ...]
Term = tuple[Scalars, Chain]


def _pair_key(pair: tuple[object, object]) -> str:
    return repr(pair)


@dataclass(frozen=True)
class Expr:
    """Σ coef · Π scalarᵉ · chain, with the expression's shape."""

    terms: tuple[tuple[Term, Fraction], ...]
    rows: Dim
    cols: Dim
    symmetric_names: frozenset[str] = field(default=frozenset(), compare=False)

    @staticmethod
    def of(items: dict[Term, Fraction], rows: Dim, cols: Dim) -> Expr:
        kept = [(t, c) for t, c in items.items() if c != 0]
        return Expr(tuple(sorted(kept, key=lambda tc: repr(tc[0]))), rows, cols)

    @property
    def is_scalar(self) -> bool:
        return self.rows == 1 and self.cols == 1

    @property
    def is_zero(self) -> bool:
        return not self.terms

    @property
    def T(self) -> Expr:
        items: dict[Term, Fraction] = defaultdict(Fraction)
        for (scalars, chain), coef in self.terms:
            for term, c in settle(scalars, transpose_chain(chain), coef).items():
                items[term] += c
        return Expr.of(items, self.cols, self.rows)

    def __add__(self, other: Expr) -> Expr:
        items: dict[Term, Fraction] = defaultdict(Fraction)
        for term, coef in self.terms + other.terms:
            items[term] += coef
        rows, cols = (self.rows, self.cols) if not self.is_zero else (other.rows, other.cols)
        return Expr.of(items, rows, cols)

    def __neg__(self) -> Expr:
        return self.scaled(Fraction(-1))

    def __sub__(self, other: Expr) -> Expr:
        return self + (-other)

    def scaled(self, factor: Fraction) -> Expr:
        return Expr.of({t: c * factor for t, c in self.terms}, self.rows, self.cols)


def zero(rows: Dim, cols: Dim) -> Expr:
    return Expr((), rows, cols)


def number(value: Fraction) -> Expr:
    return Expr.of({((), ()): value}, 1, 1)


def identity(n: Dim) -> Expr:
    """The empty chain: I in a matrix context (1 when n = 1)."""
    return Expr.of({((), ()): Fraction(1)}, n, n)


def atom(a: Atom) -> Expr:
    return Expr.of({((), (a,)): Fraction(1)}, a.rows, a.cols)


def scalar(s: Scalar, power: Fraction = Fraction(1)) -> Expr:
    return Expr.of(settle(((s, power),), (), Fraction(1)), 1, 1)


def transpose_chain(chain: Chain) -> Chain:
    return tuple(a.transposed() for a in reversed(chain))


def chain_key(chain: Chain) -> str:
    return "|".join(a.key for a in chain)


# ----- normalising one monomial -----


def settle(scalars: Scalars, chain: Chain, coef: Fraction) -> dict[Term, Fraction]:
    """Normalise a monomial: cancel X X⁻¹, pull 1×1 sub-chains out as scalars, expand powers."""
    chain = _cancel(chain)
    chain, pulled = _pull_scalars(chain)
    merged: dict[Scalar, Fraction] = defaultdict(Fraction)
    for s, e in (*scalars, *pulled):
        merged[s] += e
    result: dict[Term, Fraction] = {((), chain): coef}
    for s, e in sorted(merged.items(), key=lambda se: se[0].key):
        if e == 0:
            continue
        factor = _expand_power(s, e)
        result = _times(result, factor)
    return result


def _expand_power(s: Scalar, e: Fraction) -> dict[Term, Fraction]:
    """sᵉ as monomials: even powers of a norm and whole powers of a polynomial multiply out."""
    if s.kind is ScalarKind.NORM and e.denominator == 1 and e > 0 and e % 2 == 0:
        inner = inner_product(s.payload[0])
        return _power_terms(inner, int(e) // 2)
    if s.kind is ScalarKind.POLY and e.denominator == 1 and e > 0:
        return _power_terms(s.payload[0], int(e))
    return {(((s, e),), ()): Fraction(1)}


def _power_terms(base: Expr, k: int) -> dict[Term, Fraction]:
    result: dict[Term, Fraction] = {((), ()): Fraction(1)}
    for _ in range(k):
        result = _times(result, dict(base.terms))
    return result


def _times(a: dict[Term, Fraction], b: dict[Term, Fraction]) -> dict[Term, Fraction]:
    """The product of two sums of monomials where b's monomials are scalars."""
    out: dict[Term, Fraction] = defaultdict(Fraction)
    for (sa, ca), coef_a in a.items():
        for (sb, cb), coef_b in b.items():
            merged: dict[Scalar, Fraction] = defaultdict(Fraction)
            for s, e in (*sa, *sb):
                merged[s] += e
            scalars = tuple(
                sorted(((s, e) for s, e in merged.items() if e != 0), key=lambda se: se[0].key)
            )
            out[(scalars, ca + cb)] += coef_a * coef_b
    return out


def _cancel(chain: Chain) -> Chain:
    """X X⁻¹ = X⁻¹ X = I, Xᵀ X⁻ᵀ = I, QᵀQ = QQᵀ = I for orthogonal Q, and 𝟏𝟏ᵀ is 𝟏."""
    out: list[Atom] = []
    for a in chain:
        if out and _inverse_pair(out[-1], a):
            out.pop()
        elif out and _ones(out[-1]) and _ones(a) and out[-1].cols == 1 and a.rows == 1:
            out[-1] = Atom(AtomKind.ONES, (), out[-1].rows, a.cols)
        else:
            out.append(a)
    return tuple(out)


def _ones(a: Atom) -> bool:
    return a.kind is AtomKind.ONES


def _inverse_pair(a: Atom, b: Atom) -> bool:
    if a.payload != b.payload:
        return False
    if a.kind is b.kind is AtomKind.SYM:
        return a.orthogonal and a.t != b.t
    return a.t == b.t and {a.kind, b.kind} == {AtomKind.SYM, AtomKind.INV}


def _pull_scalars(chain: Chain) -> tuple[Chain, list[tuple[Scalar, Fraction]]]:
    """A sub-chain from a 1-row factor to a 1-column factor is a scalar (xᵀA x, aᵀx)."""
    out: list[Atom] = []
    pulled: list[tuple[Scalar, Fraction]] = []
    i = 0
    while i < len(chain):
        if chain[i].rows == 1:
            j = next((k for k in range(i, len(chain)) if chain[k].cols == 1), None)
            if j is not None and (j > i or chain[i].cols == 1):
                pulled.append((chain_scalar(chain[i : j + 1]), Fraction(1)))
                i = j + 1
                continue
        out.append(chain[i])
        i += 1
    return tuple(out), pulled


def chain_scalar(chain: Chain) -> Scalar:
    """A 1×1 chain in its canonical orientation (aᵀx = xᵀa)."""
    chain = _special_sums(chain)
    flipped = transpose_chain(chain)
    best = min(chain, flipped, key=chain_key)
    return Scalar(ScalarKind.CHAIN, best)


def _special_sums(chain: Chain) -> Chain:
    """𝟏ᵀ(a ⊙ b) = aᵀb for vectors: the form a gradient is read from."""
    if len(chain) == 2 and _ones(chain[0]) and chain[1].kind is AtomKind.HAD:
        bases = chain[1].payload
        if len(bases) == 2 and all(e == 1 for _, e in bases) and chain[1].cols == 1:
            a, b = bases[0][0], bases[1][0]
            if len(a.terms) == 1 and len(b.terms) == 1:
                (sa, ca), coef_a = a.terms[0]
                (sb, cb), coef_b = b.terms[0]
                if not sa and not sb and coef_a == coef_b == 1:
                    return transpose_chain(ca) + cb
    return chain


def inner_product(u: Expr) -> Expr:
    """uᵀu for a vector, tr(uᵀu) for a matrix: the square of ‖u‖."""
    square = product(u.T, u)
    return square if square.is_scalar else trace(square)


# ----- the product and the trace, which normalising a norm's square needs -----

Join = Callable[[Scalars, Chain, Chain, Fraction], dict[Term, Fraction]]


def combine(a: Expr, b: Expr, rows: Dim, cols: Dim, join: Join) -> Expr:
    """Σ over every pair of monomials of a and b of join(scalars, chain a, chain b, coef)."""
    items: dict[Term, Fraction] = defaultdict(Fraction)
    for (sa, ca), coef_a in a.terms:
        for (sb, cb), coef_b in b.terms:
            for term, c in join(sa + sb, ca, cb, coef_a * coef_b).items():
                items[term] += c
    return Expr.of(items, rows, cols)


def product(a: Expr, b: Expr) -> Expr:
    """The matrix product of a (m×k) and b (k×n), monomial by monomial."""
    return combine(a, b, a.rows, b.cols, lambda sc, ca, cb, c: settle(sc, ca + cb, c))


def trace(a: Expr) -> Expr:
    """tr, linear and cyclic: tr(ABC) = tr(BCA) = tr((ABC)ᵀ); tr(xyᵀ) = yᵀx."""
    items: dict[Term, Fraction] = defaultdict(Fraction)
    for (scalars, chain), coef in a.terms:
        if not chain:
            extra = ((Scalar(ScalarKind.DIM, (a.rows,)), Fraction(1)),) if a.rows != 1 else ()
            for term, c in settle(scalars + extra, (), coef).items():
                items[term] += c
            continue
        rotations = [chain[i:] + chain[:i] for i in range(len(chain))]
        rotations += [transpose_chain(r) for r in rotations]
        as_scalar = [r for r in rotations if r[0].rows == 1 and r[-1].cols == 1]
        if as_scalar:
            terms = settle(scalars, min(as_scalar, key=chain_key), coef)
        else:
            best = min(rotations, key=chain_key)
            terms = settle((*scalars, (Scalar(ScalarKind.TR, best), Fraction(1))), (), coef)
        for term, c in terms.items():
            items[term] += c
    return Expr.of(items, 1, 1)
