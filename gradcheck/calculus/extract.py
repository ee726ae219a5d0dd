"""Reading derivatives off a differential: df = tr(Gᵀ dX) gives G; df = M dx gives M."""

from __future__ import annotations

from fractions import Fraction
from typing import assert_never

from . import algebra as alg
from .canon import Atom, AtomKind, Expr, Scalar, ScalarKind, Unsupported, identity, number, zero


def _has_dir(thing: object) -> bool:
    """True when dX occurs anywhere inside an atom, scalar or expression."""
    if isinstance(thing, Atom):
        return thing.kind is AtomKind.DIR or _has_dir(thing.payload)
    if isinstance(thing, Scalar):
        return _has_dir(thing.payload)
    if isinstance(thing, Expr):
        return any(_has_dir(s) for (scalars, chain), _ in thing.terms for s, _ in scalars) or any(
            _has_dir(a) for (scalars, chain), _ in thing.terms for a in chain
        )
    if isinstance(thing, tuple):
        return any(_has_dir(x) for x in thing)
    return False


def _chain_expr(chain: tuple[Atom, ...], rows: object, cols: object) -> Expr:
    if not chain:
        return identity(rows)  # type: ignore[arg-type]
    return Expr.of({((), chain): Fraction(1)}, chain[0].rows, chain[-1].cols)


def _split(scalars: tuple[tuple[Scalar, Fraction], ...]) -> tuple[Scalar | None, Expr]:
    """The one scalar factor holding dX (it must appear to the first power) and the rest."""
    holder, rest = None, number(Fraction(1))
    for s, e in scalars:
        if _has_dir(s):
            if holder is not None or e != 1:
                raise Unsupported("the differential is not linear in dX")
            holder = s
        else:
            rest = alg.matmul(rest, Expr.of({(((s, e),), ()): Fraction(1)}, 1, 1))
    return holder, rest


def adjoint(e: Expr, w: Expr, wrt: tuple[object, object]) -> Expr:
    """G with ⟨W, e(dX)⟩ = ⟨G, dX⟩ for e linear in dX (Frobenius inner product)."""
    total = zero(*wrt)  # type: ignore[arg-type]
    for (scalars, chain), coef in e.terms:
        holder, rest = _split(scalars)
        rest = rest.scaled(coef)
        if holder is not None:
            if _has_dir(chain):
                raise Unsupported("dX twice in one term")
            inner = alg.total(alg.hadamard(w, _chain_expr(chain, e.rows, e.cols))) if chain else w
            total = total + _adjoint_scalar(holder, alg.matmul(rest, inner), wrt)
            continue
        j = next((k for k, a in enumerate(chain) if _has_dir(a)), None)
        if j is None:
            continue
        left = _chain_expr(chain[:j], e.rows, chain[j].rows).T
        right = _chain_expr(chain[j + 1 :], chain[j].cols, e.cols).T
        cotangent = alg.matmul(alg.matmul(left, alg.matmul(rest, w)), right)
        total = total + _adjoint_atom(chain[j], cotangent, wrt)
    return total


def _adjoint_scalar(s: Scalar, w: Expr, wrt: tuple[object, object]) -> Expr:
    match s.kind:
        case ScalarKind.CHAIN | ScalarKind.TR:
            chain = s.payload
            return adjoint(
                Expr.of({((), chain): Fraction(1)}, chain[0].rows, chain[-1].cols),
                alg.scale_by(w, identity(chain[0].rows)) if s.kind is ScalarKind.TR else w,
                wrt,
            )
        case ScalarKind.POLY:
            return adjoint(s.payload[0], w, wrt)
        case (
            ScalarKind.SYM
            | ScalarKind.FN
            | ScalarKind.DIM
            | ScalarKind.DET
            | ScalarKind.LOGDET
            | ScalarKind.NORM
            | ScalarKind.LSE
        ):
            raise Unsupported(f"dX inside {s.kind.value}")
        case _:
            assert_never(s.kind)


def _adjoint_atom(a: Atom, w: Expr, wrt: tuple[object, object]) -> Expr:
    match a.kind:
        case AtomKind.DIR:
            return w.T if a.t else w
        case AtomKind.HAD:
            holders = [(b, e) for b, e in a.payload if _has_dir(b)]
            if len(holders) != 1 or holders[0][1] != 1:
                raise Unsupported("the differential is not linear in dX")
            others = {b: e for b, e in a.payload if not _has_dir(b)}
            weight = Expr.of(
                {((), alg.had_atom(others, a.rows, a.cols)): Fraction(1)}, a.rows, a.cols
            )
            return adjoint(holders[0][0], alg.hadamard(w, weight), wrt)
        case AtomKind.DIAG | AtomKind.DG:
            return adjoint(a.payload[0], alg.diag(w), wrt)
        case (
            AtomKind.SYM
            | AtomKind.INV
            | AtomKind.ONES
            | AtomKind.FN
            | AtomKind.INVX
            | AtomKind.SOFTMAX
        ):
            raise Unsupported(f"dX inside {a.kind.value}")
        case _:
            assert_never(a.kind)


def gradient(df: Expr, wrt_shape: tuple[object, object]) -> Expr:
    """G (shape of X) with df = tr(Gᵀ dX)."""
    if not df.is_scalar:
        raise Unsupported("a gradient needs a scalar f")
    return adjoint(df, number(Fraction(1)), wrt_shape)


def jacobian(df: Expr, n: object) -> Expr:
    """M (m × n) with df = M dx, for a vector f (m) and a vector x (n)."""
    if df.rows == 1 and df.cols != 1:
        df = df.T
    m = df.rows
    total = zero(m, n)  # type: ignore[arg-type]
    for (scalars, chain), coef in df.terms:
        holder, rest = _split(scalars)
        rest = rest.scaled(coef)
        if holder is not None:
            g = _adjoint_scalar(holder, number(Fraction(1)), (n, 1))
            column = _chain_expr(chain, m, 1) if chain else number(Fraction(1))
            total = total + alg.matmul(alg.matmul(rest, column), g.T)
            continue
        if not chain or not _has_dir(chain[-1]) or any(_has_dir(a) for a in chain[:-1]):
            raise Unsupported("the differential is not of the form M dx")
        left = alg.matmul(rest, _chain_expr(chain[:-1], m, chain[-1].rows))
        last = chain[-1]
        if last.kind is AtomKind.DIR:
            total = total + left
        elif last.kind is AtomKind.HAD:
            others = {b: e for b, e in last.payload if not _has_dir(b)}
            holders = [b for b, e in last.payload if _has_dir(b) and e == 1]
            if len(holders) != 1 or len(holders[0].terms) != 1:
                raise Unsupported("an elementwise product not of the form v ⊙ dx")
            weight = Expr.of({((), alg.had_atom(others, last.rows, 1)): Fraction(1)}, last.rows, 1)
            inner = jacobian(holders[0], n)
            total = total + alg.matmul(alg.matmul(left, alg.diag(weight)), inner)
        else:
            raise Unsupported(f"dx inside {last.kind.value}")
    return total
