"""The two oracles compared: sympy's exact derivative and autograd's, at one generic point."""

from __future__ import annotations

import numpy as np
import sympy as sp
import torch

from .model import CrossCheck
from .numeric import near_singular, true_derivative
from .problem import Problem
from .strategies import sample_point
from .symbolic import SizeResult


def cross_check(problem: Problem, at: SizeResult, seed: int, tries: int = 5) -> CrossCheck:
    """Evaluate the sympy derivative where autograd is evaluated; they must agree."""
    sizes = tuple(sorted(at.sizes.items()))
    for attempt in range(tries):
        sample = sample_point(problem, at.sizes, seed + attempt)
        values = {k: torch.tensor(v, dtype=torch.float64) for k, v in sample.values.items()}
        direction = torch.tensor(sample.direction, dtype=torch.float64)
        if near_singular(problem, values, at.sizes, {problem.wrt: direction}):
            continue  # outside f's domain (or the claim's); draw another point
        autograd = true_derivative(problem, values, at.sizes, direction).detach().numpy()
        if not np.isfinite(autograd).all():
            continue  # outside f's domain; draw another point
        point = {}
        for name, matrix in at.mats.items():
            point.update(
                {
                    s: sp.Float(float(v), 30)
                    for s, v in zip(matrix, sample.values[name].reshape(-1), strict=True)
                }
            )
        if at.direction is not None:
            point.update(
                {
                    s: sp.Float(float(v), 30)
                    for s, v in zip(at.direction, sample.direction.reshape(-1), strict=True)
                }
            )
        assert at.derivative is not None
        exact = np.array(at.derivative.xreplace(point).evalf(20).tolist(), dtype=np.complex128)
        if np.abs(exact.imag).max(initial=0) > 1e-12 or exact.shape != autograd.shape:
            continue
        diff = float(np.abs(exact.real - autograd).max(initial=0.0))
        scale = 1.0 + float(np.abs(autograd).max(initial=0.0))
        agreed = diff <= 1e-8 * scale
        where = ", ".join(f"{k}={v}" for k, v in sizes) or "the given sizes"
        detail = "" if agreed else f"max difference {diff:.3g} at {where}"
        return CrossCheck(agreed=agreed, max_diff=diff, sizes=sizes, detail=detail)
    return CrossCheck(
        agreed=True,
        max_diff=0.0,
        sizes=sizes,
        detail="no sample point inside the domain of f; not compared",
    )
