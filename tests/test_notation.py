"""Notation as it is printed (issue 13, item 2): every form reads to the intended AST, a true
claim written that way holds and a wrong one fails (real sympy and torch), and an ambiguous
form is refused with a message that names both readings."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import pytest

from gradcheck.catalog import rule_from_claim
from gradcheck.errors import RuleError
from gradcheck.lang.parser import parse_claim
from gradcheck.lang.printer import ascii_text
from gradcheck.model import Options, Rule, Status
from gradcheck.problem import compile_rule
from gradcheck.verdicts import verify_rule

# Small but real: sympy at sizes 1 and 2, autograd on a few batches, no diagnosis.
FAST = Options(examples=8, max_symbolic_size=2, max_numeric_size=3, diagnose=False)
HOLDS = (Status.HOLDS, Status.HOLDS_NUMERIC)


@dataclasses.dataclass(frozen=True)
class Form:
    """A notation: a claim written in it, what it must read as, and a wrong right-hand side."""

    claim: str  # RHS stands for the right-hand side
    f: str  # f as read, in ASCII (after typing)
    true: str
    wrong: str
    wrt: str = ""
    assume: Mapping[str, Sequence[str]] | None = None
    symbols: Mapping[str, str] | None = None
    given_wrt: str | None = None  # --wrt


def rule(form: Form, rhs: str) -> Rule:
    made, diagnostics = rule_from_claim(
        form.claim.replace("RHS", rhs), assume=form.assume, symbols=form.symbols
    )
    assert made is not None, diagnostics
    return dataclasses.replace(made, wrt=form.given_wrt) if form.given_wrt else made


FORMS = {
    # ----- derivatives written with \frac, d and ∂ -----
    "frac-operator": Form(
        r"\frac{\partial}{\partial x} x^T A x = RHS", "x.T @ A @ x", "(A + A^T) x", "2 A x"
    ),
    "frac-operator-left-right": Form(
        r"\frac{\partial}{\partial \mathbf{x}}\left(\mathbf{x}^T A \mathbf{x}\right) = RHS",
        "x.T @ A @ x",
        "(A + A^T) x",
        "A x",
    ),
    "frac-d-operator": Form(r"\frac{d}{dw} w^T w = RHS", "w.T @ w", "2w", "w"),
    "frac-dy-dw": Form(r"\frac{d (w^T a)}{d\mathbf{w}} = RHS", "w.T @ a", "a", "2a"),
    "frac-mathrm-d": Form(r"\frac{\mathrm{d}}{\mathrm{d}x} (x^T x) = RHS", "x.T @ x", "2x", "x"),
    "frac-mathop-d": Form(r"\frac{\mathop{d}}{\mathop{d}x} (a^T x) = RHS", "a.T @ x", "a", "x"),
    "frac-operator-hessian": Form(
        r"\frac{\partial^2}{\partial x \partial x^\top} x^T A x = RHS",
        "x.T @ A @ x",
        "A + A^T",
        "2A",
    ),
    # ----- determinants, norms, inner products -----
    "bars-det": Form(r"\nabla_A |A| = RHS", "det(A)", "|A| A^{-T}", "|A| A^{-1}"),
    "lvert-det": Form(
        r"\nabla_A \lvert A \rvert = RHS", "det(A)", r"\lvert A \rvert A^{-T}", "A^{-T}"
    ),
    "log-bars-sigma": Form(
        r"\nabla_\Sigma \log|\Sigma| = RHS",
        "log(det(Σ))",
        r"\Sigma^{-1}",
        r"\Sigma",
        assume={"Σ": ["spd"]},
    ),
    "bars-scalar": Form(r"\nabla_x |a^T x| = RHS", "abs(a.T @ x)", "(a^T x / |a^T x|) a", "a"),
    "double-bar-norm": Form(r"\nabla_w ||w||_2^2 = RHS", "norm(w)^2", "2w", "w"),
    "lVert-norm": Form(r"\nabla_w \lVert w \rVert^2 = RHS", "norm(w)^2", "2w", "4w"),
    "backslash-bar-norm": Form(r"\nabla_x \|x\|^2 = RHS", "norm(x)^2", "2x", "x^T x"),
    "langle": Form(r"\nabla_x \langle a, x \rangle = RHS", "a.T @ x", "a", "x"),
    "langle-matrices": Form(
        r"\nabla_X \left\langle A, X \right\rangle = RHS", "tr(A.T @ X)", "A", "A^T"
    ),
    "dot-word": Form(r"\nabla_x dot(x, x) = RHS", "x.T @ x", "2x", "x"),
    "cdot-vectors": Form(r"\nabla_x a \cdot x = RHS", "a.T @ x", "a", "2a"),
    "cdot-matrix-vector": Form(
        r"\nabla_x \mathbf{1}^T (A \cdot x) = RHS",
        "ones(m, 1).T @ (A @ x)",
        r"A^T \mathbf{1}",
        r"A \mathbf{1}",
    ),
    # ----- elementwise products and quotients -----
    "oslash": Form(r"\nabla_x \sum (x \oslash y) = RHS", "sum(x / y)", r"1 \oslash y", "y"),
    # ----- trace -----
    "mathrm-Tr-brackets": Form(r"\nabla_X \mathrm{Tr}[AX] = RHS", "tr(A @ X)", "A^T", "A"),
    "operatorname-Tr": Form(
        r"\nabla_X \operatorname{Tr}(X^T A X) = RHS", "tr(X.T @ A @ X)", "(A + A^T) X", "2 A X"
    ),
    "text-tr": Form(r"\nabla_X \text{tr}(AX) = RHS", "tr(A @ X)", "A^T", "A"),
    "Tr-parens": Form(r"\nabla_X Tr(AX) = RHS", "tr(A @ X)", "A^T", "A"),
    "Tr-brackets": Form(r"\nabla_X Tr[AX] = RHS", "tr(A @ X)", "A^T", "A"),
    # ----- bold, ones and identity -----
    "textbf": Form(
        r"\nabla_{\textbf{x}} \textbf{x}^T \textbf{a} = RHS",
        "x.T @ a",
        r"\textbf{a}",
        r"\textbf{x}",
    ),
    "vec-1": Form(r"\nabla_x \vec{1}^T x = RHS", "ones(n, 1).T @ x", r"\vec{1}", "x"),
    "mathbf-1-n": Form(
        r"\nabla_x \mathbf{1}_n^T x = RHS", "ones(n, 1).T @ x", r"\mathbf{1}_n", "2x"
    ),
    "mathbb-1": Form(
        r"\nabla_x \mathbb{1}^T \exp(x) = RHS", "ones(n, 1).T @ exp(x)", r"\exp(x)", r"\mathbb{1}"
    ),
    "I-n": Form(
        r"\nabla_x x^T (A + I_n) x = RHS",
        "x.T @ (A + eye(n, n)) @ x",
        "(A + A^T + 2 I_n) x",
        "(A + A^T + I_n) x",
    ),
    # ----- function powers, \ln, spacing and prose -----
    "tanh-squared": Form(
        r"\nabla_x \sum \tanh^2(x) = RHS",
        "sum(tanh(x) ** 2)",
        r"2 \tanh(x) \odot (1 - \tanh^2(x))",
        r"2 \tanh(x)",
    ),
    "sin-squared": Form(
        r"\nabla_x \sum \sin^2 x = RHS", "sum(sin(x) ** 2)", r"2 \sin(x) \odot \cos(x)", r"\cos(x)"
    ),
    "ln": Form(r"\nabla_x \ln(a^T x) = RHS", "log(a.T @ x)", "a / (a^T x)", "a"),
    "spacing": Form(r"\nabla_x \, a^T x \; = \! RHS", "a.T @ x", "a", "x"),
    "text-prose": Form(r"\nabla_x \text{ the linear map } A x = RHS", "A @ x", "A^T", "A"),
    "sized-brackets": Form(r"\nabla_x \bigl(a^T x\bigr) \Bigl(b^T x\Bigr) = RHS",
                           "a.T @ x @ (b.T @ x)", "(b^T x) a + (a^T x) b", "a + b"),
    # ----- more spellings of the same -----
    "bold-one-character": Form(r"\nabla_x 𝟏^T x = RHS", "ones(n, 1).T @ x", "𝟙", "x"),
    "I-braced-number": Form(r"\nabla_x x^T I_{3} x = RHS", "x.T @ eye(3, 3) @ x", "2x", "x"),
    "unicode-function-power": Form(
        r"\nabla_x \sum tanh²(x) = RHS",
        "sum(tanh(x) ** 2)",
        "2 tanh(x) ⊙ (1 - tanh(x) ** 2)",
        "2 tanh(x)",
    ),
    "mbox-prose": Form(r"\nabla_x a^T x \mbox{ where a is fixed} = RHS", "a.T @ x", "a", "2a"),
    "frac-d-squared": Form(r"\frac{d^2}{dx^2} x^T A x = RHS", "x.T @ A @ x", "A + A^T", "2A"),
    # ----- sums over an index -----
    "index-sum-rows": Form(
        r"\nabla_w \sum_i y_i \log\sigma(\mathbf{w}^\top\mathbf{x}_i) = RHS",
        "sum(y * log(sigmoid(X @ w)))",
        r"X^\top (y \odot (1 - \sigma(Xw)))",
        r"X^\top y",
        symbols={"X": "matrix(n, d)", "y": "vector(n)"},
    ),
    "index-sum-columns": Form(
        r"\nabla_w \sum_i y_i \log\sigma(\mathbf{w}^\top\mathbf{x}_i) = RHS",
        "sum(y * log(sigmoid(X.T @ w)))",
        r"X (y \odot (1 - \sigma(X^\top w)))",
        r"X y",
        symbols={"X": "matrix(d, n)", "y": "vector(n)"},
    ),
    "index-sum-squares": Form(
        r"\nabla_w \sum_{i=1}^{n} (y_i - \mathbf{x}_i^\top \mathbf{w})^2 = RHS",
        "sum((y - X @ w) ** 2)",
        r"-2 X^\top (y - Xw)",
        r"2 X^\top (y - Xw)",
        symbols={"X": "matrix(n, d)", "w": "vector(d)"},
    ),
    "index-sum-entries": Form(r"\nabla_x \sum_i \exp(x_i) = RHS", "sum(exp(x))", r"\exp(x)", "x"),
    # X written nowhere and declared nowhere: its rows and its columns are one claim (X and Xᵀ
    # swapped), read as its rows; Σᵢ cᵢ xᵢ is then Xᵀc
    "index-sum-undeclared-rows": Form(
        r"\nabla_w \sum_i (y_i - w^T x_i)^2 = RHS",
        "sum((y - X @ w) ** 2)",
        r"-2\sum_i (y_i - w^T x_i) x_i",
        r"2\sum_i (y_i - w^T x_i) x_i",
    ),
    "index-sum-data-superscript": Form(
        r"\nabla_\theta \sum_n (y^{(n)} - \theta^T x^{(n)})^2 = RHS",
        "sum((y - X @ θ) ** 2)",
        r"-2\sum_n (y^{(n)} - \theta^T x^{(n)}) x^{(n)}",
        r"2\sum_n (y^{(n)} - \theta^T x^{(n)}) x^{(n)}",
    ),
    # ----- differentials with an upright d -----
    "mathrm-d-det": Form(
        r"\mathrm{d}|\mathbf{X}| = RHS",
        "det(X)",
        r"|\mathbf{X}|\mathrm{tr}(\mathbf{X}^{-1}\mathrm{d}\mathbf{X})",
        r"\mathrm{tr}(\mathbf{X}^{-1}\mathrm{d}\mathbf{X})",
        wrt="X",
    ),
    "mathrm-d-logdet": Form(
        r"\mathrm{d}\log|\mathbf{X}| = RHS",
        "log(det(X))",
        r"\mathrm{tr}(\mathbf{X}^{-1}\mathrm{d}\mathbf{X})",
        r"\mathrm{tr}(\mathrm{d}\mathbf{X})",
        wrt="X",
    ),
    "mathrm-d-inverse": Form(
        r"\mathrm{d} X^{-1} = RHS",
        "inv(X)",
        r"- X^{-1} \mathrm{d} X X^{-1}",
        r"- X^{-1} \mathrm{d} X",
        wrt="X",
    ),
    "d-of-parenthesised-direction": Form(
        r"\mathrm{d}(\mathbf{AXB}) = RHS",
        "A @ X @ B",
        r"\mathbf{A}\mathrm{d}(\mathbf{X})\mathbf{B}",
        r"\mathrm{d}(\mathbf{X})\mathbf{B}",
        wrt="X",
    ),
    "d-before-a-command": Form(
        r"d(\mathbf{x}^\top\mathbf{x}) = RHS",
        "x.T @ x",
        r"2\mathbf{x}^\top d\mathbf{x}",
        r"\mathbf{x}^\top d\mathbf{x}",
        wrt="x",
    ),
    "pmb-mathbb-d": Form(
        r"\mathbb{d}(\pmb{A}\pmb{X}) = RHS",
        "A @ X",
        r"\pmb{A}\mathbb{d}(\pmb{X})",
        r"\mathbb{d}(\pmb{X})\pmb{A}",
        wrt="X",
    ),
    "qty-brackets": Form(r"\nabla_{A} \qty[\text{tr}\qty(AB)] = RHS", "tr(A @ B)", "B^{T}", "B"),
    "single-bar-frobenius": Form(
        r"\nabla_W |W - B|_F^2 = RHS", "fro(W - B)^2", "2 (W - B)", "W - B"
    ),
    # ----- ∇ without a subscript -----
    "nabla-one-vector": Form(
        r"\nabla \log\det X = RHS", "log(det(X))", "X^{-T}", "X^{-1}", wrt="X"
    ),
    "nabla-picks-w": Form(r"\nabla (w^T x) = RHS", "w.T @ x", "x", "w", wrt="w"),
    "nabla-picks-x": Form(r"\nabla (x^T A x) = RHS", "x.T @ A @ x", "(A + A^T)x", "2Ax", wrt="x"),
    "nabla-given-wrt": Form(r"\nabla (w^T x) = RHS", "w.T @ x", "w", "x", wrt="x", given_wrt="x"),
    # ----- σ: the sigmoid when applied, a variable when differentiated by or declared -----
    "sigma-applied": Form(
        r"\nabla_x \sigma(a^T x) = RHS",
        "sigmoid(a.T @ x)",
        r"\sigma(a^T x)(1 - \sigma(a^T x)) a",
        r"\sigma(a^T x) a",
    ),
    "sigma-wrt": Form(r"\nabla_\sigma \sigma^2 = RHS", "σ^2", r"2\sigma", r"\sigma"),
    # by the variance σ²: the square is the variable, σ⁴ its square
    "by-sigma-squared": Form(
        r"\frac{\partial}{\partial \sigma^2} \left(\log \sigma^2 + \frac{a}{\sigma^2}\right) = RHS",
        "log(σ²) + a / σ²",
        r"\frac{1}{\sigma^2} - \frac{a}{\sigma^4}",
        r"\frac{1}{\sigma^2} - \frac{a}{\sigma^2}",
        symbols={"a": "scalar"},
    ),
    "sigma-squared-variance-term": Form(
        r"\nabla_w \frac{w^T w}{2\sigma^2} = RHS", "w.T @ w / (2 σ ** 2)",
        r"\frac{w}{\sigma^2}", r"\frac{w}{2\sigma^2}",
    ),
    # ----- names the letter convention does not give -----
    "greek-variable-as-vector": Form(
        r"\nabla_\theta (y - X\theta)^T (y - X\theta) = RHS",
        "(y - X @ θ).T @ (y - X @ θ)",
        r"-2X^T(y - X\theta)",
        r"-2X^T y",
    ),
    "accented-names": Form(
        r"\nabla_w w^T \widetilde{\mathbf{X}}^T \tilde{X} w + \hat{w}^T w = RHS",
        "w.T @ X̃.T @ X̃ @ w + ŵ.T @ w",
        r"2\tilde{X}^T \widetilde{X} w + \hat{\mathbf{w}}",
        r"\tilde{X}^T \tilde{X} w + \hat{w}",
    ),
    "text-subscript-name": Form(
        r"\nabla_W \|W - W_{\text{old}}\|_F^2 = RHS",
        r"fro(W - W_{\text{old}}) ** 2",
        r"2(W - \mathbf{W}_{\text{old}})",
        r"W - W_{\text{old}}",
    ),
    "D-operator": Form(
        r"D(x^T A x) = RHS", "x.T @ A @ x", r"x^T(A + A^T)", r"(A + A^T) x", wrt="x"
    ),
    "sigma-declared": Form(
        r"\nabla_x \sigma^2 x^T x = RHS",
        "σ ** 2 @ x.T @ x",
        r"2\sigma^2 x",
        r"\sigma^2 x",
        symbols={"σ": "scalar"},
    ),
    "sigma-assumed": Form(
        r"\nabla_x \sqrt{\sigma} a^T x = RHS",
        "sqrt(σ) @ a.T @ x",
        r"\sqrt{\sigma} a",
        r"\sigma a",
        assume={"σ": ["positive"]},
    ),
}


def _read(form: Form) -> str:
    problem = compile_rule(rule(form, form.true))
    assert not form.wrt or problem.wrt == form.wrt
    return ascii_text(problem.f)


def _same_reading(got: str, wanted: str) -> bool:
    """f as compiled equals f as written here, both read by the grammar (spelling aside)."""
    from gradcheck.lang.parser import parse_expression

    names = ("σ", "Σ")
    return parse_expression(got, names) == parse_expression(wanted.replace("^", "**"), names) or (
        got.replace(" ", "") == wanted.replace(" ", "")
    )


@pytest.mark.parametrize("name", FORMS)
def test_form_reads_as_intended(name: str) -> None:
    form = FORMS[name]
    got = _read(form)
    assert _same_reading(got, form.f), (got, form.f)


@pytest.mark.parametrize("name", FORMS)
def test_true_claim_in_this_notation_holds(name: str) -> None:
    form = FORMS[name]
    verdict = verify_rule(rule(form, form.true), FAST)
    assert verdict.status in HOLDS, (verdict.display, verdict.message)


@pytest.mark.parametrize("name", FORMS)
def test_wrong_claim_in_this_notation_fails(name: str) -> None:
    form = FORMS[name]
    verdict = verify_rule(rule(form, form.wrong), FAST)
    assert verdict.status is Status.FAILS, (verdict.display, verdict.message)


# ----- the silent misreadings of issue 13 -----


def test_vec_one_is_the_vector_of_ones_not_the_number() -> None:
    claim = parse_claim(r"\nabla_x \vec{1}^T x = \vec{1}")
    assert ascii_text(claim.rhs) == "ones"


def test_an_assumption_that_needs_a_matrix_makes_a_greek_letter_a_matrix() -> None:
    made, _ = rule_from_claim(r"\nabla_\Sigma \log|\Sigma| = \Sigma^{-1}", assume={"Σ": ["spd"]})
    assert made is not None
    problem = compile_rule(made)
    rows, cols = problem.shapes["Σ"]
    assert rows == cols and rows != 1
    assert problem.f.op == "log" and problem.f.args[0].op == "det"  # type: ignore[attr-defined]


def test_a_greek_variable_read_as_a_scalar_says_so() -> None:
    made, _ = rule_from_claim(r"\nabla_\Sigma \log|\Sigma| = \Sigma^{-1}")
    assert made is not None
    problem = compile_rule(made)
    assert problem.shapes["Σ"] == (1, 1)
    assert "read as a scalar" in problem.note and "spd" in problem.note


def test_nabla_without_subscript_prints_its_choice() -> None:
    made, _ = rule_from_claim(r"\nabla (w^T x) = x")
    assert made is not None
    verdict = verify_rule(made, FAST)
    assert verdict.status in HOLDS
    assert verdict.display.startswith("∇_w")
    assert "read as ∇_w" in verdict.message and "x is held constant" in verdict.message


# ----- ambiguous or unreadable: a message that names the readings, never a guess -----

REFUSED: dict[str, tuple] = {
    "otimes": (r"\nabla_x \sum (x \otimes y) = y", ["Kronecker", "Hadamard", "⊙"]),
    "otimes-unicode": ("∇_x sum(x ⊗ y) = y", ["Kronecker", "Hadamard"]),
    "bars-of-a-vector": (r"\nabla_x |x| = x", ["ambiguous", "‖x‖", "abs(x)"]),
    "sigma-squared-alone": (r"\nabla_x \sigma^2 x^T x = 2\sigma^2 x", ["sigmoid", "variable"]),
    "frac-dy-dw-name": (r"\frac{dy}{d\mathbf{w}} = x", ["dy/dw", "defined elsewhere"]),
    # d2l's appendix writes d/dx(xax) = (dx/dx)ax + xa(dx/dx): read as d·x over d·x, a product
    # of a vector d, the link "failed", a silent misreading of a true step
    "frac-d-inside-a-formula": (
        r"\frac{d}{dx}(xax) = \frac{dx}{dx}ax + xa\frac{dx}{dx}",
        ["read only at the start", "dx/dx is 1"], {"x": "scalar", "a": "scalar"},
    ),
    # X written in the claim: its rows or its columns are two claims about it
    "index-sum-rows-or-columns": (
        r"\nabla_w \sum_i y_i \log\sigma(\mathbf{w}^\top\mathbf{x}_i) = X^T y",
        ["rows or its columns", "declare the shapes"],
    ),
    "index-sum-row-added": (r"\nabla_w \sum_i (w^T x_i + x_i) = w", ["row of a matrix"]),
    "by-sigma-squared-bare-sigma": (
        r"\frac{\partial}{\partial \sigma^2} \sigma = 1", ["even power"]
    ),
    "accent-on-a-word": (r"\nabla_x \hat{ab}^T x = 1", ["one letter"]),
    "index-sum-without-index": (r"\nabla_x \sum_i a^T x = a", ["no term indexed"]),
    "index-sum-of-a-norm": (r"\nabla_w \sum_i \|w - x_i\| = w", ["not read entry by entry"]),
    "index-sum-bare-row": (
        r"\nabla_w w^\top \sum_i y_i \mathbf{x}_i = y",
        ["inner product", "yᵀX"],
        {"X": "matrix(n, d)"},
    ),
    "partial-y-over-partial-w": ("∂y/∂w = x", ["dy/dw", "defined elsewhere"]),
    "nabla-no-variable-name": (r"\nabla (a^T b) = b", ["none is named", "--wrt"]),
    "function-power-inverse": (r"\nabla_x \sum \sin^{-1}(x) = x", ["positive whole number"]),
}


@pytest.mark.parametrize("name", REFUSED)
def test_ambiguous_or_unreadable_forms_are_refused_with_a_message(name: str) -> None:
    claim, words, *symbols = REFUSED[name]
    made, diagnostics = rule_from_claim(claim, symbols=symbols[0] if symbols else None)
    with pytest.raises(RuleError) as raised:
        if made is None:  # refused while the rule was read: the diagnostic says why
            raise RuleError(diagnostics[0].message + " " + diagnostics[0].hint)
        compile_rule(made)
    text = f"{raised.value.message} {raised.value.hint}"
    for word in words:
        assert word in text, (word, text)


def test_refused_forms_give_an_ill_formed_verdict_with_a_column() -> None:
    made, _ = rule_from_claim(r"\nabla_x (A \otimes B) x = 0")
    assert made is not None
    verdict = verify_rule(made, FAST)
    assert verdict.status is Status.ILL_FORMED
    assert verdict.position is not None and verdict.position.column == 1 + len(r"\nabla_x (A ")


def test_wrt_given_and_written_must_agree() -> None:
    made, _ = rule_from_claim(r"\nabla_x (w^T x) = w")
    assert made is not None
    with pytest.raises(RuleError, match="differentiates by x but the variable given is w"):
        compile_rule(dataclasses.replace(made, wrt="w"))


def test_times_of_two_vectors_is_not_an_inner_product() -> None:
    made, _ = rule_from_claim(r"\nabla_x a \times x = a")
    assert made is not None
    with pytest.raises(RuleError):
        compile_rule(made)


def test_capitalised_function_word_needs_brackets() -> None:
    # `x^Tr`: xᵀ times r, as before; Tr names the trace only when applied
    claim = parse_claim(r"\nabla_r x^Tr = x")
    assert ascii_text(claim.f) == "x.T @ r"


@pytest.mark.parametrize(
    "text",
    [
        r"\nabla_{\sigma} \sigma^2 = 2\sigma",
        r"\frac{\partial \sigma^2}{\partial \sigma} = 2\sigma",
        r"\frac{d\sigma^2}{d\sigma} = 2\sigma",
        "∂(σ²)/∂σ = 2σ",
    ],
)
def test_sigma_differentiated_by_is_a_variable_in_every_spelling(text: str) -> None:
    claim = parse_claim(text)
    assert claim.wrt == "σ" and ascii_text(claim.f) == "σ^2"


def test_sigma_applied_stays_the_sigmoid_next_to_a_symbol_named_d() -> None:
    claim = parse_claim(r"\nabla_z d \sigma(z) = d")
    assert ascii_text(claim.f) == "d @ sigmoid(z)"
