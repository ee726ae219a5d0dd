"""What a wrong gradient is the gradient of: (A + Aᵀ)x, claimed for ∇_x(Ax), is ∇_x(xᵀAx).

A failing claim c by x is tried against a short list of scalar functions g built from the
claim's own symbols (xᵀMx, xᵀMx/2, ‖Mx‖², ‖Mx‖²/2, xᵀx, xᵀx/2, aᵀx; for a matrix X:
‖X‖_F², tr(MᵀX), tr(XᵀMX)). A candidate counts
only when the matrix-calculus engine proves ∇_x g = c for all sizes (equal canonical forms),
each typed by `Problem.with_function` (the rule's claim and assumptions, shapes inferred).
No text is read: the candidates are ASTs (`readback.as_parsed`).
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

from .errors import RuleError
from .lang.ast import Call, Node, Num, Sym, symbols_in
from .model import Kind
from .problem import Problem

_TWO = Num(Fraction(2))
_MAX_CANDIDATES = 40


def _t(node: Node) -> Node:
    return Call("T", (node,))


def _mm(*factors: Node) -> Node:
    product = factors[0]
    for factor in factors[1:]:
        product = Call("matmul", (product, factor))
    return product


def _half(node: Node) -> Node:
    return Call("div", (node, _TWO))


def _candidates(problem: Problem) -> Iterator[Node]:
    x = Sym(problem.wrt)
    rows, cols = problem.shapes[problem.wrt]
    others = [n for n in symbols_in(problem.claim) if n != problem.wrt]
    matrices = [n for n in others if n[:1].isupper()]
    vectors = [n for n in others if n[:1].islower() and n.isascii()]
    if cols == 1:  # a vector x
        for name in matrices:
            m = Sym(name)
            quadratic = _mm(_t(x), m, x)
            squared = _mm(_t(x), _t(m), m, x)
            yield from (quadratic, _half(quadratic), squared, _half(squared))
        yield from (_mm(_t(x), x), _half(_mm(_t(x), x)))
        norm = Call("sup", (Call("norm", (x,)), _TWO))  # ‖x‖²
        yield from (norm, _half(norm))
        for name in vectors:
            yield _mm(_t(Sym(name)), x)
    elif rows != 1:  # a matrix X
        squared = Call("sup", (Call("fro", (x,)), _TWO))  # ‖X‖_F²
        yield from (squared, _half(squared))
        for name in matrices:
            m = Sym(name)
            yield Call("tr", (_mm(_t(m), x),))
            yield Call("tr", (_mm(_t(x), m, x),))


def gradient_of(problem: Problem) -> Node | None:
    """A scalar function whose gradient by the problem's variable is its claim, proved for
    all sizes; None when no candidate is (or the claim is not shaped like the variable)."""
    from .calculus.derive import matrix_form_equal
    from .readback import as_parsed

    if problem.kind not in (Kind.GRADIENT, Kind.JACOBIAN):
        return None
    for count, g in enumerate(_candidates(problem)):
        if count >= _MAX_CANDIDATES:
            break
        try:
            candidate = problem.with_function(as_parsed(g))
            proved, _ = matrix_form_equal(candidate)
        except (RuleError, ValueError, ArithmeticError, RecursionError):
            continue
        if candidate.kind is Kind.GRADIENT and proved and candidate.f != problem.f:
            return g  # as built: the typed f spells ‖X‖_F² as a power
    return None
