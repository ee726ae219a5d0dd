"""Property tests of your own gradients: `assert_gradient`, `assert_jacobian` and
`assert_hessian` compare a hand-written derivative (a Python callable on torch tensors) with
torch.autograd's on hypothesis inputs, and shrink a mismatch to a minimal counterexample, the
smallest sizes first; `assert_holds` checks a claim in gradcheck's language.

    from gradcheck.testing import assert_gradient

    def loss(W, x, b, a):
        return a @ torch.tanh(W @ x + b)

    def my_grad_W(W, x, b, a):
        return torch.outer(a * (1 - torch.tanh(W @ x + b) ** 2), x)

    assert_gradient(loss, my_grad_W, {"W": "matrix(m, n)", "x": "vector(n)",
                                      "b": "vector(m)", "a": "vector(m)"}, wrt="W")

A scalar is a 0-d tensor, a vector 1-d, a matrix 2-d, all float64; `f` and the derivative are
called with keyword arguments named like the keys of `shapes`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .model import Layout, Options

Tensor = Any  # torch.Tensor, imported when a check runs


class Derivative(Enum):
    """What the user's callable claims to compute."""

    GRADIENT = "gradient"
    JACOBIAN = "Jacobian"
    HESSIAN = "Hessian"


def assert_holds(
    claim: str,
    *,
    assume: Mapping[str, Any] | None = None,
    symbols: Mapping[str, str] | None = None,
    layout: str = "denominator",
    examples: int = 60,
    seed: int = 0,
) -> None:
    """Raise AssertionError unless the claim holds (as `gradcheck check` decides)."""
    from . import api
    from .pytest_plugin import failure_report

    verdict = api.check(
        claim, assume=assume, symbols=symbols, layout=layout, seed=seed, examples=examples
    )
    if not verdict.as_expected:
        raise AssertionError(failure_report(verdict))


def assert_gradient(
    f: Callable[..., Tensor],
    grad: Callable[..., Tensor],
    shapes: Mapping[str, str],
    *,
    wrt: str,
    assume: Mapping[str, Any] | None = None,
    layout: str = "denominator",
    examples: int = 60,
    seed: int = 0,
) -> None:
    """`grad(**inputs)` is the gradient of the scalar `f(**inputs)` by `wrt`: the shape of
    `wrt` in denominator layout, its transpose in numerator layout."""
    _check(Derivative.GRADIENT, f, grad, shapes, wrt, assume, Layout(layout), examples, seed)


def assert_jacobian(
    f: Callable[..., Tensor],
    jac: Callable[..., Tensor],
    shapes: Mapping[str, str],
    *,
    wrt: str,
    assume: Mapping[str, Any] | None = None,
    layout: str = "numerator",
    examples: int = 60,
    seed: int = 0,
) -> None:
    """`jac(**inputs)` is the Jacobian of `f` by `wrt`: (entries of f) × (entries of wrt) in
    numerator layout (the default here, as in most texts), its transpose in denominator
    layout; entries are taken row by row."""
    _check(Derivative.JACOBIAN, f, jac, shapes, wrt, assume, Layout(layout), examples, seed)


def assert_hessian(
    f: Callable[..., Tensor],
    hess: Callable[..., Tensor],
    shapes: Mapping[str, str],
    *,
    wrt: str,
    assume: Mapping[str, Any] | None = None,
    examples: int = 60,
    seed: int = 0,
) -> None:
    """`hess(**inputs)` is the Hessian of the scalar `f` by the vector (or scalar) `wrt`."""
    _check(Derivative.HESSIAN, f, hess, shapes, wrt, assume, Layout.DENOMINATOR, examples, seed)


@dataclass
class _Mismatch:
    inputs: dict[str, Tensor]
    sizes: dict[str, int]
    true: Tensor | None
    claimed: Tensor | None
    note: str = ""


class _Found(Exception):
    pass


def _check(
    derivative: Derivative,
    f: Callable[..., Tensor],
    claimed: Callable[..., Tensor],
    shapes: Mapping[str, str],
    wrt: str,
    assume: Mapping[str, Any] | None,
    layout: Layout,
    examples: int,
    seed: int,
) -> None:
    from .strategies import declared

    spec = declared(shapes, assume)
    if wrt not in shapes:
        raise ValueError(f"wrt: {wrt} is not one of the shapes' symbols")
    if derivative is Derivative.HESSIAN and spec.kinds[wrt] == "matrix":
        raise ValueError("a Hessian is by a vector or a scalar")
    tolerance = Options()
    compare = _Comparer(derivative, f, claimed, wrt, layout, tolerance.rtol, tolerance.atol)
    found = _search(spec, compare, examples, seed, None)
    if found is None:
        return
    smaller = [
        dict(zip(spec.dimension_names, values, strict=True))
        for values in itertools.product(
            *(range(1, found.sizes[d] + 1) for d in spec.dimension_names)
        )
    ]
    for sizes in sorted(
        (s for s in smaller if sum(s.values()) < sum(found.sizes.values())),
        key=lambda s: (sum(s.values()), sorted(s.items())),
    ):
        retry = _search(spec, compare, max(10, examples // 2), seed, sizes)
        if retry is not None:
            found = retry
            break
    raise AssertionError(_message(derivative, wrt, found))


@dataclass
class _Comparer:
    derivative: Derivative
    f: Callable[..., Tensor]
    claimed: Callable[..., Tensor]
    wrt: str
    layout: Layout
    rtol: float
    atol: float

    def __call__(self, inputs: dict[str, Tensor], sizes: dict[str, int]) -> _Mismatch | None:
        import torch

        x = inputs[self.wrt]

        def f_of(xv: Tensor) -> Tensor:
            return self.f(**{**inputs, self.wrt: xv})

        true = self._true(f_of, x)
        if not bool(torch.isfinite(true).all()):
            return None  # outside f's domain: no claim there
        got = self.claimed(**{k: v.clone() for k, v in inputs.items()})
        if not isinstance(got, torch.Tensor):
            got = torch.as_tensor(got, dtype=torch.float64)
        got = got.detach().to(torch.float64)
        if not _same_shape(got, true):
            return _Mismatch(
                inputs,
                sizes,
                true,
                got,
                f"the derivative is {_shape(true)}, yours is {_shape(got)}",
            )
        got = got.reshape(true.shape)
        if bool((torch.abs(got - true) <= self.atol + self.rtol * torch.abs(true)).all()):
            return None
        return _Mismatch(inputs, sizes, true, got)

    def _true(self, f_of: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
        import torch

        from .numeric import backward_hessian, backward_jacobian

        # torch.autograd, one backward pass an entry of f (or of the gradient): at these sizes
        # cheaper than torch.func's transforms, and no torch._dynamo import (a second) on
        # first use
        if self.derivative is Derivative.HESSIAN:
            n = x.numel()
            return backward_hessian(f_of, x).reshape((n, n) if x.dim() else ())
        jac = backward_jacobian(f_of, x)
        if self.derivative is Derivative.GRADIENT:
            if jac is None or jac.numel() != x.numel():
                raise ValueError(f"f is not a scalar: it has shape {tuple(f_of(x).shape)}")
            grad = jac.reshape(x.shape)
            return grad.T if self.layout is Layout.NUMERATOR and grad.dim() == 2 else grad
        if jac is None:  # an f of many entries: one reverse-mode pass for all of them
            jac = torch.func.jacrev(f_of)(x)
        rows = int(jac.numel() // max(x.numel(), 1))
        numerator = jac.reshape(rows, x.numel())
        return numerator if self.layout is Layout.NUMERATOR else numerator.T


def _same_shape(got: Tensor, true: Tensor) -> bool:
    """Equal shapes; or a 1-d vector where the derivative is an n×1 or 1×n matrix (or the
    other way round), which hold the same entries in the same order."""
    if got.shape == true.shape:
        return True
    if got.numel() != true.numel() or got.dim() == true.dim():
        return False
    return (
        min(got.dim(), true.dim()) <= 1
        and max(got.dim(), true.dim()) <= 2
        and (1 in (true.shape if true.dim() == 2 else got.shape) or got.numel() <= 1)
    )


def _shape(t: Tensor) -> str:
    return "×".join(str(n) for n in t.shape) or "a scalar"


def _search(
    spec: Any, compare: _Comparer, examples: int, seed: int, sizes: dict[str, int] | None
) -> _Mismatch | None:
    """A hypothesis search (shrinking on) for a mismatch; the shrunk one, or None."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as seeded

    from .strategies import _dimension_sizes, _inputs, own_modules_out_of_hypothesis_constants

    own_modules_out_of_hypothesis_constants()
    failures: list[_Mismatch] = []
    sizes_strategy = _dimension_sizes(spec, 4, sizes)

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink],
        verbosity=Verbosity.quiet,
        print_blob=False,
    )
    @seeded(seed)
    @given(sizes_strategy.flatmap(lambda s: _inputs(spec, _just(s)).map(lambda v: (v, s))))
    def run(drawn: tuple[dict[str, Tensor], dict[str, int]]) -> None:
        values, chosen = drawn
        mismatch = compare(values, chosen)
        if mismatch is not None:
            failures.append(mismatch)
            raise _Found

    try:
        run()
    except _Found:
        return failures[-1]
    return None


def _just(sizes: dict[str, int]) -> Any:
    from hypothesis import strategies as st

    return st.just(sizes)


def _message(derivative: Derivative, wrt: str, m: _Mismatch) -> str:
    from .report.common import format_number

    where = ", ".join(f"{k}={v}" for k, v in sorted(m.sizes.items())) or "these inputs"
    lines = [f"the {derivative.value} by {wrt} is wrong at {where}"]
    if m.note:
        lines[0] += f": {m.note}"
    lines.append("inputs:")
    lines += [f"  {name} = {_text(value)}" for name, value in m.inputs.items()]
    if m.true is not None:
        lines.append(f"autograd: {_text(m.true)}")
    if m.claimed is not None:
        lines.append(f"yours:    {_text(m.claimed)}")
    if not m.note and m.true is not None and m.claimed is not None:
        flat_true, flat_got = m.true.reshape(-1), m.claimed.reshape(-1)
        differing = [
            i
            for i in range(flat_true.numel())
            if not math.isclose(float(flat_true[i]), float(flat_got[i]), rel_tol=1e-7, abs_tol=1e-9)
        ]
        index = [_index(m.true.shape, i) for i in differing[:6]]
        lines.append(
            "differing entries: "
            + "; ".join(
                f"{ix}: {format_number(float(flat_got[i]))} where it is "
                f"{format_number(float(flat_true[i]))}"
                for ix, i in zip(index, differing, strict=False)
            )
        )
    return "\n".join(lines)


def _index(shape: Any, flat: int) -> str:
    coords = []
    for n in reversed(list(shape)):
        coords.append(flat % n + 1)
        flat //= n
    return "(" + ", ".join(str(c) for c in reversed(coords)) + ")" if coords else "()"


def _text(t: Tensor) -> str:
    from .report.common import format_number

    values = t.detach().tolist()
    if not isinstance(values, list):
        return format_number(values)
    if values and isinstance(values[0], list):
        return (
            "["
            + ", ".join("[" + ", ".join(format_number(v) for v in row) + "]" for row in values)
            + "]"
        )
    return "[" + ", ".join(format_number(v) for v in values) + "]"
