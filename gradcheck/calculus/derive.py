"""Derive a rule's derivative in closed form, and compare a claim with it in matrix form."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

from ..assumptions import Canonical, canonical_uses
from ..lang.ast import Node
from ..model import Kind, Layout
from ..problem import Problem
from .canon import AtomKind, Expr, Scalar, ScalarKind, Term, Unsupported, zero
from .differential import differential
from .extract import gradient, jacobian
from .human import to_ast
from .lower import Context, lower


@dataclass(frozen=True)
class Derivation:
    """The derivative of a problem's f, canonical (`expr`) and as a person would write it."""

    kind: Kind
    layout: Layout
    wrt: str
    expr: Expr
    ast: Node
    sized_ast: Node  # identities written eye(n), for code that needs every size


def _d(problem: Problem, node: Node, ctx: Context) -> Expr:
    d = differential(node, problem.wrt)
    if d is None:
        f = lower(node, ctx)
        return zero(f.rows, f.cols)
    return lower(d, ctx)


def sums_to_one(e: Expr, problem: Problem) -> Expr:
    """𝟏ᵀy = 1 for a probability vector y."""
    names = {
        n for n, a in problem.assumptions.items() if Canonical.SUMS_TO_ONE in canonical_uses(a)
    }
    if not names:
        return e
    items: dict[Term, Fraction] = defaultdict(Fraction)
    for (scalars, chain), coef in e.terms:
        kept = tuple((s, p) for s, p in scalars if not _is_total_of(s, names))
        items[(kept, chain)] += coef
    return Expr.of(items, e.rows, e.cols)


def _is_total_of(s: Scalar, names: set[str]) -> bool:
    chain = s.payload if s.kind is ScalarKind.CHAIN else ()
    return (
        len(chain) == 2
        and chain[0].kind is AtomKind.ONES
        and chain[1].kind is AtomKind.SYM
        and chain[1].payload[0] in names
    )


def derive_expr(problem: Problem) -> Expr:
    """The derivative the claim must equal, in canonical form; raises Unsupported."""
    ctx = Context(problem.shapes, problem.assumptions)
    rows, cols = problem.shapes[problem.wrt]
    if rows == 1 and cols == 1 and problem.kind is not Kind.DIFFERENTIAL:
        raise Unsupported("derivatives by a scalar are checked entrywise only")
    df = _d(problem, problem.f, ctx)
    if problem.kind is Kind.DIFFERENTIAL:
        return df
    if problem.kind is Kind.GRADIENT:
        g = gradient(df, (rows, cols)) if not df.is_zero else zero(rows, cols)
        return g if problem.layout is Layout.DENOMINATOR else g.T
    if problem.kind is Kind.JACOBIAN:
        if cols != 1:
            raise Unsupported("a Jacobian by a matrix")
        m = jacobian(df, rows)
        return m.T if problem.layout is Layout.DENOMINATOR else m
    g = gradient(df, (rows, cols))
    dg = _d(problem, to_ast(g, sized=True), ctx)
    return jacobian(dg, rows)


def derive(problem: Problem) -> Derivation:
    """The derivative of `problem.f` in the problem's kind and layout."""
    expr = sums_to_one(derive_expr(problem), problem)
    return Derivation(
        problem.kind, problem.layout, problem.wrt, expr, to_ast(expr), to_ast(expr, sized=True)
    )


def matrix_form_equal(problem: Problem) -> tuple[bool | None, str]:
    """(True, "") when the claim's canonical form is the derivative's: proved for all sizes.

    (None, why) when the comparison is inconclusive; never (False, …): different canonical
    forms prove nothing.
    """
    if problem.shape_note:
        return None, "the claim's shape differs"
    try:
        derived = sums_to_one(derive_expr(problem), problem)
        claim = sums_to_one(
            lower(problem.claim, Context(problem.shapes, problem.assumptions)), problem
        )
    except Unsupported as err:
        return None, f"matrix form: {err}"
    if (
        (derived - claim).is_zero
        if (derived.rows, derived.cols) == (claim.rows, claim.cols)
        else False
    ):
        return True, ""
    return None, "matrix forms differ (not a disproof)"
