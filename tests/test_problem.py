"""compile_rule (spec §3): the kind of derivative, its expected shape per layout, shape notes,
implied domain assumptions, and ill-formed rules reported with the field they are in."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from fractions import Fraction

import pytest

from gradcheck.errors import RuleError
from gradcheck.lang.ast import Call, Const, Node, Num, Sym, symbols_in, walk
from gradcheck.lang.parser import parse_claim, parse_expression
from gradcheck.lang.printer import ascii_text
from gradcheck.model import Kind, Layout, Position, Rule, SymbolDecl
from gradcheck.problem import Problem, compile_rule
from gradcheck.readback import as_parsed

POS = Position("t.yaml", 1, 1)
DEN, NUM = Layout.DENOMINATOR, Layout.NUMERATOR


def decl(text: str) -> SymbolDecl:
    """`A: matrix(m, n)`, `x: vector(3)`, `s: scalar`."""
    name, spec = (part.strip() for part in text.split(":"))
    if spec == "scalar":
        return SymbolDecl(name, "scalar", ())
    kind, dims = spec.rstrip(")").split("(")
    return SymbolDecl(name, kind, tuple(int(d) if d.strip().isdigit() else d.strip()
                                        for d in dims.split(",")))


def make(claim: str, *symbols: str, assume: dict[str, tuple[str, ...]] | None = None,
         layout: Layout = DEN) -> Rule:
    return Rule(id="r", position=POS, claim=claim, symbols=tuple(decl(s) for s in symbols),
                assume=tuple((assume or {}).items()), layout=layout)


def problem(claim: str, *symbols: str, assume: dict[str, tuple[str, ...]] | None = None,
            layout: Layout = DEN) -> Problem:
    return compile_rule(make(claim, *symbols, assume=assume, layout=layout))


def structured(f: str, wrt: str, kind: Kind, rhs: str, *symbols: str,
               layout: Layout = DEN) -> Rule:
    return Rule(id="s", position=POS, f=f, wrt=wrt, kind=kind, rhs=rhs,
                symbols=tuple(decl(s) for s in symbols), layout=layout)


def ill_formed(rule: Rule) -> RuleError:
    with pytest.raises(RuleError) as info:
        compile_rule(rule)
    return info.value


def ops(node: Node) -> list[str]:
    return [n.op for n in walk(node) if isinstance(n, Call)]


# ----- kind and expected shape -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("claim", "symbols", "layout", "kind", "wrt", "expected"),
    [
        # gradient: the shape of wrt (denominator), transposed (numerator)
        ("∇_x (xᵀx) = 2x", (), DEN, Kind.GRADIENT, "x", ("n", 1)),
        ("∇_x (xᵀx) = 2xᵀ", (), NUM, Kind.GRADIENT, "x", (1, "n")),
        ("∇_x (aᵀx) = a", ("x: vector(3)",), DEN, Kind.GRADIENT, "x", (3, 1)),
        ("∇_X tr(AX) = Aᵀ", ("A: matrix(m, n)",), DEN, Kind.GRADIENT, "X", ("n", "m")),
        ("∇_X tr(AX) = A", ("A: matrix(m, n)",), NUM, Kind.GRADIENT, "X", ("m", "n")),
        ("∇_X logdet(X) = X⁻ᵀ", (), DEN, Kind.GRADIENT, "X", ("n", "n")),
        ("∂(xᵀAx)/∂x = (A + Aᵀ)x", (), DEN, Kind.GRADIENT, "x", ("n", 1)),
        ("\\frac{\\partial\\, x^\\top x}{\\partial x} = 2x", (), DEN, Kind.GRADIENT, "x",
         ("n", 1)),
        # jacobian of a column vector f (m) by x (n): n×m denominator, m×n numerator
        ("∇_x (A x) = Aᵀ", ("A: matrix(m, n)",), DEN, Kind.JACOBIAN, "x", ("n", "m")),
        ("∂(A x)/∂x = A", ("A: matrix(m, n)",), NUM, Kind.JACOBIAN, "x", ("m", "n")),
        ("∇_x softmax(x) = diag(softmax(x)) − softmax(x) softmax(x)ᵀ", (), DEN, Kind.JACOBIAN,
         "x", ("n", "n")),
        # ... and of a row vector f
        ("∇_x (xᵀ A) = A", ("A: matrix(n, m)",), DEN, Kind.JACOBIAN, "x", ("n", "m")),
        ("∇_x (xᵀ A) = Aᵀ", ("A: matrix(n, m)",), NUM, Kind.JACOBIAN, "x", ("m", "n")),
        # hessian: n×n in either layout
        ("∇²_x (xᵀAx) = A + Aᵀ", (), DEN, Kind.HESSIAN, "x", ("n", "n")),
        ("\\nabla^2_x (x^\\top x) = 2I", (), NUM, Kind.HESSIAN, "x", ("n", "n")),
        ("\\frac{\\partial^2 x^T x}{\\partial x \\partial x^T} = 2I", (), DEN, Kind.HESSIAN, "x",
         ("n", "n")),
        # differential: the shape of f
        ("d(X⁻¹) = −X⁻¹ dX X⁻¹", (), DEN, Kind.DIFFERENTIAL, "X", ("n", "n")),
        ("d(A X) = A dX", ("A: matrix(k, n)", "X: matrix(n, m)"), DEN, Kind.DIFFERENTIAL, "X",
         ("k", "m")),
        ("d(xᵀx) = 2xᵀdx", (), DEN, Kind.DIFFERENTIAL, "x", (1, 1)),
        ("∂(tr X) = tr(∂X)", (), DEN, Kind.DIFFERENTIAL, "X", (1, 1)),
        # ∇ without a subscript: the one vector or matrix of f
        ("∇ (xᵀx) = 2x", (), DEN, Kind.GRADIENT, "x", ("n", 1)),
        ("∇ (λ xᵀx) = 2λx", (), DEN, Kind.GRADIENT, "x", ("n", 1)),
        ("∇ (s aᵀa) = 2s a", ("s: scalar",), DEN, Kind.GRADIENT, "a", ("n", 1)),
    ],
)
def test_kind_and_expected_shape(claim: str, symbols: tuple[str, ...], layout: Layout,
                                 kind: Kind, wrt: str, expected: tuple[str | int, ...]) -> None:
    p = problem(claim, *symbols, layout=layout)
    assert (p.kind, p.wrt, p.expected) == (kind, wrt, expected)
    assert p.layout is layout
    assert p.shape_note == ""
    assert p.claim_shape == p.expected


def test_shapes_and_dims_of_a_rule() -> None:
    p = problem("∇_x (A x + b) = Aᵀ", "A: matrix(m, n)")
    assert p.shapes == {"A": ("m", "n"), "x": ("n", 1), "b": ("m", 1)}
    assert set(p.dims) == {"m", "n"}
    assert p.symbol_size("A", {"m": 2, "n": 3}) == (2, 3)
    assert p.expected_size({"m": 2, "n": 3}) == (3, 2)
    assert p.size_of(4, {}) == 4
    p = problem("∇_x (A x) = Aᵀ", "A: matrix(3, 2)")
    assert p.dims == () and p.expected == (2, 3)
    p = problem("∇_x (W1 x) = W1ᵀ", "W1: matrix(h, n)")
    assert p.shapes["W1"] == ("h", "n") and p.expected == ("n", "h")


def test_inferred_dimensions_get_fresh_names_distinct_from_declared_ones() -> None:
    p = problem("∇_X tr(A X) = Aᵀ", "A: matrix(n, m)")
    assert p.shapes["A"] == ("n", "m")
    assert p.shapes["X"] == ("m", "n")
    p = problem("∇_X ‖A X‖_F² = 2AᵀAX")
    rows, cols = p.shapes["A"]
    assert len({rows, cols, p.shapes["X"][1]}) == 3  # three independent sizes


def test_declared_dimension_names_are_never_equated() -> None:
    err = ill_formed(make("∇_x (aᵀx) = a", "a: vector(m)", "x: vector(n)"))
    assert "aᵀ has m columns but x has n rows" in err.message
    assert err.field == "claim"
    assert err.offset == "∇_x (aᵀx".index("x", 4)  # the product aᵀx, at its right factor


# ----- shape notes -------------------------------------------------------------------------------
def test_claim_defined_only_when_declared_dims_agree() -> None:
    p = problem("∇_x(Ax) = (A + Aᵀ)x", "A: matrix(m, n)")
    assert "defined only when" in p.shape_note
    assert "m = n" in p.shape_note or "n = m" in p.shape_note


def test_claim_defined_only_when_inferred_dims_agree() -> None:
    p = problem("∇_x(Ax) = (A + Aᵀ)x")
    assert "defined only when" in p.shape_note


def test_no_note_when_the_claim_has_the_derivative_s_shape() -> None:
    assert problem("∇_X tr(AX) = Aᵀ").shape_note == ""
    assert problem("∇_X tr(AX) = Aᵀ", "A: matrix(m, n)").shape_note == ""
    assert problem("∇_x (xᵀAx) = (A + Aᵀ)x").shape_note == ""


@pytest.mark.parametrize(
    ("claim", "symbols", "layout", "fragments"),
    [
        ("∇_x (A x) = A", ("A: matrix(m, n)",), DEN,
         ["the claim is matrix(m, n) where the derivative is matrix(n, m)"]),
        ("∇_x (A x) = Aᵀ", ("A: matrix(m, n)",), NUM,
         ["the claim is matrix(n, m) where the derivative is matrix(m, n)"]),
        ("∇_x (aᵀx) = aᵀ", (), DEN, ["the claim is row vector(n) where the derivative is "
                                      "vector(n)"]),
        ("∇_x (xᵀx) = 2x", (), NUM, ["the claim is vector(n) where the derivative is "
                                      "row vector(n)"]),
        ("∇_x (aᵀx) = b", ("b: vector(m)",), DEN, ["vector(m)", "vector(n)"]),
        ("∇_x (aᵀx) = b", ("b: vector(3)",), DEN, ["vector(3)", "vector(n)"]),
        ("∇_x(Ax) = (A + Aᵀ)x", ("A: matrix(m, n)",), DEN, ["defined only when", "even then",
                                                          "the claim is vector("]),
    ],
)
def test_wrong_shape_notes_show_both_shapes(claim: str, symbols: tuple[str, ...], layout: Layout,
                                            fragments: list[str]) -> None:
    note = problem(claim, *symbols, layout=layout).shape_note
    for fragment in fragments:
        assert fragment in note


# ----- `= 0` -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("claim", "symbols", "expected"),
    [
        ("∇_x (A x) = 0", ("A: matrix(m, n)",), ("n", "m")),
        ("∇_x (xᵀy) = 0", (), ("n", 1)),
        ("∇²_x (aᵀx) = 0", (), ("n", "n")),
        ("∇_X tr(X) = 0", (), ("n", "n")),
        ("∇_y sg(y) = 0", (), ("n", "n")),
    ],
)
def test_zero_claim_is_zeros_of_the_derivative_s_shape(claim: str, symbols: tuple[str, ...],
                                                       expected: tuple[str | int, ...]) -> None:
    p = problem(claim, *symbols)
    assert p.claim == Const("zeros", expected)
    assert p.expected == expected and p.claim_shape == expected
    assert p.shape_note == ""


def test_zero_differential_is_zeros_of_f_s_shape() -> None:
    p = compile_rule(structured("x.T @ x", "x", Kind.DIFFERENTIAL, "0"))
    assert p.claim == Const("zeros", (1, 1))


# ----- resolved expressions ----------------------------------------------------------------------
def test_superscripts_resolve_to_power_or_matrix_power() -> None:
    squared = problem("∇_x (xᵀx)² = 4(xᵀx)x")
    assert "pow" in ops(squared.f) and "sup" not in ops(squared.f)
    assert squared.f == problem("∇_x (xᵀx) ** 2 = 4(xᵀx)x").f
    assert squared.f == problem("∇_x (xᵀx)^2 = 4(xᵀx)x").f
    matrix = problem("∇_X tr(X²) = 2Xᵀ")
    assert "matpow" in ops(matrix.f) and "sup" not in ops(matrix.f)
    assert matrix.f == problem("∇_X tr(matpow(X, 2)) = 2Xᵀ").f == problem(
        "∇_X tr(X^2) = 2X^T").f
    assert "pow" in ops(problem("∇_x ‖x‖² = 2x").f)


def test_constants_get_their_sizes() -> None:
    p = problem("∇²_x (xᵀx) = 2I")
    assert Const("I", ("n", "n")) in list(walk(p.claim))
    p = problem("∇_x sum(x) = \\mathbf{1}")
    assert p.claim == Const("ones", ("n", 1))


def test_equivalent_spellings_compile_to_the_same_problem() -> None:
    spellings = ["∇_x (xᵀAx) = (A + Aᵀ)x", "\\nabla_x (x^\\top A x) = (A + A^\\top) x",
                 "∇_{x} (x.T @ A @ x) = (A + A.T) @ x", "∂(x'Ax)/∂x = (A + A')x",
                 "\\frac{\\partial\\, \\mathbf{x}^T\\mathbf{A}\\mathbf{x}}{\\partial \\mathbf{x}}"
                 " = \\left(\\mathbf{A} + \\mathbf{A}^T\\right)\\mathbf{x}"]
    problems = [problem(text) for text in spellings]
    first = problems[0]
    for p in problems[1:]:
        assert (p.kind, p.wrt, p.f, p.claim, p.shapes, p.expected) == (
            first.kind, first.wrt, first.f, first.claim, first.shapes, first.expected)
    structured_form = compile_rule(structured("x.T @ A @ x", "x", Kind.GRADIENT,
                                              "(A + A.T) @ x"))
    assert (structured_form.f, structured_form.claim, structured_form.expected) == (
        first.f, first.claim, first.expected)


def test_display() -> None:
    assert problem("∇_x (A x) = Aᵀ").display == "∇_x (Ax) = Aᵀ"
    assert problem("∂(A x)/∂x = A", layout=NUM).display == "∂(Ax)/∂x = A   [numerator layout]"
    assert problem("∇²_x (xᵀAx) = A + Aᵀ").display == "∇²_x (xᵀAx) = A + Aᵀ"
    assert problem("d(X⁻¹) = −X⁻¹ dX X⁻¹").display.startswith("d(X⁻¹) = −")
    assert problem("∇_X tr(AX) = Aᵀ").display == "∇_X tr(AX) = Aᵀ"


# ----- domain assumptions ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("claim", "name", "assumption"),
    [
        ("∇_x sum(log x) = 1 / x", "x", "positive"),
        ("∇_x sum(log(x)) = 1 / x", "x", "positive"),
        ("∇_x sum(√x) = 1 / (2√x)", "x", "positive"),
        ("∇_x sum(sqrt(x)) = 1 / (2 sqrt(x))", "x", "positive"),
        ("∇_X logdet(X) = X⁻ᵀ", "X", "posdet"),
        ("∇_X log det X = X⁻ᵀ", "X", "posdet"),
        ("∇_X \\log\\det X = X^{-T}", "X", "posdet"),
        ("∇_X log(det(X)) = inv(X).T", "X", "posdet"),
        ("∇_X tr(inv(X)) = −X⁻ᵀX⁻ᵀ", "X", "invertible"),
        ("∇_X tr(X⁻¹) = −X⁻ᵀX⁻ᵀ", "X", "invertible"),
        ("∇_X logdet(X) = X⁻ᵀ", "X", "invertible"),  # from the claim's X⁻ᵀ
        ("d(X⁻¹) = −X⁻¹ dX X⁻¹", "X", "invertible"),
        ("∇_x ‖x‖ = x / ‖x‖", "x", "nonzero"),
        ("∇_x sum(abs(x)) = x / abs(x)", "x", "nonzero"),
    ],
)
def test_domain_assumptions_are_implied(claim: str, name: str, assumption: str) -> None:
    p = problem(claim)
    assert p.has(name, assumption)
    assert assumption in p.assumptions[name]


def test_no_domain_assumption_where_none_is_needed() -> None:
    assert problem("∇_x (xᵀx) = 2x").assumptions == {}
    assert problem("∇_X tr(AX) = Aᵀ").assumptions == {}
    assert not problem("∇_x sum(exp x) = exp(x)").has("x", "positive")


def test_declared_assumptions_are_kept_and_merged() -> None:
    p = problem("∇_x (xᵀAx) = 2Ax", "A: matrix(n, n)", assume={"A": ("symmetric",)})
    assert p.assumptions["A"] == {"symmetric"}
    p = problem("∇_X logdet(X) = X⁻¹", assume={"X": ("spd",)})
    assert p.assumptions["X"] >= {"spd", "posdet", "invertible"}
    p = problem("∇_x (p ⊙ x) = diag(p)", assume={"p": ("probability",)})
    assert p.has("p", "probability")


def test_a_square_assumption_makes_an_undeclared_matrix_square() -> None:
    p = problem("∇_x (A x) = Aᵀ", assume={"A": ("symmetric",)})
    rows, cols = p.shapes["A"]
    assert rows == cols


@pytest.mark.parametrize("assumption", ["symmetric", "spd", "invertible", "orthogonal",
                                        "diagonal"])
def test_square_assumption_on_a_non_square_matrix_is_ill_formed(assumption: str) -> None:
    err = ill_formed(make("∇_x (A x) = Aᵀ", "A: matrix(m, n)", assume={"A": (assumption,)}))
    assert err.field == "assume.A"
    assert assumption in err.message and "square" in err.message
    assert "matrix(m, n)" in err.message


def test_non_square_assumptions_on_a_non_square_matrix_are_fine() -> None:
    p = problem("∇_x (A x) = Aᵀ", "A: matrix(m, n)", assume={"A": ("positive",)})
    assert p.has("A", "positive")


def test_probability_needs_a_vector() -> None:
    err = ill_formed(make("∇_x (P x) = Pᵀ", "P: matrix(m, n)", assume={"P": ("probability",)}))
    assert err.field == "assume.P"
    assert "probability needs a vector" in err.message


def test_assumption_on_an_unused_symbol_is_ill_formed() -> None:
    err = ill_formed(make("∇_x (xᵀAx) = 2Ax", assume={"B": ("spd",)}))
    assert err.field == "assume.B"
    assert "'B'" in err.message and "x" in err.hint and "A" in err.hint


# ----- ill-formed rules --------------------------------------------------------------------------
def test_hessian_of_a_vector_valued_f_is_ill_formed() -> None:
    err = ill_formed(make("∇²_x (A x) = A"))
    assert "Hessian" in err.message and "vector(" in err.message
    assert "differential" in err.message + err.hint
    assert err.field == "claim"


def test_hessian_by_a_matrix_is_ill_formed() -> None:
    err = ill_formed(structured("sum(X)", "X", Kind.HESSIAN, "0"))
    assert "differential" in err.message + err.hint
    assert err.field == "f"


@pytest.mark.parametrize(
    ("claim", "fragments"),
    [
        ("∇_X (A X) = A", ["AX is matrix(", "X is matrix(", "only stated as a differential"]),
        ("∇_X (Xᵀ) = 0", ["only stated as a differential"]),
        ("∇_X (X x) = A", ["by a matrix", "only stated as a differential"]),
        ("∇_x (x xᵀ) = 2x", ["matrix-valued", "differential"]),
    ],
)
def test_derivative_of_a_matrix_valued_f_is_only_a_differential(claim: str,
                                                                fragments: list[str]) -> None:
    err = ill_formed(make(claim))
    for fragment in fragments:
        assert fragment in err.message
    assert "d(f)" in err.hint
    assert err.field == "claim"


def test_nabla_without_subscript_picks_by_the_documented_rule() -> None:
    # several vectors or matrices: the first of w W θ Θ β x X z Z (README, "Notation as it
    # is printed"), and the problem says which it took
    p = problem("∇ (xᵀy) = y")
    assert p.wrt == "x" and "read as ∇_x" in p.note and "y is held constant" in p.note
    assert problem("∇ (xᵀAx) = (A + Aᵀ)x").wrt == "x"
    assert problem("∇ (wᵀx) = x").wrt == "w"
    assert problem("∇ log det X = X⁻ᵀ").note == ""  # the only one: no choice to report
    err = ill_formed(make("∇ (aᵀb) = b"))
    assert "a, b" in err.message and "none is named" in err.message
    assert "∇_a" in err.hint and "--wrt" in err.hint
    assert err.field == "claim"
    err = ill_formed(make("∇ (λ μ) = μ"))
    assert "none" in err.message


def test_differential_needs_one_direction() -> None:
    err = ill_formed(make("d(X Y) = dX Y + X dY"))
    assert "one direction" in err.message
    assert err.field == "claim"


def test_the_spec_s_sum_conflict_example() -> None:
    err = ill_formed(make("∇_x (xᵀAx) = A + x"))
    assert "A + x: matrix(n, n) + vector(n)" in err.message
    assert err.field == "claim"
    assert err.offset == "∇_x (xᵀAx) = A + x".index("+")


@pytest.mark.parametrize(
    ("claim", "symbols", "offset", "fragment"),
    [
        ("∇_x (A x $) = A", (), 9, "unexpected character"),
        ("∇_x (W1 x) = W1ᵀ", (), 5, "'W1' is not declared"),
        ("∇_x (A x) = Aᵀ", ("A: matrix(m, n)", "x: vector(m)"), 7, "A has n columns"),
        ("∇_x tr(A) = I", ("A: matrix(m, n)",), 7, "must be square"),
        ("A x = Aᵀ", (), 0, "a claim starts with"),
        ("∇_x (A x)", (), 9, "expected '='"),
    ],
)
def test_claim_errors_carry_field_claim_and_an_offset(claim: str, symbols: tuple[str, ...],
                                                      offset: int, fragment: str) -> None:
    err = ill_formed(make(claim, *symbols))
    assert err.field == "claim"
    assert err.offset == offset
    assert fragment in err.message


@pytest.mark.parametrize(
    ("rule", "field", "offset", "fragment"),
    [
        (structured("A @ x +", "x", Kind.GRADIENT, "A.T"), "f", 7, "ends too early"),
        (structured("A @ x", "x", Kind.GRADIENT, "A.T $"), "gradient", 4, "unexpected character"),
        (structured("A @ x", "x", Kind.JACOBIAN, "(A.T"), "jacobian", 4, "expected ')'"),
        (structured("x.T @ x", "x", Kind.HESSIAN, "2 I +"), "hessian", 5, "ends too early"),
        (structured("inv(X)", "X", Kind.DIFFERENTIAL, "-inv(X) dX ^ x"), "differential", 13,
         "unsupported superscript"),
        (structured("A @ x", "x", Kind.GRADIENT, "A.T", "A: matrix(m, n)", "x: vector(m)"),
         "f", 2, "A has n columns but x has m rows"),
        (structured("x.T @ A @ x", "x", Kind.GRADIENT, "A + x"), "gradient", 2,
         "A + x: matrix(n, n) + vector(n)"),
        (structured("tr(A)", "A", Kind.GRADIENT, "I", "A: matrix(m, n)"), "f", 3,
         "must be square"),
    ],
)
def test_structured_errors_name_their_field(rule: Rule, field: str, offset: int,
                                            fragment: str) -> None:
    err = ill_formed(rule)
    assert err.field == field
    assert err.offset == offset
    assert fragment in err.message


def test_position_of_an_error_in_the_file() -> None:
    rule = Rule(id="r", position=POS, claim="∇_x (A x $) = A",
                positions=(("claim", Position("t.yaml", 4, 12)),), quoted=frozenset({"claim"}))
    err = ill_formed(rule)
    assert rule.text_position(err.field, err.offset) == Position("t.yaml", 4, 22)


# ----- structured form ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rule", "kind", "expected"),
    [
        (structured("x.T @ A @ x", "x", Kind.GRADIENT, "(A + A.T) @ x"), Kind.GRADIENT, ("n", 1)),
        (structured("x.T @ A @ x", "x", Kind.HESSIAN, "A + A.T"), Kind.HESSIAN, ("n", "n")),
        (structured("A @ x", "x", Kind.JACOBIAN, "A.T", "A: matrix(m, n)"), Kind.JACOBIAN,
         ("n", "m")),
        (structured("A @ x", "x", Kind.JACOBIAN, "A", "A: matrix(m, n)", layout=NUM),
         Kind.JACOBIAN, ("m", "n")),
        # `gradient:` of a vector-valued f is its Jacobian
        (structured("A @ x", "x", Kind.GRADIENT, "A.T", "A: matrix(m, n)"), Kind.JACOBIAN,
         ("n", "m")),
        (structured("inv(X)", "X", Kind.DIFFERENTIAL, "-inv(X) @ dX @ inv(X)"),
         Kind.DIFFERENTIAL, ("n", "n")),
        (structured("inv(X)", "X", Kind.DIFFERENTIAL, "-X⁻¹ ∂X X⁻¹"), Kind.DIFFERENTIAL,
         ("n", "n")),
        (structured("A @ X", "X", Kind.DIFFERENTIAL, "A @ dX"), Kind.DIFFERENTIAL, ("k", "m")),
        (structured("x.T @ A @ x", "A", Kind.GRADIENT, "x @ x.T"), Kind.GRADIENT, ("n", "n")),
    ],
)
def test_structured_form(rule: Rule, kind: Kind, expected: tuple[str | int, ...]) -> None:
    p = compile_rule(rule)
    assert p.kind is kind
    assert p.wrt == rule.wrt
    assert p.expected == expected
    assert p.shape_note == ""


def test_structured_differential_directions_are_only_of_wrt() -> None:
    p = compile_rule(structured("A @ X", "X", Kind.DIFFERENTIAL, "A @ dX"))
    assert any(type(n).__name__ == "Dir" for n in walk(p.claim))


# ----- undeclared letters keep their kind, as a rule sees it -----
@pytest.mark.parametrize("claim", ["∇_x det(x) = 1", "∇_x (x y) = y", "∇_x (A + x) = I"])
def test_undeclared_letters_keep_their_kind_in_rules(claim: str) -> None:
    with pytest.raises(RuleError):
        problem(claim)


# ----- a declared direction is the direction (issue 9) -----
@pytest.mark.parametrize(
    "rule",
    [
        structured("inv(X)", "X", Kind.DIFFERENTIAL, "-inv(X) @ dX @ inv(X)",
                   "X: matrix(n, n)", "dX: matrix(n, n)"),
        structured("inv(X)", "X", Kind.DIFFERENTIAL, "-inv(X) ∂X inv(X)",
                   "X: matrix(n, n)", "∂X: matrix(n, n)"),
        structured("inv(X)", "X", Kind.DIFFERENTIAL, "-inv(X) @ dX @ inv(X)",
                   "dX: matrix(n, n)"),
        structured("xᵀx", "x", Kind.DIFFERENTIAL, "2 dxᵀx", "dx: vector(n)"),
        structured("W1 @ W1", "W1", Kind.DIFFERENTIAL, "dW1 @ W1 + W1 @ dW1",
                   "W1: matrix(n, n)", "dW1: matrix(n, n)"),
        make("d(XᵀX) = dXᵀX + Xᵀ dX", "X: matrix(m, n)", "dX: matrix(m, n)"),
    ],
)
def test_a_declared_direction_reads_as_the_direction(rule: Rule) -> None:
    p = compile_rule(rule)
    undeclared = compile_rule(
        dataclasses.replace(rule, symbols=tuple(s for s in rule.symbols if s.name[:1] not in "d∂"))
    )
    assert p.kind is Kind.DIFFERENTIAL
    assert any(type(n).__name__ == "Dir" for n in walk(p.claim))
    assert p.claim == undeclared.claim
    assert p.shapes == undeclared.shapes
    assert p.wrt not in ("dX", "dx") and all(not s.startswith(("d", "∂")) for s in p.shapes)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (structured("inv(X)", "X", Kind.DIFFERENTIAL, "-inv(X) @ dX @ inv(X)",
                    "X: matrix(n, n)", "dX: matrix(n, m)"),
         "dX is declared matrix(n, m) but the direction of X is matrix(n, n)"),
        (structured("xᵀx", "x", Kind.DIFFERENTIAL, "2 dxᵀx", "x: vector(n)", "dx: scalar"),
         "dx is declared scalar but the direction of x is vector(n)"),
        (make("d(XᵀX) = dXᵀX + Xᵀ dX", "X: matrix(m, n)", "dX: matrix(n, m)"),
         "dX is declared matrix(n, m) but the direction of X is matrix(m, n)"),
    ],
)
def test_a_declared_direction_of_another_shape_is_ill_formed(rule: Rule, message: str) -> None:
    err = ill_formed(rule)
    assert err.message == message
    assert err.field == f"symbols.{message.split()[0]}"


def test_a_declared_dx_outside_a_differential_is_an_ordinary_symbol() -> None:
    p = compile_rule(structured("tr(dX @ X)", "X", Kind.GRADIENT, "dX.T",
                                "X: matrix(n, n)", "dX: matrix(n, n)"))
    assert p.kind is Kind.GRADIENT
    assert set(p.shapes) == {"X", "dX"}
    assert not any(type(n).__name__ == "Dir" for n in walk(p.claim))


def test_a_declared_direction_cannot_be_a_symbol_of_f() -> None:
    err = ill_formed(structured("tr(dX @ X)", "X", Kind.DIFFERENTIAL, "tr(dX @ dX)",
                                "X: matrix(n, n)", "dX: matrix(n, n)"))
    assert err.message == "dX is the direction of X in this differential, so f cannot contain it"
    assert (err.field, err.offset) == ("f", 3)
    err = ill_formed(make("d(dX X) = dX dX", "X: matrix(n, n)", "dX: matrix(n, n)"))
    assert err.message == "dX is the direction of X in this differential, so f cannot contain it"
    assert (err.field, err.offset) == ("claim", 2)


# ----- retargeting a compiled problem: what compile_rule gives, without parsing f again ---------
def _claim_node(rule: Rule) -> Node:
    """The claim of `rule` as the parser reads it (declared directions read as directions)."""
    declared = {d.name for d in rule.symbols}
    if rule.claim is None:
        assert rule.rhs is not None and rule.wrt is not None
        directions = {rule.wrt} if rule.kind is Kind.DIFFERENTIAL else set()
        spelled = {f"d{rule.wrt}", f"∂{rule.wrt}"} if directions else set()
        return parse_expression(rule.rhs, declared - spelled, directions)
    parsed = parse_claim(rule.claim, declared)
    if parsed.kind is Kind.DIFFERENTIAL:
        spelled = {p + s for s in symbols_in(parsed.f) for p in ("d", "∂")}
        parsed = parse_claim(rule.claim, declared - spelled)
    return parsed.rhs


def _same_problem(got: Problem, want: Problem) -> None:
    fields = [f.name for f in dataclasses.fields(Problem) if f.compare]
    assert {f: getattr(got, f) for f in fields} == {f: getattr(want, f) for f in fields}
    assert got.display == want.display  # Unicode text: equal ASTs could still print apart


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # gradients: a wrong claim and the right one, both ways
        (make("∇_x (xᵀAx) = 2Ax"), make("∇_x (xᵀAx) = (A + Aᵀ)x")),
        (make("∇_x (xᵀAx) = (A + Aᵀ)x"), make("∇_x (xᵀAx) = 2Ax")),
        (make("∇_X tr(AX) = A", "A: matrix(m, n)"), make("∇_X tr(AX) = Aᵀ", "A: matrix(m, n)")),
        # Jacobians in either layout, and a Hessian
        (make("∂(Ax)/∂x = Aᵀ", layout=NUM), make("∂(Ax)/∂x = A", layout=NUM)),
        (make("∇_x (Ax) = A"), make("∇_x (Ax) = Aᵀ")),
        (make("∇²_x (xᵀAx) = 2A"), make("∇²_x (xᵀAx) = A + Aᵀ")),
        # differentials, also with a declared direction
        (make("d(XᵀX) = dXᵀX"), make("d(XᵀX) = dXᵀX + XᵀdX")),
        (
            make("d(X⁻¹) = −X⁻¹X⁻¹dX", "X: matrix(n, n)", "dX: matrix(n, n)"),
            make("d(X⁻¹) = −X⁻¹ dX X⁻¹", "X: matrix(n, n)", "dX: matrix(n, n)"),
        ),
        # a claim "defined only when m = n", and back to one of the derivative's shape
        (make("∇_x(Ax) = Aᵀ", "A: matrix(m, n)"), make("∇_x(Ax) = (A + Aᵀ)x", "A: matrix(m, n)")),
        (make("∇_x(Ax) = (A + Aᵀ)x"), make("∇_x(Ax) = Aᵀ")),
        (make("∇_x (xᵀAx) = 2Ax"), make("∇_x (xᵀAx) = ones(3)", "x: vector(n)")),
        # assumptions, declared and implied by the claim's functions
        (
            make("∇_x (xᵀAx) = (A + Aᵀ)x", assume={"A": ("symmetric",)}),
            make("∇_x (xᵀAx) = 2Ax", assume={"A": ("symmetric",)}),
        ),
        (make("∇_X log det X = X⁻¹"), make("∇_X log det X = X⁻ᵀ")),
        (make("∇_x sum(x) = ones"), make("∇_x sum(x) = x ⊙ log(x) / x")),
        # `= 0` is the zero of the derivative's shape; the structured form
        (make("∇_x (aᵀx) = a"), make("∇_x (aᵀx) = 0")),
        (
            structured("x.T @ A @ x", "x", Kind.GRADIENT, "2 * A @ x"),
            structured("x.T @ A @ x", "x", Kind.GRADIENT, "(A + A.T) @ x"),
        ),
        (
            structured("X @ X", "X", Kind.DIFFERENTIAL, "2 * X @ dX"),
            structured("X @ X", "X", Kind.DIFFERENTIAL, "dX @ X + X @ dX"),
        ),
    ],
)
def test_retarget_is_compile_rule_of_the_rule_so_written(before: Rule, after: Rule) -> None:
    retargeted = compile_rule(before).retarget(claim=_claim_node(after))
    _same_problem(retargeted, compile_rule(after))


@pytest.mark.parametrize(
    "rule",
    [
        make("∂(Ax)/∂x = A"),
        make("∇_x (Wᵀx) = W", "W: matrix(m, n)"),
        make("∇_x (xᵀAx) = 2Ax"),
        structured("A @ x", "x", Kind.JACOBIAN, "A"),
    ],
)
def test_with_layout_is_compile_rule_in_that_layout(rule: Rule) -> None:
    for layout in (NUM, DEN):
        again = dataclasses.replace(rule, layout=layout)
        _same_problem(compile_rule(rule).with_layout(layout), compile_rule(again))


@pytest.mark.parametrize(
    ("rule", "assume"),
    [
        (make("∇_x (xᵀAx) = 2Ax"), {"A": ("symmetric",)}),
        (make("∇_X tr(X) = I"), {"X": ("orthogonal", "spd")}),
        (make("∇_x sum(log(x)) = 1 / x"), {"x": ("positive",)}),
        (make("∇_X tr(AX) = Aᵀ", "A: matrix(m, n)"), {"A": ("diagonal",)}),  # ill-formed
    ],
)
def test_with_assumptions_is_compile_rule_with_them(
    rule: Rule, assume: dict[str, tuple[str, ...]]
) -> None:
    declared = dataclasses.replace(rule, assume=tuple(assume.items()))
    try:
        want = compile_rule(declared)
    except RuleError as err:
        with pytest.raises(RuleError, match=re.escape(err.message)):
            compile_rule(rule).with_assumptions(declared.assume)
        return
    _same_problem(compile_rule(rule).with_assumptions(declared.assume), want)


def test_retarget_raises_as_compile_rule_would() -> None:
    p = compile_rule(make("∇_x (aᵀx) = a"))
    with pytest.raises(RuleError) as info:
        p.retarget(claim=_claim_node(make("∇_x (aᵀx) = a + Aᵀ", "A: matrix(m, n)")))
    assert "vector" in info.value.message or "+" in info.value.message


def test_retargeting_keeps_the_original_problem() -> None:
    p = compile_rule(make("∇_x (xᵀAx) = 2Ax"))
    q = p.retarget(claim=_claim_node(make("∇_x (xᵀAx) = (A + Aᵀ)x")))
    assert p.claim != q.claim and p.f == q.f
    assert p.retarget(claim=p.parsed.claim) == p


# ----- readback.as_parsed: a built tree as its ASCII text reads back ----------------------------
def _read_back(node: Node, declared: set[str], directions: set[str]) -> Node | str:
    try:
        return parse_expression(ascii_text(node), declared, directions)
    except RuleError as err:
        return f"refused: {err.message}"


def _as_parsed(node: Node) -> Node | str:
    try:
        return as_parsed(node)
    except RuleError as err:
        return f"refused: {err.message}"


X, Y = Sym("X"), Sym("x")


@pytest.mark.parametrize(
    "node",
    [
        Call("scale", (Num(Fraction(1, 2)), X)),
        Call("scale", (Num(Fraction(-2)), Call("matmul", (X, Y)))),
        Call("matmul", (Num(Fraction(2)), X)),
        Call("matmul", (Num(Fraction(-2)), X)),
        Call("matmul", (Num(Fraction(1, 3)), X)),
        Call("add", (X, Num(Fraction(-1, 3)))),
        Call("pow", (Y, Num(Fraction(-2)))),
        Call("pow", (Y, Num(Fraction(1, 3)))),
        Call("pow", (Y, Num(Fraction(-1, 3)))),
        Call("sup", (X, Num(Fraction(3)))),
        Call("sup", (X, Num(Fraction(-1)))),
        Call("sup", (X, Num(Fraction(-2)))),
        Call("matpow", (X, Num(Fraction(-2)))),
        Call("T", (Num(Fraction(-2)),)),
        Call("T", (Call("inv", (X,)),)),
        Call("neg", (Num(Fraction(-2)),)),
        Call("mul", (Num(Fraction(10) ** 400), Y)),
        Call("mul", (Num(Fraction(1, 10**60)), Y)),
        Const("I", ("n", "n")),
        Call("matmul", (Const("ones", ("n",)), Call("T", (Const("ones", ("n",)),)))),
    ],
)
def test_as_parsed_is_what_the_ascii_text_reads_back_as(node: Node) -> None:
    assert _as_parsed(node) == _read_back(node, set(), set())


def test_as_parsed_agrees_with_the_parser_on_the_catalog() -> None:
    from gradcheck.calculus.canon import Unsupported
    from gradcheck.calculus.derive import derive
    from gradcheck.catalog import bundled_catalog, load_paths

    rules, _ = load_paths([bundled_catalog()])
    checked = 0
    for rule in rules:
        try:
            p = compile_rule(rule)
        except RuleError:
            continue
        declared = {d.name for d in rule.symbols}
        directions = {p.wrt} if p.kind is Kind.DIFFERENTIAL else set()
        declared -= {f"d{p.wrt}", f"∂{p.wrt}"} if directions else set()
        assert as_parsed(p.parsed.claim) == p.parsed.claim  # a parsed tree reads as itself
        built = [p.claim, Call("T", (p.claim,))]
        built += [Call("scale", (Num(c), p.claim)) for c in (Fraction(-1), Fraction(2, 3))]
        with contextlib.suppress(Unsupported):
            built.append(derive(p).ast)
        for node in built:
            assert _as_parsed(node) == _read_back(node, declared, directions), ascii_text(node)
            checked += 1
    assert checked > 200
