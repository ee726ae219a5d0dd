"""The torch side: float64 lowering, the true derivative by torch.func, counterexamples."""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, cast

import numpy as np
import torch
from hypothesis import HealthCheck, Phase, Verbosity, given, reject, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from .lang.ast import Call, Const, Dir, Node, Num, Sym, const_dims, symbols_in, walk
from .model import Counterexample, Kind, Layout, NumericEvidence, Options
from .ops import OPS, PI
from .problem import Problem
from .strategies import (
    BATCH,
    Batch,
    Sample,
    batches,
    from_problem,
    own_modules_out_of_hypothesis_constants,
    sizes_for,
)

Tensor = torch.Tensor


def _scalar_or(a: Tensor, b: Tensor, both: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
    """Broadcast a 1×1 operand (a scalar); otherwise apply `both` to equal shapes."""
    if a.shape == (1, 1) or b.shape == (1, 1) or a.shape == b.shape:
        return both(a, b)
    raise ValueError(f"{_shape(a)} and {_shape(b)} do not fit")


def _matmul(a: Tensor, b: Tensor) -> Tensor:
    if a.shape[1] == b.shape[0]:
        return a @ b
    if a.shape == (1, 1) or b.shape == (1, 1):
        return a * b
    raise ValueError(f"{_shape(a)} and {_shape(b)} do not fit a product")


def _softmax(a: Tensor) -> Tensor:
    return torch.softmax(a, dim=0 if a.shape[1] == 1 else 1)


def _diag(a: Tensor) -> Tensor:
    if a.shape[1] == 1 or a.shape[0] == 1:
        return torch.diag(a.reshape(-1))
    return torch.diagonal(a).reshape(-1, 1)


def _scalar(t: Tensor) -> Tensor:
    return t.reshape(1, 1)


def _torch_function(dotted: str) -> Callable[[Tensor], Tensor]:
    """The torch function a row names, dotted from `torch` (torch.nn.functional.…)."""
    head, *path = dotted.split(".")
    assert head == "torch", dotted
    found: Any = functools.reduce(getattr, path, torch)
    return cast(Callable[[Tensor], Tensor], found)


# The torch form of every bespoke op, by kernel name (ops.py); an elementwise function is
# the torch function its row names.
KERNELS: Mapping[str, Callable[..., Tensor]] = MappingProxyType(
    {
        "add": lambda a, b: _scalar_or(a, b, torch.add),
        "sub": lambda a, b: _scalar_or(a, b, torch.sub),
        "mul": lambda a, b: _scalar_or(a, b, torch.mul),
        "scale": lambda a, b: _scalar_or(a, b, torch.mul),
        "div": lambda a, b: _scalar_or(a, b, torch.div),
        "neg": torch.neg,
        "matmul": _matmul,
        "pow": lambda a, b: a**b,
        "sup": lambda a, b: a**b if a.shape == (1, 1) else torch.linalg.matrix_power(a, int(b)),
        "matpow": lambda a, b: torch.linalg.matrix_power(a, int(b)),
        "T": lambda a: a.T,
        "inv": torch.linalg.inv,
        "norm": lambda a: _scalar(torch.sqrt((a * a).sum())),
        "detach": lambda a: a.detach(),
        "sum": lambda a: _scalar(a.sum()),
        "logsumexp": lambda a: _scalar(torch.logsumexp(a.reshape(-1), dim=0)),
        "softmax": _softmax,
        "diag": _diag,
        "tr": lambda a: _scalar(torch.trace(a)),
        "det": lambda a: _scalar(torch.linalg.det(a)),
        "logdet": lambda a: _scalar(torch.logdet(a)),
    }
)
ELEMENTWISE: Mapping[str, Callable[[Tensor], Tensor]] = MappingProxyType(
    {row.name: _torch_function(row.torch) for row in OPS.values() if row.elementwise}
)
POWERS = ("pow", "sup", "matpow")  # the exponent is a number


def evaluate(
    node: Node,
    values: dict[str, Tensor],
    sizes: dict[str, int],
    directions: dict[str, Tensor] | None = None,
    largest: list[Tensor] | None = None,
    constants: Mapping[Node, Tensor] | None = None,
) -> Tensor:
    """The value of `node` as a 2-D float64 tensor; `largest`, if given, collects the largest
    magnitude of every intermediate result (the scale of the rounding errors); `constants`
    gives the value of some nodes (`_dual_jvp`'s constants and stopped gradients)."""
    if constants is not None and node in constants:
        return constants[node]
    if isinstance(node, Sym):
        return values[node.name]
    if isinstance(node, Dir):
        assert directions is not None
        return directions[node.name]
    if isinstance(node, (Num, Const)):
        return constant(node, sizes)
    assert isinstance(node, Call)
    if largest is None and node.op == "matmul" and _is_sum(node.args[0]):
        distributed = _distributed(node, values, sizes, directions, constants)
        if distributed is not None:
            return distributed
    args = [evaluate(a, values, sizes, directions, largest, constants) for a in node.args]
    row = OPS[node.op]
    if row.elementwise:
        result = ELEMENTWISE[row.name](args[0])
    elif node.op in POWERS and isinstance(node.args[1], Num):
        result = KERNELS[row.kernel](args[0], float(node.args[1].value))
    else:
        result = KERNELS[row.kernel](*args)
    if largest is not None and result.numel():
        largest.append(result.detach().abs().max())
    return result


# From this many entries, (P ± Q)v is worked as Pv ± Qv: at n = 1024 the sum of a matrix and
# a transpose (A + Aᵀ) walks memory against its layout and costs 10× the two products. Below
# it nothing changes, so no check at the usual sizes depends on it; and `compare`, which
# passes `largest` and whose answer stands for a failing sample, never distributes.
DISTRIBUTE_FROM = 1 << 16


def _is_sum(node: Node) -> bool:
    return isinstance(node, Call) and node.op in ("add", "sub")


def _distributed(
    node: Call,
    values: dict[str, Tensor],
    sizes: dict[str, int],
    directions: dict[str, Tensor] | None,
    constants: Mapping[Node, Tensor] | None,
) -> Tensor | None:
    """(P ± Q)v as Pv ± Qv for large matrices P, Q of one shape and a column vector v; None
    (work it as written) otherwise."""
    total, vector = node.args
    assert isinstance(total, Call)
    # Xᵀ is kept as X, and Xᵀv worked as (vᵀX)ᵀ: torch's batched product of a transposed
    # matrix and a vector is 8× slower than that of a row vector and the matrix
    kept = [a.args[0] if isinstance(a, Call) and a.op == "T" else a for a in total.args]
    left, right = (evaluate(a, values, sizes, directions, None, constants) for a in kept)
    square = left.shape[0] == left.shape[1]  # so that Xᵀ has X's shape
    if left.shape != right.shape or left.numel() < DISTRIBUTE_FROM or not square:
        return None
    v = evaluate(vector, values, sizes, directions, None, constants)
    if v.shape[1] != 1 or v.shape[0] != left.shape[1]:
        return None
    products = [
        (v.T @ m).T if k is not a else m @ v
        for a, k, m in zip(total.args, kept, (left, right), strict=True)
    ]
    combine = torch.add if total.op == "add" else torch.sub
    return combine(*products)


def constant(node: Num | Const, sizes: dict[str, int]) -> Tensor:
    """A number or a constant matrix (π, I, ones, zeros) as a 2-D float64 tensor."""
    if isinstance(node, Num):
        return torch.tensor([[float(node.value)]], dtype=torch.float64)
    if node.name == PI:
        return torch.tensor([[math.pi]], dtype=torch.float64)
    rows, cols = (d if isinstance(d, int) else sizes[d] for d in const_dims(node))
    if node.name == "I":
        return torch.eye(rows, cols, dtype=torch.float64)
    fill = torch.ones if node.name == "ones" else torch.zeros
    return fill(rows, cols, dtype=torch.float64)


def _dual_jvp(
    node: Node, values: dict[str, Tensor], wrt: str, sizes: dict[str, int], tangent: Tensor
) -> tuple[Tensor, Tensor]:
    """node's value and its derivative along `tangent` (in wrt), by torch.func.jvp with every
    input of node a dual number: the other symbols, the constants and the stopped gradients
    (sg(…), computed first) too, with tangent 0. A product of a dual and a plain tensor takes
    a path in torch 2.13 (the zero tangent's shape is worked out by a Python meta kernel) that
    imports torch._dynamo, 1 s a process."""
    others = [name for name in symbols_in(node) if name != wrt]
    fixed: dict[Node, Tensor] = {}
    for n in walk(node):
        if isinstance(n, (Num, Const)):
            fixed[n] = constant(n, sizes)
        elif isinstance(n, Call) and n.op == "detach" and n not in fixed:
            with torch.no_grad():
                fixed[n] = evaluate(n.args[0], values, sizes)
    keys = list(fixed)

    def of(xv: Tensor, *rest: Tensor) -> Tensor:
        bound = dict(zip(others, rest[: len(others)], strict=True))
        table = dict(zip(keys, rest[len(others) :], strict=True))
        return evaluate(node, {**bound, wrt: xv}, sizes, constants=table)

    primals = (values[wrt], *(values[name] for name in others), *fixed.values())
    tangents = (tangent, *(torch.zeros_like(p) for p in primals[1:]))
    value, derivative = torch.func.jvp(of, primals, tangents)[:2]
    return value, derivative


# A matrix that is inverted (or whose determinant is logged or divided by) with a condition
# number above this is treated as singular: the point is outside the domain. The inverse then
# carries a relative error of about COND_LIMIT · 2⁻⁵², far below rtol; near a singular matrix
# both sides are rounding noise and any "counterexample" there would be false.
COND_LIMIT = 1e6
ROUNDING = 1024  # ulps of the claim's largest intermediate value, allowed for rounding


def _inverted(node: Node) -> list[Node]:
    """The matrices that must be invertible for `node` to be defined."""
    found: list[Node] = []
    for n in walk(node):
        if not isinstance(n, Call):
            continue
        if OPS[n.op].domain in ("invertible", "posdet"):
            found.append(n.args[0])
        elif n.op in POWERS and isinstance(n.args[1], Num) and n.args[1].value < 0:
            found.append(_unwrap_det(n.args[0]))
        elif n.op == "log" or (n.op == "div" and len(n.args) == 2):
            target = n.args[0] if n.op == "log" else n.args[1]
            inner = _unwrap_det(target)
            if inner is not target:
                found.append(inner)
    return found


def _unwrap_det(node: Node) -> Node:
    """X for det(X) or |det(X)|, else the node itself."""
    if isinstance(node, Call) and node.op == "abs":
        node = node.args[0]
    if isinstance(node, Call) and node.op == "det":
        return node.args[0]
    return node


def near_singular(
    problem: Problem,
    values: dict[str, Tensor],
    sizes: dict[str, int],
    directions: dict[str, Tensor] | None = None,
) -> bool:
    """Whether f or the claim inverts a matrix that is singular, to working precision, here."""
    for node in (*_inverted(problem.f), *_inverted(problem.claim)):
        with torch.no_grad():
            try:
                m = evaluate(node, values, sizes, directions)
            except (ValueError, RuntimeError):
                continue  # the claim does not evaluate: compare says so
            if m.shape[0] != m.shape[1]:
                continue
            if not torch.isfinite(m).all() or float(torch.linalg.cond(m)) > COND_LIMIT:
                return True
    return False


def true_derivative(
    problem: Problem,
    values: dict[str, Tensor],
    sizes: dict[str, int],
    direction: Tensor,
    *,
    under_vmap: bool = False,
) -> Tensor:
    """The derivative the claim must equal, arranged as spec §3 says. At one sample, a first
    derivative of an f with at most BACKWARD_LIMIT entries, and a Hessian, are taken by
    torch.autograd (one backward pass an entry); otherwise by torch.func, in forward mode
    (`_dual_jvp`) where `_forward_mode` says so. Not `under_vmap`: torch.autograd cannot run
    there, and torch 2.13's vmap of jacfwd is wrong for det (`_batched_forward` is the
    vectorized forward mode)."""
    x = values[problem.wrt]

    def f_of(xv: Tensor) -> Tensor:
        return evaluate(problem.f, {**values, problem.wrt: xv}, sizes)

    n = x.numel()
    if problem.kind is Kind.DIFFERENTIAL:
        return _dual_jvp(problem.f, values, problem.wrt, sizes, direction)[1]
    if not under_vmap and problem.kind in (Kind.GRADIENT, Kind.JACOBIAN):
        jac = backward_jacobian(f_of, x)
        if jac is not None:
            return _arranged(problem, jac, n)
    if not under_vmap and _forward_mode(problem, n):
        basis = torch.eye(n, dtype=x.dtype).reshape(n, *x.shape)
        try:
            columns = torch.func.vmap(
                lambda t: _dual_jvp(problem.f, values, problem.wrt, sizes, t)[1]
            )(basis)  # (x's entries, f's shape): one level of vmap over jvp
            jac = torch.movedim(columns, 0, -1)  # f's shape, then x's entries
            return _arranged(problem, jac.reshape(*jac.shape[:-1], *x.shape), n)
        except (NotImplementedError, RuntimeError):
            pass  # an op without a forward-mode formula: reverse mode below
    if problem.kind is Kind.HESSIAN:
        # sample by sample (`_compare_vectorized` does not vmap it): torch.func's reverse mode
        # imports torch._dynamo, and forward over forward is wrong for det in torch 2.13
        assert not under_vmap, "a Hessian is taken by torch.autograd, one sample at a time"
        return backward_hessian(f_of, x)
    if problem.kind is Kind.GRADIENT:  # f is a scalar: one vector-Jacobian product
        grad = torch.func.grad(lambda xv: f_of(xv).sum())(x)
        return grad if problem.layout is Layout.DENOMINATOR else grad.T
    return _arranged(problem, torch.func.jacrev(f_of)(x), n)


# Up to this many entries of f, a first derivative at one sample is taken by torch.autograd,
# one backward pass an entry: at the sizes drawn, 2–6× cheaper than torch.func's transforms
# (whose wrappers cost more than the arithmetic), and no torch._dynamo import. Shrinking a
# counterexample compares hundreds of samples one at a time.
BACKWARD_LIMIT = 16


def backward_jacobian(f_of: Callable[[Tensor], Tensor], x: Tensor) -> Tensor | None:
    """f's Jacobian at x (f's shape, then x's) by torch.autograd; None when f has more than
    BACKWARD_LIMIT entries. (gradcheck.testing takes users' derivatives this way too.)"""
    leaf = x.detach().requires_grad_(True)
    with torch.enable_grad():
        y = f_of(leaf)
        if y.numel() > BACKWARD_LIMIT:
            return None
        flat = y.reshape(-1)
        rows = []
        for i in range(flat.numel()):
            grad = None
            if flat.requires_grad:  # else f does not depend on x
                (grad,) = torch.autograd.grad(
                    flat[i], leaf, retain_graph=i + 1 < flat.numel(), allow_unused=True
                )
            rows.append(torch.zeros_like(x) if grad is None else grad)
    return torch.stack(rows).reshape((*y.shape, *x.shape)).detach()


def backward_hessian(f_of: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """The Hessian (n × n) of the scalar f at x by torch.autograd: the gradient with its
    graph, then one backward pass an entry of it. torch.func's reverse mode would import
    torch._dynamo (1 s) on its first call; torch.autograd does not."""
    n = x.numel()
    leaf = x.detach().requires_grad_(True)
    with torch.enable_grad():
        y = f_of(leaf).reshape(())
        if not y.requires_grad:  # f does not depend on x
            return torch.zeros(n, n, dtype=x.dtype)
        (grad,) = torch.autograd.grad(y, leaf, create_graph=True)
        flat = grad.reshape(-1)
        rows = []
        for i in range(n):
            second = None
            if flat.requires_grad:  # else the gradient does not depend on x: f is linear
                (second,) = torch.autograd.grad(
                    flat[i], leaf, retain_graph=i + 1 < n, allow_unused=True
                )
            rows.append(torch.zeros_like(x) if second is None else second)
    return torch.stack(rows).reshape(n, n).detach()


def _forward_mode(problem: Problem, entries: int) -> bool:
    """Whether the first derivative by a wrt symbol of this many entries is taken in forward
    mode: cheaper at these sizes, and no torch._dynamo import."""
    return problem.kind in (Kind.GRADIENT, Kind.JACOBIAN) and entries <= FORWARD_LIMIT


def _batched_forward(
    problem: Problem, values: dict[str, Tensor], sizes: dict[str, int], direction: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """f, true_derivative and the claim at every sample of a batch, in forward mode, in one
    level of vmap over (sample, basis direction) pairs of jvp: vmap of jacfwd, two levels,
    gives wrong derivatives of det past the first sample in torch 2.13, one level gives the
    right ones. f and the claim come along in the same call (read off each sample's first
    pair): at these sizes a vmap call costs more than the arithmetic repeated in it."""
    x = values[problem.wrt]
    samples, n = x.shape[0], x[0].numel()
    basis = torch.eye(n, dtype=x.dtype).reshape(n, *x.shape[1:])
    repeated = {k: v.repeat_interleave(n, dim=0) for k, v in values.items()}
    tangents = basis.repeat(samples, *([1] * (x.dim() - 1)))

    def along(vals: dict[str, Tensor], t: Tensor, d: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        f_value, derivative = _dual_jvp(problem.f, vals, problem.wrt, sizes, t)
        return f_value, derivative, evaluate(problem.claim, vals, sizes, {problem.wrt: d})

    f_value, out, claimed = torch.func.vmap(along)(
        repeated, tangents, direction.repeat_interleave(n, dim=0)
    )  # out: (samples · n, f's rows, f's columns)
    jac = out.reshape(samples, n, -1).transpose(1, 2)  # (samples, f's entries, x's entries)
    if problem.kind is Kind.GRADIENT:
        grad = jac.reshape(samples, *x.shape[1:])
        true = grad if problem.layout is Layout.DENOMINATOR else grad.transpose(1, 2)
    else:
        true = jac.transpose(1, 2) if problem.layout is Layout.DENOMINATOR else jac
    return f_value[::n], true, claimed[::n]


def uses_reverse_mode(problem: Problem, options: Options) -> bool:
    """Whether true_derivative may take a reverse-mode derivative by torch.func for this
    problem (and so import torch._dynamo): a first derivative by a wrt symbol that may exceed
    FORWARD_LIMIT entries. (A Hessian is taken by torch.autograd.)"""
    if problem.kind in (Kind.DIFFERENTIAL, Kind.HESSIAN):
        return False
    largest = max([options.max_numeric_size, *dict(options.numeric_sizes).values()])
    rows, cols = problem.symbol_size(problem.wrt, {d: largest for d in problem.dims})
    return rows * cols > FORWARD_LIMIT


# Up to this many entries of the wrt symbol, a first derivative is taken in forward mode (one
# vectorized jvp per entry): as fast as reverse mode at these sizes, and it spares a run the
# 0.5 s import of torch._dynamo that torch.func's reverse mode does on its first call.
FORWARD_LIMIT = 16  # a 4 × 4 matrix, the largest size drawn by default


def _arranged(problem: Problem, jac: Tensor, n: int) -> Tensor:
    """A Jacobian (f's shape, then x's) as spec §3 lays out the derivative of its kind."""
    if problem.kind is Kind.GRADIENT:
        grad = jac.reshape(jac.shape[-2:])
        return grad if problem.layout is Layout.DENOMINATOR else grad.T
    numerator = jac.reshape(-1, n)
    return numerator.T if problem.layout is Layout.DENOMINATOR else numerator


@dataclass
class Comparison:
    """The true and claimed derivative at one sample."""

    true: Tensor
    claimed: Tensor | None
    abs_error: float
    rel_error: float
    ok: bool
    note: str = ""


def compare(problem: Problem, sample: Sample, rtol: float, atol: float) -> Comparison | None:
    """Compare at one sample; None when the sample lies outside f's domain."""
    values = {k: torch.tensor(v, dtype=torch.float64) for k, v in sample.values.items()}
    direction = torch.tensor(sample.direction, dtype=torch.float64)
    if near_singular(problem, values, sample.sizes, {problem.wrt: direction}):
        return None
    try:
        with torch.no_grad():
            f_value = evaluate(problem.f, values, sample.sizes)
        true = true_derivative(problem, values, sample.sizes, direction)
    except torch.linalg.LinAlgError:
        return None  # a singular matrix: outside f's domain
    if not (torch.isfinite(f_value).all() and torch.isfinite(true).all()):
        return None
    largest: list[Tensor] = []
    try:
        claimed = evaluate(problem.claim, values, sample.sizes, {problem.wrt: direction}, largest)
    except torch.linalg.LinAlgError:
        return None  # the formula's own inverse is singular here: it makes no claim here
    except ValueError as err:  # our own message: "2×3 and 2×3 do not fit a product"
        note = f"the claim cannot be evaluated: {err}"
        return Comparison(true, None, math.inf, math.inf, False, note)
    except RuntimeError:  # torch's message speaks torch ("2x3"), not gradcheck
        note = f"the claim cannot be evaluated at {_sizes(sample.sizes)}"
        return Comparison(true, None, math.inf, math.inf, False, note)
    if claimed.shape != true.shape:
        note = f"the claim is {_shape(claimed)} where the derivative is {_shape(true)}"
        return Comparison(true, claimed, math.inf, math.inf, False, note)
    if not torch.isfinite(claimed).all():
        return None  # likewise where the formula divides by zero
    diff = (claimed - true).abs()
    abs_error = float(diff.max()) if diff.numel() else 0.0
    scale = float(true.abs().max()) if true.numel() else 0.0
    rel_error = _relative_error(abs_error, scale, atol)
    # Rounding: a claim whose terms cancel (2AᵀAx/q − 2pBᵀBx/q² at n = 1, where the derivative
    # is 0) carries an error of a few ulps of its largest intermediate value, whatever the
    # result. Allow ROUNDING ulps of that on top of the tolerance: a genuine mistake is of the
    # size of the derivative's terms, some 10¹³ times larger.
    slack = ROUNDING * 2.0**-52 * (float(torch.stack(largest).max()) if largest else 0.0)
    ok = bool((diff <= atol + slack + rtol * true.abs()).all())
    return Comparison(true, claimed, abs_error, rel_error, ok)


def _relative_error(abs_error: float, scale: float, atol: float) -> float:
    """Relative to the derivative's largest entry; a derivative within atol of 0 has none."""
    return abs_error / scale if scale > atol else (0.0 if abs_error <= atol else math.inf)


def compare_batch(
    problem: Problem, batch: Batch, rtol: float, atol: float
) -> list[Comparison | None]:
    """`compare` at every sample of `batch`, in one vectorized call where torch.func.vmap can
    run the lowering; else (a kernel without a batching rule, a singular matrix, a claim that
    does not evaluate) one sample at a time, which gives the same answers, only slower.

    A sample the vectorized call finds failing is compared again on its own, and that is the
    answer: a batching rule can be wrong (in torch 2.13, vmap of jacfwd(jacrev(det)) is wrong
    at every sample but the first), and a counterexample must never rest on one."""
    try:
        results = _compare_vectorized(problem, batch, rtol, atol)
    except (RuntimeError, ValueError):
        return [compare(problem, sample, rtol, atol) for sample in batch.samples]
    return [
        compare(problem, sample, rtol, atol) if result is not None and not result.ok else result
        for sample, result in zip(batch.samples, results, strict=True)
    ]


def _stacked(batch: Batch) -> tuple[dict[str, Tensor], Tensor]:
    values, direction = batch.stacked
    return {k: torch.as_tensor(v) for k, v in values.items()}, torch.as_tensor(direction)


def _in_domain(
    problem: Problem, values: dict[str, Tensor], sizes: dict[str, int], direction: Tensor
) -> Tensor:
    """`not near_singular` at every sample, as a boolean vector."""
    keep = torch.ones(direction.shape[0], dtype=torch.bool)
    for node in (*_inverted(problem.f), *_inverted(problem.claim)):

        def matrix(vals: dict[str, Tensor], d: Tensor, node: Node = node) -> Tensor:
            return evaluate(node, vals, sizes, {problem.wrt: d})

        with torch.no_grad():
            try:
                m = torch.func.vmap(matrix)(values, direction)
            except (ValueError, RuntimeError):
                # near_singular skips a node that does not evaluate, sample by sample
                return torch.tensor(
                    [
                        not near_singular(problem, _one(values, i), sizes, {problem.wrt: d})
                        for i, d in enumerate(direction)
                    ]
                )
            if m.shape[1] != m.shape[2]:
                continue
            finite = torch.isfinite(m).all(dim=(1, 2))
            eye = torch.eye(m.shape[1], dtype=m.dtype).expand_as(m)
            cond = torch.linalg.cond(torch.where(finite[:, None, None], m, eye))
            keep &= finite & ~(cond > COND_LIMIT)  # a NaN condition number passes, as there
    return keep


def _one(values: dict[str, Tensor], i: int) -> dict[str, Tensor]:
    return {k: v[i] for k, v in values.items()}


def _compare_vectorized(
    problem: Problem, batch: Batch, rtol: float, atol: float
) -> list[Comparison | None]:
    values, direction = _stacked(batch)
    sizes = batch.sizes
    keep = _in_domain(problem, values, sizes, direction)
    results: list[Comparison | None] = [None] * len(batch.samples)
    if not keep.any():
        return results
    if not keep.all():
        values = {k: v[keep] for k, v in values.items()}
        direction = direction[keep]

    forward = _forward_mode(problem, values[problem.wrt][0].numel())

    def f_and_claim(vals: dict[str, Tensor], d: Tensor) -> tuple[Tensor, Tensor]:
        f_value = evaluate(problem.f, vals, sizes)
        return f_value, evaluate(problem.claim, vals, sizes, {problem.wrt: d})

    def at_sample(vals: dict[str, Tensor], d: Tensor) -> tuple[Tensor, ...]:
        f_value, claimed = f_and_claim(vals, d)
        return f_value, true_derivative(problem, vals, sizes, d, under_vmap=True), claimed

    if forward:
        f_value, true, claimed = _batched_forward(problem, values, sizes, direction)
    elif problem.kind is Kind.HESSIAN:  # by torch.autograd, sample by sample: see true_derivative
        f_value, claimed = torch.func.vmap(f_and_claim)(values, direction)
        true = torch.stack(
            [
                true_derivative(problem, _one(values, i), sizes, d)
                for i, d in enumerate(direction)
            ]
        )
    else:
        f_value, true, claimed = torch.func.vmap(at_sample)(values, direction)
    if claimed.shape != true.shape:
        raise ValueError("the claim's shape differs: compare says how, sample by sample")
    defined = (
        torch.isfinite(f_value).all(dim=(1, 2))
        & torch.isfinite(true).all(dim=(1, 2))
        & torch.isfinite(claimed).all(dim=(1, 2))
    )
    # compare's arithmetic, on every sample at once; Python floats only at the end. Without
    # compare's rounding slack: a sample within tolerance without it is within it with it, and
    # one that is not is compared again by compare itself (compare_batch), slack and all.
    diff = (claimed - true).abs()
    empty = diff[0].numel() == 0
    abs_errors = [0.0] * len(direction) if empty else diff.amax(dim=(1, 2)).tolist()
    scales = [0.0] * len(direction) if empty else true.abs().amax(dim=(1, 2)).tolist()
    oks = (diff <= atol + rtol * true.abs()).all(dim=(1, 2)).tolist()
    slots = keep.nonzero().flatten().tolist()
    for i, (slot, is_defined) in enumerate(zip(slots, defined.tolist(), strict=True)):
        if not is_defined:
            continue
        abs_error, scale = abs_errors[i], scales[i]
        rel_error = _relative_error(abs_error, scale, atol)
        results[slot] = Comparison(true[i], claimed[i], abs_error, rel_error, bool(oks[i]))
    return results


def _shape(t: Tensor) -> str:
    return f"{t.shape[0]}×{t.shape[1]}"


def _sizes(sizes: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(sizes.items())) or "the given sizes"


class _Mismatch(Exception):
    pass


def _matrix(t: Tensor | np.ndarray | None) -> tuple[tuple[float, ...], ...]:
    if t is None:
        return ()
    array = t.detach().numpy() if isinstance(t, Tensor) else t
    return tuple(tuple(float(v) for v in row) for row in np.atleast_2d(array))


def rule_seed(global_seed: int, rule_id: str) -> int:
    """An independent, reproducible seed per rule."""
    import hashlib

    digest = hashlib.sha256(f"{global_seed}:{rule_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def search(problem: Problem, options: Options, shrink: bool = True) -> NumericEvidence:
    """Check the claim on hypothesis inputs; a mismatch is shrunk to a minimal counterexample
    (`shrink=False` stops at the first mismatch: enough to reject a candidate repair).

    Inputs come in batches (strategies.batches), each compared in one vectorized call; a
    failing batch gives its failing sample's sizes, where smaller sizes are tried and the
    counterexample is then shrunk one hypothesis sample at a time.

    The evidence counts every input compared (those of the retries at smaller sizes too) and
    the counterexample it reports, and its largest errors include the counterexample's."""
    start = time.perf_counter()
    drawn = sizes_for(problem, options.max_numeric_size, dict(options.numeric_sizes))
    outcome = _screen(problem, options, drawn, options.examples, shrink)
    counterexample = None
    if outcome.failure is not None:
        failure = _smallest(problem, options, outcome) if shrink else outcome.failure
        outcome.measure(failure[1])  # the reported counterexample's error, whatever it is
        counterexample = _counterexample(problem, *failure)
    return NumericEvidence(
        examples=outcome.examples,
        max_abs_error=outcome.abs_error,
        max_rel_error=outcome.rel_error,
        rtol=options.rtol,
        atol=options.atol,
        counterexample=counterexample,
        detail=outcome.detail,
        seconds=time.perf_counter() - start,
    )


@dataclass
class _Outcome:
    """What one search compared: how many inputs (those up to the first failure, and the
    shrunk failure it reports), their largest errors, that failure, and why none was drawn."""

    examples: int = 0
    abs_error: float = 0.0
    rel_error: float = 0.0
    failure: tuple[Sample, Comparison] | None = None
    detail: str = ""

    def count(self, result: Comparison) -> None:
        """One more input compared, with its errors (where there is one to measure: not
        where the claim's shape differs or it cannot be evaluated)."""
        self.examples += 1
        if result.note and math.isinf(result.abs_error):
            return
        self.measure(result)

    def measure(self, result: Comparison) -> None:
        self.abs_error = max(self.abs_error, result.abs_error)
        self.rel_error = max(self.rel_error, result.rel_error)

    def add(self, other: _Outcome) -> None:
        """The inputs and errors of another search (a retry at smaller sizes)."""
        self.examples += other.examples
        self.abs_error = max(self.abs_error, other.abs_error)
        self.rel_error = max(self.rel_error, other.rel_error)


def _same(a: Sample, b: Sample) -> bool:
    """Whether two samples are the same input."""
    return (
        a.sizes == b.sizes
        and a.values.keys() == b.values.keys()
        and all(np.array_equal(a.values[k], b.values[k]) for k in a.values)
        and np.array_equal(a.direction, b.direction)
    )


NO_INPUT = "could not draw inputs inside the domain of f"


def _drive(run: Callable[[], None], failures: list[Any], outcome: _Outcome) -> bool:
    """Run a hypothesis search whose test raises _Mismatch after appending to `failures`;
    the last failure (hypothesis replays the shrunk example last) becomes the outcome's.
    False when hypothesis could not draw an input."""
    _no_database_key(run)
    own_modules_out_of_hypothesis_constants()
    try:
        run()
    except _Mismatch:
        outcome.failure = failures[-1]
    except Unsatisfiable:
        return False
    return True


def _no_database_key(test: Any) -> None:
    """With no example database, hypothesis still hashes the test's source for its key, at
    ~3 ms a search (a fifth of a batched one); a key given up front skips that. (An internal
    attribute: if hypothesis renames it, a search is that much slower, nothing else.)"""
    test._hypothesis_internal_database_key = b"gradcheck"


def _settings(examples: int, shrink: bool) -> settings:
    return settings(
        max_examples=examples,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink] if shrink else [Phase.generate],
        verbosity=Verbosity.quiet,
        print_blob=False,
    )


TOP_UPS = 3  # further rounds when samples outside f's domain left a search short


def _screen(
    problem: Problem,
    options: Options,
    sizes: dict[str, int] | st.SearchStrategy[dict[str, int]],
    examples: int,
    shrink: bool = False,
) -> _Outcome:
    """A hypothesis search over batches of BATCH samples, `examples` samples compared, at
    fixed `sizes` or sizes drawn from that strategy; its failure is the first failing sample
    of the failing batch (of the last one, after hypothesis has shrunk the sizes). Samples
    outside f's domain are not counted: a round that falls short is topped up by another,
    under a seed of its own, up to TOP_UPS times."""
    outcome = _Outcome()
    strategy = batches(
        problem,
        options.max_numeric_size,
        sizes=st.just(sizes) if isinstance(sizes, dict) else sizes,
    )
    for top_up in range(TOP_UPS + 1):
        label = problem.rule_id if top_up == 0 else f"{problem.rule_id}#{top_up}"
        _screen_round(problem, options, strategy, examples, shrink, label, outcome)
        if outcome.failure is not None or outcome.detail or outcome.examples >= examples:
            break
    return outcome


def _screen_round(
    problem: Problem,
    options: Options,
    strategy: st.SearchStrategy[Batch],
    examples: int,
    shrink: bool,
    label: str,
    outcome: _Outcome,
) -> None:
    """One hypothesis search of `_screen`, adding to `outcome` until it holds `examples`."""
    failures: list[tuple[Sample, Comparison]] = []

    @_settings(-(-(examples - outcome.examples) // BATCH), shrink)
    @seed(rule_seed(options.seed, label))
    @given(strategy)
    def run(batch: Batch) -> None:
        if not failures and outcome.examples >= examples:
            return
        results = compare_batch(problem, batch, options.rtol, options.atol)
        if all(r is None for r in results):
            reject()
        for sample, result in zip(batch.samples, results, strict=True):
            if result is None:
                continue
            if not failures:  # the inputs up to the first failure, `examples` of them
                if outcome.examples >= examples:
                    return
                outcome.count(result)
            if not result.ok:
                failures.append((sample, result))
                raise _Mismatch

    if not _drive(run, failures, outcome) and outcome.examples == 0:
        outcome.detail = NO_INPUT


def _run(
    problem: Problem,
    options: Options,
    sizes: dict[str, int] | None,
    examples: int,
    shrink: bool = True,
) -> _Outcome:
    """One hypothesis search one sample at a time, at drawn sizes or at fixed `sizes`: what
    shrinks a counterexample entry by entry."""
    outcome = _Outcome()
    failures: list[tuple[Sample, Comparison]] = []
    strategy = from_problem(
        problem, options.max_numeric_size, sizes=None if sizes is None else st.just(sizes)
    )

    @_settings(examples, shrink)
    @seed(rule_seed(options.seed, problem.rule_id))
    @given(strategy)
    def run(sample: Sample) -> None:
        result = compare(problem, sample, options.rtol, options.atol)
        if result is None:
            reject()
        assert result is not None
        if not failures:  # the inputs up to the first failure; shrinking tries many more
            outcome.count(result)
        if result.ok:
            return
        failures.append((sample, result))
        raise _Mismatch

    if not _drive(run, failures, outcome):
        outcome.detail = NO_INPUT
    if outcome.failure is not None and not _same(failures[-1][0], failures[0][0]):
        outcome.count(failures[-1][1])  # the shrunk counterexample is evidence too
    return outcome


def _smallest(problem: Problem, options: Options, outcome: _Outcome) -> tuple[Sample, Comparison]:
    """Hypothesis shrinks entries well but sizes less so: screen each smaller size, then shrink
    the failure at the smallest failing size one sample at a time. The inputs compared are
    added to `outcome`, up to the one whose failure is reported."""
    failure = outcome.failure
    assert failure is not None
    found = failure[0].sizes
    smaller = [
        dict(zip(problem.dims, values, strict=True))
        for values in itertools.product(*(range(1, found[d] + 1) for d in problem.dims))
    ]
    smaller = sorted(
        (s for s in smaller if sum(s.values()) < sum(found.values())),
        key=lambda s: (sum(s.values()), sorted(s.items())),
    )
    for sizes in smaller[:8]:
        retry = _screen(problem, options, sizes, max(10, options.examples // 2))
        outcome.add(retry)
        if retry.failure is not None:
            failure = retry.failure
            break
    return _shrunk(problem, options, outcome, failure)


def _shrunk(
    problem: Problem, options: Options, outcome: _Outcome, failure: tuple[Sample, Comparison]
) -> tuple[Sample, Comparison]:
    """The failure at `failure`'s sizes, shrunk entry by entry by a search one sample at a
    time; `failure` itself if that search finds none (a claim that fails rarely)."""
    shrunk = _run(problem, options, failure[0].sizes, options.examples)
    outcome.add(shrunk)
    return shrunk.failure if shrunk.failure is not None else failure


def counterexample_where_shapes_agree(problem: Problem, options: Options) -> Counterexample | None:
    """A counterexample with every dimension equal (2, then 3), where a claim whose shape is
    wrong in general (Aᵀ for A) has the derivative's shape and wrong entries to show."""
    for n in (2, 3):
        sizes = {d: n for d in problem.dims}
        outcome = _screen(problem, options, sizes, options.examples)
        if outcome.failure is not None and math.isfinite(outcome.failure[1].abs_error):
            return _counterexample(problem, *_shrunk(problem, options, outcome, outcome.failure))
    return None


def _counterexample(problem: Problem, sample: Sample, result: Comparison) -> Counterexample:
    inputs = [(name, _matrix(value)) for name, value in sample.values.items()]
    if problem.kind is Kind.DIFFERENTIAL:
        inputs.append((f"d{problem.wrt}", _matrix(sample.direction)))
    return Counterexample(
        sizes=tuple(sorted(sample.sizes.items())),
        inputs=tuple(inputs),
        true=_matrix(result.true),
        claimed=_matrix(result.claimed),
        abs_error=result.abs_error,
        rel_error=result.rel_error,
        note=result.note,
    )
