"""Canonical form → the AST a person would write: scalars in front, common factors pulled out."""

from __future__ import annotations

import math
from fractions import Fraction

from ..lang.ast import Call, Const, Dir, Node, Num, Sym
from .canon import Atom, Expr, Scalar, Term

Monomial = tuple[Fraction, tuple[tuple[Scalar, Fraction], ...], tuple[Atom, ...]]


def c(op: str, *args: Node) -> Call:
    return Call(op, tuple(args))


def _product(nodes: list[Node], op: str = "matmul") -> Node | None:
    result: Node | None = None
    for node in nodes:
        result = node if result is None else c(op, result, node)
    return result


def atom_ast(a: Atom) -> Node:
    """One chain factor as an AST."""
    if a.kind in ("sym", "dir"):
        node: Node = Sym(a.payload[0]) if a.kind == "sym" else Dir(a.payload[0])
        return c("T", node) if a.t else node
    if a.kind == "inv":
        node = c("inv", Sym(a.payload[0]))
        return c("T", node) if a.t else node
    if a.kind == "ones":
        if a.cols == 1:
            return Const("ones", (a.rows,))
        if a.rows == 1:
            return c("T", Const("ones", (a.cols,)))
        return Const("ones", (a.rows, a.cols))
    if a.kind == "fn":
        return c(a.payload[0], to_ast(a.payload[1]))
    if a.kind in ("diag", "dg"):
        node = c("diag", to_ast(a.payload[0]))
        return c("T", node) if a.t else node
    if a.kind == "softmax":
        node = c("softmax", to_ast(a.payload[0]))
        return c("T", node) if a.t else node
    if a.kind == "invx":
        return c("inv", to_ast(a.payload[0]))
    if a.kind == "had":
        factors = [_elementwise_power(to_ast(b), e) for b, e in a.payload]
        result = _product(factors, "mul")
        assert result is not None
        return result
    raise ValueError(a.kind)


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


def scalar_ast(s: Scalar) -> Node:
    """One scalar factor as an AST."""
    if s.kind == "sym":
        return Sym(s.payload[1]) if s.payload[0] == "sym" else Dir(s.payload[1])
    if s.kind == "chain":
        chain = s.payload
        if len(chain) == 2 and chain[0].transposed() == chain[1] and False:
            return c("norm", atom_ast(chain[1]))
        result = _product([atom_ast(a) for a in chain])
        assert result is not None
        return result
    if s.kind == "tr":
        inner = _product([atom_ast(a) for a in s.payload])
        assert inner is not None
        return c("tr", inner)
    if s.kind == "fn":
        return c(s.payload[0], to_ast(s.payload[1]))
    if s.kind == "poly":
        return to_ast(s.payload[0])
    if s.kind == "dim":  # tr(I) = n
        return c("tr", Const("I", (s.payload[0],) if _SIZED[-1] else ()))
    op = {"det": "det", "logdet": "logdet", "norm": "norm", "lse": "logsumexp"}[s.kind]
    if op == "norm" and s.payload[0].cols != 1 and s.payload[0].rows != 1:
        op = "fro"
    return c(op, to_ast(s.payload[0]))


def _monomials(e: Expr) -> list[Monomial]:
    return [(coef, scalars, chain) for (scalars, chain), coef in e.terms]


_SHAPE: list[tuple[object, object]] = [(1, 1)]  # the shape of the sum being printed


def _term_ast(
    coef: Fraction, scalars: tuple[tuple[Scalar, Fraction], ...], chain: tuple[Atom, ...]
) -> Node:
    """coef · scalars · chain, with negative powers as a denominator."""
    up = [_power_ast(scalar_ast(s), e, "sup") for s, e in scalars if e > 0]
    down = [_power_ast(scalar_ast(s), -e, "sup") for s, e in scalars if e < 0]
    body = _product([atom_ast(a) for a in chain])
    if body is None and _SHAPE[-1] != (1, 1):
        rows = _SHAPE[-1][0]
        body = Const("I", (rows,) if _SIZED[-1] else ())  # type: ignore[arg-type]
    factors = up + ([body] if body is not None else [])
    magnitude = abs(coef)
    numerator = _product(factors, "scale")
    if magnitude != 1 or numerator is None:
        lead = Num(magnitude)
        numerator = lead if numerator is None else c("scale", lead, numerator)
    if down:
        denominator = _product(down, "scale")
        assert denominator is not None
        numerator = c("div", numerator, denominator)
    return c("neg", numerator) if coef < 0 else numerator


_SIZED = [False]


def to_ast(e: Expr, sized: bool | None = None) -> Node:
    """The expression in human form: Ax + Aᵀx → (A + Aᵀ)x, 2AᵀAx − 2Aᵀb → 2Aᵀ(Ax − b).

    `sized` writes identities as eye(n), for ASTs that are lowered again (default: as the
    enclosing call does).
    """
    sized = _SIZED[-1] if sized is None else sized
    monomials = _monomials(e)
    if not monomials:
        return Num(Fraction(0)) if e.is_scalar else Const("zeros", (e.rows, e.cols))
    _SHAPE.append((e.rows, e.cols))
    _SIZED.append(sized)
    try:
        return _factored(monomials, e)
    finally:
        _SHAPE.pop()
        _SIZED.pop()


def _factored(monomials: list[Monomial], e: Expr) -> Node:
    if len(monomials) == 1:
        return _term_ast(*monomials[0])
    coef = _common_coefficient([m[0] for m in monomials])
    common = _common_scalars([m[1] for m in monomials])
    prefix = _common_affix([m[2] for m in monomials], from_left=True)
    rest_chains = [m[2][len(prefix) :] for m in monomials]
    suffix = _common_affix(rest_chains, from_left=False)
    if coef == 1 and not common and not prefix and not suffix:
        return _summed(monomials, e)
    inner = [
        (m[0] / coef, _without(m[1], common), m[2][len(prefix) : len(m[2]) - len(suffix)])
        for m in monomials
    ]
    body = _summed(inner, e)
    chain = [atom_ast(a) for a in prefix] + [body] + [atom_ast(a) for a in suffix]
    product = _product(chain)
    assert product is not None
    return _term_ast_around(coef, common, product)


def _term_ast_around(
    coef: Fraction, scalars: tuple[tuple[Scalar, Fraction], ...], body: Node
) -> Node:
    up = [_power_ast(scalar_ast(s), e, "sup") for s, e in scalars if e > 0]
    down = [_power_ast(scalar_ast(s), -e, "sup") for s, e in scalars if e < 0]
    numerator = _product([*up, body], "scale")
    assert numerator is not None
    if abs(coef) != 1:
        numerator = c("scale", Num(abs(coef)), numerator)
    if down:
        denominator = _product(down, "scale")
        assert denominator is not None
        numerator = c("div", numerator, denominator)
    return c("neg", numerator) if coef < 0 else numerator


def _summed(monomials: list[Monomial], e: Expr) -> Node:
    """A sum; terms sharing a last (or first) factor are grouped: Ax + Aᵀx + b → (A + Aᵀ)x + b."""
    groups = max((_groups(monomials, side) for side in (-1, 0)), key=_gain)
    if _gain(groups) == 0 or len(groups) == 1:
        nodes = [_term_ast(*m) for m in monomials]
    else:
        nodes = [_factored(g, e) if len(g) > 1 else _term_ast(*g[0]) for g in groups]
    nodes.sort(key=lambda node: isinstance(node, Call) and node.op == "neg")
    result = nodes[0]
    for node in nodes[1:]:
        if isinstance(node, Call) and node.op == "neg":
            result = c("sub", result, node.args[0])
        else:
            result = c("add", result, node)
    return result


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


def _common_scalars(
    lists: list[tuple[tuple[Scalar, Fraction], ...]],
) -> tuple[tuple[Scalar, Fraction], ...]:
    first = dict(lists[0])
    common = []
    for s, e in first.items():
        found = [dict(other).get(s) for other in lists[1:]]
        powers = [p for p in found if p is not None and (p > 0) == (e > 0)]
        if len(powers) == len(found):
            common.append((s, min([e, *powers], key=abs)))
    return tuple(common)


def _without(
    scalars: tuple[tuple[Scalar, Fraction], ...], common: tuple[tuple[Scalar, Fraction], ...]
) -> tuple[tuple[Scalar, Fraction], ...]:
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


def terms_of(e: Expr) -> list[Term]:
    return [t for t, _ in e.terms]
