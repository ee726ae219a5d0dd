"""Hypothesis strategies for a rule's inputs: sizes, then every symbol, assumptions built in."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
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
    raw[..., 0, 0] = _away_from_zero(raw[..., 0, 0])
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
# A refinement adjusts a plain draw, strongest assumption first; on the last two axes, so
# that it adjusts a batch's stacked draws (Batch.stacked) as it does one value.
REFINEMENTS: Mapping[str, Callable[[np.ndarray], np.ndarray]] = MappingProxyType(
    {
        "positive": lambda raw: 0.1 + np.abs(raw),
        "symmetric": lambda raw: (raw + np.swapaxes(raw, -1, -2)) / 2,
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


@functools.lru_cache(maxsize=256)
def entries(shape: tuple[int, int]) -> st.SearchStrategy[np.ndarray]:
    """Finite float64 entries: 0 or TINY ≤ |v| ≤ BOUND; hypothesis shrinks them towards 0 and
    simple values such as 1 and −1. (One strategy per shape, built once.)"""
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


def sizes_for(
    problem: Problem, max_size: int = 4, fixed: Mapping[str, int] | None = None
) -> st.SearchStrategy[dict[str, int]]:
    """One size per dimension name (names shared between symbols get the same size): the
    `fixed` one where given, else drawn in 1..max_size."""
    fixed = fixed or {}
    return st.fixed_dictionaries(
        {d: st.just(fixed[d]) if d in fixed else st.integers(1, max_size) for d in problem.dims}
    )


def from_problem(
    problem: Problem, max_size: int = 4, sizes: st.SearchStrategy[dict[str, int]] | None = None
) -> st.SearchStrategy[Sample]:
    """Inputs for `problem`: sizes first, then every symbol, assumptions built by construction."""
    return _samples(problem, sizes if sizes is not None else sizes_for(problem, max_size))


# Module-level composites: hypothesis reads a composite's source when it is decorated, which
# costs more than a whole batch does if it happens on every search.
@st.composite
def _samples(draw: Any, problem: Problem, sizes: st.SearchStrategy[dict[str, int]]) -> Sample:
    chosen = draw(sizes)
    return build_sample(problem, chosen, lambda shape: draw(entries(shape)))


@dataclass(frozen=True, eq=False)
class Batch:
    """Samples at one size, evaluated in one vectorized call (numeric.compare_batch); built
    from `seed` when first asked for, so that a batch never compared costs one draw."""

    problem: Problem
    sizes: dict[str, int]
    seed: int
    size: int

    @functools.cached_property
    def stacked(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Every symbol's values and the directions, each stacked along a first axis of
        `size` samples: a plain or refined value is drawn for all samples at once, a
        constructed one (orthogonal, invertible, …) sample by sample."""
        rng = np.random.default_rng(self.seed)
        problem, size = self.problem, self.size

        def draw(shape: tuple[int, ...]) -> np.ndarray:
            return batch_entries(rng, shape)

        values = {}
        for name in problem.shapes:
            rows, cols = problem.symbol_size(name, self.sizes)
            assumptions = problem.assumptions.get(name, frozenset())
            if any(row.numeric in CONSTRUCTIONS for row in strongest_first(assumptions)):
                values[name] = np.stack(
                    [build_value(assumptions, rows, cols, draw) for _ in range(size)]
                )
            else:  # build_value's refinements, on the whole stack
                values[name] = build_value(assumptions, rows, cols, lambda s: draw((size, *s)))
        wrt = values[problem.wrt]
        wrt_assumptions = problem.assumptions.get(problem.wrt, frozenset())
        if any(row.direction for row in strongest_first(wrt_assumptions)):
            direction = np.stack([build_direction(wrt_assumptions, v, draw) for v in wrt])
        else:
            direction = draw(wrt.shape)
        return values, direction

    @functools.cached_property
    def samples(self) -> tuple[Sample, ...]:
        values, direction = self.stacked
        return tuple(
            Sample(dict(self.sizes), {k: v[i] for k, v in values.items()}, direction[i])
            for i in range(self.size)
        )


BATCH = 8  # samples per hypothesis example
ZERO_SHARE = 0.1  # of a batch's entries: zeros are the special inputs a mistake hides behind


def batch_entries(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Entries as ENTRY draws them: 0 or TINY ≤ |v| ≤ BOUND, either sign, uniform in
    magnitude. One uniform draw u in [−1, 1) an entry: |u| < ZERO_SHARE is 0, else v has u's
    sign and |v| = TINY + (BOUND − TINY)(|u| − ZERO_SHARE)/(1 − ZERO_SHARE), worked in place
    block by block. At n = 1024 drawing is most of a check's cost, and whole-array passes
    (two draws, two `np.where` copies) cost 3× as much as passes over cache-sized blocks;
    scratch arrays made once, and `copyto` where a boolean index was, save another 30%."""
    out = np.empty(shape)
    flat = out.reshape(-1)
    block = min(_BLOCK, flat.size)
    zero, magnitude, shift = np.empty(block, dtype=bool), np.empty(block), np.empty(block)
    for start in range(0, flat.size, _BLOCK):
        u = flat[start : start + _BLOCK]
        k = u.size
        rng.random(out=u)
        np.multiply(u, 2.0, out=u)
        np.subtract(u, 1.0, out=u)
        np.abs(u, out=magnitude[:k])
        np.less(magnitude[:k], ZERO_SHARE, out=zero[:k])
        np.copysign(_SHIFT, u, out=shift[:k])
        np.multiply(u, _STRETCH, out=u)
        np.subtract(u, shift[:k], out=u)
        np.copyto(u, 0.0, where=zero[:k])
    return out


_BLOCK = 1 << 14  # entries: 128 KiB of float64, inside a core's L2 cache
_STRETCH = (BOUND - TINY) / (1 - ZERO_SHARE)  # |u| ∈ [ZERO_SHARE, 1) onto [TINY, BOUND)
_SHIFT = _STRETCH * ZERO_SHARE - TINY


def batches(
    problem: Problem,
    max_size: int = 4,
    sizes: st.SearchStrategy[dict[str, int]] | None = None,
    size: int = BATCH,
) -> st.SearchStrategy[Batch]:
    """Batches for `problem`: hypothesis draws the sizes and a seed, from which numpy draws
    `size` samples (assumptions built by construction, as in `from_problem`). Hypothesis drawing
    every entry costs ~75 µs an entry, far more than the check; a seed costs one draw, and
    shrinking it still explores. A failing batch is reduced to one sample and shrunk entry by
    entry with `from_problem` (numeric.search)."""

    return _batch(problem, sizes if sizes is not None else sizes_for(problem, max_size), size)


@st.composite
def _batch(
    draw: Any, problem: Problem, sizes: st.SearchStrategy[dict[str, int]], size: int
) -> Batch:
    chosen = draw(sizes)
    return Batch(problem, dict(chosen), draw(st.integers(0, 2**32 - 1)), size)


def own_modules_out_of_hypothesis_constants() -> None:
    """Keep gradcheck's own source out of the constants hypothesis draws from.

    Now and then (5% of draws) hypothesis draws a constant found in the source of the "local"
    modules in sys.modules, which it parses on first use. In an editable install gradcheck's
    own modules count as local: the parse cost every process half a second, and the inputs
    (so the counterexamples shown) depended on how gradcheck was installed and on its source.
    Marking them as already seen leaves users' own modules as hypothesis treats them. (An
    internal attribute: if hypothesis renames it, only that speed and independence is lost.)
    Called before each search; cheap when no module was imported since the last call."""
    global _modules_marked
    if len(sys.modules) == _modules_marked:
        return
    try:
        from hypothesis.internal.conjecture import providers

        seen: set[int] = providers._seen_modules
    except (ImportError, AttributeError):
        return
    for name, module in list(sys.modules.items()):
        if name == "gradcheck" or name.startswith("gradcheck.") or _is_own_main(name, module):
            seen.add(id(module))
    _modules_marked = len(sys.modules)


_modules_marked = 0
_PACKAGE = Path(__file__).resolve().parent


def _is_own_main(name: str, module: Any) -> bool:
    """`python -m gradcheck`'s __main__, gradcheck/__main__.py."""
    file = getattr(module, "__file__", None)
    return name == "__main__" and file is not None and Path(file).resolve().parent == _PACKAGE


def sample_point(problem: Problem, sizes: dict[str, int], seed: int) -> Sample:
    """A generic (not shrunk) input at fixed sizes, for the cross-check of the two oracles."""
    rng = np.random.default_rng(seed)
    return build_sample(problem, sizes, lambda shape: rng.uniform(-BOUND, BOUND, shape))


# ---- inputs for users' own property tests (gradcheck.testing, and @given in their tests) ----

@dataclass(frozen=True)
class Declared:
    """Symbols declared as in a rule's `symbols` (`{"W": "matrix(m, n)", "x": "vector(n)"}`),
    with their assumptions: what `inputs` draws."""

    kinds: Mapping[str, str]  # name → scalar | vector | matrix
    dims: Mapping[str, tuple[str | int, str | int]]  # name → (rows, cols); 1 for a scalar
    assume: Mapping[str, frozenset[str]]

    @property
    def dimension_names(self) -> tuple[str, ...]:
        return tuple(sorted({d for pair in self.dims.values() for d in pair
                             if isinstance(d, str)}))


def declared(shapes: Mapping[str, str], assume: Mapping[str, Any] | None = None) -> Declared:
    """Read `shapes` and `assume` (name → an assumption or a list of them); a ValueError says
    what is wrong."""
    from .assumptions import DECLARABLE, TABLE, SymbolShape
    from .catalog import DECLARATION

    kinds: dict[str, str] = {}
    dims: dict[str, tuple[str | int, str | int]] = {}
    for name, text in shapes.items():
        match = DECLARATION.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"{name}: {text!r} is not a shape: scalar, vector(n) or matrix(m, n)")
        scalar, _, length, _, rows, cols = match.groups()
        pair = [1, 1] if scalar else [length, 1] if length else [rows, cols]
        found = [int(d) if isinstance(d, str) and d.isdigit() else d for d in pair]
        if 0 in found:
            raise ValueError(f"{name}: a dimension is at least 1")
        dims[name] = (found[0], found[1])
        kinds[name] = "scalar" if scalar else "vector" if length else "matrix"
    assumed: dict[str, frozenset[str]] = {}
    for name, names in (assume or {}).items():
        if name not in shapes:
            raise ValueError(f"assume: {name} is not one of the shapes' symbols")
        listed = [names] if isinstance(names, str) else list(names)
        for a in listed:
            if a not in DECLARABLE:
                raise ValueError(f"assume: {a!r} is not an assumption; known: "
                                 + ", ".join(DECLARABLE))
            needs = TABLE[a].shape
            rows, cols = dims[name]
            if needs is SymbolShape.SQUARE and (kinds[name] != "matrix" or rows != cols):
                raise ValueError(f"assume: {name} is {shapes[name]}; {a} needs a square matrix")
            if needs is SymbolShape.VECTOR and kinds[name] != "vector":
                raise ValueError(f"assume: {name} is {shapes[name]}; {a} needs a vector")
        assumed[name] = frozenset(listed)
    return Declared(kinds, dims, assumed)


def _torch_value(kind: str, value: np.ndarray) -> Any:
    """A drawn 2-D array as users' torch code expects it: 0-d, 1-d or 2-d float64."""
    import torch

    shaped = value.reshape(()) if kind == "scalar" else value[:, 0] if kind == "vector" else value
    return torch.tensor(shaped, dtype=torch.float64)


def inputs(
    shapes: Mapping[str, str],
    assume: Mapping[str, Any] | None = None,
    *,
    max_size: int = 4,
    sizes: Mapping[str, int] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts of float64 tensors, one per symbol of `shapes` (a scalar 0-d, a vector 1-d, a
    matrix 2-d), every dimension name drawn in 1..max_size (or fixed by `sizes`) and shared
    between symbols, the assumptions built in by construction. For users' own `@given` tests;
    hypothesis shrinks the sizes and the entries of a failing example."""
    spec = declared(shapes, assume)
    return _inputs(spec, _dimension_sizes(spec, max_size, sizes))


def _dimension_sizes(
    spec: Declared, max_size: int, sizes: Mapping[str, int] | None
) -> st.SearchStrategy[dict[str, int]]:
    fixed = dict(sizes or {})
    return st.fixed_dictionaries(
        {d: st.just(fixed[d]) if d in fixed else st.integers(1, max_size)
         for d in spec.dimension_names}
    )


@st.composite
def _inputs(draw: Any, spec: Declared, sizes: st.SearchStrategy[dict[str, int]]) -> dict[str, Any]:
    chosen = draw(sizes)
    found = {}
    for name, (rows, cols) in spec.dims.items():
        r = rows if isinstance(rows, int) else chosen[rows]
        c = cols if isinstance(cols, int) else chosen[cols]
        value = build_value(spec.assume.get(name, frozenset()), r, c,
                            lambda shape: draw(entries(shape)))
        found[name] = _torch_value(spec.kinds[name], value)
    return found
