"""The small AST every stage shares: symbols, numbers, constants, directions, calls."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction


@dataclass(frozen=True)
class Node:
    """Base of every expression node; `pos` is an offset into the source text."""

    pos: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True)
class Sym(Node):
    """A symbol (`x`, `A`, `λ`, `W1`)."""

    name: str


@dataclass(frozen=True)
class Num(Node):
    """An exact numeric constant."""

    value: Fraction


@dataclass(frozen=True)
class Const(Node):
    """`I` (identity), `ones` or `zeros`; `dims` are explicit sizes, empty when inferred."""

    name: str
    dims: tuple[str | int, ...] = ()


@dataclass(frozen=True)
class Dir(Node):
    """The direction `dX` of symbol `X` in a differential."""

    name: str


class Spelling(Enum):
    """How a call was written, where the notation means different ops for different shapes.

    Typing (`shapes.Typer.resolve`) replaces such a call by the op its shapes give, so no
    later stage sees a spelling; the printers use it to print the call as it was written."""

    PLAIN = "plain"
    BARS = "bars"  # |e|: abs of a scalar, det of a square matrix; refused on a vector
    DOT = "dot"  # a · b: the inner product of two column vectors, else a matrix product
    INNER = "inner"  # ⟨a, b⟩, dot(a, b): aᵀb of vectors, tr(AᵀB) of matrices


@dataclass(frozen=True)
class Call(Node):
    """An operator or function applied to arguments (`op` names a row of ops.py)."""

    op: str
    args: tuple[Node, ...]
    spelled: Spelling = field(default=Spelling.PLAIN, compare=False, kw_only=True)


def const_dims(node: Const) -> tuple[str | int, str | int]:
    """rows and cols of a sized constant: eye(n) is n×n, ones(n) is n×1."""
    if len(node.dims) == 2:
        return node.dims[0], node.dims[1]
    (d,) = node.dims
    return (d, d) if node.name == "I" else (d, 1)


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of `node`."""
    return node.args if isinstance(node, Call) else ()


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children."""
    yield node
    for child in children(node):
        yield from walk(child)


def symbols_in(node: Node) -> list[str]:
    """Names of the symbols in `node`, in order of first appearance."""
    seen: dict[str, None] = {}
    for sub in walk(node):
        if isinstance(sub, Sym):
            seen.setdefault(sub.name, None)
    return list(seen)


def directions_in(node: Node) -> list[str]:
    """Names of the symbols whose direction (`dX`) appears in `node`."""
    seen: dict[str, None] = {}
    for sub in walk(node):
        if isinstance(sub, Dir):
            seen.setdefault(sub.name, None)
    return list(seen)


def num(value: int | str | Fraction) -> Num:
    """A number node."""
    return Num(Fraction(value))
