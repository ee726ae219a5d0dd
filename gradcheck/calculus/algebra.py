"""Arithmetic on canonical expressions: products, Hadamard products, traces, functions.

The plain product and the trace live in canon.py, whose normalisation needs them (‖u‖² = uᵀu).
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

from .canon import (
    Atom,
    AtomKind,
    Expr,
    Scalar,
    ScalarKind,
    Unsupported,
    atom,
    combine,
    identity,
    number,
    product,
    scalar,
    settle,
    zero,
)
from .canon import trace as trace  # re-exported: the op tables name alg.trace


def scale_by(s: Expr, m: Expr) -> Expr:
    """A scalar expression times any expression."""
    return combine(s, m, m.rows, m.cols, lambda sc, ca, cb, c: settle(sc, cb, c))


def matmul(a: Expr, b: Expr) -> Expr:
    """The matrix product; a 1×1 factor scales."""
    if a.is_scalar and not b.is_scalar:
        return scale_by(a, b)
    if b.is_scalar and not a.is_scalar:
        return scale_by(b, a)
    if a.cols != b.rows:
        raise Unsupported(f"product of {a.rows}×{a.cols} and {b.rows}×{b.cols}")
    return product(a, b)


def add(a: Expr, b: Expr) -> Expr:
    """a + b, a scalar added to an array meaning a times 𝟏."""
    if a.is_scalar and not b.is_scalar:
        a = scale_by(a, ones(b.rows, b.cols))
    elif b.is_scalar and not a.is_scalar:
        b = scale_by(b, ones(a.rows, a.cols))
    return a + b


def ones(rows: object, cols: object) -> Expr:
    return atom(Atom(AtomKind.ONES, (), rows, cols))  # type: ignore[arg-type]


def _bases(chain: tuple[Atom, ...], rows: object, cols: object) -> dict[Expr, Fraction]:
    if len(chain) == 1 and chain[0].kind is AtomKind.HAD:
        return dict(chain[0].payload)
    if len(chain) == 1 and chain[0].kind is AtomKind.ONES:
        return {}
    return {Expr.of({((), chain): Fraction(1)}, rows, cols): Fraction(1)}  # type: ignore[arg-type]


def had_atom(bases: dict[Expr, Fraction], rows: object, cols: object) -> tuple[Atom, ...]:
    """The chain of a Hadamard product of bases with exponents (𝟏 when none are left)."""
    kept = {b: e for b, e in bases.items() if e != 0}
    if not kept:
        return (Atom(AtomKind.ONES, (), rows, cols),)  # type: ignore[arg-type]
    if len(kept) == 1:
        ((base, e),) = kept.items()
        if e == 1 and len(base.terms) == 1 and not base.terms[0][0][0] and base.terms[0][1] == 1:
            return base.terms[0][0][1]
    payload = tuple(sorted(kept.items(), key=lambda be: repr(be)))
    return (Atom(AtomKind.HAD, payload, rows, cols),)  # type: ignore[arg-type]


def hadamard(a: Expr, b: Expr) -> Expr:
    """The elementwise product; a 1×1 operand scales."""
    if a.is_scalar or b.is_scalar:
        return matmul(a, b) if a.is_scalar != b.is_scalar else scale_by(a, b)
    rows, cols = a.rows, a.cols

    def join(sc, ca, cb, c):
        bases: dict[Expr, Fraction] = defaultdict(Fraction)
        for chain in (ca, cb):
            for base, e in _bases(chain, rows, cols).items():
                bases[base] += e
        return settle(sc, had_atom(bases, rows, cols), c)

    return combine(a, b, rows, cols, join)


def monomial(e: Expr) -> tuple[Fraction, tuple, tuple] | None:
    return (e.terms[0][1], *e.terms[0][0]) if len(e.terms) == 1 else None


def power(a: Expr, k: Fraction) -> Expr:
    """Elementwise power (a scalar's power when a is 1×1)."""
    if k == 0:
        return number(Fraction(1)) if a.is_scalar else ones(a.rows, a.cols)
    if k == 1:
        return a
    if k.denominator == 1 and 1 < k <= 4:
        result = a
        for _ in range(int(k) - 1):
            result = hadamard(result, a)
        return result
    mono = monomial(a)
    if mono is not None and k.denominator == 1:
        coef, scalars, chain = mono
        powered = tuple((s, e * k) for s, e in scalars)
        if a.is_scalar:
            return Expr.of(settle(powered, (), coef ** int(k)), 1, 1)
        bases = {b: e * k for b, e in _bases(chain, a.rows, a.cols).items()}
        return Expr.of(
            settle(powered, had_atom(bases, a.rows, a.cols), coef ** int(k)), a.rows, a.cols
        )
    if a.is_scalar:
        return scalar(Scalar(ScalarKind.POLY, (a,)), k)
    return atom(Atom(AtomKind.HAD, ((a, k),), a.rows, a.cols))


def divide(a: Expr, b: Expr) -> Expr:
    """a / b: by a scalar, or elementwise."""
    return hadamard(a, power(b, Fraction(-1)))


def function(op: str, a: Expr) -> Expr:
    """An elementwise function (a scalar function when a is 1×1)."""
    if op == "log" and a.is_scalar and len(a.terms) == 1:
        (scalars, chain), coef = a.terms[0]
        if (
            coef == 1
            and not chain
            and len(scalars) == 1
            and scalars[0][0].kind is ScalarKind.DET
            and scalars[0][1] == 1
        ):
            return logdet(scalars[0][0].payload[0])
    if a.is_scalar:
        return scalar(Scalar(ScalarKind.FN, (op, a)))
    return atom(Atom(AtomKind.FN, (op, a), a.rows, a.cols))


def oriented(e: Expr, signs: bool = False) -> Expr:
    """One of e, eᵀ (and −e, −eᵀ) chosen canonically, for functions blind to them."""
    options = [e, e.T] + ([-e, -e.T] if signs else [])
    if signs:  # of ±u, the one whose first term is positive
        options = [o for o in options if o.terms and o.terms[0][1] > 0] or options
    return min(options, key=lambda o: (repr(o).count("t=True"), repr(o)))


def total(a: Expr) -> Expr:
    """sum(M) = 𝟏ᵀ M 𝟏."""
    if a.is_scalar:
        return a
    left = ones(1, a.rows) if a.rows != 1 else number(Fraction(1))
    right = ones(a.cols, 1) if a.cols != 1 else number(Fraction(1))
    return matmul(matmul(left, a), right)


def _square_factors(a: Expr) -> tuple[Atom, ...] | None:
    """The chain of a plain product of square symbols and inverses, else None."""
    mono = monomial(a)
    if mono is None or mono[0] != 1 or mono[1]:
        return None
    chain = mono[2]
    if chain and all(_square_symbol(f) for f in chain):
        return chain
    return None


def _square_symbol(f: Atom) -> bool:
    """A square symbol or its inverse: det, log det and inverses split over these."""
    return f.kind in (AtomKind.SYM, AtomKind.INV) and f.rows == f.cols


def det(a: Expr) -> Expr:
    """det(AB) = det A det B, det Aᵀ = det A, det A⁻¹ = 1 / det A."""
    if a.is_scalar:
        return a
    factors = _square_factors(a)
    if factors is None:
        return scalar(Scalar(ScalarKind.DET, (oriented(a),)))
    result = number(Fraction(1))
    for f in factors:
        base = atom(Atom(AtomKind.SYM, f.payload, f.rows, f.cols, symmetric=f.symmetric))
        exponent = Fraction(-1 if f.kind is AtomKind.INV else 1)
        result = matmul(result, scalar(Scalar(ScalarKind.DET, (base,)), exponent))
    return result


def logdet(a: Expr) -> Expr:
    """log det(AB) = log det A + log det B; log det A⁻¹ = −log det A."""
    factors = _square_factors(a)
    if factors is None:
        return scalar(Scalar(ScalarKind.LOGDET, (oriented(a),)))
    result = number(Fraction(0))
    for f in factors:
        base = atom(Atom(AtomKind.SYM, f.payload, f.rows, f.cols, symmetric=f.symmetric))
        term = scalar(Scalar(ScalarKind.LOGDET, (base,)))
        result = result + (-term if f.kind is AtomKind.INV else term)
    return result


def norm(a: Expr) -> Expr:
    """‖u‖ = ‖−u‖ = ‖uᵀ‖."""
    return scalar(Scalar(ScalarKind.NORM, (oriented(a, signs=True),)))


def inverse(a: Expr) -> Expr:
    """X⁻¹ of a symbol; (AB)⁻¹ = B⁻¹A⁻¹ for square factors; (cA)⁻¹ = A⁻¹ / c."""
    if a.is_scalar:
        return power(a, Fraction(-1))
    mono = monomial(a)
    if mono is not None:
        coef, scalars, chain = mono
        if chain and all(_square_symbol(f) for f in chain):
            flipped = tuple(_invert_atom(f) for f in reversed(chain))
            inv_scalars = tuple((s, -e) for s, e in scalars)
            return Expr.of(settle(inv_scalars, flipped, 1 / coef), a.rows, a.cols)
    return atom(Atom(AtomKind.INVX, (a,), a.rows, a.cols))


def _invert_atom(f: Atom) -> Atom:
    """X ↦ X⁻¹ and X⁻¹ ↦ X; Q⁻¹ = Qᵀ for an orthogonal Q."""
    if f.orthogonal:
        return f.transposed()
    kind = AtomKind.INV if f.kind is AtomKind.SYM else AtomKind.SYM
    return Atom(kind, f.payload, f.rows, f.cols, f.t, f.symmetric)


def diag(a: Expr) -> Expr:
    """diag(v) is diagonal (so symmetric); diag(M) is the vector of M's diagonal."""
    if a.cols == 1 or a.rows == 1:
        v = a if a.cols == 1 else a.T
        result = zero(v.rows, v.rows)
        for (scalars, chain), coef in v.terms:  # diag is linear; diag(𝟏) = I
            s = Expr.of({(scalars, ()): coef}, 1, 1)
            if len(chain) == 1 and chain[0].kind is AtomKind.ONES:
                part = identity(v.rows)
            else:
                vector = Expr.of({((), chain): Fraction(1)}, v.rows, 1)
                part = atom(Atom(AtomKind.DIAG, (vector,), v.rows, v.rows, symmetric=True))
            result = result + scale_by(s, part)
        return result
    return atom(Atom(AtomKind.DG, (oriented(a),), a.rows, 1))


def softmax(a: Expr) -> Expr:
    if a.rows == 1 and a.cols != 1:  # a row: softmax of its column, transposed back
        return softmax(a.T).T
    return atom(Atom(AtomKind.SOFTMAX, (a,), a.rows, a.cols))


def logsumexp(a: Expr) -> Expr:
    return scalar(Scalar(ScalarKind.LSE, (a if a.cols == 1 else a.T,)))


def identity_like(a: Expr) -> Expr:
    return identity(a.rows)
