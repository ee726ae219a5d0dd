"""Canonical form → the AST a person would write: scalars in front, common factors pulled out."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import assert_never

from ..lang.ast import Call, Const, Dir, Node, Num, Sym
from .canon import CONSTANT, Atom, AtomKind, Expr, Scalar, ScalarKind, Scalars

Monomial = tuple[Fraction, Scalars, tuple[Atom, ...]]


def c(op: str, *args: Node) -> Call:
    return Call(op, tuple(args))


def _product(nodes: list[Node], op: str = "matmul") -> Node | None:
    result: Node | None = None
    for node in nodes:
        result = node if result is None else c(op, result, node)
    return result


def _elementwise_power(node: Node, e: Fraction) -> Node:
    """x ⊙ x for a square, x ** k otherwise."""
    return c("mul", node, node) if e == 2 else _power_ast(node, e, "pow")


def _power_ast(node: Node, e: Fraction, op: str) -> Node:
    if e == 1:
        return node
    if e == -1:
        return c("div", Num(Fraction(1)), node)
    if op == "sup" and e.denominator != 1:
        op = "pow"
    return c(op, node, Num(e))


def _transposed_if(t: bool, node: Node) -> Node:
    return c("T", node) if t else node


_SCALAR_CALLS = MappingProxyType(
    {
        ScalarKind.DET: "det",
        ScalarKind.LOGDET: "logdet",
        ScalarKind.NORM: "norm",
        ScalarKind.LSE: "logsumexp",
    }
)


@dataclass(frozen=True)
class _Printer:
    """Canonical form → AST; `sized` writes identities as eye(n), for ASTs lowered again."""

    sized: bool

    def identity(self, n: object) -> Node:
        return Const("I", (n,) if self.sized else ())  # type: ignore[arg-type]

    def atom(self, a: Atom) -> Node:
        """One chain factor."""
        match a.kind:
            case AtomKind.SYM:
                return _transposed_if(a.t, Sym(a.payload[0]))
            case AtomKind.DIR:
                return _transposed_if(a.t, Dir(a.payload[0]))
            case AtomKind.INV:
                return _transposed_if(a.t, c("inv", Sym(a.payload[0])))
            case AtomKind.ONES:
                if a.cols == 1:
                    return Const("ones", (a.rows,))
                if a.rows == 1:
                    return c("T", Const("ones", (a.cols,)))
                return Const("ones", (a.rows, a.cols))
            case AtomKind.FN:
                return c(a.payload[0], self.expr(a.payload[1]))
            case AtomKind.DIAG | AtomKind.DG:
                return _transposed_if(a.t, c("diag", self.expr(a.payload[0])))
            case AtomKind.SOFTMAX:
                return _transposed_if(a.t, c("softmax", self.expr(a.payload[0])))
            case AtomKind.INVX:
                return c("inv", self.expr(a.payload[0]))
            case AtomKind.HAD:
                factors = [_elementwise_power(self.expr(b), e) for b, e in a.payload]
                result = _product(factors, "mul")
                assert result is not None
                return result
            case _:
                assert_never(a.kind)

    def chain(self, chain: tuple[Atom, ...]) -> Node:
        result = _product([self.atom(a) for a in chain])
        assert result is not None
        return result

    def scalar(self, s: Scalar) -> Node:
        """One scalar factor."""
        match s.kind:
            case ScalarKind.SYM:
                tag, name = s.payload
                if tag == CONSTANT:
                    return Const(name)
                return Dir(name) if tag is AtomKind.DIR else Sym(name)
            case ScalarKind.CHAIN:
                return self.chain(s.payload)
            case ScalarKind.TR:
                return c("tr", self.chain(s.payload))
            case ScalarKind.FN:
                return c(s.payload[0], self.expr(s.payload[1]))
            case ScalarKind.POLY:
                return self.expr(s.payload[0])
            case ScalarKind.DIM:  # tr(I) = n
                return c("tr", self.identity(s.payload[0]))
            case ScalarKind.NORM if s.payload[0].cols != 1 and s.payload[0].rows != 1:
                return c("fro", self.expr(s.payload[0]))
            case ScalarKind.DET | ScalarKind.LOGDET | ScalarKind.NORM | ScalarKind.LSE:
                return c(_SCALAR_CALLS[s.kind], self.expr(s.payload[0]))
            case _:
                assert_never(s.kind)

    def expr(self, e: Expr) -> Node:
        """The expression in human form: Ax + Aᵀx → (A + Aᵀ)x, 2AᵀAx − 2Aᵀb → 2Aᵀ(Ax − b)."""
        monomials = _monomials(e)
        if not monomials:
            return Num(Fraction(0)) if e.is_scalar else Const("zeros", (e.rows, e.cols))
        return self.factored(monomials, e)

    def term(self, m: Monomial, e: Expr) -> Node:
        """coef · scalars · chain, with negative powers as a denominator (a bare I where the
        chain is empty in the matrix e)."""
        coef, scalars, chain = m
        body = _product([self.atom(a) for a in chain])
        if body is None and (e.rows, e.cols) != (1, 1):
            body = self.identity(e.rows)
        return self.around(coef, scalars, body)

    def factored(self, monomials: list[Monomial], e: Expr) -> Node:
        if len(monomials) == 1:
            return self.term(monomials[0], e)
        coef = _common_coefficient([m[0] for m in monomials])
        common = _common_scalars([m[1] for m in monomials])
        prefix = _common_affix([m[2] for m in monomials], from_left=True)
        rest_chains = [m[2][len(prefix) :] for m in monomials]
        suffix = _common_affix(rest_chains, from_left=False)
        if coef == 1 and not common and not prefix and not suffix:
            return self.summed(monomials, e)
        inner = [
            (m[0] / coef, _without(m[1], common), m[2][len(prefix) : len(m[2]) - len(suffix)])
            for m in monomials
        ]
        body = self.summed(inner, e)
        chain = [self.atom(a) for a in prefix] + [body] + [self.atom(a) for a in suffix]
        product = _product(chain)
        assert product is not None
        return self.around(coef, common, product)

    def around(self, coef: Fraction, scalars: Scalars, body: Node | None) -> Node:
        """coef · scalars · body, with negative powers as a denominator (a bare number where
        there is nothing else)."""
        up = [_power_ast(self.scalar(s), p, "sup") for s, p in scalars if p > 0]
        down = [_power_ast(self.scalar(s), -p, "sup") for s, p in scalars if p < 0]
        numerator = _product([*up, *([body] if body is not None else [])], "scale")
        if abs(coef) != 1 or numerator is None:
            lead = Num(abs(coef))
            numerator = lead if numerator is None else c("scale", lead, numerator)
        if down:
            denominator = _product(down, "scale")
            assert denominator is not None
            numerator = c("div", numerator, denominator)
        return c("neg", numerator) if coef < 0 else numerator

    def summed(self, monomials: list[Monomial], e: Expr) -> Node:
        """A sum, grouping terms that share a last (or first) factor: Ax + Aᵀx → (A + Aᵀ)x."""
        groups = max((_groups(monomials, side) for side in (-1, 0)), key=_gain)
        if _gain(groups) == 0 or len(groups) == 1:
            nodes = [self.term(m, e) for m in monomials]
        else:
            nodes = [self.factored(g, e) if len(g) > 1 else self.term(g[0], e) for g in groups]
        nodes.sort(key=lambda node: isinstance(node, Call) and node.op == "neg")
        result = nodes[0]
        for node in nodes[1:]:
            if isinstance(node, Call) and node.op == "neg":
                result = c("sub", result, node.args[0])
            else:
                result = c("add", result, node)
        return result


def to_ast(e: Expr, sized: bool = False) -> Node:
    """The expression in human form: Ax + Aᵀx → (A + Aᵀ)x, 2AᵀAx − 2Aᵀb → 2Aᵀ(Ax − b).

    `sized` writes identities as eye(n), for ASTs that are lowered again.
    """
    return _Printer(sized).expr(e)


def _monomials(e: Expr) -> list[Monomial]:
    return [(coef, scalars, chain) for (scalars, chain), coef in e.terms]


def _groups(monomials: list[Monomial], side: int) -> list[list[Monomial]]:
    """Monomials grouped by their last (side −1) or first (side 0) chain factor."""
    groups: dict[str, list[Monomial]] = {}
    for m in monomials:
        groups.setdefault(m[2][side].key if m[2] else "", []).append(m)
    return list(groups.values())


def _gain(groups: list[list[Monomial]]) -> int:
    """How many groups have a common factor to pull out."""
    return sum(
        1
        for g in groups
        if len(g) > 1
        and (_common_affix([m[2] for m in g], True) or _common_affix([m[2] for m in g], False))
    )


def _common_coefficient(coefs: list[Fraction]) -> Fraction:
    if all(x.denominator == 1 for x in coefs):
        g = math.gcd(*(int(x) for x in coefs))
        sign = -1 if all(x < 0 for x in coefs) else 1
        return Fraction(sign * g) if g else Fraction(1)
    return Fraction(-1) if all(x < 0 for x in coefs) else Fraction(1)


def _common_scalars(lists: list[Scalars]) -> Scalars:
    first = dict(lists[0])
    common = []
    for s, e in first.items():
        found = [dict(other).get(s) for other in lists[1:]]
        powers = [p for p in found if p is not None and (p > 0) == (e > 0)]
        if len(powers) == len(found):
            common.append((s, min([e, *powers], key=abs)))
    return tuple(common)


def _without(scalars: Scalars, common: Scalars) -> Scalars:
    taken = dict(common)
    out = []
    for s, e in scalars:
        left = e - taken.get(s, Fraction(0))
        if left != 0:
            out.append((s, left))
    return tuple(out)


def _common_affix(chains: list[tuple[Atom, ...]], from_left: bool) -> tuple[Atom, ...]:
    """The longest run of factors every chain starts (or ends) with, leaving none empty."""
    shortest = min(len(ch) for ch in chains)
    best: tuple[Atom, ...] = ()
    for size in range(1, shortest + 1):
        parts = [ch[:size] if from_left else ch[len(ch) - size :] for ch in chains]
        if any(p != parts[0] for p in parts):
            break
        rests = [ch[size:] if from_left else ch[: len(ch) - size] for ch in chains]
        if any(not r for r in rests):
            break  # an empty rest would stand for I; keep such sums as they are
        best = parts[0]
    return best
