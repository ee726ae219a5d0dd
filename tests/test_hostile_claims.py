"""Hostile and pathological claims (found by fuzzing): each ends in a verdict or an
ill-formed rule with a position and a message naming the limit, never an exception, a hang
or a message on stderr. The limits themselves are in gradcheck/limits.py."""

from __future__ import annotations

import gc
import importlib
from fractions import Fraction

import pytest

from gradcheck import limits
from gradcheck.api import check_report
from gradcheck.errors import RuleError
from gradcheck.lang.ast import Call, Num, Sym
from gradcheck.lang.parser import parse_claim, parse_expression
from gradcheck.lang.printer import latex, number_text, unicode
from gradcheck.model import Options, Status, Verdict

QUICK = Options(examples=10, symbolic_timeout=2.0)


def verdict_of(claim: str, options: Options = QUICK, **kwargs: object) -> Verdict:
    report = check_report(claim, options=options, **kwargs)  # type: ignore[arg-type]
    assert report.verdicts, report.errors
    return report.verdicts[0]


def refused(text: str) -> RuleError:
    with pytest.raises(RuleError) as info:
        parse_claim(text)
    return info.value


# ----- printing costs linear time, whatever the nesting -----


def test_twenty_transposes_are_checked() -> None:
    # The printer built all three styles of every ᵀ: 3^depth work (it hung).
    verdict = verdict_of("∇_x (A" + "ᵀ" * 20 + "x) = A")
    assert verdict.status is Status.FAILS  # Aᵀ…ᵀ (20) is A, so the gradient is Aᵀ


def test_chained_inverses_print_in_linear_time() -> None:
    node = parse_expression("X" + "⁻¹" * 90)
    assert unicode(node).count("⁻¹") == 90
    assert latex(node).count("-1") == 90


def test_a_product_of_many_factors_prints_quickly() -> None:
    # Each juxtaposition re-lexed both whole sides: quadratic in the length.
    node = parse_expression(" ".join(["A"] * 90) + " x")
    assert unicode(node).endswith("x")


# ----- the limits: each refused with a message that names it -----


def test_a_sum_of_300_terms_is_refused_with_the_depth_limit() -> None:
    err = refused("∇_x (" + " + ".join(["aᵀx"] * 300) + ") = 300a")
    assert f"more than {limits.MAX_EXPRESSION_DEPTH} levels" in err.message


def test_a_sum_within_the_limit_is_checked() -> None:
    verdict = verdict_of("∇_x (" + " + ".join(["aᵀx"] * 30) + ") = 30a")
    assert verdict.status is Status.HOLDS


def test_brackets_nested_5000_deep_are_refused() -> None:
    err = refused("∇_x " + "(" * 5000 + "aᵀx" + ")" * 5000 + " = a")
    assert "levels" in err.message or "characters" in err.message


def test_signs_nested_deeply_are_refused_not_a_recursion_error() -> None:
    err = refused("∇_x (" + "-" * 2000 + "aᵀx) = a")
    assert "levels" in err.message


@pytest.mark.parametrize("wrapper", ["\\mathbf", "\\hat"])
def test_decorations_nested_deeply_are_refused_not_a_recursion_error(wrapper: str) -> None:
    """Each \\mathbf{…} is lexed inside the one around it: 550 of them (within the length
    limit) exhausted Python's stack, an internal error without a column."""
    err = refused("∇_x " + (wrapper + "{") * 550 + "x" + "}" * 550 + "^T a = a")
    assert "levels" in err.message or "one letter" in err.message


def test_a_long_expression_is_refused_by_its_length() -> None:
    err = refused("∇_x (" + "x" * (limits.MAX_EXPRESSION_CHARS + 1) + ") = a")
    assert f"{limits.MAX_EXPRESSION_CHARS:,}" in err.message


@pytest.mark.parametrize("literal", ["1e99999", "1e999999999", "1e-400", "9" * 4900])
def test_a_huge_literal_is_refused_before_it_is_computed(literal: str) -> None:
    # Fraction("1e999999999") would build a billion-digit integer; 5000 digits hit str().
    err = refused(f"∇_x ({literal} aᵀx) = a")
    assert "exponent" in err.message or "digits" in err.message
    assert err.offset == len("∇_x (")


def test_an_exponent_at_the_limit_is_read() -> None:
    node = parse_expression(f"1e{limits.MAX_LITERAL_EXPONENT} x")
    assert isinstance(node, Call) and node.args[0] == Num(Fraction(10) ** 300)


@pytest.mark.parametrize(
    "claim", ["∇_A tr(matpow(A, 1000000000)) = I", "∇_x (aᵀx)^{1000} = a", "∇_x sum(x ** 99) = x"]
)
def test_a_huge_power_is_refused(claim: str) -> None:
    err = refused(claim)
    assert f"±{limits.MAX_POWER}" in err.message


def test_a_numeric_size_above_the_limit_is_refused() -> None:
    err = refused("∇_x (ones(1000000000)ᵀx) = ones(1000000000)")
    assert f"at most {limits.MAX_DIMENSION}" in err.message


def test_an_ill_formed_verdict_points_at_the_literal() -> None:
    verdict = verdict_of("∇_x (1e999999999 aᵀx) = a")
    assert verdict.status is Status.ILL_FORMED
    assert verdict.position is not None and verdict.position.column == len("∇_x (") + 1


# ----- failures inside the checks stay on their rule -----


def test_softmax_of_a_scalar_claim_is_diagnosed() -> None:
    # The canonical form transposed a 1×1 softmax forever (RecursionError in the diagnosis).
    verdict = verdict_of("∇_x (aᵀx) = softmax(aᵀx)")
    assert verdict.status is Status.FAILS
    assert verdict.diagnosis is not None and "internal error" not in verdict.diagnosis.detail


def test_extreme_scales_give_a_verdict() -> None:
    for claim in ("∇_X log(abs(det(1e-300))) = X⁻ᵀ", "∇_x (1e300 aᵀx)^{64} = a"):
        verdict = verdict_of(claim)
        assert verdict.status is Status.FAILS, (claim, verdict.message)


def test_an_internal_failure_is_that_rules_error(monkeypatch: pytest.MonkeyPatch) -> None:
    verify = importlib.import_module("gradcheck.verdicts")

    def broken(*args: object) -> None:
        raise OverflowError("injected")

    monkeypatch.setattr(verify, "fold", broken)
    verdict = verdict_of("∇_x (aᵀx) = a")
    assert verdict.status is Status.ERROR
    assert verdict.message == "internal error: OverflowError: injected"


def test_a_failing_diagnosis_leaves_the_verdict_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    diagnose = importlib.import_module("gradcheck.diagnose")

    def broken(*args: object) -> None:
        raise RecursionError("injected")

    monkeypatch.setattr(diagnose, "diagnose", broken)
    verdict = verdict_of("∇_x (aᵀx) = 2a")
    assert verdict.status is Status.FAILS
    assert verdict.diagnosis is not None
    assert "no diagnosis: internal error: RecursionError" in verdict.diagnosis.detail


# ----- numbers print compactly and read back exactly -----


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(10) ** 300, "1e300"),
        (Fraction(1, 10**300), "1e-300"),
        (Fraction(-(10**40)), "-1e40"),
        (Fraction(12345), "12345"),
        (Fraction(5, 2), "2.5"),
        (Fraction(1, 3), "1/3"),
    ],
)
def test_numbers_print_compactly_and_exactly(value: Fraction, text: str) -> None:
    assert number_text(value) == text
    if "/" not in text:
        assert parse_expression(text.lstrip("-")) == Num(abs(value))


def test_a_power_too_long_to_print_is_shortened() -> None:
    assert number_text(Fraction(3) ** 9000).endswith("e4279")


def test_a_fraction_in_front_of_a_factor_keeps_its_parentheses() -> None:
    # 1/3y reads as 1/(3y)
    assert unicode(Call("mul", (Num(Fraction(1, 3)), Sym("y")))) == "(1/3)y"


def test_a_matrix_power_of_a_power_keeps_its_parentheses() -> None:
    inner = Call("matpow", (Sym("A"), Num(Fraction(2))))
    assert unicode(Call("sup", (inner, Num(Fraction(3))))) == "(A²)³"


# ----- the symbolic time limit is silent -----


def test_the_time_limit_prints_nothing_on_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    # hypothesis times garbage collection with a gc callback; an alarm raised inside it was
    # printed as "Exception ignored in … gc callback" and dropped.
    from gradcheck.problem import compile_rule
    from gradcheck.symbolic import check

    rule_report = check_report("∇_x (aᵀx) = a", options=Options(examples=5))
    assert rule_report.verdicts[0].status is Status.HOLDS  # hypothesis is in use now
    from gradcheck.catalog import rule_from_claim

    rule, _ = rule_from_claim("∇_X det(X)² = 2det(X)²X⁻ᵀ", assume={"X": ["invertible"]})
    assert rule is not None
    problem = compile_rule(rule)
    threshold = gc.get_threshold()
    gc.set_threshold(1)
    try:
        for _ in range(20):
            check(problem, Options(symbolic_timeout=0.01))
    finally:
        gc.set_threshold(*threshold)
    captured = capfd.readouterr()
    assert "Exception ignored" not in captured.err
    assert "SymbolicTimeout" not in captured.err


@pytest.mark.parametrize("chain", [
    "∇_x (xᵀx) " + "= 2x " * 20_000,
    " = ".join(["\\nabla_x (x^T x)"] * 5_000),
])
def test_a_chain_of_thousands_of_members_is_refused_not_checked_member_by_member(
    chain: str,
) -> None:
    """Each member of a = b = c is a rule of its own: 20,000 of them took three minutes."""
    report = check_report(chain, options=QUICK)
    (verdict,) = report.verdicts  # one ill-formed verdict, at the member past the limit
    assert verdict.status is Status.ILL_FORMED
    assert f"the limit is {limits.MAX_CHAIN_MEMBERS}" in verdict.message


def test_a_chain_at_the_limit_is_checked() -> None:
    chain = "∇_x (xᵀx) " + "= 2x " * (limits.MAX_CHAIN_MEMBERS - 1)
    report = check_report(chain, options=QUICK)
    assert len(report.verdicts) == limits.MAX_CHAIN_MEMBERS - 1
    assert all(v.status is Status.HOLDS for v in report.verdicts)


def test_a_condition_is_looked_for_in_the_tail_only() -> None:
    """The trailing-condition pattern is quadratic in what it scans: 200,000 spaces took
    seconds before only a formula's last characters were searched."""
    import time

    from gradcheck.notes.declarations import prose_condition

    start = time.process_time()
    assert prose_condition("x" + " " * 200_000 + "y") is None
    assert prose_condition("x" * 100_000 + " \\quad (A \\text{ invertible})") is not None
    assert time.process_time() - start < 5  # about 1 ms; seconds would be the quadratic scan
