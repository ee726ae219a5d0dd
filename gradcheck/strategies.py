"""Hypothesis strategies for a rule's inputs: sizes, then every symbol, assumptions built in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from .assumptions import strongest_first
from .problem import Problem

Draw = Callable[[tuple[int, int]], np.ndarray]
BOUND = 2.0  # entries in [-2, 2]: exp, det and inverses stay well inside float64's comfort


@dataclass(frozen=True)
class Sample:
    """One input for a rule: sizes, a value per symbol, and a direction for the wrt symbol."""

    sizes: dict[str, int]
    values: dict[str, np.ndarray]
    direction: np.ndarray


def _orthogonal(raw: np.ndarray) -> np.ndarray:
    # The shift keeps QR well defined when hypothesis shrinks raw to zeros.
    q, r = np.linalg.qr(raw + 2.5 * np.eye(len(raw)))
    return q * np.sign(np.where(np.diag(r) == 0, 1.0, np.diag(r)))


def _away_from_zero(raw: np.ndarray, floor: float = 0.5) -> np.ndarray:
    return np.where(raw < 0, -1.0, 1.0) * (floor + np.abs(raw))


def build_value(assumptions: frozenset[str], rows: int, cols: int, draw: Draw) -> np.ndarray:
    """A value of shape rows × cols satisfying every one of `assumptions`, built from draws:
    the strongest construction builds it whole, else every refinement adjusts a plain draw."""
    strongest = strongest_first(assumptions)
    for row in strongest:
        if row.numeric in CONSTRUCTIONS:
            return CONSTRUCTIONS[row.numeric](assumptions, rows, cols, draw)
    value = draw((rows, cols))
    for row in strongest:
        if row.numeric in REFINEMENTS:
            value = REFINEMENTS[row.numeric](value)
    return value


def _diagonal_entries(a: frozenset[str], entries: np.ndarray) -> np.ndarray:
    if a & {"positive", "spd"}:
        return 0.5 + np.abs(entries)
    if a & {"invertible", "posdet", "nonzero"}:
        entries = _away_from_zero(entries)
    if "posdet" in a and np.prod(np.sign(entries)) < 0:
        entries = entries.copy()
        entries[0] *= -1  # an even number of negative entries: det > 0
    return entries


def _invertible(a: frozenset[str], n: int, draw: Draw) -> np.ndarray:
    """Q₁ diag(s) Q₂ᵀ with singular values in [0.5, 2.5]: invertible and well conditioned."""
    left = _orthogonal(draw((n, n)))
    if "symmetric" in a:  # Q diag(λ) Qᵀ with |λ| ≥ 0.5, an even number of λ < 0 for posdet
        eigenvalues = _diagonal_entries(a | {"invertible"}, draw((n, 1))[:, 0])
        return left @ np.diag(eigenvalues) @ left.T
    s = 0.5 + np.abs(draw((n, 1))[:, 0])
    value = left @ np.diag(s) @ _orthogonal(draw((n, n))).T
    if "posdet" in a and np.linalg.det(value) < 0:
        value = value.copy()
        value[0] *= -1  # still invertible, now with a positive determinant
    return value


def _spd(n: int, draw: Draw) -> np.ndarray:
    raw = draw((n, n))
    return raw @ raw.T / BOUND + 0.5 * np.eye(n)


def _probability(raw: np.ndarray) -> np.ndarray:
    weights = 0.1 + np.abs(raw)
    return weights / weights.sum()


def _nonzero(raw: np.ndarray) -> np.ndarray:
    raw = raw.copy()
    raw.flat[0] = _away_from_zero(np.array(raw.flat[0]))
    return raw


Construction = Callable[[frozenset[str], int, int, Draw], np.ndarray]
# The value builders the assumption table names (assumptions.Assumption.numeric). A
# construction builds the whole value; it reads the other assumptions as stated (diagonal and
# spd: positive entries).
CONSTRUCTIONS: Mapping[str, Construction] = MappingProxyType(
    {
        "orthogonal": lambda a, rows, cols, draw: _orthogonal(draw((rows, rows))),
        "diagonal": lambda a, rows, cols, draw: np.diag(
            _diagonal_entries(a, draw((rows, 1))[:, 0])
        ),
        "spd": lambda a, rows, cols, draw: _spd(rows, draw),
        "invertible": lambda a, rows, cols, draw: _invertible(a, rows, draw),
        "probability": lambda a, rows, cols, draw: _probability(draw((rows, cols))),
    }
)
# A refinement adjusts a plain draw, strongest assumption first.
REFINEMENTS: Mapping[str, Callable[[np.ndarray], np.ndarray]] = MappingProxyType(
    {
        "positive": lambda raw: 0.1 + np.abs(raw),
        "symmetric": lambda raw: (raw + raw.T) / 2,
        "nonzero": _nonzero,
    }
)


def build_direction(assumptions: frozenset[str], value: np.ndarray, draw: Draw) -> np.ndarray:
    """A direction dX that stays inside the set the assumptions describe (the strongest
    structure's), else a free one."""
    raw = draw(value.shape)
    for row in strongest_first(assumptions):
        if row.direction:
            return DIRECTIONS[row.direction](value, raw, draw)
    return raw


def _tangent_to_orthogonal(q: np.ndarray, draw: Draw) -> np.ndarray:
    skew = draw((q.shape[0], q.shape[0]))
    return q @ (skew - skew.T)


# The direction builders the assumption table names (assumptions.Assumption.direction).
DirectionBuilder = Callable[[np.ndarray, np.ndarray, Draw], np.ndarray]  # (value, raw, draw)
DIRECTIONS: Mapping[str, DirectionBuilder] = MappingProxyType(
    {
        "orthogonal": lambda value, raw, draw: _tangent_to_orthogonal(value, draw),
        "diagonal": lambda value, raw, draw: np.diag(np.diag(raw)),
        "symmetric": lambda value, raw, draw: (raw + raw.T) / 2,
        "probability": lambda value, raw, draw: raw - raw.mean(),  # stays on the simplex
    }
)


def build_sample(problem: Problem, sizes: dict[str, int], draw: Draw) -> Sample:
    """Every symbol's value and the direction, drawn through `draw`."""
    values = {}
    for name in problem.shapes:
        rows, cols = problem.symbol_size(name, sizes)
        values[name] = build_value(problem.assumptions.get(name, frozenset()), rows, cols, draw)
    wrt_assumptions = problem.assumptions.get(problem.wrt, frozenset())
    direction = build_direction(wrt_assumptions, values[problem.wrt], draw)
    return Sample(dict(sizes), values, direction)


def entries(shape: tuple[int, int]) -> st.SearchStrategy[np.ndarray]:
    """Finite float64 entries: 0 or TINY ≤ |v| ≤ BOUND; hypothesis shrinks them towards 0 and
    simple values such as 1 and −1."""
    return arrays(np.float64, shape, elements=ENTRY, fill=st.nothing())


# Why not every float in [−BOUND, BOUND]: hypothesis likes extreme draws such as 1e-49 or
# subnormals. Products of a few of them underflow float64 (a quotient of two quadratic forms
# in such an x is 0/0 or cancels catastrophically), and a correct rule would then get a false
# counterexample. No matrix-calculus mistake needs such a value to show: zeros (kept, they
# make the small counterexamples) and well-scaled values do.
TINY = 2.0**-10
ENTRY = st.one_of(
    st.just(0.0),
    st.floats(TINY, BOUND),
    st.floats(-BOUND, -TINY),
)


def sizes_for(problem: Problem, max_size: int = 4) -> st.SearchStrategy[dict[str, int]]:
    """One size per dimension name; names shared between symbols get the same size."""
    return st.fixed_dictionaries({d: st.integers(1, max_size) for d in problem.dims})


def from_problem(
    problem: Problem, max_size: int = 4, sizes: st.SearchStrategy[dict[str, int]] | None = None
) -> st.SearchStrategy[Sample]:
    """Inputs for `problem`: sizes first, then every symbol, assumptions built by construction."""

    @st.composite
    def samples(draw: Any) -> Sample:
        chosen = draw(sizes if sizes is not None else sizes_for(problem, max_size))
        return build_sample(problem, chosen, lambda shape: draw(entries(shape)))

    return samples()


def sample_point(problem: Problem, sizes: dict[str, int], seed: int) -> Sample:
    """A generic (not shrunk) input at fixed sizes, for the cross-check of the two oracles."""
    rng = np.random.default_rng(seed)
    return build_sample(problem, sizes, lambda shape: rng.uniform(-BOUND, BOUND, shape))
