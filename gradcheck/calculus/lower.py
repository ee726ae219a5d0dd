"""AST → canonical form, under a rule's shapes and assumptions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType

from ..assumptions import Canonical, canonical_uses
from ..lang.ast import Call, Const, Dir, Node, Num, Sym, const_dims
from ..ops import OPS, PI
from . import algebra as alg
from .canon import (
    CONSTANT,
    ORTHOGONAL,
    Atom,
    AtomKind,
    Dim,
    Expr,
    Scalar,
    ScalarKind,
    Unsupported,
    atom,
    identity,
    number,
    scalar,
    zero,
)


@dataclass(frozen=True)
class Context:
    """Shapes of the symbols, and the assumptions that change algebra (Sᵀ = S, QᵀQ = I)."""

    shapes: dict[str, tuple[Dim, Dim]]
    assumptions: dict[str, frozenset[str]]

    def symbol(self, name: str, kind: AtomKind = AtomKind.SYM) -> Expr:
        rows, cols = self.shapes[name]
        if rows == 1 and cols == 1:
            return scalar(Scalar(ScalarKind.SYM, (kind, name)))
        uses = canonical_uses(self.assumptions.get(name, frozenset()))
        tag = ORTHOGONAL if Canonical.ORTHOGONAL in uses else ""
        # dX is free: a gradient is read off every entry independently, as autograd does
        symmetric = Canonical.SYMMETRIC in uses and kind is AtomKind.SYM
        return atom(Atom(kind, (name, tag), rows, cols, symmetric=symmetric))


# The canonical form of every bespoke op, by kernel name (ops.py); an elementwise function
# is an opaque f(M) of its canonical argument.
UNARY: Mapping[str, Callable[[Expr], Expr]] = MappingProxyType(
    {
        "neg": lambda a: -a,
        "T": lambda a: a.T,
        "inv": alg.inverse,
        "norm": alg.norm,
        "sum": alg.total,
        "tr": alg.trace,
        "det": alg.det,
        "logdet": alg.logdet,
        "diag": alg.diag,
        "softmax": alg.softmax,
        "logsumexp": alg.logsumexp,
        "detach": lambda a: a,  # a value: only differentiation treats it as a constant
    }
)
BINARY: Mapping[str, Callable[[Expr, Expr], Expr]] = MappingProxyType(
    {
        "add": alg.add,
        "sub": lambda a, b: alg.add(a, -b),
        "matmul": alg.matmul,
        "scale": alg.matmul,
        "mul": alg.hadamard,
        "div": alg.divide,
    }
)
POWERS = ("pow", "matpow", "sup")  # the exponent is a number, not an expression


def lower(node: Node, ctx: Context) -> Expr:
    """The canonical form of `node`."""
    if isinstance(node, Num):
        return number(node.value)
    if isinstance(node, Sym):
        return ctx.symbol(node.name)
    if isinstance(node, Dir):
        return ctx.symbol(node.name, kind=AtomKind.DIR)
    if isinstance(node, Const) and node.name == PI:
        return scalar(Scalar(ScalarKind.SYM, (CONSTANT, PI)))
    if isinstance(node, Const):
        return _constant(node)
    assert isinstance(node, Call)
    if node.op in POWERS:
        return _power(node, ctx)
    args = [lower(a, ctx) for a in node.args]
    row = OPS[node.op]
    if row.elementwise:
        return alg.function(node.op, args[0])
    if row.kernel in UNARY:
        return UNARY[row.kernel](args[0])
    return BINARY[row.kernel](args[0], args[1])


def _constant(node: Const) -> Expr:
    if not node.dims:
        raise Unsupported(f"{node.name} without a size")
    rows, cols = const_dims(node)
    if node.name == "zeros":
        return zero(rows, cols)
    if node.name == "ones":
        return alg.ones(rows, cols) if (rows, cols) != (1, 1) else number(Fraction(1))
    return identity(rows)


def _power(node: Call, ctx: Context) -> Expr:
    base, exponent = node.args
    if not isinstance(exponent, Num):
        raise Unsupported("a power that is not a number")
    a = lower(base, ctx)
    k = exponent.value
    if node.op == "pow" or a.is_scalar:
        return alg.power(a, k)
    if k.denominator != 1 or k < 0:
        raise Unsupported("a matrix power that is not a whole number")
    result = identity(a.rows)
    for _ in range(int(k)):
        result = alg.matmul(result, a)
    return result
