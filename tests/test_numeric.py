"""Tests for gradcheck.numeric: autograd derivatives, the counterexample search, the lowering."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcheck import numeric
from gradcheck.catalog import rule_from_claim
from gradcheck.lang.ast import Call, Const, Node, Num, Sym
from gradcheck.model import Counterexample, Kind, Layout, Options
from gradcheck.numeric import evaluate, rule_seed, search, true_derivative
from gradcheck.problem import Problem, compile_rule
from gradcheck.strategies import build_value, entries
from gradcheck.symbolic import Lowering

FAST = Options(examples=20)
SQUARE_AX = {"A": "matrix(n, n)", "X": "matrix(n, n)"}


def compiled(claim: str, *, assume: dict[str, list[str]] | None = None,
             symbols: dict[str, str] | None = None, layout: str = "denominator") -> Problem:
    rule, diagnostics = rule_from_claim(claim, assume=assume, symbols=symbols, layout=layout)
    assert rule is not None and diagnostics == [], diagnostics
    return compile_rule(rule)


def tensors(**arrays: np.ndarray) -> dict[str, torch.Tensor]:
    return {k: torch.tensor(v, dtype=torch.float64) for k, v in arrays.items()}


def derivative(problem: Problem, sizes: dict[str, int], direction: np.ndarray | None = None,
               **arrays: np.ndarray) -> np.ndarray:
    values = tensors(**arrays)
    d = torch.zeros_like(values[problem.wrt]) if direction is None else \
        torch.tensor(direction, dtype=torch.float64)
    return true_derivative(problem, values, sizes, d).detach().numpy()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


# ---- true_derivative against derivatives worked out by hand ----


@pytest.mark.parametrize("layout", ["denominator", "numerator"])
def test_gradient_by_a_vector(rng: np.random.Generator, layout: str) -> None:
    p = compiled("∇_x (xᵀAx) = (A + Aᵀ)x", layout=layout)
    assert p.kind is Kind.GRADIENT and p.layout is Layout(layout)
    a, x = rng.normal(size=(3, 3)), rng.normal(size=(3, 1))
    got = derivative(p, {"n": 3}, A=a, x=x)
    by_hand = (a + a.T) @ x
    expected = by_hand if layout == "denominator" else by_hand.T
    assert got.shape == expected.shape
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layout", ["denominator", "numerator"])
def test_gradient_by_a_matrix(rng: np.random.Generator, layout: str) -> None:
    p = compiled("∇_X tr(A X B) = Aᵀ Bᵀ", layout=layout,
                 symbols={"A": "matrix(k, m)", "X": "matrix(m, n)", "B": "matrix(n, k)"})
    a, x, b = rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    got = derivative(p, {"k": 2, "m": 3, "n": 4}, A=a, X=x, B=b)
    # denominator layout has the shape of X (3×4); numerator layout its transpose
    expected = a.T @ b.T if layout == "denominator" else b @ a
    assert got.shape == expected.shape
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_gradient_of_log_det_and_of_a_norm(rng: np.random.Generator) -> None:
    p = compiled("∇_X log det X = X⁻ᵀ", assume={"X": ["spd"]})
    raw = rng.normal(size=(3, 3))
    x = raw @ raw.T + np.eye(3)
    assert np.allclose(derivative(p, {"n": 3}, X=x), np.linalg.inv(x).T, rtol=1e-10)
    p = compiled("∇_x ‖x‖ = x / ‖x‖")
    v = rng.normal(size=(4, 1))
    assert np.allclose(derivative(p, {"n": 4}, x=v), v / np.linalg.norm(v), rtol=1e-12)


@pytest.mark.parametrize("layout", ["denominator", "numerator"])
def test_jacobian_of_a_linear_map(rng: np.random.Generator, layout: str) -> None:
    claim = "∇_x (Ax) = Aᵀ" if layout == "denominator" else "∇_x (Ax) = A"
    p = compiled(claim, layout=layout, symbols={"A": "matrix(m, n)", "x": "vector(n)"})
    assert p.kind is Kind.JACOBIAN
    a, x = rng.normal(size=(2, 3)), rng.normal(size=(3, 1))
    got = derivative(p, {"m": 2, "n": 3}, A=a, x=x)
    # entry (i, j) = ∂f_j/∂x_i in denominator layout (n×m); numerator layout is m×n
    expected = a.T if layout == "denominator" else a
    assert got.shape == expected.shape
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layout", ["denominator", "numerator"])
def test_jacobian_of_a_row_vector_map(rng: np.random.Generator, layout: str) -> None:
    claim = "∇_x (xᵀA) = A" if layout == "denominator" else "∇_x (xᵀA) = Aᵀ"
    p = compiled(claim, layout=layout, symbols={"A": "matrix(n, m)", "x": "vector(n)"})
    a, x = rng.normal(size=(3, 2)), rng.normal(size=(3, 1))
    got = derivative(p, {"m": 2, "n": 3}, A=a, x=x)
    expected = a if layout == "denominator" else a.T
    assert got.shape == expected.shape
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_jacobian_of_elementwise_and_softmax(rng: np.random.Generator) -> None:
    x = rng.normal(size=(4, 1))
    p = compiled("∇_x tanh(x) = diag(1 − tanh(x) ⊙ tanh(x))")
    assert np.allclose(derivative(p, {"n": 4}, x=x), np.diag(1 - np.tanh(x[:, 0]) ** 2))
    p = compiled("∇_x softmax(x) = diag(softmax(x)) − softmax(x) softmax(x)ᵀ")
    s = np.exp(x) / np.exp(x).sum()
    assert np.allclose(derivative(p, {"n": 4}, x=x), np.diagflat(s) - s @ s.T, rtol=1e-12)


def test_hessian(rng: np.random.Generator) -> None:
    p = compiled("∇²_x (xᵀAx) = A + Aᵀ")
    assert p.kind is Kind.HESSIAN
    a, x = rng.normal(size=(3, 3)), rng.normal(size=(3, 1))
    assert np.allclose(derivative(p, {"n": 3}, A=a, x=x), a + a.T, rtol=1e-12, atol=1e-12)
    p = compiled("∇²_x sum(exp(x)) = diag(exp(x))")
    assert np.allclose(derivative(p, {"n": 3}, x=x), np.diagflat(np.exp(x)), rtol=1e-12)
    p = compiled("∇²_x ‖A x − b‖² = 2AᵀA", symbols={"A": "matrix(m, n)"})
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 1))
    got = derivative(p, {"m": 2, "n": 3}, A=a, x=x, b=b)
    assert np.allclose(got, 2 * a.T @ a, rtol=1e-12, atol=1e-12)


def test_the_hessian_of_a_determinant_is_right(rng: np.random.Generator) -> None:
    """d²/dt² det(A + tB) = 2 det(B) for 2×2 A, B. torch 2.13's forward-over-forward mode
    gives another number here; the oracle must not take that road."""
    p = compiled("∇²_t det(A + tB) = 0", symbols={"t": "scalar", "A": "matrix(n, n)",
                                                     "B": "matrix(n, n)"})
    a, b = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    got = derivative(p, {"n": 2}, A=a, B=b, t=np.array([[0.3]]))
    assert got == pytest.approx(2 * np.linalg.det(b), rel=1e-10)


@pytest.mark.parametrize(("entries", "forward"), [(16, True), (numeric.FORWARD_LIMIT + 1, False)])
def test_forward_and_reverse_mode_give_the_same_gradient(entries: int, forward: bool) -> None:
    p = compiled("∇_x (xᵀAx) = (A + Aᵀ)x")
    assert numeric.uses_reverse_mode(p, Options(numeric_sizes=(("n", entries),))) is not forward
    rng = np.random.default_rng(entries)
    a, x = rng.normal(size=(entries, entries)), rng.normal(size=(entries, 1))
    got = derivative(p, {"n": entries}, A=a, x=x)
    assert np.allclose(got, (a + a.T) @ x, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("claim", "assume"), [
    ("∇_X log det(X) = X⁻ᵀ", {"X": ["invertible"]}),
    ("∇_X det(X) = det(X) X⁻ᵀ", {"X": ["invertible"]}),
    ("∂(A x)/∂x = Aᵀ", {}),
    ("∇_x (xᵀAx) = (A + Aᵀ)x", {}),
])
@pytest.mark.parametrize("layout", ["denominator", "numerator"])
def test_the_batched_forward_mode_is_the_derivative_at_every_sample(
    claim: str, assume: dict[str, list[str]], layout: str
) -> None:
    """torch 2.13's vmap of jacfwd(det) is wrong past the first sample; the batched forward
    mode (one level of vmap over sample and direction) must equal each sample's own."""
    from gradcheck.strategies import Batch

    p = compiled(claim, assume=assume or None, layout=layout,
                 symbols={"A": "matrix(m, n)", "x": "vector(n)"} if "A x" in claim else None)
    batch = Batch(p, {d: 3 for d in p.dims}, seed=5, size=8)
    values, direction = numeric._stacked(batch)
    f_values, together, claims = numeric._batched_forward(p, values, batch.sizes, direction)
    for i, sample in enumerate(batch.samples):
        alone = true_derivative(p, tensors(**sample.values), sample.sizes,
                                torch.tensor(sample.direction))
        assert torch.allclose(together[i], alone, rtol=1e-12, atol=1e-12), i
        f_value = numeric.evaluate(p.f, tensors(**sample.values), sample.sizes)
        assert torch.allclose(f_values[i], f_value, rtol=1e-12, atol=1e-12), i
        claim = numeric.evaluate(p.claim, tensors(**sample.values), sample.sizes,
                                 {p.wrt: torch.tensor(sample.direction)})
        assert torch.allclose(claims[i], claim, rtol=1e-12, atol=1e-12), i


def test_no_kind_of_check_at_the_usual_sizes_imports_dynamo() -> None:
    """torch._dynamo costs a second to import. torch.func's reverse mode imports it on first
    use, and so does forward mode on a product of a dual and a plain tensor (torch 2.13): a
    gradient, a Jacobian and a differential are taken in forward mode with every input dual
    (constants and sg(…) too), a Hessian by torch.autograd. Failing claims too, shrinking
    and all."""
    import subprocess
    import sys

    code = (
        "import sys; from gradcheck.catalog import rule_from_claim; "
        "from gradcheck.problem import compile_rule; from gradcheck.numeric import search; "
        "from gradcheck.model import Options\n"
        "def found(claim, **assume):\n"
        "    rule = rule_from_claim(claim, assume=assume or None)[0]\n"
        "    return search(compile_rule(rule), Options(examples=20)).counterexample\n"
        "for claim in ('∇_x (xᵀAx) = (A + Aᵀ)x', '∂(Ax)/∂x = Aᵀ', '∇_X tr(AX) = Aᵀ',\n"
        "              '∇_x ‖Ax − b‖² = 2Aᵀ(Ax − b)', '∇_x 2xᵀx + π = 4x',\n"
        "              '∇_x sum(sg(x ⊙ x) ⊙ x) = x ⊙ x', '∇²_x (xᵀAx + 3aᵀx) = A + Aᵀ',\n"
        "              '∇²_x log(1 + xᵀx) = 2I/(1 + xᵀx) − 4xxᵀ/(1 + xᵀx)²',\n"
        "              'd(XX + 2X) = dX X + X dX + 2dX'):\n"
        "    assert found(claim) is None, claim\n"
        "assert found('d(X⁻¹) = −X⁻¹ dX X⁻¹', X=['invertible']) is None\n"
        "for claim in ('∇_x ‖Ax − b‖² = 2A(Ax − b)', '∇²_x (xᵀAx) = 2A', 'd(X⁻¹) = −X⁻¹X⁻¹ dX'):\n"
        "    assert found(claim) is not None, claim\n"
        "print('torch._dynamo' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True)
    assert out.stdout.strip() == "False"


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_the_hessian_by_autograd_is_torch_funcs(n: int, seed: int) -> None:
    """backward_hessian (double backward) agrees with jacfwd(jacrev(f)), the transform it
    replaces, on fs with a product, an inverse, a log-determinant and a stopped gradient."""
    rng = np.random.default_rng(seed)
    a = torch.tensor(rng.normal(size=(n, n)) + 3 * np.eye(n))
    b = torch.tensor(rng.normal(size=(n, 1)))
    x = torch.tensor(rng.normal(size=(n, 1)))
    fs = [
        lambda v: (v.T @ a @ v).reshape(()) * torch.tanh(b.T @ v).reshape(()),
        lambda v: (b.T @ torch.linalg.inv(a + v @ v.T) @ b).reshape(()),
        lambda v: torch.logdet(a @ a.T + v @ v.T),
        lambda v: ((v * v).detach() * v * v).sum(),
        lambda v: (b.T @ b).reshape(()),  # independent of v: a zero Hessian
    ]
    for f in fs:
        by_autograd = numeric.backward_hessian(f, x)
        by_func = torch.func.jacfwd(torch.func.jacrev(f))(x).reshape(n, n)
        assert torch.allclose(by_autograd, by_func, rtol=1e-10, atol=1e-12)


def test_differential(rng: np.random.Generator) -> None:
    x = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    dx = rng.normal(size=(3, 3))
    inv = np.linalg.inv(x)
    p = compiled("d(X⁻¹) = −X⁻¹ dX X⁻¹", assume={"X": ["invertible"]})
    assert p.kind is Kind.DIFFERENTIAL
    assert np.allclose(derivative(p, {"n": 3}, dx, X=x), -inv @ dx @ inv, rtol=1e-10)
    p = compiled("d(X X) = dX X + X dX")
    assert np.allclose(derivative(p, {"n": 3}, dx, X=x), dx @ x + x @ dx, rtol=1e-12)
    p = compiled("d(det X) = det(X) tr(X⁻¹ dX)", assume={"X": ["invertible"]})
    got = derivative(p, {"n": 3}, dx, X=x)
    assert got.shape == (1, 1)
    assert np.isclose(got[0, 0], np.linalg.det(x) * np.trace(inv @ dx), rtol=1e-10)


# ---- search: counterexamples for wrong rules, none for right ones ----

RIGHT = [
    ("∇_X tr(A X) = Aᵀ", {}, SQUARE_AX, "denominator"),
    ("∇_X tr(A X) = A", {}, SQUARE_AX, "numerator"),
    ("∇_x (xᵀAx) = (A + Aᵀ)x", {}, None, "denominator"),
    ("∇_x (xᵀAx) = 2Ax", {"A": ["symmetric"]}, None, "denominator"),
    ("d(X⁻¹) = −X⁻¹ dX X⁻¹", {"X": ["invertible"]}, None, "denominator"),
    ("∇_X log det X = X⁻ᵀ", {"X": ["invertible"]}, None, "denominator"),
    ("∇²_x (xᵀAx) = A + Aᵀ", {}, None, "denominator"),
    ("∇_x (Ax) = A", {}, {"A": "matrix(m, n)", "x": "vector(n)"}, "numerator"),
]
WRONG = [
    ("∇_X tr(A X) = A", {}, SQUARE_AX),
    ("∇_x (xᵀAx) = 2Ax", {}, None),
    ("d(X⁻¹) = −X⁻¹ X⁻¹ dX", {"X": ["invertible"]}, None),
    ("∇_X log det X = X⁻¹", {"X": ["invertible"]}, None),
    ("∇²_x (xᵀAx) = 2A", {}, None),
    ("∇_x (Ax) = A", {}, {"A": "matrix(n, n)"}),
]


@pytest.mark.parametrize(("claim", "assume", "symbols", "layout"), RIGHT,
                         ids=[f"{c} [{lay}]" for c, _, _, lay in RIGHT])
def test_search_finds_nothing_against_a_right_rule(claim: str, assume: dict[str, list[str]],
                                                    symbols: dict[str, str] | None,
                                                    layout: str) -> None:
    evidence = search(compiled(claim, assume=assume, symbols=symbols, layout=layout), FAST)
    assert evidence.counterexample is None
    assert evidence.examples > 0 and evidence.detail == ""
    assert evidence.max_abs_error <= 1e-8 and evidence.max_rel_error <= 1e-7


def assert_genuine(problem: Problem, ce: Counterexample, options: Options) -> None:
    """The counterexample reproduces: at its inputs the claim and the derivative differ."""
    sizes = dict(ce.sizes)
    inputs = {name: np.array(m, dtype=float) for name, m in ce.inputs}
    direction = inputs.pop(f"d{problem.wrt}", np.zeros_like(inputs[problem.wrt]))
    assert set(inputs) == set(problem.shapes)
    for name, value in inputs.items():
        assert value.shape == problem.symbol_size(name, sizes), name
    values = tensors(**inputs)
    d = torch.tensor(direction, dtype=torch.float64)
    true = true_derivative(problem, values, sizes, d).detach().numpy()
    claimed = evaluate(problem.claim, values, sizes, {problem.wrt: d}).numpy()
    assert np.allclose(true, np.array(ce.true), rtol=1e-12, atol=1e-12)
    assert np.allclose(claimed, np.array(ce.claimed), rtol=1e-12, atol=1e-12)
    excess = np.abs(claimed - true) - (options.atol + options.rtol * np.abs(true))
    assert excess.max() > 0
    assert ce.abs_error == pytest.approx(np.abs(claimed - true).max())


@pytest.mark.parametrize(("claim", "assume", "symbols"), WRONG, ids=[c for c, *_ in WRONG])
def test_search_finds_a_small_genuine_counterexample(claim: str, assume: dict[str, list[str]],
                                                     symbols: dict[str, str] | None) -> None:
    problem = compiled(claim, assume=assume, symbols=symbols)
    evidence = search(problem, FAST)
    ce = evidence.counterexample
    assert ce is not None
    assert_genuine(problem, ce, FAST)
    # each of these is a transposition or a factor-of-two mistake, visible at size 2
    assert all(size <= 2 for _, size in ce.sizes), ce.sizes


def test_counterexample_of_a_transposition_mistake_is_2_by_2() -> None:
    problem = compiled("∇_X tr(A X) = A", symbols=SQUARE_AX)
    ce = search(problem, FAST).counterexample
    assert ce is not None
    assert dict(ce.sizes) == {"n": 2}  # at n = 1 a transpose is invisible
    assert {name for name, _ in ce.inputs} == {"A", "X"}


def test_counterexample_of_a_differential_carries_the_direction() -> None:
    problem = compiled("d(X⁻¹) = −X⁻¹ X⁻¹ dX", assume={"X": ["invertible"]})
    ce = search(problem, FAST).counterexample
    assert ce is not None
    names = [name for name, _ in ce.inputs]
    assert names.count("dX") == 1 and "X" in names


def test_a_shape_mistake_is_a_counterexample_with_a_note() -> None:
    problem = compiled("∇_x (Ax) = A", symbols={"A": "matrix(m, n)", "x": "vector(n)"})
    ce = search(problem, FAST).counterexample
    assert ce is not None
    sizes = dict(ce.sizes)
    assert sizes["m"] != sizes["n"]
    assert "claim is" in ce.note and "derivative is" in ce.note


# ---- no false counterexamples from floating point ----

RAYLEIGH = ("∇_x ((xᵀAᵀAx)/(xᵀBᵀBx)) = 2AᵀAx/(xᵀBᵀBx) − 2(xᵀAᵀAx)BᵀBx/(xᵀBᵀBx)²")


@pytest.mark.parametrize("seed", range(6))
def test_a_quotient_of_quadratic_forms_has_no_false_counterexample(seed: int) -> None:
    """Matrix Cookbook (94). With entries as small as 1e-49 (hypothesis likes them) the
    quotient underflowed and its two terms cancelled: a false counterexample on 4 of these
    6 seeds before entries were kept to 0 or |v| ≥ 2⁻¹⁰."""
    evidence = search(compiled(RAYLEIGH), Options(seed=seed, examples=100))
    assert evidence.counterexample is None
    assert evidence.examples == 100
    assert evidence.max_rel_error < 1e-7  # a derivative near 0 gives no huge relative error


def test_a_rectangular_log_det_is_checked_where_it_is_defined() -> None:
    """log det(XᵀX) is defined only where X has full column rank; rounding makes det(XᵀX)
    tiny but non-zero when X is wide, and every such draw used to be a false counterexample."""
    problem = compiled("∇_X log det(XᵀX) = 2X(XᵀX)⁻¹", symbols={"X": "matrix(m, n)"})
    evidence = search(problem, Options(examples=60))
    assert evidence.counterexample is None and evidence.examples == 60
    wrong = compiled("∇_X log det(XᵀX) = X(XᵀX)⁻¹", symbols={"X": "matrix(m, n)"})
    ce = search(wrong, Options(examples=60)).counterexample
    assert ce is not None
    assert_genuine(wrong, ce, FAST)
    sizes = dict(ce.sizes)
    assert sizes["m"] >= sizes["n"]  # a genuine counterexample, where f is defined


def test_terms_that_cancel_in_rounding_are_not_a_counterexample() -> None:
    """At n = 1 the quotient is constant in x, so its derivative is exactly 0, but the claim
    subtracts two terms of size 1e7 here: about 1e-9 of rounding is left, above atol. The
    tolerance allows ROUNDING ulps of the claim's largest intermediate value; a claim that
    drops one of the two terms is still far outside it."""
    from gradcheck.strategies import Sample

    point = {"x": np.array([[-0.21875]]), "A": np.array([[-1.0]]),
             "B": np.array([[2.0**-10 * (1 + 2.0**-52)]])}
    sample = Sample({"m": 1, "n": 1, "p": 1}, point, np.zeros((1, 1)))
    symbols = {"A": "matrix(m, n)", "B": "matrix(p, n)", "x": "vector(n)"}
    right = compiled(f"{RAYLEIGH.split(' = ')[0]} = ({RAYLEIGH.split(' = ')[1]})ᵀᵀ",
                     symbols=symbols)
    result = numeric.compare(right, sample, 1e-7, 1e-9)
    assert result is not None and result.ok
    assert result.abs_error > 1e-9  # the rounding really is above atol here
    wrong = compiled(f"{RAYLEIGH.split(' = ')[0]} = 2AᵀAx/(xᵀBᵀBx)", symbols=symbols)
    result = numeric.compare(wrong, sample, 1e-7, 1e-9)
    assert result is not None and not result.ok


def test_near_singular_sees_inverses_log_dets_and_divisions_by_det() -> None:
    singular = np.array([[1.0, 2.0], [2.0, 4.0 + 1e-12]])
    regular = np.array([[2.0, 1.0], [0.0, 1.0]])
    for claim in (
        "∇_X tr(X⁻¹) = −X⁻ᵀX⁻ᵀ",
        "∇_X log det X = X⁻ᵀ",
        "∇_X log |det X| = X⁻ᵀ",
        "∇_X (1/det(X)) = −X⁻ᵀ/det(X)",
    ):
        problem = compiled(claim, symbols={"X": "matrix(n, n)"})
        for value, expected in ((singular, True), (regular, False)):
            got = numeric.near_singular(problem, tensors(X=value), {"n": 2}, {"X": torch.eye(2)})
            assert got is expected, (claim, expected)
    # det alone is smooth everywhere: a singular X is inside the domain of ∇ det X = adj(X)ᵀ
    smooth = compiled("∇_X det(X) = det(X) tr(X)", symbols={"X": "matrix(n, n)"})
    assert not numeric.near_singular(smooth, tensors(X=singular), {"n": 2})


# ---- determinism ----


def test_the_same_seed_gives_the_same_counterexample() -> None:
    problem = compiled("∇_x (xᵀAx) = 2Ax")
    first = search(problem, Options(seed=3, examples=20))
    again = search(problem, Options(seed=3, examples=20))
    assert first.counterexample is not None
    assert first.counterexample == again.counterexample
    assert first.examples == again.examples
    assert (first.max_abs_error, first.max_rel_error) == (again.max_abs_error,
                                                          again.max_rel_error)


def test_other_seeds_still_find_genuine_counterexamples() -> None:
    problem = compiled("∇_X log det X = X⁻¹", assume={"X": ["invertible"]})
    found = []
    for seed in (0, 1, 2):
        ce = search(problem, Options(seed=seed, examples=20)).counterexample
        assert ce is not None
        assert_genuine(problem, ce, FAST)
        found.append(ce)
    assert found[0] == search(problem, Options(seed=0, examples=20)).counterexample


def test_rule_seed_depends_on_the_seed_and_the_rule() -> None:
    assert rule_seed(0, "a") == rule_seed(0, "a")
    assert len({rule_seed(0, "a"), rule_seed(1, "a"), rule_seed(0, "b")}) == 3
    assert 0 <= rule_seed(12345, "linear-map") < 2**64


# ---- the torch and the sympy lowering compute the same values ----
#
# Expressions are built over n×n matrices (A, B, and S which is spd), n-vectors (x, y) and
# scalars (c, numbers), from templates that are well typed by construction.

MATRIX, VECTOR, SCALAR = "M", "v", "s"


def n_(x: int | str) -> Num:
    return Num(Fraction(x))


def call(op: str, *args: Node) -> Call:
    return Call(op, tuple(args))


SPD_FORMS = [Sym("S"), call("add", Sym("S"), Const("I", ("n", "n"))),
             call("mul", n_(2), Sym("S")), call("matmul", Sym("S"), Sym("S"))]


TREE_DEPTH = 3


@st.composite
def expressions(draw: st.DrawFn, kind: str, depth: int) -> Node:
    # the root is always an operation; below it a leaf now and then keeps trees varied
    if depth == 0 or (depth < TREE_DEPTH and draw(st.integers(0, 4)) == 0):
        return draw(st.sampled_from({
            MATRIX: [Sym("A"), Sym("B"), Sym("S"), Const("I", ("n", "n"))],
            VECTOR: [Sym("x"), Sym("y"), Const("ones", ("n", 1))],
            SCALAR: [Sym("c"), n_(2), n_(-1), n_("1/2")],
        }[kind]))

    def sub(k: str) -> Node:
        return draw(expressions(k, depth - 1))

    template = draw(st.sampled_from({
        MATRIX: ["add", "sub", "matmul", "hadamard", "scale", "T", "inv", "exp", "tanh",
                 "sigmoid", "diag"],
        VECTOR: ["add", "sub", "matvec", "hadamard", "scale", "exp", "tanh", "sigmoid",
                 "softmax", "diag", "neg"],
        SCALAR: ["tr", "det", "sum", "summ", "norm", "logsumexp", "inner", "add", "mul",
                 "tanh"],
    }[kind]))
    binary = {"add": "add", "sub": "sub", "matmul": "matmul", "hadamard": "mul", "mul": "mul"}
    if template in binary:
        return call(binary[template], sub(kind), sub(kind))
    if template == "scale":
        return call("mul", sub(SCALAR), sub(kind))
    if template == "matvec":
        return call("matmul", sub(MATRIX), sub(VECTOR))
    if template == "inv":
        return call("inv", draw(st.sampled_from(SPD_FORMS)))
    if template == "exp":  # bounded argument: exp of exp of a product overflows float64
        return call("exp", call("tanh", sub(kind)))
    if template in ("tanh", "sigmoid", "softmax", "T", "neg"):
        return call(template, sub(kind))
    if template == "diag":
        return call("diag", sub(VECTOR if kind == MATRIX else MATRIX))
    if template in ("tr", "det", "summ"):
        return call("sum" if template == "summ" else template, sub(MATRIX))
    if template in ("sum", "norm", "logsumexp"):
        return call(template, sub(VECTOR))
    assert template == "inner"
    return call("matmul", call("T", sub(VECTOR)), sub(VECTOR))


@st.composite
def lowering_cases(draw: st.DrawFn) -> tuple[Node, dict[str, np.ndarray], int]:
    n = draw(st.integers(1, 3))
    kind = draw(st.sampled_from([MATRIX, VECTOR, SCALAR]))
    node = draw(expressions(kind, TREE_DEPTH))
    values = {name: draw(entries((n, n))) for name in ("A", "B")}
    values |= {name: draw(entries((n, 1))) for name in ("x", "y")}
    values["c"] = draw(entries((1, 1)))
    values["S"] = build_value(frozenset({"spd"}), n, n, lambda shape: draw(entries(shape)))
    return node, values, n


def sympy_value(node: Node, values: dict[str, np.ndarray], n: int) -> np.ndarray:
    mats = {k: sp.Matrix(v.shape[0], v.shape[1], lambda i, j, v=v: sp.Float(float(v[i, j]), 30))
            for k, v in values.items()}
    result = Lowering(mats, {"n": n}, {}, stop_gradients=False)(node)
    return np.array(result.evalf(30).tolist(), dtype=float).reshape(result.shape)


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(lowering_cases())
def test_torch_and_sympy_lowerings_agree(case: tuple[Node, dict[str, np.ndarray], int]) -> None:
    node, values, n = case
    with torch.no_grad():
        by_torch = evaluate(node, tensors(**values), {"n": n}).numpy()
    by_sympy = sympy_value(node, values, n)
    assert by_torch.shape == by_sympy.shape
    scale = 1.0 + np.abs(by_sympy).max(initial=0.0)
    assert np.allclose(by_torch, by_sympy, rtol=1e-8, atol=1e-8 * scale), (node, by_torch,
                                                                            by_sympy)


def test_lowerings_agree_on_a_fixed_expression() -> None:
    # softmax(A x) + diag(S⁻¹) ⊙ y, with the known numbers checked against numpy too
    node = call("add", call("softmax", call("matmul", Sym("A"), Sym("x"))),
                call("mul", call("diag", call("inv", Sym("S"))), Sym("y")))
    a = np.array([[1.0, -2.0], [0.5, 0.25]])
    s = np.array([[2.0, 0.5], [0.5, 1.0]])
    x, y = np.array([[1.0], [2.0]]), np.array([[-1.0], [3.0]])
    values = {"A": a, "S": s, "x": x, "y": y}
    z = a @ x
    expected = np.exp(z) / np.exp(z).sum() + np.diag(np.linalg.inv(s)).reshape(2, 1) * y
    with torch.no_grad():
        by_torch = evaluate(node, tensors(**values), {"n": 2}).numpy()
    assert np.allclose(by_torch, expected, rtol=1e-12)
    assert np.allclose(sympy_value(node, values, 2), expected, rtol=1e-12)




# ---- batched evidence: one vectorized call per batch, the same answers as one by one ----

BATCHED_CLAIMS = [
    ("∇_x (xᵀAx) = (A + Aᵀ)x", {}, {}),
    ("∇_x (xᵀAx) = 2Ax", {}, {}),  # wrong: the batch must flag what compare flags
    ("∇_X log det(X) = X⁻ᵀ", {"X": ["invertible"]}, {}),
    ("∇_X tr(X⁻¹) = −(X⁻¹X⁻¹)ᵀ", {"X": ["invertible"]}, {}),
    ("∇_x softmax(x) = diag(softmax(x)) − softmax(x)softmax(x)ᵀ", {}, {}),
    ("∇²_x (xᵀAx) = A + Aᵀ", {}, {}),
    ("∇_x relu(x) = diag((1 + x / abs(x)) / 2)", {}, {}),
    ("d(XᵀX) = dXᵀ X + Xᵀ dX", {}, {"X": "matrix(m, n)"}),
    ("∇_X log det(XᵀX) = 2X(XᵀX)⁻¹", {}, {"X": "matrix(m, n)"}),  # singular where m < n
]


@pytest.mark.parametrize(("claim", "assume", "symbols"), BATCHED_CLAIMS)
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_batch_compares_as_its_samples_one_by_one(
    claim: str, assume: dict[str, list[str]], symbols: dict[str, str], data: st.DataObject
) -> None:
    from gradcheck.strategies import batches

    p = compiled(claim, assume=assume or None, symbols=symbols or None)
    batch = data.draw(batches(p, 3))
    together = numeric.compare_batch(p, batch, 1e-7, 1e-9)
    alone = [numeric.compare(p, s, 1e-7, 1e-9) for s in batch.samples]
    assert [r is None for r in together] == [r is None for r in alone]
    for t, a in zip(together, alone, strict=True):
        if t is not None and a is not None:
            assert t.ok == a.ok
            assert t.abs_error == pytest.approx(a.abs_error, rel=1e-6, abs=1e-12)


def test_the_vectorized_path_is_the_one_taken() -> None:
    """The speed is the point: a plain rule must not fall back to one sample at a time."""
    from gradcheck.strategies import BATCH, Batch

    p = compiled("∇_X tr(AXB) = AᵀBᵀ", symbols={"A": "matrix(m, n)", "X": "matrix(n, k)",
                                                  "B": "matrix(k, m)"})
    batch = Batch(p, {"m": 2, "n": 3, "k": 4}, seed=3, size=BATCH)
    assert len(numeric._compare_vectorized(p, batch, 1e-7, 1e-9)) == len(batch.samples)


def test_a_wrong_batching_rule_gives_no_false_counterexample() -> None:
    """torch 2.13's vmap of jacfwd(jacrev(det)) is wrong past the first sample; a failing
    sample is confirmed on its own, so the right rule holds."""
    p = compiled("∇²_t det(A + tB) = det(A + tB) (tr((A + tB)⁻¹B)² − tr((A + tB)⁻¹B(A + tB)⁻¹B))",
                 assume={"A": ["symmetric"], "B": ["symmetric"]},
                 symbols={"t": "scalar", "A": "matrix(n, n)", "B": "matrix(n, n)"})
    evidence = search(p, Options())
    assert evidence.counterexample is None and evidence.examples >= 60


def test_a_search_compares_at_least_the_examples_asked_for() -> None:
    evidence = search(compiled("∇_x (aᵀx) = a"), Options(examples=60))
    assert evidence.examples >= 60 and evidence.counterexample is None


def test_a_search_at_a_given_size_compares_there() -> None:
    holds = search(compiled("∇_x (xᵀAx) = (A + Aᵀ)x"), Options(numeric_sizes=(("n", 128),)))
    assert holds.counterexample is None and holds.examples >= 60
    wrong = search(compiled("∇_x (xᵀAx) = 2Ax"), Options(numeric_sizes=(("n", 128),)))
    assert wrong.counterexample is not None and dict(wrong.counterexample.sizes) == {"n": 2}


def test_gradcheck_source_is_not_where_hypothesis_draws_constants() -> None:
    """hypothesis draws some values from constants in the source of "local" modules; in an
    editable install gradcheck's own modules are local, which cost each process half a second
    of parsing and made inputs depend on the install. A search must leave them out."""
    import subprocess
    import sys

    code = """if True:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import constants_from_module
        import gradcheck.numeric as numeric, gradcheck.strategies as strategies
        from gradcheck.catalog import rule_from_claim
        from gradcheck.model import Options
        from gradcheck.problem import compile_rule
        rule, _ = rule_from_claim("∇_x (xᵀAx) = (A + Aᵀ)x")
        numeric.search(compile_rule(rule), Options(examples=200))
        ours = set(constants_from_module(numeric)) | set(constants_from_module(strategies))
        print(len(ours), len(ours & set(providers._get_local_constants())))
    """
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=300)
    ours, leaked = map(int, done.stdout.split())
    assert ours > 20 and leaked == 0, done.stdout


def test_only_the_command_line_freezes_the_engines_imports() -> None:
    """`gc.freeze` after torch and sympy are imported spares every later full collection
    their 200,000 objects; a user's process (the library, the pytest plugin) is left as it
    is, and the command line's process is frozen once, before any rule is checked."""
    import subprocess
    import sys

    code = (
        "import gc, sys; from gradcheck import engines\n"
        "if sys.argv[1] == 'cli': engines.freeze_after_import()\n"
        "engines.load(); engines.load()\n"
        "print(gc.get_freeze_count() > 100_000, 'torch' in sys.modules, 'sympy' in sys.modules)"
    )
    runs = {
        how: subprocess.run([sys.executable, "-c", code, how], capture_output=True, text=True,
                            timeout=300, check=True).stdout.split()
        for how in ("library", "cli")
    }
    assert runs == {"library": ["False", "True", "True"], "cli": ["True", "True", "True"]}


@pytest.mark.parametrize("claim", ["(A + Aᵀ)x", "(A − Bᵀ)x", "(Aᵀ + B)x", "(Aᵀ − Bᵀ)x"])
def test_a_large_sum_times_a_vector_is_worked_term_by_term_to_the_same_value(claim: str) -> None:
    """From DISTRIBUTE_FROM entries (P ± Q)v is worked as Pv ± Qv (and Xᵀv as (vᵀX)ᵀ): the
    same value up to rounding as the sum worked first, which `compare` still does."""
    from gradcheck.lang.parser import parse_expression

    n = 300
    assert n * n >= numeric.DISTRIBUTE_FROM
    node = parse_expression(claim)
    rng = np.random.default_rng(0)
    values = {k: torch.tensor(rng.normal(size=(n, n))) for k in ("A", "B")}
    values["x"] = torch.tensor(rng.normal(size=(n, 1)))
    assert numeric._distributed(node, values, {}, None, None) is not None  # type: ignore[arg-type]
    distributed = numeric.evaluate(node, values, {})
    as_written = numeric.evaluate(node, values, {}, largest=[])
    assert torch.allclose(distributed, as_written, rtol=1e-12, atol=1e-10)


def test_a_wrong_claim_at_a_large_size_still_fails() -> None:
    options = Options(numeric_sizes=(("n", 256),), examples=8)
    for claim, fails in (("∇_x (xᵀAx) = (A + Aᵀ)x", False), ("∇_x (xᵀAx) = (A + A)x", True)):
        made = rule_from_claim(claim)[0]
        assert made is not None
        found = numeric.search(compile_rule(made), options).counterexample
        assert (found is not None) is fails, claim
