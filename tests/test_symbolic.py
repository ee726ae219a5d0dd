"""Tests for gradcheck.symbolic: exact entrywise proofs and disproofs at small sizes."""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Iterator

import pytest
import sympy as sp

from gradcheck import symbolic
from gradcheck.catalog import rule_from_claim
from gradcheck.lang.ast import Sym
from gradcheck.lang.printer import unicode
from gradcheck.model import Options, Status
from gradcheck.numeric import search
from gradcheck.problem import Problem, compile_rule
from gradcheck.symbolic import check, is_zero, size_plan, symbol_matrices
from gradcheck.verdicts import verify_rule

FAST = Options(examples=20, diagnose=False)


def compiled(claim: str, *, assume: dict[str, list[str]] | None = None,
             symbols: dict[str, str] | None = None, layout: str = "denominator") -> Problem:
    rule, diagnostics = rule_from_claim(claim, assume=assume, symbols=symbols, layout=layout)
    assert rule is not None and diagnostics == [], diagnostics
    return compile_rule(rule)


def sizes_of(evidence_sizes: tuple[tuple[tuple[str, int], ...], ...]) -> list[dict[str, int]]:
    return [dict(s) for s in evidence_sizes]


# ---- proofs ----

RIGHT = [
    ("∇_x (aᵀx) = a", {}, None, "denominator"),
    ("∇_x (Ax) = Aᵀ", {}, {"A": "matrix(m, n)"}, "denominator"),
    ("∇_x (Ax) = A", {}, {"A": "matrix(m, n)"}, "numerator"),
    ("∇_x (xᵀA) = A", {}, {"A": "matrix(n, m)"}, "denominator"),
    ("∇_x (xᵀAx) = 2Ax", {"A": ["symmetric"]}, None, "denominator"),
    ("∇_X tr(A X B) = Aᵀ Bᵀ", {}, None, "denominator"),
    ("∇²_x ‖A x − b‖² = 2AᵀA", {}, None, "denominator"),
    ("d(X⁻¹) = −X⁻¹ dX X⁻¹", {"X": ["invertible"]}, None, "denominator"),
    ("∇_x logsumexp(x) = softmax(x)", {}, None, "denominator"),
    ("∇_z (−(yᵀ log(softmax(z)))) = softmax(z) − y", {"y": ["probability"]}, None,
     "denominator"),
    ("∇_x sum(sg(x ⊙ x) ⊙ x) = x ⊙ x", {}, None, "denominator"),
    ("∇_X ‖X‖_F = X / ‖X‖_F", {"X": ["nonzero"]}, None, "denominator"),
]


@pytest.mark.parametrize(("claim", "assume", "symbols", "layout"), RIGHT,
                         ids=[f"{c} [{lay}]" for c, _, _, lay in RIGHT])
def test_right_rules_are_proved_at_every_planned_size(claim: str, assume: dict[str, list[str]],
                                                      symbols: dict[str, str] | None,
                                                      layout: str) -> None:
    problem = compiled(claim, assume=assume, symbols=symbols, layout=layout)
    evidence, at = check(problem, Options())
    assert evidence.status == "proved", evidence.detail
    assert evidence.detail == ""
    planned = size_plan(problem, Options().max_symbolic_size)
    assert sizes_of(evidence.sizes) == planned
    assert all(set(s) == set(problem.dims) for s in sizes_of(evidence.sizes))
    assert any(all(v >= 2 for v in s.values()) for s in sizes_of(evidence.sizes))
    # the size handed to the cross-check carries the exact derivative
    assert at is not None and at.status == "proved" and at.derivative is not None


def test_size_plan_covers_1_to_max_and_distinct_sizes() -> None:
    problem = compiled("∇_X tr(A X B) = Aᵀ Bᵀ")
    plan = size_plan(problem, 3)
    assert len(problem.dims) == 3
    for k in (1, 2, 3):
        assert {d: k for d in problem.dims} in plan
    assert any(len(set(p.values())) > 1 for p in plan)  # a transpose shows at distinct sizes
    assert all(1 <= v <= 3 for p in plan for v in p.values())
    assert plan == sorted(plan, key=lambda p: (sum(p.values()), sorted(p.items())))


# ---- disproofs ----

WRONG = [
    ("∇_x (xᵀAx) = 2Ax", {}, None),
    ("∇_X tr(A X) = A", {}, {"A": "matrix(n, n)", "X": "matrix(n, n)"}),
    ("∇²_x (xᵀAx) = 2A", {}, None),
    ("d(X⁻¹) = −X⁻¹ X⁻¹ dX", {"X": ["invertible"]}, None),
    ("∇_x sum(sg(x ⊙ x) ⊙ x) = 3 x ⊙ x", {}, None),
    ("∇_z (−(yᵀ log(softmax(z)))) = softmax(z) − y", {}, None),
]


@pytest.mark.parametrize(("claim", "assume", "symbols"), WRONG, ids=[c for c, *_ in WRONG])
def test_wrong_rules_are_disproved_with_the_entry_named(claim: str,
                                                        assume: dict[str, list[str]],
                                                        symbols: dict[str, str] | None) -> None:
    problem = compiled(claim, assume=assume, symbols=symbols)
    evidence, at = check(problem, Options())
    assert evidence.status == "disproved"
    assert "entry (" in evidence.detail
    assert "the derivative is" in evidence.detail and "the claim" in evidence.detail
    assert len(evidence.sizes) == 1  # the size of the disproof
    assert at is not None and at.status == "disproved"


def test_sizes_where_f_is_nowhere_defined_are_skipped_and_named() -> None:
    """log det(XᵀX) with X wider than tall: XᵀX is singular at every point of that size."""
    problem = compiled("∇_X log det(XᵀX) = 2X(XᵀX)⁻¹", symbols={"X": "matrix(m, n)"})
    evidence, at = check(problem, Options())
    assert evidence.status == "proved", evidence.detail
    proved = sizes_of(evidence.sizes)
    assert proved and all(s["m"] >= s["n"] for s in proved)
    assert any(s["m"] >= 2 and s["n"] >= 2 for s in proved)
    assert "f is not defined at m=1, n=2" in evidence.detail
    assert at is not None and at.sizes["m"] >= at.sizes["n"]
    # the same skip does not hide a wrong claim at the sizes where f is defined
    wrong = compiled("∇_X log det(XᵀX) = X(XᵀX)⁻¹", symbols={"X": "matrix(m, n)"})
    assert check(wrong, Options())[0].status == "disproved"


def test_a_function_undefined_on_half_the_space_is_not_skipped() -> None:
    """log(aᵀx) is defined wherever aᵀx > 0: no size is 'nowhere defined'."""
    problem = compiled("∇_x log(aᵀx) = a / (aᵀx)")
    evidence, _ = check(problem, Options())
    assert "not defined" not in evidence.detail
    assert evidence.status == "proved", evidence.detail


def test_a_shape_mismatch_is_a_disproof() -> None:
    problem = compiled("∇_x (Ax) = A", symbols={"A": "matrix(m, n)", "x": "vector(n)"})
    evidence, _ = check(problem, Options())
    assert evidence.status == "disproved"
    assert "where the derivative is" in evidence.detail


# ---- sympy's matrix-level pitfalls (spec §3): the entrywise derivative gets them right ----

PITFALLS = [
    pytest.param("∇_x log(aᵀx) = a / (aᵀx)", "∇_x log(aᵀx) = a",
                 {"a": ["positive"], "x": ["positive"]}, id="log-of-linear-form"),
    pytest.param("∇_x (xᵀx)² = 4(xᵀx)x", "∇_x (xᵀx)² = 2(xᵀx)x", {}, id="squared-inner-product"),
    pytest.param("∇_X det(X)² = 2det(X)²X⁻ᵀ", "∇_X det(X)² = 2det(X)²X⁻¹",
                 {"X": ["invertible"]}, id="squared-determinant"),
    pytest.param("∇_X log det X = X⁻ᵀ", "∇_X log det X = X⁻¹", {}, id="log-determinant"),
    pytest.param("∇_x √(xᵀx) = x/√(xᵀx)", "∇_x √(xᵀx) = x/(xᵀx)", {"x": ["nonzero"]},
                 id="sqrt-of-inner-product"),
]


@pytest.mark.parametrize(("right", "wrong", "assume"), PITFALLS)
def test_pitfalls_of_matrix_level_diff(right: str, wrong: str,
                                       assume: dict[str, list[str]]) -> None:
    evidence, _ = check(compiled(right, assume=assume), Options())
    assert evidence.status == "proved", evidence.detail
    assert len(evidence.sizes) == 3  # n = 1, 2, 3
    evidence, _ = check(compiled(wrong, assume=assume), Options())
    assert evidence.status == "disproved"
    assert "entry (" in evidence.detail


@pytest.mark.parametrize(("right", "wrong", "assume"), PITFALLS)
def test_pitfalls_end_to_end(right: str, wrong: str, assume: dict[str, list[str]]) -> None:
    rule, _ = rule_from_claim(right, assume=assume)
    assert rule is not None
    verdict = verify_rule(rule, FAST)
    assert verdict.status is Status.HOLDS, verdict.message
    assert verdict.crosscheck is not None and verdict.crosscheck.agreed
    rule, _ = rule_from_claim(wrong, assume=assume)
    assert rule is not None
    verdict = verify_rule(rule, FAST)
    assert verdict.status is Status.FAILS
    assert verdict.numeric is not None and verdict.numeric.counterexample is not None


# ---- the time limit ----

EXPENSIVE = ("∇_X (aᵀX⁻¹b) = −X⁻ᵀa bᵀX⁻ᵀ", {"X": ["invertible"]})


@pytest.fixture
def no_gc() -> Iterator[None]:
    """No garbage collection: a time limit that fires inside a gc callback is lost (see
    test_time_limit_survives_gc_callbacks), which must not make these tests flaky."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@pytest.mark.usefixtures("no_gc")
def test_time_limit_stops_the_proof() -> None:
    claim, assume = EXPENSIVE
    problem = compiled(claim, assume=assume)
    evidence, _ = check(problem, Options(symbolic_timeout=0.001))
    planned = size_plan(problem, Options().max_symbolic_size)
    assert evidence.status != "disproved"
    assert evidence.status == "timeout" or len(evidence.sizes) < len(planned)
    if evidence.status == "timeout":
        assert "time limit" in evidence.detail


@pytest.mark.usefixtures("no_gc")
def test_a_timed_out_proof_leaves_the_numeric_evidence() -> None:
    claim, assume = EXPENSIVE
    rule, _ = rule_from_claim(claim, assume=assume)
    assert rule is not None
    verdict = verify_rule(rule, Options(examples=20, symbolic_timeout=0.001, diagnose=False))
    assert verdict.symbolic is not None and verdict.numeric is not None
    assert verdict.numeric.counterexample is None
    if verdict.symbolic.status == "timeout" and not verdict.symbolic.all_sizes:
        assert verdict.status is Status.HOLDS_NUMERIC
        assert "timeout" in verdict.message or "time limit" in verdict.message
    else:
        assert verdict.status in (Status.HOLDS, Status.HOLDS_NUMERIC)


def test_a_timed_out_wrong_rule_still_fails() -> None:
    rule, _ = rule_from_claim("∇_X (aᵀX⁻¹b) = −X⁻¹a bᵀX⁻¹", assume={"X": ["invertible"]})
    assert rule is not None
    verdict = verify_rule(rule, Options(examples=20, symbolic_timeout=0.001, diagnose=False))
    assert verdict.status is Status.FAILS


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_time_limit_survives_gc_callbacks() -> None:
    # The numeric check runs hypothesis in the same process, and hypothesis times garbage
    # collection with a gc callback. A low gc threshold makes collections frequent, so the
    # one-shot alarm often lands inside that callback, as it does now and then in a long
    # `gradcheck verify` (one bundled rule ran for over ten minutes).
    search(compiled("∇_x (aᵀx) = a"), Options(examples=5))  # hypothesis is now in use
    problem = compiled("∇_X det(X)² = 2det(X)²X⁻ᵀ", assume={"X": ["invertible"]})
    threshold = gc.get_threshold()
    seconds: list[float] = []
    gc.set_threshold(1)
    try:
        sp.core.cache.clear_cache()  # every run below starts cold: the same work each time
        start = time.perf_counter()
        whole, _ = check(problem, Options(symbolic_timeout=0))  # the work a lost alarm allows
        unlimited = time.perf_counter() - start
        for _ in range(40):
            sp.core.cache.clear_cache()
            evidence, _ = check(problem, Options(symbolic_timeout=0.01))
            # the proof's own clock: what runs around it (gc at threshold 1) is not the proof
            seconds.append(evidence.seconds)
            assert "time limit of 0.01 s reached" in evidence.detail
    finally:
        gc.set_threshold(*threshold)
    # Relative, not absolute: the machine may be busy, but the same load slows both. A lost
    # alarm lets the proof run on in many of the 40 runs (gc at threshold 1 catches it
    # often); one run descheduled on a busy CI machine for a moment is not a lost alarm.
    assert len(evidence.sizes) < len(whole.sizes)
    overran = [s for s in seconds if s > unlimited / 2]
    assert len(overran) <= 2, (
        f"a 0.01 s limit let {len(overran)} of 40 proofs run over half of its "
        f"{unlimited:.2f} s: {sorted(overran)}"
    )


def test_no_time_limit_outside_the_main_thread() -> None:
    import threading

    seen: list[str] = []

    def run() -> None:
        with symbolic.time_limit(0.001):
            seen.append("ran")

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == ["ran"]


# ---- pieces ----


def test_symbol_matrices_have_independent_real_or_positive_entries() -> None:
    problem = compiled("∇_x log(aᵀx) = a / (aᵀx)", assume={"a": ["positive"]})
    mats = symbol_matrices(problem, {"n": 3})
    assert mats["a"].shape == (3, 1) and mats["x"].shape == (3, 1)
    assert all(s.is_positive for s in mats["a"])
    assert all(s.is_real and s.is_positive is None for s in mats["x"])
    assert len(set(mats["a"]) | set(mats["x"])) == 6


def test_is_zero_decides_exactly() -> None:
    x, y = sp.symbols("x y", real=True)
    rng = random.Random(0)
    assert is_zero(sp.Integer(0), rng) is True
    assert is_zero((x + y) ** 2 - x**2 - 2 * x * y - y**2, rng) is True
    assert is_zero(x / (x * y) - 1 / y, rng) is True
    assert is_zero(sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1, rng) is True
    assert is_zero(x - y, rng) is False
    assert is_zero(sp.Rational(1, 10**30), rng) is not True


# ---- messages print sympy's expressions in gradcheck's notation (issue 9) ----

A11, A12, x1, x2 = (sp.Symbol(n, real=True) for n in ("A[1,1]", "A[1,2]", "x[1]", "x[2]"))
SHOWN = {
    "A[1,1]": Sym("A₁₁"), "A[1,2]": Sym("A₁₂"),
    "x[1]": Sym("x₁"), "x[2]": Sym("x₂"),
}


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        (2 * A11 * x1 + A12 * x2, "2A₁₁x₁ + A₁₂x₂"),
        (3 * x1**2, "3x₁²"),
        (x1**3 / 2, "x₁³ / 2"),
        (1 / x1, "1 / x₁"),
        (sp.sqrt(x1), "√(x₁)"),
        (x1 ** sp.Rational(-1, 2), "1 / √(x₁)"),
        (-2 * x1, "−2x₁"),
        (x1 - x2, "x₁ − x₂"),
        (1 - sp.tanh(x1) ** 2, "1 − tanh(x₁)²"),
        (A11 * sp.exp(A11 * x1), "exp(A₁₁x₁) A₁₁"),
        (sp.sign(x1), "x₁ / |x₁|"),
        (sp.Rational(1, 3) * x1, "x₁ / 3"),
    ],
)
def test_an_entry_prints_as_gradcheck_writes_it(expr: sp.Expr, text: str) -> None:
    assert unicode(symbolic.to_ast(expr, SHOWN)) == text


def test_an_entry_without_a_name_in_the_language_is_not_printed_in_sympys() -> None:
    with pytest.raises(symbolic.Unprintable):
        symbolic.to_ast(sp.cosh(x1) + sp.Function("f")(x1), SHOWN)
    problem = compiled("∇_x (aᵀx) = a")
    detail = symbolic._entry_detail(0, 0, sp.besselj(0, x1), x1, problem, {"n": 2})
    assert detail == "entry (1, 1) of the derivative and of the claim differ"


def test_a_disproof_names_entries_by_their_matrix_and_index() -> None:
    problem = compiled("∇_x (xᵀAx) = 2Ax")
    evidence, _ = check(problem, Options())
    assert evidence.detail == (
        "entry (1, 1): the derivative is 2A₁₁x₁ + A₁₂x₂ + A₂₁x₂, the claim 2A₁₁x₁ + 2A₁₂x₂"
    )
    differential = compiled("d(XᵀX) = dXᵀX")
    assert check(differential, Options())[0].detail == (
        "entry (1, 1): the derivative is 2X dX, the claim X dX"
    )


def test_entry_symbols_of_different_matrices_are_distinct() -> None:
    problem = compiled(
        "∇_A (A1ᵀAx) = A1 xᵀ", symbols={"A1": "vector(n)", "A": "matrix(n,n)", "x": "vector(n)"}
    )
    mats = symbol_matrices(problem, {"n": 2})
    direction = symbolic.direction_matrix(problem, {"n": 2})
    entries = [*mats["A"], *mats["A1"], *mats["x"], *direction]
    assert len(set(entries)) == len(entries) == 4 + 2 + 2 + 4
