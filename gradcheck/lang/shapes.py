"""Shape inference by unification: declared shapes, the letter convention, clear conflicts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Union

from ..errors import RuleError
from ..ops import OPS, PI, ShapeClass
from .ast import Call, Const, Dir, Node, Num, Spelling, Sym


class Var:
    """An unknown dimension, to be fixed by unification.

    A symbol's dimension is a size (`sized`): it never becomes 1, since an undeclared vector
    or matrix that turned out 1×1 would silently be a scalar. A constant's may.
    """

    __slots__ = ("sized",)

    def __init__(self, sized: bool = False) -> None:
        self.sized = sized


Dim = Union[str, int, Var]  # noqa: UP007 - a runtime alias


@dataclass(frozen=True)
class Shape:
    """rows × cols; scalars are 1 × 1 and vectors are columns (n × 1)."""

    rows: Dim
    cols: Dim


class Conflict(Exception):
    """Two dimensions that cannot be equal."""


class Unifier:
    """Union-find over dimensions. Declared names are distinct; `soft` lets a claim join them."""

    def __init__(self) -> None:
        self.parent: dict[Dim, Dim] = {}
        self.soft = False
        self.joined: list[tuple[str, str]] = []

    def find(self, d: Dim) -> Dim:
        while d in self.parent:
            d = self.parent[d]
        return d

    def unify(self, a: Dim, b: Dim) -> None:
        a, b = self.find(a), self.find(b)
        if a == b or a is b:
            return
        if isinstance(a, Var) and isinstance(b, Var):
            if a.sized:  # the root keeps the stronger constraint
                a, b = b, a
            self.parent[a] = b
        elif isinstance(a, Var):
            self._bind(a, b)
        elif isinstance(b, Var):
            self._bind(b, a)
        elif isinstance(a, str) and isinstance(b, str) and self.soft:
            self.joined.append((a, b))
            self.parent[a] = b
        else:
            raise Conflict

    def _bind(self, var: Var, value: Dim) -> None:
        if var.sized and value == 1:
            raise Conflict
        self.parent[var] = value

    def is_one(self, d: Dim) -> bool:
        return self.find(d) == 1

    def scalar(self, s: Shape) -> bool:
        return self.is_one(s.rows) and self.is_one(s.cols)

    def name(self, d: Dim, names: dict[Var, str]) -> str | int:
        root = self.find(d)
        if isinstance(root, Var):
            return names.setdefault(root, f"d{len(names) + 1}")
        return root

    def describe(self, s: Shape, names: dict[Var, str] | None = None) -> str:
        """`scalar`, `vector(n)`, `row vector(n)` or `matrix(m, n)`."""
        names = {} if names is None else names
        rows, cols = self.name(s.rows, names), self.name(s.cols, names)
        if rows == 1 and cols == 1:
            return "scalar"
        if cols == 1:
            return f"vector({rows})"
        if rows == 1:
            return f"row vector({cols})"
        return f"matrix({rows}, {cols})"


SCALAR = Shape(1, 1)


def default_shape(name: str) -> Shape:
    """Undeclared names: lowercase Latin a vector, uppercase a matrix, Greek a scalar."""
    first = name[0]
    if "a" <= first <= "z":
        return Shape(Var(sized=True), 1)
    if "A" <= first <= "Z":
        return Shape(Var(sized=True), Var(sized=True))
    return SCALAR


class Typer:
    """Gives every node a shape; `show` prints a node for messages."""

    def __init__(
        self, unifier: Unifier, env: dict[str, Shape], show: Callable[[Node], str]
    ) -> None:
        self.u = unifier
        self.env = env
        self.show = show
        self.shapes: dict[int, Shape] = {}
        self.keep: list[Node] = []  # keeps ids in `shapes` valid

    def symbol(self, name: str) -> Shape:
        if name not in self.env:
            self.env[name] = default_shape(name)
        return self.env[name]

    def shape(self, node: Node) -> Shape:
        s = self._shape(node)
        self.shapes[id(node)] = s
        self.keep.append(node)
        return s

    def _shape(self, node: Node) -> Shape:
        if isinstance(node, Num):
            return SCALAR
        if isinstance(node, Sym | Dir):
            return self.symbol(node.name)
        if isinstance(node, Const):
            return self._const(node)
        assert isinstance(node, Call)
        args = [self.shape(a) for a in node.args]
        kind = OPS[node.op].shape
        if kind is ShapeClass.BINARY:
            return self._binary(node, args[0], args[1])
        return self._unary(node, kind, args[0])

    def _const(self, node: Const) -> Shape:
        if node.name == PI:
            return SCALAR
        dims: tuple[Dim, ...] = node.dims
        if node.name == "I":
            s = Shape(dims[0], dims[-1]) if dims else Shape(Var(), Var())
            self._square(node, s)
            return s
        if node.name == "ones" and len(dims) < 2:
            return Shape(dims[0] if dims else Var(), 1)
        return Shape(dims[0], dims[1]) if dims else Shape(Var(), Var())

    def _binary(self, node: Call, a: Shape, b: Shape) -> Shape:
        op = node.op
        if op in ("add", "sub", "mul", "div", "scale"):
            if self.u.scalar(b):
                return a
            if self.u.scalar(a):
                return b
            self._same(node, a, b)
            return a
        if op == "matmul" and node.spelled is not Spelling.PLAIN:
            inner = self._inner_product(node, a, b)
            if inner is not None:
                return inner
        if op == "matmul":
            if self.u.scalar(a):
                return b
            if self.u.scalar(b):
                return a
            self._join(
                node,
                a.cols,
                b.rows,
                lambda n: (
                    f"{self.show(node.args[0])} has {n(a.cols)} columns but "
                    f"{self.show(node.args[1])} has {n(b.rows)} rows"
                ),
            )
            return Shape(a.rows, b.cols)
        if not self.u.scalar(b):
            raise RuleError(f"{self.show(node)}: the power must be a scalar", node.pos)
        if op == "pow":
            return a
        if op == "sup" and self.u.scalar(a):
            return a
        if op == "sup" and (self.u.is_one(a.cols) or self.u.is_one(a.rows)):
            raise RuleError(
                f"{self.show(node)}: a power of a vector is ambiguous",
                node.pos,
                "write x ⊙ x or x ** 2 (elementwise), or ‖x‖² (squared norm)",
            )
        self._square(node, a)
        return a

    def _inner_product(self, node: Call, a: Shape, b: Shape) -> Shape | None:
        """a · b of two column vectors, ⟨A, B⟩ of two matrices: a scalar; None when the
        spelling means the ordinary product (A · x, ⟨a, b⟩ = aᵀb)."""
        if not self._means_inner(node, a, b):
            return None
        if node.spelled is Spelling.DOT:
            self._join(node, a.rows, b.rows, lambda n: f"{n(a.rows)} and {n(b.rows)} entries")
        else:  # ⟨A, B⟩: the first argument is already transposed
            self._join(node, a.cols, b.rows, lambda n: f"{n(a.cols)} and {n(b.rows)} rows")
            self._join(node, a.rows, b.cols, lambda n: f"{n(a.rows)} and {n(b.cols)} columns")
        return SCALAR

    def _means_inner(self, node: Call, a: Shape, b: Shape) -> bool:
        if node.spelled is Spelling.DOT:
            vectors = self.u.is_one(a.cols) and self.u.is_one(b.cols)
            return vectors and not (self.u.scalar(a) or self.u.scalar(b))
        return node.spelled is Spelling.INNER and not self.u.is_one(a.rows)

    def _bars(self, node: Call, a: Shape) -> Shape:
        """|s| of a scalar is its absolute value, |A| of a square matrix its determinant."""
        if self.u.scalar(a):
            return a
        if self.u.is_one(a.cols) or self.u.is_one(a.rows):
            inner = self.show(node.args[0])
            raise RuleError(
                f"|{inner}| of a vector is ambiguous: its norm ‖{inner}‖ or its entries' "
                f"absolute values abs({inner})",
                node.pos,
                f"write ‖{inner}‖ (\\|{inner}\\|) for the norm, abs({inner}) elementwise",
            )
        self._square(node.args[0], a)
        return SCALAR

    def _unary(self, node: Call, kind: ShapeClass, a: Shape) -> Shape:
        if node.spelled is Spelling.BARS:
            return self._bars(node, a)
        match kind:
            case ShapeClass.SAME:
                return a
            case ShapeClass.TRANSPOSE:
                return Shape(a.cols, a.rows)
            case ShapeClass.REDUCE:
                return SCALAR
            case ShapeClass.SQUARE | ShapeClass.SQUARE_SAME:
                self._square(node.args[0], a)
                return SCALAR if kind is ShapeClass.SQUARE else a
            case ShapeClass.VECTOR_SAME:
                if not (self.u.is_one(a.cols) or self.u.is_one(a.rows)):
                    raise RuleError(
                        f"{self.show(node)}: {node.op} takes a vector, not a {self.u.describe(a)}",
                        node.pos,
                    )
                return a
            case ShapeClass.DIAG:
                if self.u.is_one(a.cols):
                    return Shape(a.rows, a.rows)
                if self.u.is_one(a.rows):
                    return Shape(a.cols, a.cols)
                self._square(node.args[0], a)
                return Shape(a.rows, 1)
            case ShapeClass.BINARY:
                raise AssertionError(f"{node.op} is binary")

    def _square(self, node: Node, s: Shape) -> None:
        self._join(
            node,
            s.rows,
            s.cols,
            lambda n: f"{self.show(node)} must be square but is {self.u.describe(s)}",
        )

    def _same(self, node: Call, a: Shape, b: Shape) -> None:
        symbol = {"add": "+", "sub": "−", "mul": "⊙", "div": "/"}[node.op]

        def why(n: Callable[[Dim], object]) -> str:
            return f"{self.u.describe(a)} {symbol} {self.u.describe(b)}"

        self._join(node, a.rows, b.rows, why)
        self._join(node, a.cols, b.cols, why)

    def _join(
        self, node: Node, x: Dim, y: Dim, why: Callable[[Callable[[Dim], object]], str]
    ) -> None:
        try:
            self.u.unify(x, y)
        except Conflict:
            names: dict[Var, str] = {}
            detail = why(lambda d: self.u.name(d, names))
            raise RuleError(
                f"{self.show(node)}: {detail}",
                node.pos,
                "the shapes must agree; declare the symbols under symbols to fix them",
            ) from None

    def is_scalar(self, node: Node) -> bool:
        return self.u.scalar(self.shapes[id(node)])

    def resolve(self, node: Node, names: dict[Var, str]) -> Node:
        """The node with constants' sizes filled in and `^k` read as power or matrix power."""
        if isinstance(node, Const) and node.name != PI:
            s = self.shapes[id(node)]
            return Const(
                node.name, (self.u.name(s.rows, names), self.u.name(s.cols, names)), pos=node.pos
            )
        if not isinstance(node, Call):
            return node
        args = tuple(self.resolve(a, names) for a in node.args)
        op = node.op
        if op == "sup":
            op = "pow" if self.is_scalar(node.args[0]) else "matpow"
        if node.spelled is Spelling.BARS and not self.is_scalar(node.args[0]):
            op = "det"
        if node.spelled is not Spelling.PLAIN and op == "matmul":
            return self._resolve_product(node, args)
        return Call(op, args, pos=node.pos)

    def _resolve_product(self, node: Call, args: tuple[Node, ...]) -> Node:
        """a · b of vectors is aᵀb; ⟨A, B⟩ of matrices is tr(AᵀB)."""
        a, b = (self.shapes[id(arg)] for arg in node.args)
        if not self._means_inner(node, a, b):
            return Call("matmul", args, pos=node.pos)
        if node.spelled is Spelling.DOT:
            return Call("matmul", (Call("T", args[:1], pos=node.pos), args[1]), pos=node.pos)
        return Call("tr", (Call("matmul", args, pos=node.pos),), pos=node.pos)
