"""Tests for gradcheck.strategies: inputs satisfy their assumptions by construction."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gradcheck.assumptions import TABLE, SymbolShape
from gradcheck.catalog import rule_from_claim
from gradcheck.problem import Problem, compile_rule
from gradcheck.strategies import (
    BATCH,
    BOUND,
    TINY,
    ZERO_SHARE,
    batch_entries,
    batches,
    build_direction,
    build_value,
    entries,
    from_problem,
    sample_point,
    sizes_for,
)

PROPERTY = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
# The combination tests need no shrinking: a failure names its assumptions already.
UNSHRUNK = settings(PROPERTY, phases=[Phase.explicit, Phase.generate])

SQUARE = {name for name, row in TABLE.items() if row.shape is SymbolShape.SQUARE}


def compiled(claim: str, *, assume: dict[str, list[str]] | None = None,
             symbols: dict[str, str] | None = None) -> Problem:
    rule, diagnostics = rule_from_claim(claim, assume=assume, symbols=symbols)
    assert rule is not None and diagnostics == [], diagnostics
    return compile_rule(rule)


def drawer(data: st.DataObject) -> Callable[[tuple[int, int]], np.ndarray]:
    return lambda shape: data.draw(entries(shape))


# ---- the oracle: does a value satisfy an assumption? ----


def violation(assumption: str, v: np.ndarray) -> str | None:
    """Why `v` breaks `assumption`, or None when it satisfies it."""
    square = v.ndim == 2 and v.shape[0] == v.shape[1]
    if assumption in SQUARE and not square:
        return f"{assumption} needs a square matrix, got {v.shape}"
    if not np.isfinite(v).all():
        return "not finite"
    if assumption == "symmetric" and not np.allclose(v, v.T, rtol=0, atol=1e-12):
        return "not symmetric"
    if assumption == "spd":
        if violation("symmetric", v):
            return "spd but not symmetric"
        if np.linalg.eigvalsh(v).min() <= 0:
            return f"spd with eigenvalue {np.linalg.eigvalsh(v).min()}"
    if assumption == "orthogonal" and not np.allclose(v.T @ v, np.eye(len(v)), atol=1e-10):
        return "QᵀQ ≠ I"
    if assumption == "invertible" and np.linalg.svd(v, compute_uv=False).min() < 0.4:
        return f"smallest singular value {np.linalg.svd(v, compute_uv=False).min()}"
    if assumption == "posdet" and np.linalg.det(v) <= 0:
        return f"det = {np.linalg.det(v)}"
    if assumption == "diagonal" and np.count_nonzero(v - np.diag(np.diag(v))):
        return "an off-diagonal entry is not 0"
    if assumption == "positive" and not (v > 0).all():
        return f"min entry {v.min()}"
    if assumption == "probability" and not (v.shape[1] == 1 and (v > 0).all()
                                            and abs(v.sum() - 1) < 1e-12):
        return f"not a probability vector: {v.ravel()}"
    if assumption == "nonzero" and np.linalg.norm(v) < 0.5:
        return f"norm {np.linalg.norm(v)}"
    return None


def assert_satisfies(assumptions: frozenset[str], v: np.ndarray) -> None:
    broken = [f"{a}: {why}" for a in sorted(assumptions) if (why := violation(a, v))]
    assert not broken, f"{broken} for\n{v}"


def test_the_oracle_rejects_what_it_should() -> None:
    assert violation("symmetric", np.array([[0.0, 1.0], [0.0, 0.0]]))
    assert violation("spd", -np.eye(2))
    assert violation("orthogonal", 2 * np.eye(2))
    assert violation("invertible", np.diag([1.0, 0.1]))
    assert violation("posdet", np.diag([1.0, -1.0]))
    assert violation("diagonal", np.ones((2, 2)))
    assert violation("positive", np.array([[1.0], [0.0]]))
    assert violation("probability", np.array([[0.5], [0.6]]))
    assert violation("nonzero", np.zeros((2, 1)))
    assert violation("symmetric", np.ones((2, 3)))
    for assumption in SQUARE | {"positive", "probability", "nonzero"}:
        assert violation(assumption, np.array([[1.0]])) is None


# ---- build_value: one assumption ----


@pytest.mark.parametrize("assumption", sorted(SQUARE))
@PROPERTY
@given(data=st.data(), n=st.integers(1, 4))
def test_square_assumptions_hold(assumption: str, data: st.DataObject, n: int) -> None:
    value = build_value(frozenset({assumption}), n, n, drawer(data))
    assert value.shape == (n, n)
    assert_satisfies(frozenset({assumption}), value)


@pytest.mark.parametrize("assumption", ["positive", "nonzero", "none"])
@PROPERTY
@given(data=st.data(), rows=st.integers(1, 4), cols=st.integers(1, 4))
def test_entrywise_assumptions_hold(assumption: str, data: st.DataObject, rows: int,
                                    cols: int) -> None:
    assumptions = frozenset() if assumption == "none" else frozenset({assumption})
    value = build_value(assumptions, rows, cols, drawer(data))
    assert value.shape == (rows, cols)
    assert_satisfies(assumptions, value)
    if not assumptions:
        assert np.abs(value).max() <= BOUND


@PROPERTY
@given(data=st.data(), n=st.integers(1, 5))
def test_probability_vectors(data: st.DataObject, n: int) -> None:
    value = build_value(frozenset({"probability"}), n, 1, drawer(data))
    assert value.shape == (n, 1)
    assert_satisfies(frozenset({"probability"}), value)


@pytest.mark.parametrize("fill", [0.0, BOUND, -BOUND, 1.0])
@pytest.mark.parametrize("assumption", sorted(SQUARE | {"positive", "probability", "nonzero"}))
def test_assumptions_hold_on_constant_draws(assumption: str, fill: float) -> None:
    # Hypothesis shrinks raw entries towards 0 and the bounds: the construction must not
    # depend on generic entries (QR of a zero matrix, a zero norm, a zero sum).
    for n in (1, 2, 3):
        cols = 1 if assumption == "probability" else n
        value = build_value(frozenset({assumption}), n, cols, lambda shape: np.full(shape, fill))
        assert_satisfies(frozenset({assumption}), value)


# ---- build_value: assumptions a rule may state together ----

COMBINATIONS = [
    pytest.param({"symmetric", "invertible"}, id="symmetric+invertible"),
    pytest.param({"invertible", "posdet"}, id="invertible+posdet"),
    pytest.param({"diagonal", "invertible"}, id="diagonal+invertible"),
    pytest.param({"diagonal", "nonzero"}, id="diagonal+nonzero"),
    pytest.param({"symmetric", "diagonal"}, id="symmetric+diagonal"),
    pytest.param({"spd", "invertible"}, id="spd+invertible"),
    pytest.param({"spd", "posdet"}, id="spd+posdet"),
    # `log det X` with X assumed symmetric or diagonal implies posdet for X.
    pytest.param({"symmetric", "posdet"}, id="symmetric+posdet"),
    pytest.param({"diagonal", "posdet"}, id="diagonal+posdet"),
    # `--assume A:spd,diagonal` is the CLI's own example of an assumption list.
    pytest.param({"spd", "diagonal"}, id="spd+diagonal"),
    pytest.param({"symmetric", "positive"}, id="symmetric+positive"),
    # `‖X‖_F` with X assumed symmetric implies nonzero for X.
    pytest.param({"symmetric", "nonzero"}, id="symmetric+nonzero"),
]


@pytest.mark.parametrize("assumptions", COMBINATIONS)
@UNSHRUNK
@given(data=st.data(), n=st.integers(1, 4))
def test_combined_assumptions_hold(assumptions: set[str], data: st.DataObject, n: int) -> None:
    value = build_value(frozenset(assumptions), n, n, drawer(data))
    assert_satisfies(frozenset(assumptions), value)


# ---- directions ----

DIRECTIONS = [
    pytest.param({"symmetric"}, id="symmetric"),
    pytest.param({"spd"}, id="spd"),
    pytest.param({"diagonal"}, id="diagonal"),
    pytest.param({"diagonal", "invertible"}, id="diagonal+invertible"),
    pytest.param({"symmetric", "invertible"}, id="symmetric+invertible"),
    pytest.param({"spd", "diagonal"}, id="spd+diagonal"),
]


@pytest.mark.parametrize("assumptions", DIRECTIONS)
@UNSHRUNK
@given(data=st.data(), n=st.integers(1, 4))
def test_direction_keeps_structure(assumptions: set[str], data: st.DataObject, n: int) -> None:
    draw = drawer(data)
    value = build_value(frozenset(assumptions), n, n, draw)
    direction = build_direction(frozenset(assumptions), value, draw)
    assert direction.shape == value.shape
    for structure in ("symmetric", "diagonal"):
        implied = structure in assumptions or (structure == "symmetric" and "spd" in assumptions)
        if implied:
            assert violation(structure, direction) is None, (structure, direction)


@PROPERTY
@given(data=st.data(), n=st.integers(1, 4))
def test_direction_of_orthogonal_and_probability_is_tangent(data: st.DataObject, n: int) -> None:
    draw = drawer(data)
    q = build_value(frozenset({"orthogonal"}), n, n, draw)
    dq = build_direction(frozenset({"orthogonal"}), q, draw)
    skew = q.T @ dq  # the tangent space of O(n) at Q is Q·(skew-symmetric)
    assert np.allclose(skew, -skew.T, atol=1e-10)
    p = build_value(frozenset({"probability"}), n, 1, draw)
    dp = build_direction(frozenset({"probability"}), p, draw)
    assert dp.shape == (n, 1) and abs(dp.sum()) < 1e-12


# ---- from_problem: sizes first, then every symbol ----

EVERY_ASSUMPTION = compiled(
    "∇_x (xᵀSx + xᵀPx + xᵀQx + xᵀVx + xᵀDx + pᵀx + qᵀx + zᵀx + bᵀBx + log det W) = x",
    symbols={"B": "matrix(m, n)", "b": "vector(m)", "x": "vector(n)", "W": "matrix(n, n)"},
    assume={"S": ["symmetric"], "P": ["spd"], "Q": ["orthogonal"], "V": ["invertible"],
            "D": ["diagonal"], "p": ["positive"], "q": ["probability"], "z": ["nonzero"]},
)


def test_the_problem_carries_every_assumption() -> None:
    problem = EVERY_ASSUMPTION
    assert set(problem.dims) == {"m", "n"}
    assert problem.assumptions["W"] == {"posdet"}  # implied by log det W
    assert problem.shapes["B"] == ("m", "n") and problem.shapes["b"] == ("m", 1)
    assert all(problem.shapes[s] == ("n", "n") for s in "SPQVDW")


@pytest.mark.parametrize("max_size", [1, 2, 4])
@PROPERTY
@given(data=st.data())
def test_from_problem_satisfies_every_assumption(max_size: int, data: st.DataObject) -> None:
    problem = EVERY_ASSUMPTION
    sample = data.draw(from_problem(problem, max_size))
    assert set(sample.sizes) == set(problem.dims)
    assert all(1 <= size <= max_size for size in sample.sizes.values())
    assert set(sample.values) == set(problem.shapes)
    for name, value in sample.values.items():
        assert value.shape == problem.symbol_size(name, sample.sizes), name
        assert_satisfies(problem.assumptions.get(name, frozenset()), value)
    assert sample.direction.shape == sample.values["x"].shape


@pytest.mark.parametrize("max_size", [1, 4])
@PROPERTY
@given(data=st.data())
def test_batches_satisfy_every_assumption_sample_by_sample(max_size: int,
                                                           data: st.DataObject) -> None:
    """A batch draws plain and refined values for all its samples at once and constructed ones
    sample by sample: every sample must still satisfy every assumption, and its stacked form
    must hold the same numbers as its samples."""
    problem = EVERY_ASSUMPTION
    batch = data.draw(batches(problem, max_size))
    values, direction = batch.stacked
    assert len(batch.samples) == BATCH and direction.shape[0] == BATCH
    for i, sample in enumerate(batch.samples):
        assert sample.sizes == batch.sizes
        for name, value in sample.values.items():
            assert value.shape == problem.symbol_size(name, sample.sizes), name
            assert_satisfies(problem.assumptions.get(name, frozenset()), value)
            assert np.array_equal(values[name][i], value)
        assert np.array_equal(direction[i], sample.direction)
        assert sample.direction.shape == sample.values["x"].shape


def test_batch_entries_are_distributed_as_entries_draws() -> None:
    """0 for about ZERO_SHARE of the entries, else TINY ≤ |v| ≤ BOUND, uniform in magnitude,
    either sign evenly; a different seed, other numbers."""
    draws = batch_entries(np.random.default_rng(0), (500, 400))
    nonzero = np.abs(draws[draws != 0])
    assert abs((draws == 0).mean() - ZERO_SHARE) < 0.005
    assert abs((draws < 0).mean() - (draws > 0).mean()) < 0.01
    assert nonzero.min() >= TINY and nonzero.max() <= BOUND
    quartiles = np.quantile(nonzero, [0.25, 0.5, 0.75])
    assert np.allclose(quartiles, TINY + (BOUND - TINY) * np.array([0.25, 0.5, 0.75]), atol=0.01)
    assert not np.array_equal(draws, batch_entries(np.random.default_rng(1), (500, 400)))


@pytest.mark.parametrize("shape", [(0, 3), (1, 1), (3, 5), (8, 100, 50), (40_000,)])
def test_batch_entries_worked_in_blocks_are_the_formula_bit_for_bit(
    shape: tuple[int, ...],
) -> None:
    """The block-by-block, in-place arithmetic gives exactly the docstring's formula worked on
    the whole array (the same random stream, the same float operations in the same order):
    the inputs, and so the counterexamples, do not depend on how the drawing is organised."""
    u = np.random.default_rng(5).random(shape) * 2.0 - 1.0
    stretch = (BOUND - TINY) / (1 - ZERO_SHARE)
    expected = u * stretch - np.copysign(stretch * ZERO_SHARE - TINY, u)
    expected[np.abs(u) < ZERO_SHARE] = 0.0
    got = batch_entries(np.random.default_rng(5), shape)
    assert got.shape == expected.shape
    assert np.array_equal(got.view(np.int64), expected.view(np.int64))


@PROPERTY
@given(data=st.data())
def test_shared_dimension_names_get_equal_sizes(data: st.DataObject) -> None:
    problem = compiled("∇_x (aᵀ B C x + bᵀ C x) = Cᵀ (Bᵀ a + b)",
                       symbols={"a": "vector(m)", "B": "matrix(m, k)", "C": "matrix(k, n)",
                                "b": "vector(k)", "x": "vector(n)"})
    sample = data.draw(from_problem(problem, 4))
    v = sample.values
    m, k, n = (sample.sizes[d] for d in ("m", "k", "n"))
    assert v["a"].shape == (m, 1) and v["B"].shape == (m, k) and v["C"].shape == (k, n)
    assert v["b"].shape == (k, 1) and v["x"].shape == (n, 1)
    # every product of the rule is conformable
    assert (v["a"].T @ v["B"] @ v["C"] @ v["x"]).shape == (1, 1)


@PROPERTY
@given(data=st.data())
def test_fixed_sizes_are_used(data: st.DataObject) -> None:
    problem = compiled("∇_x (Ax) = Aᵀ", symbols={"A": "matrix(m, n)"})
    sizes = {"m": 3, "n": 2}
    sample = data.draw(from_problem(problem, 4, sizes=st.just(sizes)))
    assert sample.sizes == sizes
    assert sample.values["A"].shape == (3, 2) and sample.values["x"].shape == (2, 1)


@PROPERTY
@given(data=st.data(), max_size=st.integers(1, 5))
def test_sizes_for_draws_one_bounded_size_per_dimension(data: st.DataObject,
                                                        max_size: int) -> None:
    problem = compiled("∇_X tr(A X B) = Aᵀ Bᵀ")
    sizes = data.draw(sizes_for(problem, max_size))
    assert set(sizes) == set(problem.dims) and len(problem.dims) == 3
    assert all(1 <= s <= max_size for s in sizes.values())


@PROPERTY
@given(shape=st.tuples(st.integers(1, 4), st.integers(1, 4)), data=st.data())
def test_entries_are_bounded_and_finite(shape: tuple[int, int], data: st.DataObject) -> None:
    value = data.draw(entries(shape))
    assert value.shape == shape and value.dtype == np.float64
    assert np.isfinite(value).all() and np.abs(value).max() <= BOUND
    # no tiny or subnormal entries: their products underflow and fake counterexamples
    assert ((value == 0) | (np.abs(value) >= TINY)).all()


# ---- sample_point: the cross-check's generic input ----


def test_sample_point_is_deterministic_for_a_seed() -> None:
    problem = EVERY_ASSUMPTION
    sizes = {"m": 2, "n": 3}
    first, again = sample_point(problem, sizes, 7), sample_point(problem, sizes, 7)
    assert first.sizes == again.sizes == sizes
    assert first.values.keys() == again.values.keys()
    for name in first.values:
        assert np.array_equal(first.values[name], again.values[name]), name
    assert np.array_equal(first.direction, again.direction)
    other = sample_point(problem, sizes, 8)
    assert any(not np.array_equal(first.values[s], other.values[s]) for s in first.values)


@pytest.mark.parametrize("seed", range(5))
def test_sample_point_satisfies_the_assumptions(seed: int) -> None:
    problem = EVERY_ASSUMPTION
    sample = sample_point(problem, {"m": 3, "n": 3}, seed)
    for name, value in sample.values.items():
        assert value.shape == problem.symbol_size(name, sample.sizes)
        assert_satisfies(problem.assumptions.get(name, frozenset()), value)
