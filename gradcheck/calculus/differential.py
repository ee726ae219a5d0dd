"""The differential of every operator, one rule each (Magnus & Neudecker; Matrix Cookbook §2)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from types import MappingProxyType

from ..lang.ast import Call, Const, Dir, Node, Num, Sym
from ..lang.definitions import derivative
from ..ops import OPS
from .canon import Unsupported

D = Node | None  # None is a zero differential, pruned as early as possible


def c(op: str, *args: Node) -> Call:
    return Call(op, tuple(args))


def n(value: int | Fraction) -> Num:
    return Num(Fraction(value))


def _plus(a: D, b: D) -> D:
    return b if a is None else a if b is None else c("add", a, b)


def _minus(a: D, b: D) -> D:
    if b is None:
        return a
    return c("neg", b) if a is None else c("sub", a, b)


def _times(op: str, a: Node, da: D, b: Node, db: D) -> D:
    """d(a ∘ b) = da ∘ b + a ∘ db for a bilinear ∘."""
    left = None if da is None else c(op, da, b)
    right = None if db is None else c(op, a, db)
    return _plus(left, right)


def _elementwise(node: Call, ds: list[D]) -> D:
    """d f(a) = f′(a) ⊙ da, with f′ from the operator table (da / g when f′ = 1 / g)."""
    da = ds[0]
    if da is None:
        return None
    slope = derivative(node.op, node.args[0])
    if isinstance(slope, Call) and slope.op == "div" and slope.args[0] == n(1):
        return c("div", da, slope.args[1])
    return c("mul", slope, da)


def _softmax(node: Call, ds: list[D]) -> D:
    da = ds[0]
    if da is None:
        return None
    s = c("softmax", node.args[0])
    weighted = c("mul", s, da)
    return c("sub", weighted, c("matmul", s, c("sum", weighted)))


def _matpow(node: Call, ds: list[D]) -> D:
    a, k = node.args
    if ds[0] is None:
        return None
    if not isinstance(k, Num) or k.value.denominator != 1 or k.value < 1:
        raise Unsupported("the differential of a non-integer matrix power")
    total: D = None
    power = int(k.value)
    for i in range(power):
        left = c("matpow", a, n(i)) if i else None
        right = c("matpow", a, n(power - 1 - i)) if power - 1 - i else None
        term: Node = ds[0]
        term = c("matmul", left, term) if left else term
        term = c("matmul", term, right) if right else term
        total = _plus(total, term)
    return total


def _pow(node: Call, ds: list[D]) -> D:
    a, k = node.args
    if ds[1] is not None or not isinstance(k, Num):
        raise Unsupported("a power whose exponent varies")
    if ds[0] is None:
        return None
    return c("mul", c("mul", k, c("pow", a, Num(k.value - 1))), ds[0])


# The bespoke rules, by kernel name (ops.py); elementwise functions need none.
KERNELS: Mapping[str, Callable[[Call, list[D]], D]] = MappingProxyType(
    {
        "add": lambda e, ds: _plus(ds[0], ds[1]),
        "sub": lambda e, ds: _minus(ds[0], ds[1]),
        "neg": lambda e, ds: None if ds[0] is None else c("neg", ds[0]),
        "matmul": lambda e, ds: _times("matmul", e.args[0], ds[0], e.args[1], ds[1]),
        "scale": lambda e, ds: _times("scale", e.args[0], ds[0], e.args[1], ds[1]),
        "mul": lambda e, ds: _times("mul", e.args[0], ds[0], e.args[1], ds[1]),
        "div": lambda e, ds: _minus(
            None if ds[0] is None else c("div", ds[0], e.args[1]),
            None if ds[1] is None else c("div", c("mul", e, ds[1]), e.args[1]),
        ),
        "pow": _pow,
        "sup": _pow,
        "matpow": _matpow,
        "T": lambda e, ds: None if ds[0] is None else c("T", ds[0]),
        "inv": lambda e, ds: (
            None if ds[0] is None else c("neg", c("matmul", c("matmul", e, ds[0]), e))
        ),
        "norm": lambda e, ds: (
            None if ds[0] is None else c("div", c("sum", c("mul", e.args[0], ds[0])), e)
        ),
        "detach": lambda e, ds: None,
        "sum": lambda e, ds: None if ds[0] is None else c("sum", ds[0]),
        "logsumexp": lambda e, ds: (
            None if ds[0] is None else c("sum", c("mul", c("softmax", e.args[0]), ds[0]))
        ),
        "softmax": _softmax,
        "diag": lambda e, ds: None if ds[0] is None else c("diag", ds[0]),
        "tr": lambda e, ds: None if ds[0] is None else c("tr", ds[0]),
        "det": lambda e, ds: (
            None
            if ds[0] is None
            else c("scale", e, c("tr", c("matmul", c("inv", e.args[0]), ds[0])))
        ),
        "logdet": lambda e, ds: (
            None if ds[0] is None else c("tr", c("matmul", c("inv", e.args[0]), ds[0]))
        ),
    }
)


def differential(node: Node, wrt: str) -> D:
    """d(node) along dX for X = `wrt`, as an AST linear in Dir(wrt); None when it is 0."""
    if isinstance(node, Sym):
        return Dir(wrt) if node.name == wrt else None
    if isinstance(node, Num | Const):
        return None
    if isinstance(node, Dir):
        raise Unsupported("a differential of a differential")
    assert isinstance(node, Call)
    row = OPS[node.op]
    rule = _elementwise if row.elementwise else KERNELS[row.kernel]
    return rule(node, [differential(a, wrt) for a in node.args])
