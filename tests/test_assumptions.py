"""The assumption table: every row complete, and every backend's values satisfy it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcheck import diagnose, model, strategies, symbolic
from gradcheck.assumptions import (
    DECLARABLE,
    TABLE,
    Assumption,
    Canonical,
    SymbolShape,
    canonical_uses,
    closure,
    proposals,
    strongest_first,
)
from gradcheck.calculus.derive import sums_to_one
from gradcheck.calculus.lower import Context, lower
from gradcheck.catalog import rule_from_claim
from gradcheck.lang.parser import parse_expression
from gradcheck.ops import OPS
from gradcheck.problem import Problem, compile_rule

ROWS = list(TABLE.values())
PROPERTY = settings(max_examples=300, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


# ---- every row has every facet ----


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_every_row_has_every_facet(row: Assumption) -> None:
    assert TABLE[row.name] is row
    assert isinstance(row.shape, SymbolShape) and isinstance(row.canonical, Canonical)
    assert set(row.implies) <= set(TABLE) and row.name not in closure(row.implies)
    for implied in row.implies:  # what it implies makes sense on the same symbols
        assert TABLE[implied].shape in (row.shape, SymbolShape.ANY), implied
    # each backend has the builder the row names, and knows whether it builds or refines
    assert (row.numeric in strategies.CONSTRUCTIONS) != (row.numeric in strategies.REFINEMENTS)
    assert row.direction == "" or row.direction in strategies.DIRECTIONS
    assert row.symbolic == "" or row.symbolic in symbolic.CONSTRAINTS
    if row.repair is not None:
        assert "{name}" in row.repair.sentence
        assert row.shape in (row.repair.shape, SymbolShape.ANY)


def test_the_backends_register_only_what_the_table_names() -> None:
    named = {row.numeric for row in ROWS}
    assert named == set(strategies.CONSTRUCTIONS) | set(strategies.REFINEMENTS)
    assert {row.direction for row in ROWS} - {""} == set(strategies.DIRECTIONS)
    assert {row.symbolic for row in ROWS} - {""} == set(symbolic.CONSTRAINTS)


def test_strengths_and_repair_orders_decide_uniquely() -> None:
    assert len({row.strength for row in ROWS}) == len(ROWS)
    for shape in SymbolShape:
        orders = [r.repair.order for r in ROWS if r.repair and r.repair.shape is shape]
        assert len(orders) == len(set(orders))


def test_the_consumers_keep_their_names_and_orders() -> None:
    # messages list the known assumptions in this order; posdet only a domain implies
    assert model.ASSUMPTIONS == DECLARABLE == (
        "symmetric", "spd", "invertible", "orthogonal", "diagonal", "positive", "probability",
        "nonzero",
    )
    assert not TABLE["posdet"].declarable
    assert {op.domain for op in OPS.values()} - {""} <= set(TABLE)
    # the order decides which repair a diagnosis finds first
    assert diagnose.SQUARE_ASSUMPTIONS == proposals(SymbolShape.SQUARE) == (
        "symmetric", "orthogonal", "diagonal", "spd")
    assert diagnose.VECTOR_ASSUMPTIONS == proposals(SymbolShape.VECTOR) == (
        "probability", "positive")


@pytest.mark.parametrize(("name", "sentence"), [
    ("symmetric", "the claim holds only if A is symmetric"),
    ("orthogonal", "the claim holds only if A is an orthogonal matrix"),
    ("diagonal", "the claim holds only if A is a diagonal matrix"),
    ("spd", "the claim holds only if A is an spd matrix"),
    ("probability", "the claim holds only if A is a probability vector"),
    ("positive", "the claim holds only if A is positive"),
])
def test_repair_sentences(name: str, sentence: str) -> None:
    repair = TABLE[name].repair
    assert repair is not None and repair.sentence.format(name="A") == sentence


def test_implications_and_strength_order() -> None:
    assert closure(["spd"]) == {"spd", "symmetric", "posdet", "invertible"}
    assert closure(["diagonal"]) == {"diagonal", "symmetric"}
    assert closure(["probability", "unknown"]) == {"probability", "positive"}
    assert [r.name for r in strongest_first(["symmetric", "orthogonal", "diagonal"])] == [
        "orthogonal", "diagonal", "invertible", "symmetric"]
    assert canonical_uses(["spd"]) == {Canonical.SYMMETRIC}
    assert canonical_uses(["orthogonal"]) == {Canonical.ORTHOGONAL}
    assert canonical_uses(["invertible", "nonzero"]) == frozenset()


def test_the_table_imports_nothing_heavy() -> None:
    code = ("import sys, gradcheck.assumptions; "
            "print(sorted({'numpy', 'sympy', 'torch', 'hypothesis'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---- the numeric inputs satisfy every assumption, and what it implies ----


def _square(v: np.ndarray) -> bool:
    return v.shape[0] == v.shape[1]


def _symmetric(v: np.ndarray) -> bool:
    return _square(v) and np.allclose(v, v.T, rtol=0, atol=1e-12)


def _diagonal(v: np.ndarray) -> bool:
    return _square(v) and not np.count_nonzero(v - np.diag(np.diag(v)))


HOLDS: dict[str, Callable[[np.ndarray], bool]] = {
    "symmetric": _symmetric,
    "spd": lambda v: _symmetric(v) and np.linalg.eigvalsh(v).min() > 0,
    "invertible": lambda v: _square(v) and np.linalg.svd(v, compute_uv=False).min() >= 0.4,
    "orthogonal": lambda v: _square(v) and np.allclose(v.T @ v, np.eye(len(v)), atol=1e-10),
    "diagonal": _diagonal,
    "positive": lambda v: bool((v > 0).all()),
    "probability": lambda v: v.shape[1] == 1 and (v > 0).all() and abs(v.sum() - 1) < 1e-12,
    "nonzero": lambda v: np.linalg.norm(v) >= 0.5,
    "posdet": lambda v: _square(v) and np.linalg.det(v) > 0,
}
# a direction stays in the set: keyed by the direction builder
TANGENT: dict[str, Callable[[np.ndarray, np.ndarray], bool]] = {
    "symmetric": lambda value, d: _symmetric(d),
    "diagonal": lambda value, d: _diagonal(d),
    "orthogonal": lambda q, d: np.allclose(q.T @ d, -(q.T @ d).T, atol=1e-10),
    "probability": lambda value, d: abs(d.sum()) < 1e-12,
}


def test_the_oracles_cover_the_table() -> None:
    assert set(HOLDS) == set(TABLE)
    assert set(TANGENT) == set(strategies.DIRECTIONS)


def _shape(row: Assumption, data: st.DataObject) -> tuple[int, int]:
    n = data.draw(st.integers(1, 4), label="n")
    if row.shape is SymbolShape.SQUARE:
        return n, n
    if row.shape is SymbolShape.VECTOR:
        return n, 1
    return n, data.draw(st.integers(1, 4), label="cols")


@PROPERTY
@given(data=st.data())
def test_numeric_inputs_satisfy_every_assumption(data: st.DataObject) -> None:
    row = data.draw(st.sampled_from(ROWS), label="assumption")
    rows, cols = _shape(row, data)

    def draw(shape: tuple[int, int]) -> np.ndarray:
        return data.draw(strategies.entries(shape))

    value = strategies.build_value(frozenset({row.name}), rows, cols, draw)
    assert value.shape == (rows, cols) and np.isfinite(value).all()
    broken = [name for name in sorted(closure([row.name])) if not HOLDS[name](value)]
    assert not broken, (row.name, broken, value)
    direction = strategies.build_direction(frozenset({row.name}), value, draw)
    assert direction.shape == value.shape
    for implied in strongest_first([row.name]):
        if implied.direction:
            assert TANGENT[implied.direction](value, direction), (implied.name, direction)


# ---- the symbolic matrices satisfy them too ----


def _problem(row: Assumption) -> Problem:
    """A differential with respect to one symbol of the row's shape, assumed `row`."""
    if row.shape is SymbolShape.VECTOR:
        rule, _ = rule_from_claim("d(sum(p)) = sum(dp)", symbols={"p": "vector(n)"})
    else:
        rule, _ = rule_from_claim("d(tr(A)) = tr(dA)", symbols={"A": "matrix(n, n)"})
    assert rule is not None
    problem = compile_rule(rule)
    return replace(problem, assumptions={problem.wrt: frozenset({row.name})})


def _zero(m: Any) -> bool:
    return all(sp.cancel(e) == 0 for e in m)


SYMBOLIC_HOLDS: dict[str, Callable[[Any], bool]] = {
    "symmetric": lambda m: m == m.T,
    "spd": lambda m: m == m.T,  # positive definiteness is a domain, not a substitution
    "invertible": lambda m: sp.expand(m.det()) != 0,  # at generic points
    "orthogonal": lambda m: _zero(m.T * m - sp.eye(m.rows)),
    "diagonal": lambda m: all(m[i, j] == 0 for i in range(m.rows) for j in range(m.cols) if i != j),
    # positive symbols (the last entry of a probability vector is 1 − the others: a domain)
    "positive": lambda m: all(s.is_positive for s in m.free_symbols),
    "probability": lambda m: sp.expand(sum(m)) == 1,
    "nonzero": lambda m: any(e != 0 for e in m),
    "posdet": lambda m: sp.expand(m.det()) != 0,  # det > 0 is a domain, not a substitution
}
SYMBOLIC_TANGENT: dict[str, Callable[[Any, Any], bool]] = {
    "symmetric": lambda value, d: d == d.T,
    "diagonal": lambda value, d: all(d[i, j] == 0 for i in range(d.rows)
                                     for j in range(d.cols) if i != j),
    "orthogonal": lambda q, d: _zero(q.T * d + (q.T * d).T),
    "probability": lambda value, d: sp.expand(sum(d)) == 0,
}


def test_the_symbolic_oracles_cover_the_table() -> None:
    assert set(SYMBOLIC_HOLDS) == set(TABLE)
    assert set(SYMBOLIC_TANGENT) == set(strategies.DIRECTIONS)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_symbolic_matrices_satisfy_every_assumption(row: Assumption, n: int) -> None:
    # Nothing is drawn here: a row and a size fix the matrices, so every case is checked.
    problem = _problem(row)
    mats = symbolic.symbol_matrices(problem, {"n": n})
    direction = symbolic.direction_matrix(problem, {"n": n})
    subs = symbolic.constraints(problem, mats, direction)
    value = mats[problem.wrt].xreplace(subs)
    # twice: a direction tangent to the orthogonal group is written with Q's own entries
    tangent = direction.xreplace(subs).xreplace(subs)
    broken = [name for name in sorted(closure([row.name])) if not SYMBOLIC_HOLDS[name](value)]
    assert not broken, (row.name, broken, value)
    for implied in strongest_first([row.name]):
        if implied.direction:
            assert SYMBOLIC_TANGENT[implied.direction](value, tangent), (implied.name, tangent)


# ---- the canonical form uses what the table allows ----


def _lowered(text: str, shapes: dict[str, Any], assumed: str) -> Any:
    ctx = Context(shapes, {name: frozenset({assumed}) for name in shapes})
    return lower(parse_expression(text, set(shapes)), ctx)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_the_canonical_form_uses_what_the_row_allows(row: Assumption) -> None:
    uses = canonical_uses([row.name])
    square = {"A": ("n", "n")}
    symmetric = _lowered("A.T", square, row.name) == _lowered("A", square, row.name)
    assert symmetric == (Canonical.SYMMETRIC in uses)
    orthogonal = _lowered("A.T @ A", square, row.name) == _lowered("eye(n)", square, row.name)
    assert orthogonal == (Canonical.ORTHOGONAL in uses)
    total = _lowered("sum(p)", {"p": ("n", 1)}, row.name)
    problem = replace(_problem(row), assumptions={"p": frozenset({row.name})})
    assert (sums_to_one(total, problem) == _lowered("1", {}, row.name)) == (
        Canonical.SUMS_TO_ONE in uses)
