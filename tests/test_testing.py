"""gradcheck.testing and strategies.inputs: users' own derivatives against torch.func."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings

from gradcheck.strategies import inputs
from gradcheck.testing import assert_gradient, assert_hessian, assert_jacobian

DOC = Path(__file__).resolve().parent.parent / "docs" / "testing.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block-{i}" for i in range(len(BLOCKS))])
def test_the_examples_of_docs_testing_md_run(block: str) -> None:
    # our own documentation's examples, run as doctests are: no user text is executed
    exec(compile(block, str(DOC), "exec"), {"__name__": "docs_testing"})


def test_the_documented_counterexample_is_the_one_printed() -> None:
    text = DOC.read_text(encoding="utf-8")
    namespace: dict[str, object] = {"__name__": "docs_testing"}
    exec(compile(BLOCKS[0], str(DOC), "exec"), namespace)
    printed = text.split("It prints:\n\n```text\n", 1)[1].split("```", 1)[0]
    assert namespace["message"] == printed.rstrip("\n")


def test_a_wrong_jacobian_layout_is_found_with_a_shape_note() -> None:
    shapes = {"A": "matrix(m, n)", "x": "vector(n)"}
    # m + n = 3 is the smallest size where the transpose shows (both 1 × 1 agree)
    with pytest.raises(AssertionError, match=r"the Jacobian by x is wrong at (m=1, n=2|m=2, "
                                             r"n=1): the derivative is (1×2|2×1), yours is"):
        assert_jacobian(lambda A, x: A @ x, lambda A, x: A.T, shapes, wrt="x")
    assert_jacobian(lambda A, x: A @ x, lambda A, x: A.T, shapes, wrt="x", layout="denominator")


def test_a_wrong_hessian_is_found_at_the_smallest_size() -> None:
    shapes = {"A": "matrix(n, n)", "x": "vector(n)"}
    with pytest.raises(AssertionError, match=r"the Hessian by x is wrong at n=2\n"):
        assert_hessian(lambda A, x: x @ A @ x, lambda A, x: 2 * A, shapes, wrt="x")


def test_a_gradient_by_a_matrix_in_numerator_layout_is_the_transpose() -> None:
    shapes = {"A": "matrix(m, n)", "X": "matrix(n, m)"}
    assert_gradient(lambda A, X: torch.trace(A @ X), lambda A, X: A, shapes, wrt="X",
                    layout="numerator")
    with pytest.raises(AssertionError, match="wrong"):
        assert_gradient(lambda A, X: torch.trace(A @ X), lambda A, X: A, shapes, wrt="X")


@pytest.mark.parametrize(("shapes", "assume", "wrt", "message"), [
    ({"x": "vector(n, m)"}, None, "x", "is not a shape"),
    ({"x": "vector(n)"}, {"x": "symmetric"}, "x", "symmetric needs a square matrix"),
    ({"A": "matrix(m, n)"}, {"A": "spd"}, "A", "spd needs a square matrix"),
    ({"x": "vector(n)"}, {"x": "sparkly"}, "x", "'sparkly' is not an assumption"),
    ({"x": "vector(n)"}, {"y": "positive"}, "x", "y is not one of the shapes' symbols"),
    ({"x": "vector(n)"}, None, "y", "wrt: y is not one of"),
])
def test_bad_declarations_say_what_is_wrong(shapes: dict[str, str], assume: dict[str, str] | None,
                                            wrt: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        assert_gradient(lambda **v: v["x"].sum(), lambda **v: v["x"], shapes, wrt=wrt,
                        assume=assume)


def test_a_gradient_of_a_non_scalar_is_refused() -> None:
    with pytest.raises(ValueError, match="f is not a scalar"):
        assert_gradient(lambda x: x * 2, lambda x: 2 * torch.ones_like(x), {"x": "vector(n)"},
                        wrt="x")


@settings(max_examples=40, deadline=None, database=None)
@given(inputs({"Q": "matrix(n, n)", "p": "vector(n)", "W": "matrix(m, n)", "c": "scalar"},
              assume={"Q": "orthogonal", "p": "probability"}))
def test_inputs_build_the_assumptions_and_share_the_sizes(values: dict[str, torch.Tensor]) -> None:
    Q, p, W, c = values["Q"], values["p"], values["W"], values["c"]
    n = Q.shape[0]
    assert p.shape == (n,) and W.shape[1] == n and c.dim() == 0
    assert all(v.dtype == torch.float64 for v in values.values())
    assert torch.allclose(Q.T @ Q, torch.eye(n, dtype=torch.float64), atol=1e-12)
    assert bool((p > 0).all()) and abs(float(p.sum()) - 1) < 1e-12


def test_inputs_at_fixed_sizes() -> None:
    from hypothesis import find

    big = find(inputs({"x": "vector(n)"}, sizes={"n": 7}), lambda v: True)
    assert big["x"].shape == (7,)
