"""The sympy side: explicit symbol matrices, exact entrywise derivatives, exact comparison."""

from __future__ import annotations

import gc
import itertools
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from enum import Enum
from fractions import Fraction
from types import MappingProxyType
from typing import Any

import sympy as sp

from .assumptions import strongest_first
from .lang.ast import Call, Const, Dir, Node, Num, Spelling, Sym, const_dims
from .lang.definitions import ARGUMENT, DEFINITIONS
from .lang.printer import unicode
from .model import Kind, Layout, Options, SymbolicEvidence, SymbolicStatus
from .ops import OPS, PI
from .problem import Problem

Matrix = Any  # sympy.Matrix; sympy ships no precise types


class SymbolicTimeout(Exception):
    """The per-rule time limit ran out."""


class ShapeMismatch(ValueError):
    """Two operands whose sizes do not fit (our own message, in gradcheck's notation)."""


def _size(m: Matrix) -> str:
    return f"{m.shape[0]}×{m.shape[1]}"


def _broadcast(a: Matrix, b: Matrix, both: Callable[[Any, Any], Any]) -> Matrix:
    if a.shape == (1, 1) and b.shape != (1, 1):
        a = sp.ones(*b.shape) * a[0, 0]
    elif b.shape == (1, 1) and a.shape != (1, 1):
        b = sp.ones(*a.shape) * b[0, 0]
    if a.shape != b.shape:
        raise ShapeMismatch(f"{_size(a)} and {_size(b)} do not fit")
    return sp.Matrix(a.shape[0], a.shape[1], lambda i, j: both(a[i, j], b[i, j]))


def _matmul(a: Matrix, b: Matrix) -> Matrix:
    if a.shape[1] == b.shape[0]:
        return a * b
    if a.shape == (1, 1):
        return b * a[0, 0]
    if b.shape == (1, 1):
        return a * b[0, 0]
    raise ShapeMismatch(f"{_size(a)} and {_size(b)} do not fit a product")


def _one(value: Any) -> Matrix:
    return sp.Matrix([[value]])


def _softmax(a: Matrix) -> Matrix:
    exps = a.applyfunc(sp.exp)
    total = sum(exps)
    return exps.applyfunc(lambda e: e / total)


def _diag(a: Matrix) -> Matrix:
    if 1 in a.shape:
        return sp.diag(*list(a))
    return sp.Matrix([a[i, i] for i in range(a.shape[0])])


def _inverse(a: Matrix) -> Matrix:
    # adj(A) / det(A) keeps every entry one polynomial over another (LU nests fractions).
    if a.shape[0] != a.shape[1]:
        raise ShapeMismatch(f"the inverse of a {_size(a)} matrix")
    det = a.det(method="berkowitz")
    return a.adjugate(method="berkowitz").applyfunc(lambda e: e / det)


def _power(a: Matrix, k: Any) -> Matrix:
    return a.applyfunc(lambda e: e**k)


def _sup(a: Matrix, k: Any) -> Matrix:
    return _power(a, k) if a.shape == (1, 1) else a ** int(k)


# The sympy form of every bespoke op, by kernel name (ops.py); an elementwise function is
# sympy's function of its row, or its row's definition, entry by entry.
KERNELS: Mapping[str, Callable[..., Matrix]] = MappingProxyType(
    {
        "add": lambda a, b: _broadcast(a, b, lambda x, y: x + y),
        "sub": lambda a, b: _broadcast(a, b, lambda x, y: x - y),
        "mul": lambda a, b: _broadcast(a, b, lambda x, y: x * y),
        "scale": lambda a, b: _broadcast(a, b, lambda x, y: x * y),
        "div": lambda a, b: _broadcast(a, b, lambda x, y: x / y),
        "neg": lambda a: -a,
        "matmul": _matmul,
        "pow": _power,
        "sup": _sup,
        "matpow": lambda a, k: a ** int(k),
        "T": lambda a: a.T,
        "inv": lambda a: _inverse(a),
        "norm": lambda a: _one(sp.sqrt(sum(e**2 for e in a))),
        "sum": lambda a: _one(sum(a)),
        "logsumexp": lambda a: _one(sp.log(sum(sp.exp(e) for e in a))),
        "softmax": _softmax,
        "diag": _diag,
        "tr": lambda a: _one(a.trace()),
        "det": lambda a: _one(a.det(method="berkowitz")),
        "logdet": lambda a: _one(sp.log(a.det(method="berkowitz"))),
        "detach": lambda a: a,  # its value; `Lowering.detach` makes it a stop-gradient
    }
)
POWERS = ("pow", "sup", "matpow")  # the exponent is an exact number


class Lowering:
    """Lowers AST nodes to sympy matrices; `detach` becomes fresh symbols held constant."""

    def __init__(
        self,
        values: dict[str, Matrix],
        sizes: dict[str, int],
        directions: dict[str, Matrix],
        stop_gradients: bool,
    ) -> None:
        self.values = values
        self.sizes = sizes
        self.directions = directions
        self.stop_gradients = stop_gradients
        self.stand_ins: dict[Any, Any] = {}

    def __call__(self, node: Node) -> Matrix:
        if isinstance(node, Sym):
            return self.values[node.name]
        if isinstance(node, Num):
            return _one(sp.Rational(node.value.numerator, node.value.denominator))
        if isinstance(node, Dir):
            return self.directions[node.name]
        if isinstance(node, Const) and node.name == PI:
            return _one(sp.pi)
        if isinstance(node, Const):
            rows, cols = (d if isinstance(d, int) else self.sizes[d] for d in const_dims(node))
            return {"I": sp.eye, "ones": sp.ones, "zeros": sp.zeros}[node.name](rows, cols)
        assert isinstance(node, Call)
        if node.op == "detach":
            return self.detach(self(node.args[0]))
        row = OPS[node.op]
        if row.elementwise:
            return self.elementwise(row.name, self(node.args[0]))
        if node.op in POWERS and isinstance(node.args[1], Num):
            value = node.args[1].value
            return KERNELS[row.kernel](
                self(node.args[0]), sp.Rational(value.numerator, value.denominator)
            )
        return KERNELS[row.kernel](*(self(a) for a in node.args))

    def elementwise(self, op: str, argument: Matrix) -> Matrix:
        """f(argument) entry by entry: sympy's f, or f's definition in the operator table."""
        row = OPS[op]
        if row.sympy:
            return argument.applyfunc(getattr(sp, row.sympy))
        inner = Lowering({ARGUMENT: argument}, self.sizes, {}, self.stop_gradients)
        return inner(DEFINITIONS[op])

    def detach(self, inner: Matrix) -> Matrix:
        """A stop-gradient: symbols the derivative treats as constants, replaced afterwards."""
        if not self.stop_gradients:
            return inner
        fresh = sp.Matrix(*inner.shape, lambda i, j: sp.Dummy(f"sg{len(self.stand_ins)}_{i}{j}"))
        for stand_in, value in zip(fresh, inner, strict=True):
            self.stand_ins[stand_in] = value
        return fresh

    def restore(self, expr: Matrix) -> Matrix:
        """Put the detached values back where their stand-ins are."""
        while self.stand_ins and expr.free_symbols & set(self.stand_ins):
            expr = expr.xreplace(self.stand_ins)
        return expr


def _label(name: str, i: int, j: int, vector: bool) -> str:
    """A sympy name for entry (i, j) of `name` that no other entry can have: a rule's names
    never contain brackets (A[1,1] of A and A1[1] of A1 differ, where A11 would not)."""
    return f"{name}[{i + 1}]" if vector else f"{name}[{i + 1},{j + 1}]"


def _is_vector(problem: Problem, name: str) -> bool:
    return problem.shapes[name][1] == 1


def symbol_matrices(problem: Problem, sizes: dict[str, int]) -> dict[str, Matrix]:
    """A matrix of independent real symbols per rule symbol (positive where assumed)."""
    mats = {}
    for name in problem.shapes:
        rows, cols = problem.symbol_size(name, sizes)
        assumed = strongest_first(problem.assumptions.get(name, frozenset()))
        positive = any(row.positive_symbols for row in assumed)
        vector = _is_vector(problem, name)

        def entry(
            i: int,
            j: int,
            name: str = name,
            cols: int = cols,
            rows: int = rows,
            positive: bool = positive,
            vector: bool = vector,
        ) -> Any:
            label = name if rows == cols == 1 else _label(name, i, j, vector)
            return sp.Symbol(label, positive=True) if positive else sp.Symbol(label, real=True)

        mats[name] = sp.Matrix(rows, cols, entry)
    return mats


def direction_matrix(problem: Problem, sizes: dict[str, int]) -> Matrix:
    """The direction dX as symbols of its own (`∂X[i,j]`: no symbol of a rule is named
    ∂X, while a rule that is not a differential may declare a dX of its own)."""
    rows, cols = problem.symbol_size(problem.wrt, sizes)
    vector = _is_vector(problem, problem.wrt)
    return sp.Matrix(
        rows,
        cols,
        lambda i, j: sp.Symbol(_label(f"∂{problem.wrt}", i, j, vector), real=True),
    )


def constraints(problem: Problem, mats: dict[str, Matrix], direction: Matrix) -> dict[Any, Any]:
    """Substitutions that put the assumptions into the free symbols (after differentiating)."""
    subs: dict[Any, Any] = {}
    for name, assumed in problem.assumptions.items():
        m = mats.get(name)
        if m is None:
            continue
        own = direction if name == problem.wrt else None  # the direction stays in the set
        for row in reversed(strongest_first(assumed)):  # a stronger structure overrides
            if row.symbolic:
                subs.update(CONSTRAINTS[row.symbolic](name, m, own))
    return subs


def _and_direction(m: Matrix, direction: Matrix | None) -> tuple[Matrix, ...]:
    return (m,) if direction is None else (m, direction)


def _symmetric(name: str, m: Matrix, direction: Matrix | None) -> dict[Any, Any]:
    return {
        matrix[j, i]: matrix[i, j]
        for matrix in _and_direction(m, direction)
        for i in range(matrix.rows)
        for j in range(i + 1, matrix.cols)
    }


def _diagonal(name: str, m: Matrix, direction: Matrix | None) -> dict[Any, Any]:
    return {
        matrix[i, j]: 0
        for matrix in _and_direction(m, direction)
        for i in range(matrix.rows)
        for j in range(matrix.cols)
        if i != j
    }


def _probability(name: str, m: Matrix, direction: Matrix | None) -> dict[Any, Any]:
    subs = {m[-1]: 1 - sum(list(m)[:-1])}
    if direction is not None:  # the direction stays on the simplex: it sums to 0
        subs[direction[-1]] = -sum(list(direction)[:-1])
    return subs


def _orthogonal(name: str, m: Matrix, direction: Matrix | None) -> dict[Any, Any]:
    subs = _cayley(name, m)
    if direction is not None:  # a tangent direction: dQ = Q K with K skew-symmetric
        subs.update(_tangent(name, m, direction))
    return subs


def _tangent(name: str, m: Matrix, direction: Matrix) -> dict[Any, Any]:
    n = m.rows
    k = sp.zeros(n, n)
    for i in range(n):
        for j in range(i + 1, n):
            k[i, j] = sp.Symbol(_label(f"k({name})", i, j, False), real=True)
            k[j, i] = -k[i, j]
    tangent = m * k
    return {direction[i, j]: tangent[i, j] for i in range(n) for j in range(n)}


def _cayley(name: str, m: Matrix) -> dict[Any, Any]:
    """An orthogonal matrix as the Cayley transform (I − S)(I + S)⁻¹ of a skew-symmetric S."""
    n = m.rows
    s = sp.zeros(n, n)
    for i in range(n):
        for j in range(i + 1, n):
            s[i, j] = sp.Symbol(_label(f"s({name})", i, j, False), real=True)
            s[j, i] = -s[i, j]
    q = (sp.eye(n) - s) * _inverse(sp.eye(n) + s)
    return {m[i, j]: sp.cancel(q[i, j]) for i in range(n) for j in range(n)}


# The sympy form of the assumptions, by the name the assumption table gives
# (assumptions.Assumption.symbolic): substitutions into a symbol matrix and its direction.
CONSTRAINTS: Mapping[str, Callable[[str, Matrix, Matrix | None], dict[Any, Any]]] = (
    MappingProxyType(
        {
            "symmetric": _symmetric,
            "diagonal": _diagonal,
            "probability": _probability,
            "orthogonal": _orthogonal,
        }
    )
)


def derivative(problem: Problem, f_value: Matrix, x: Matrix, direction: Matrix) -> Matrix:
    """The exact derivative, entry by entry, arranged as the claim must be."""
    xs = list(x)
    if problem.kind is Kind.DIFFERENTIAL:
        return f_value.applyfunc(
            lambda e: sum(sp.diff(e, xi) * di for xi, di in zip(xs, direction, strict=True))
        )
    if problem.kind is Kind.HESSIAN:
        gradient = [sp.diff(f_value[0, 0], xi) for xi in xs]
        return sp.Matrix(len(xs), len(xs), lambda i, j: sp.diff(gradient[i], xs[j]))
    if problem.kind is Kind.GRADIENT:
        grad = x.applyfunc(lambda xi: sp.diff(f_value[0, 0], xi))
        return grad if problem.layout is Layout.DENOMINATOR else grad.T
    fs = list(f_value)
    numerator = sp.Matrix(len(fs), len(xs), lambda k, i: sp.diff(fs[k], xs[i]))
    return numerator.T if problem.layout is Layout.DENOMINATOR else numerator


def _probe_points(expr: Any, rng: random.Random, count: int = 3) -> Iterator[dict[Any, Any]]:
    symbols = sorted(expr.free_symbols, key=str)
    for _ in range(count):
        yield {
            s: sp.Rational(rng.randint(1, 20), 10)
            if s.is_positive
            else sp.Rational(rng.randint(-20, 20) or 7, 10)
            for s in symbols
        }


def is_zero(expr: Any, rng: random.Random) -> bool | None:
    """True if `expr` is exactly 0, False if it is provably not, None if sympy cannot tell."""
    if expr == 0:
        return True
    for point in _probe_points(expr, rng):
        value = expr.xreplace(point).evalf(30)
        if value.is_real and value.is_finite and abs(value) > 1e-20:
            return False  # a point where the difference is plainly non-zero: a disproof
    # sign(x) from differentiating |x| = √(x²) is x/|x|, the form a claim would use.
    expr = expr.replace(sp.sign, lambda a: a / sp.Abs(a))
    numerator, _ = sp.fraction(sp.together(expr))
    if sp.expand(numerator) == 0:
        return True  # exact for rational functions, and fast
    if sp.simplify(expr) == 0:
        return True
    return None


def size_plan(problem: Problem, max_size: int) -> list[dict[str, int]]:
    """Sizes to prove at: every dim 1..max together, then distinct sizes; cheapest first."""
    dims = problem.dims
    plans = [{d: k for d in dims} for k in range(1, max_size + 1)]
    if len(dims) > 1:
        for shift in (0, 1):
            plans.append({d: (i + shift) % max_size + 1 for i, d in enumerate(dims)})
    unique = {tuple(sorted(p.items())): p for p in plans}
    return sorted(unique.values(), key=lambda p: (sum(p.values()), sorted(p.items())))


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise SymbolicTimeout after `seconds` (main thread only; elsewhere no hard limit)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        # Raised inside a gc callback (hypothesis has one), the exception would be printed as
        # "Exception ignored" and dropped: wait for the next tick of the repeating timer.
        if not _in_gc_callback(frame):
            raise SymbolicTimeout

    def unraisable(info: Any) -> None:
        # The same in a __del__ or weakref callback: the timer fires again, so stay silent.
        if not isinstance(info.exc_value, SymbolicTimeout):
            previous_hook(info)

    previous = signal.signal(signal.SIGALRM, expire)
    previous_hook, sys.unraisablehook = sys.unraisablehook, unraisable
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.unraisablehook = previous_hook


def _in_gc_callback(frame: Any) -> bool:
    """Whether `frame` runs inside one of the garbage collector's callbacks."""
    codes = {getattr(getattr(cb, "__func__", cb), "__code__", None) for cb in gc.callbacks}
    codes.discard(None)
    while frame is not None and codes:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


class SizeStatus(str, Enum):
    """The outcome at one size."""

    PROVED = "proved"
    DISPROVED = "disproved"
    UNDECIDED = "undecided"  # sympy could not reduce an entry of the difference to 0
    OUTSIDE = "outside"  # f is defined nowhere at this size


class SizeResult:
    """The outcome at one size, with what the cross-check needs of a proof."""

    def __init__(
        self,
        sizes: dict[str, int],
        status: SizeStatus,
        detail: str = "",
        derivative: Matrix | None = None,
        mats: dict[str, Matrix] | None = None,
        direction: Matrix | None = None,
    ) -> None:
        self.sizes = sizes
        self.status = status
        self.detail = detail
        self.derivative = derivative
        self.mats = mats or {}
        self.direction = direction


def check_size(problem: Problem, sizes: dict[str, int], rng: random.Random) -> SizeResult:
    """Compare the exact derivative and the claim entry by entry at one size."""
    mats = symbol_matrices(problem, sizes)
    direction = direction_matrix(problem, sizes)
    lower = Lowering(mats, sizes, {problem.wrt: direction}, stop_gradients=True)
    f_value = lower(problem.f)
    true = lower.restore(derivative(problem, f_value, mats[problem.wrt], direction))
    claim = Lowering(mats, sizes, {problem.wrt: direction}, stop_gradients=False)(problem.claim)
    result = SizeResult(sizes, SizeStatus.PROVED, derivative=true, mats=mats, direction=direction)
    if claim.shape != true.shape:
        result.status = SizeStatus.DISPROVED
        result.detail = f"the claim is {_size(claim)} where the derivative is {_size(true)}"
        return result
    subs = constraints(problem, mats, direction)
    for i, j in itertools.product(range(true.rows), range(true.cols)):
        # twice: a direction tangent to the orthogonal group is written with Q's own entries
        difference = (true[i, j] - claim[i, j]).xreplace(subs).xreplace(subs)
        verdict = is_zero(difference, rng)
        if verdict is False:
            result.status = SizeStatus.DISPROVED
            result.detail = _entry_detail(
                i, j, true[i, j].xreplace(subs), claim[i, j].xreplace(subs), problem, sizes
            )
            return result
        if verdict is None and _nowhere_defined(f_value, rng):
            # log det(XᵀX) with X 1×2: XᵀX is singular at every point of this size
            result.status = SizeStatus.OUTSIDE
            result.detail = f"f is not defined at {_sizes_text(sizes)}"
            return result
        if verdict is None:
            result.status = SizeStatus.UNDECIDED
            result.detail = (
                f"sympy could not reduce entry ({i + 1}, {j + 1}) of the difference to 0"
            )
    return result


def _nowhere_defined(f_value: Matrix, rng: random.Random) -> bool:
    """f is undefined (not a finite real number) at every one of 12 probe points (a function
    such as log(aᵀx), undefined on half the space, is defined at one of them but for a chance
    of 2⁻¹²)."""
    expr = f_value[0, 0] if f_value.shape == (1, 1) else sp.Add(*f_value)
    for point in _probe_points(expr, rng, count=12):
        value = expr.xreplace(point).evalf(30)
        if value.is_real and value.is_finite:
            return False
    return True


def _sizes_text(sizes: dict[str, int]) -> str:
    return ", ".join(f"{d}={n}" for d, n in sorted(sizes.items()))


def _entry_detail(
    i: int, j: int, true: Any, claim: Any, problem: Problem, sizes: dict[str, int]
) -> str:
    """`entry (1, 1): the derivative is 2A₁₁x₁ + A₁₂x₂ + A₂₁x₂, the claim 2A₁₁x₁ + 2A₁₂x₂`."""
    names = entry_names(problem, sizes)
    where = f"entry ({i + 1}, {j + 1})"
    try:
        return f"{where}: the derivative is {_short(true, names)}, the claim {_short(claim, names)}"
    except Unprintable:
        return f"{where} of the derivative and of the claim differ"


def entry_names(problem: Problem, sizes: dict[str, int]) -> dict[str, Node]:
    """How messages show the entries of the symbol matrices (by sympy name): A₁₂, x₁, the
    direction's dX₁₁ (a `Dir`, which the printer sets apart), or A when 1×1."""
    names: dict[str, Node] = {}
    for name in [problem.wrt, *problem.shapes]:
        rows, cols = problem.symbol_size(name, sizes)
        vector = _is_vector(problem, name)
        for i, j in itertools.product(range(rows), range(cols)):
            index = (i + 1,) if vector else (i + 1, j + 1)
            shown = name if rows == cols == 1 else name + _subscript(index)
            names[_label(f"∂{name}", i, j, vector)] = Dir(shown)
            if name in problem.shapes:
                key = name if rows == cols == 1 else _label(name, i, j, vector)
                names[key] = Sym(shown)
    return names


def _subscript(index: tuple[int, ...]) -> str:
    sep = "," if any(k > 9 for k in index) else ""
    return sep.join(str(k) for k in index).translate(_SUBSCRIPTS)


_SUBSCRIPTS = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉,")


class Unprintable(Exception):
    """A sympy expression with a function gradcheck's language has no name for."""


def _short(expr: Any, names: dict[str, Node], limit: int = 80) -> str:
    """`expr` in gradcheck's Unicode notation (simplified when small), cut at `limit`."""
    candidates = [sp.simplify(expr), expr] if sp.count_ops(expr) < 40 else [expr]
    # simplify may trade the user's functions for others (1 − tanh² → 1/cosh²): keep theirs
    own = {f.func for f in expr.atoms(sp.Function)}
    candidates = [c for c in candidates if {f.func for f in c.atoms(sp.Function)} <= own]
    for candidate in candidates:
        try:
            text = unicode(to_ast(candidate, names))
        except Unprintable:
            continue
        return text if len(text) <= limit else text[: limit - 1] + "…"
    raise Unprintable


# sympy's functions by the op they stand for (sqrt is a power in sympy, not a function)
_FUNCTIONS = {
    getattr(sp, row.sympy): row.name for row in OPS.values() if row.sympy not in ("", "sqrt")
}
_FUNCTION_OPS = {row.name for row in OPS.values() if row.sympy}


def to_ast(expr: Any, names: dict[str, Node]) -> Node:
    """A scalar sympy expression as gradcheck's AST, for messages: sympy's own printing
    (`2*A11*x1`, `x**2`) is not the notation users write. Symbols are shown by `names`
    (keyed by the sympy name), else by their sympy name."""
    if expr.is_Symbol:
        return names.get(expr.name) or Sym(expr.name)
    if expr is sp.E:
        return Call("exp", (Num(Fraction(1)),))
    if expr is sp.pi:
        return Const(PI)
    if expr.is_Rational or expr.is_Float:
        return _number(expr)
    if expr.is_Add:
        terms = expr.as_ordered_terms()
        positive = [t for t in terms if not t.could_extract_minus_sign()]
        if not positive:
            return Call("neg", (to_ast(-expr, names),))
        terms.remove(positive[0])  # 1 − f(x)², not −f(x)² + 1
        terms.insert(0, positive[0])
        result = to_ast(terms[0], names)
        for term in terms[1:]:
            if term.could_extract_minus_sign():
                result = Call("sub", (result, to_ast(-term, names)))
            else:
                result = Call("add", (result, to_ast(term, names)))
        return result
    if expr.could_extract_minus_sign():
        return Call("neg", (to_ast(-expr, names),))
    if expr.is_Mul:
        numerator, denominator = sp.fraction(expr)
        if denominator != 1:
            return Call("div", (to_ast(numerator, names), to_ast(denominator, names)))
        coefficient, rest = expr.as_coeff_Mul()
        factors = [to_ast(f, names) for f in sp.Mul.make_args(rest)]
        # functions first and set apart, as gradcheck writes them: 2 exp(x) a, not 2aexp(x)
        functions = [f for f in factors if isinstance(f, Call) and f.op in _FUNCTION_OPS]
        others = [f for f in factors if f not in functions]
        result = others[0] if others else functions.pop()
        for factor in others[1:]:
            result = Call("matmul", (result, factor))
        for function in reversed(functions):
            result = Call("scale", (function, result))
        if coefficient == 1:
            return result
        return Call("scale", (_number(coefficient), result))
    if expr.is_Pow:
        return _pow(expr.base, expr.exp, names)
    # an entry is a scalar, so |·| reads back as abs (of a vector, |x| is refused as ambiguous)
    if expr.func is sp.sign:
        arg = to_ast(expr.args[0], names)
        return Call("div", (arg, Call("abs", (arg,), spelled=Spelling.BARS)))
    if expr.func in _FUNCTIONS and len(expr.args) == 1:
        op = _FUNCTIONS[expr.func]
        spelled = Spelling.BARS if op == "abs" else Spelling.PLAIN
        return Call(op, (to_ast(expr.args[0], names),), spelled=spelled)
    raise Unprintable(type(expr).__name__)


def _pow(base: Any, exponent: Any, names: dict[str, Node]) -> Node:
    if exponent.is_Rational and exponent < 0:
        return Call("div", (Num(Fraction(1)), _pow(base, -exponent, names)))
    inner = to_ast(base, names)
    if exponent == 1:
        return inner
    if exponent.is_Rational and exponent.q == 2:
        root = Call("sqrt", (inner,))
        return root if exponent.p == 1 else Call("sup", (root, Num(Fraction(int(exponent.p)))))
    return Call("sup", (inner, to_ast(exponent, names)))


def _number(value: Any) -> Node:
    exact = (
        Fraction(int(value.p), int(value.q)) if value.is_Rational else Fraction(repr(float(value)))
    )
    if exact < 0:
        return Call("neg", (_number(-value),))
    if exact.denominator != 1 and Fraction(repr(float(exact))) != exact:
        return Call("div", (Num(Fraction(exact.numerator)), Num(Fraction(exact.denominator))))
    return Num(exact)


def _size_text(sizes: dict[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(sizes.items()))


def check(
    problem: Problem, options: Options, *, all_sizes: bool = False
) -> tuple[SymbolicEvidence, SizeResult | None]:
    """Prove or disprove the claim at small sizes; the evidence and a size to cross-check at.

    `all_sizes`: the matrix-form engine has proved the claim for every size, so the entrywise
    proof stops at the first convincing size (every dimension ≥ 2), which the cross-check
    uses; the larger sizes, the costliest for sympy, would prove nothing more."""
    start = time.perf_counter()
    rng = random.Random(options.seed)
    proved: list[SizeResult] = []
    outside: list[str] = []  # sizes at which f is nowhere defined: nothing to prove there
    try:
        with time_limit(options.symbolic_timeout):
            for sizes in size_plan(problem, options.max_symbolic_size):
                if (
                    options.symbolic_timeout
                    and time.perf_counter() - start > options.symbolic_timeout
                ):
                    raise SymbolicTimeout  # also checked here: the alarm can be swallowed
                result = check_size(problem, sizes, rng)
                if result.status is SizeStatus.DISPROVED:
                    evidence = _evidence(SymbolicStatus.DISPROVED, [result], result.detail, start)
                    return evidence, result
                if result.status is SizeStatus.UNDECIDED:
                    evidence = _evidence(SymbolicStatus.UNSUPPORTED, proved, result.detail, start)
                    return evidence, result
                if result.status is SizeStatus.OUTSIDE:
                    outside.append(result.detail)
                    continue
                proved.append(result)
                if all_sizes and _convincing(problem, proved):
                    break
    except SymbolicTimeout:
        detail = f"time limit of {options.symbolic_timeout:g} s reached"
        if not _convincing(problem, proved):
            return _evidence(SymbolicStatus.TIMEOUT, proved, detail, start), _pick(proved)
        detail += "; larger sizes not checked"
        return _evidence(SymbolicStatus.PROVED, proved, detail, start), _pick(proved)
    except ShapeMismatch as err:
        return _evidence(SymbolicStatus.UNSUPPORTED, proved, f"sympy: {err}", start), _pick(proved)
    except (NotImplementedError, ValueError, TypeError, ZeroDivisionError) as err:
        # sympy's own message prints its expressions in its syntax: name the failure only
        detail = f"sympy cannot evaluate this claim ({type(err).__name__})"
        return _evidence(SymbolicStatus.UNSUPPORTED, proved, detail, start), _pick(proved)
    if not proved:
        return _evidence(SymbolicStatus.UNSUPPORTED, proved, "; ".join(outside), start), None
    return _evidence(SymbolicStatus.PROVED, proved, "; ".join(outside), start), _pick(proved)


def _convincing(problem: Problem, proved: list[SizeResult]) -> bool:
    """At least one proof with every dimension ≥ 2 (at size 1 a transpose is invisible)."""
    return (
        any(all(v >= 2 for v in r.sizes.values()) for r in proved) if problem.dims else bool(proved)
    )


def _pick(proved: list[SizeResult]) -> SizeResult | None:
    """The size to cross-check at: the first with every dimension ≥ 2, else the largest."""
    for result in proved:
        if all(v >= 2 for v in result.sizes.values()):
            return result
    return proved[-1] if proved else None


def _evidence(
    status: SymbolicStatus, results: list[SizeResult], detail: str, start: float
) -> SymbolicEvidence:
    return SymbolicEvidence(
        status=status,
        sizes=tuple(_size_text(r.sizes) for r in results),
        detail=detail,
        seconds=time.perf_counter() - start,
    )
