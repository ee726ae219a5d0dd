"""The sympy side: explicit symbol matrices, exact entrywise derivatives, exact comparison."""

from __future__ import annotations

import itertools
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sympy as sp

from .lang.ast import Call, Const, Dir, Node, Num, Sym, const_dims
from .model import Kind, Layout, Options, SymbolicEvidence
from .problem import Problem

Matrix = Any  # sympy.Matrix; sympy ships no precise types


class SymbolicTimeout(Exception):
    """The per-rule time limit ran out."""


def _broadcast(a: Matrix, b: Matrix, both: Callable[[Any, Any], Any]) -> Matrix:
    if a.shape == (1, 1) and b.shape != (1, 1):
        a = sp.ones(*b.shape) * a[0, 0]
    elif b.shape == (1, 1) and a.shape != (1, 1):
        b = sp.ones(*a.shape) * b[0, 0]
    if a.shape != b.shape:
        raise ValueError(f"shapes {a.shape} and {b.shape} do not fit")
    return sp.Matrix(a.shape[0], a.shape[1], lambda i, j: both(a[i, j], b[i, j]))


def _matmul(a: Matrix, b: Matrix) -> Matrix:
    if a.shape[1] == b.shape[0]:
        return a * b
    if a.shape == (1, 1):
        return b * a[0, 0]
    if b.shape == (1, 1):
        return a * b[0, 0]
    raise ValueError(f"shapes {a.shape} and {b.shape} do not fit a product")


def _map(fn: Callable[[Any], Any]) -> Callable[[Matrix], Matrix]:
    return lambda a: a.applyfunc(fn)


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
        raise ValueError(f"the inverse of a {a.shape[0]}×{a.shape[1]} matrix")
    det = a.det(method="berkowitz")
    return a.adjugate(method="berkowitz").applyfunc(lambda e: e / det)


def _power(a: Matrix, k: Any) -> Matrix:
    return a.applyfunc(lambda e: e**k)


def _sup(a: Matrix, k: Any) -> Matrix:
    return _power(a, k) if a.shape == (1, 1) else a ** int(k)


SYMPY: dict[str, Callable[..., Matrix]] = {
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
    "fro": lambda a: _one(sp.sqrt(sum(e**2 for e in a))),
    "exp": _map(sp.exp),
    "log": _map(sp.log),
    "sqrt": _map(sp.sqrt),
    "sin": _map(sp.sin),
    "cos": _map(sp.cos),
    "tan": _map(sp.tan),
    "tanh": _map(sp.tanh),
    "sigmoid": _map(lambda e: 1 / (1 + sp.exp(-e))),
    "softplus": _map(lambda e: sp.log(1 + sp.exp(e))),
    "abs": _map(sp.Abs),
    "sum": lambda a: _one(sum(a)),
    "logsumexp": lambda a: _one(sp.log(sum(sp.exp(e) for e in a))),
    "softmax": _softmax,
    "diag": _diag,
    "tr": lambda a: _one(a.trace()),
    "det": lambda a: _one(a.det(method="berkowitz")),
    "logdet": lambda a: _one(sp.log(a.det(method="berkowitz"))),
}


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
        if isinstance(node, Const):
            rows, cols = (d if isinstance(d, int) else self.sizes[d] for d in const_dims(node))
            return {"I": sp.eye, "ones": sp.ones, "zeros": sp.zeros}[node.name](rows, cols)
        assert isinstance(node, Call)
        if node.op == "detach":
            return self.detach(self(node.args[0]))
        if node.op in ("pow", "sup", "matpow") and isinstance(node.args[1], Num):
            value = node.args[1].value
            return SYMPY[node.op](
                self(node.args[0]), sp.Rational(value.numerator, value.denominator)
            )
        return SYMPY[node.op](*(self(a) for a in node.args))

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


def symbol_matrices(problem: Problem, sizes: dict[str, int]) -> dict[str, Matrix]:
    """A matrix of independent real symbols per rule symbol (positive where assumed)."""
    mats = {}
    for name in problem.shapes:
        rows, cols = problem.symbol_size(name, sizes)
        positive = bool(problem.assumptions.get(name, frozenset()) & {"positive", "probability"})

        def entry(
            i: int,
            j: int,
            name: str = name,
            cols: int = cols,
            rows: int = rows,
            positive: bool = positive,
        ) -> Any:
            label = (
                name
                if rows == cols == 1
                else f"{name}{i + 1}"
                if cols == 1
                else f"{name}{i + 1}{j + 1}"
            )
            return sp.Symbol(label, positive=True) if positive else sp.Symbol(label, real=True)

        mats[name] = sp.Matrix(rows, cols, entry)
    return mats


def direction_matrix(problem: Problem, sizes: dict[str, int]) -> Matrix:
    rows, cols = problem.symbol_size(problem.wrt, sizes)
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"d{problem.wrt}{i + 1}{j + 1}", real=True))


def constraints(problem: Problem, mats: dict[str, Matrix], direction: Matrix) -> dict[Any, Any]:
    """Substitutions that put the assumptions into the free symbols (after differentiating)."""
    subs: dict[Any, Any] = {}
    for name, assumed in problem.assumptions.items():
        m = mats.get(name)
        if m is None:
            continue
        if assumed & {"symmetric", "spd"}:
            _symmetric(m, subs)
            if name == problem.wrt:
                _symmetric(direction, subs)
        if "diagonal" in assumed:
            for matrix in (m, direction) if name == problem.wrt else (m,):
                subs.update(
                    {
                        matrix[i, j]: 0
                        for i in range(matrix.rows)
                        for j in range(matrix.cols)
                        if i != j
                    }
                )
        if "probability" in assumed:
            subs[m[-1]] = 1 - sum(list(m)[:-1])
            if name == problem.wrt:  # the direction stays on the simplex: it sums to 0
                subs[direction[-1]] = -sum(list(direction)[:-1])
        if "orthogonal" in assumed:
            subs.update(_cayley(name, m))
            if name == problem.wrt:  # a tangent direction: dQ = Q K with K skew-symmetric
                subs.update(_tangent(name, m, direction))
    return subs


def _symmetric(m: Matrix, subs: dict[Any, Any]) -> None:
    for i in range(m.rows):
        for j in range(i + 1, m.cols):
            subs[m[j, i]] = m[i, j]


def _tangent(name: str, m: Matrix, direction: Matrix) -> dict[Any, Any]:
    n = m.rows
    k = sp.zeros(n, n)
    for i in range(n):
        for j in range(i + 1, n):
            k[i, j] = sp.Symbol(f"k_{name}{i + 1}{j + 1}", real=True)
            k[j, i] = -k[i, j]
    tangent = m * k
    return {direction[i, j]: tangent[i, j] for i in range(n) for j in range(n)}


def _cayley(name: str, m: Matrix) -> dict[Any, Any]:
    """An orthogonal matrix as the Cayley transform (I − S)(I + S)⁻¹ of a skew-symmetric S."""
    n = m.rows
    s = sp.zeros(n, n)
    for i in range(n):
        for j in range(i + 1, n):
            s[i, j] = sp.Symbol(f"s_{name}{i + 1}{j + 1}", real=True)
            s[j, i] = -s[i, j]
    q = (sp.eye(n) - s) * _inverse(sp.eye(n) + s)
    return {m[i, j]: sp.cancel(q[i, j]) for i in range(n) for j in range(n)}


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
        raise SymbolicTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    # repeats: an exception raised while a gc callback runs is swallowed, so raise it again
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class SizeResult:
    """The outcome at one size: `status` is proved, disproved, undecided or outside (f is
    defined nowhere at this size)."""

    def __init__(
        self,
        sizes: dict[str, int],
        status: str,
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
    result = SizeResult(sizes, "proved", derivative=true, mats=mats, direction=direction)
    if claim.shape != true.shape:
        result.status = "disproved"
        result.detail = (
            f"the claim is {claim.shape[0]}×{claim.shape[1]} where the derivative "
            f"is {true.shape[0]}×{true.shape[1]}"
        )
        return result
    subs = constraints(problem, mats, direction)
    for i, j in itertools.product(range(true.rows), range(true.cols)):
        # twice: a direction tangent to the orthogonal group is written with Q's own entries
        difference = (true[i, j] - claim[i, j]).xreplace(subs).xreplace(subs)
        verdict = is_zero(difference, rng)
        if verdict is False:
            result.status = "disproved"
            result.detail = (
                f"entry ({i + 1}, {j + 1}): the derivative is "
                f"{_short(true[i, j].xreplace(subs))}, the claim "
                f"{_short(claim[i, j].xreplace(subs))}"
            )
            return result
        if verdict is None and _nowhere_defined(f_value, rng):
            # log det(XᵀX) with X 1×2: XᵀX is singular at every point of this size
            result.status = "outside"
            result.detail = f"f is not defined at {_sizes_text(sizes)}"
            return result
        if verdict is None:
            result.status = "undecided"
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


def _short(expr: Any, limit: int = 80) -> str:
    text = sp.sstr(sp.simplify(expr) if sp.count_ops(expr) < 40 else expr)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _size_text(sizes: dict[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(sizes.items()))


def check(problem: Problem, options: Options) -> tuple[SymbolicEvidence, SizeResult | None]:
    """Prove or disprove the claim at small sizes; the evidence and a size to cross-check at."""
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
                if result.status == "disproved":
                    return _evidence("disproved", [result], result.detail, start), result
                if result.status == "undecided":
                    return _evidence("unsupported", proved, result.detail, start), result
                if result.status == "outside":
                    outside.append(result.detail)
                    continue
                proved.append(result)
    except SymbolicTimeout:
        detail = f"time limit of {options.symbolic_timeout:g} s reached"
        if not _convincing(problem, proved):
            return _evidence("timeout", proved, detail, start), _pick(proved)
        return _evidence("proved", proved, detail + "; larger sizes not checked", start), _pick(
            proved
        )
    except (NotImplementedError, ValueError, TypeError, ZeroDivisionError) as err:
        return _evidence("unsupported", proved, f"sympy: {err}", start), _pick(proved)
    if not proved:
        return _evidence("unsupported", proved, "; ".join(outside), start), None
    return _evidence("proved", proved, "; ".join(outside), start), _pick(proved)


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
    status: str, results: list[SizeResult], detail: str, start: float
) -> SymbolicEvidence:
    return SymbolicEvidence(
        status=status,
        sizes=tuple(_size_text(r.sizes) for r in results),
        detail=detail,
        seconds=time.perf_counter() - start,
    )
