"""The matrix-calculus engine: differentials, the canonical form, derivatives read off."""

from __future__ import annotations

import ast
import importlib.util
import keyword
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import typer
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck.calculus.canon import Atom, AtomKind, Scalar, ScalarKind, Unsupported
from gradcheck.calculus.derive import derive, matrix_form_equal
from gradcheck.calculus.differential import differential
from gradcheck.calculus.human import to_ast
from gradcheck.calculus.lower import Context, lower
from gradcheck.catalog import rule_from_claim, rule_from_fields
from gradcheck.derivation import derive as derive_formula
from gradcheck.lang.printer import unicode
from gradcheck.model import Options
from gradcheck.numeric import evaluate, true_derivative
from gradcheck.problem import Problem, compile_rule
from gradcheck.strategies import sample_point


def problem_of(claim: str, **kw: object) -> Problem:
    rule, diagnostics = rule_from_claim(claim, **kw)  # type: ignore[arg-type]
    assert rule is not None, diagnostics
    return compile_rule(rule)


def structured(f: str, wrt: str, kind: str = "gradient", **kw: object) -> Problem:
    rule, diagnostics = rule_from_fields(
        {"id": "t", "f": f, "wrt": wrt, kind: "0"}, **kw  # type: ignore[arg-type]
    )
    assert rule is not None, diagnostics
    return compile_rule(rule)


# ----- the acceptance outputs -----

DERIVED = [
    ("xᵀAx", "x", "gradient", {}, "(A + Aᵀ)x"),
    ("xᵀAx", "x", "hessian", {}, "A + Aᵀ"),
    ("log det X", "X", "gradient", {}, "X⁻ᵀ"),
    ("det X", "X", "gradient", {}, "det(X) X⁻ᵀ"),
    ("‖Ax − b‖²", "x", "gradient", {}, "2Aᵀ(Ax − b)"),
    ("aᵀX⁻¹b", "X", "gradient", {}, "−X⁻ᵀabᵀX⁻ᵀ"),
    ("A x", "x", "jacobian", {}, "Aᵀ"),
    ("A x", "x", "jacobian", {"layout": "numerator"}, "A"),
    ("logsumexp(x)", "x", "gradient", {}, "softmax(x)"),
    ("X⁻¹", "X", "differential", {}, "−X⁻¹ dX X⁻¹"),
]


@pytest.mark.parametrize(("f", "wrt", "kind", "extra", "expected"), DERIVED)
def test_derive_prints_what_a_person_writes(
    f: str, wrt: str, kind: str, extra: dict[str, str], expected: str
) -> None:
    result = derive_formula(f, wrt, kind=kind, options=Options(examples=20), **extra)
    assert result.exit_code == 0, result.error
    assert result.texts["unicode"] == expected
    assert result.verdict is not None and result.verdict.symbolic is not None
    assert result.verdict.symbolic.all_sizes


def test_derive_cli_prints_the_formula_and_exits_0() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gradcheck", "derive", "xᵀAx", "--wrt", "x"],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(A + Aᵀ)x"
    assert "proved for all sizes" in out.stderr


def test_an_unreadable_function_exits_2_with_a_position() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gradcheck", "derive", "xᵀA + ", "--wrt", "x"],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode == 2
    assert "<f>:1:" in out.stderr


@pytest.mark.parametrize(
    ("f", "wrt", "kind", "assume"),
    [
        ("‖Ax − b‖²", "x", "gradient", {}),
        ("aᵀX⁻¹b", "X", "gradient", {"X": ["invertible"]}),
        ("det X", "X", "gradient", {"X": ["invertible"]}),
        ("softmax(x)", "x", "jacobian", {}),
        ("xᵀAx", "x", "hessian", {}),
        ("X⁻¹", "X", "differential", {"X": ["invertible"]}),
        ("sum(erf(x / √2))", "x", "gradient", {}),  # π and √2: numbers inside functions
        ("sum(relu(Ax)) + logsigmoid(aᵀx) + sum(atan(x) + sinh(x))", "x", "gradient", {}),
    ],
)
def test_torch_output_pasted_into_a_file_matches_autograd(
    tmp_path: Path, f: str, wrt: str, kind: str, assume: dict[str, list[str]]
) -> None:
    result = derive_formula(f, wrt, kind=kind, assume=assume, options=Options(examples=10))
    assert result.exit_code == 0, result.error
    path = tmp_path / "pasted.py"
    path.write_text(result.texts["torch"])
    spec = importlib.util.spec_from_file_location("pasted", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _agrees_with_autograd(module.derivative, structured(f, wrt, kind, assume=assume), kind, 3)


# ----- proofs for all sizes -----


@pytest.mark.parametrize(
    "claim",
    [
        "∇_x (xᵀAx) = Ax + Aᵀx",
        "∇_X tr(AXB) = AᵀBᵀ",
        "∇_X tr(XᵀX) = 2X",
        "∇_x (aᵀx) = a",
        "∇_x ‖x‖ = x / ‖x‖",
        "d(X X) = dX X + X dX",
        "∇²_x (xᵀAx) = Aᵀ + A",
    ],
)
def test_right_claims_are_proved_in_matrix_form(claim: str) -> None:
    equal, detail = matrix_form_equal(problem_of(claim))
    assert equal is True, detail


@pytest.mark.parametrize(
    "claim",
    [
        "∇_x (xᵀAx) = 2Ax",
        "∇_X tr(AX) = Aᵀ + A",
        "∇_X log det X = X⁻¹",
        "d(X⁻¹) = −X⁻¹ X⁻¹ dX",
        "∇_x ‖x‖² = x",
    ],
)
def test_wrong_claims_are_never_proved(claim: str) -> None:
    equal, _ = matrix_form_equal(problem_of(claim))
    assert equal is not True


def test_symmetry_is_used_only_when_assumed() -> None:
    claim = "∇_x (xᵀAx) = 2Ax"
    assert matrix_form_equal(problem_of(claim))[0] is not True
    assert matrix_form_equal(problem_of(claim, assume={"A": ["symmetric"]}))[0] is True


def test_node_kinds_sort_as_their_names() -> None:
    # The canonical order sorts by repr() (and so decides "(A + Aᵀ)x" over "(Aᵀ + A)x"): a
    # kind must print in a key exactly as the string it replaced.
    assert all(repr(kind) == repr(kind.value) for kind in (*AtomKind, *ScalarKind))
    a = Atom(AtomKind.SYM, ("A", ""), "n", "n")
    assert a.key == "('sym', ('A', ''), False, 'n', 'n')"
    assert Scalar(ScalarKind.CHAIN, (a,)).key.startswith("('chain', (Atom(kind='sym', ")


def test_the_seed_catalog_is_proved_for_all_sizes() -> None:
    from gradcheck.api import verify

    seed = Path(__file__).resolve().parents[1] / "rules" / "seed.yaml"
    report = verify([seed], options=Options(examples=10))
    holding = [v for v in report.verdicts if v.expect.value == "holds"]
    assert holding
    assert all(v.symbolic is not None and v.symbolic.all_sizes for v in holding), [
        v.rule_id for v in holding if not (v.symbolic and v.symbolic.all_sizes)
    ]


def test_unsupported_constructs_say_so() -> None:
    with pytest.raises(Unsupported):
        derive(structured("λ * sum(x)", "λ"))  # by a scalar: checked entrywise only
    result = derive_formula("λ * sum(x)", "λ", options=Options(examples=5))
    assert result.exit_code == 1
    assert "cannot derive" in result.error


# ----- soundness: the canonical form and its human printing keep the value -----

SQUARE = ["A", "B", "X"]
VECTORS = ["x", "y"]


def expressions() -> st.SearchStrategy[str]:
    """Random well-typed n×n matrix expressions in the ASCII spelling."""
    leaf = st.sampled_from([*SQUARE, "I"])

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, inner).map(lambda ab: f"({ab[0]} + {ab[1]})"),
            st.tuples(inner, inner).map(lambda ab: f"({ab[0]} - {ab[1]})"),
            st.tuples(inner, inner).map(lambda ab: f"({ab[0]} @ {ab[1]})"),
            st.tuples(inner, inner).map(lambda ab: f"({ab[0]} * {ab[1]})"),
            inner.map(lambda a: f"({a}).T"),
            inner.map(lambda a: f"(2 * {a})"),
            inner.map(lambda a: f"(tr({a}) * {a})"),
            st.tuples(st.sampled_from(VECTORS), inner, st.sampled_from(VECTORS)).map(
                lambda t: f"(({t[0]}.T @ {t[1]} @ {t[2]}) * {t[1]})"
            ),
            inner.map(lambda a: f"inv(X) @ {a} @ X"),
        )

    return st.recursive(leaf, extend, max_leaves=6)


def _values(problem: Problem, sizes: dict[str, int], seed: int) -> dict[str, torch.Tensor]:
    sample = sample_point(problem, sizes, seed)
    return {k: torch.tensor(v) for k, v in sample.values.items()}


@settings(max_examples=60, deadline=None)
@given(expressions())
def test_canonical_form_keeps_the_value(text: str) -> None:
    declared = {"A": "matrix(n, n)", "B": "matrix(n, n)", "X": "matrix(n, n)"}
    rule, _ = rule_from_fields(
        {"id": "p", "f": text, "wrt": "X", "differential": "0"},
        symbols=declared, assume={"X": ["invertible"]},
    )
    assert rule is not None
    problem = compile_rule(rule)
    canonical = lower(problem.f, Context(problem.shapes, problem.assumptions))
    printed = unicode(to_ast(canonical))
    again, _ = rule_from_fields(
        {"id": "q", "f": printed, "wrt": "X", "differential": "0"},
        symbols=declared, assume={"X": ["invertible"]},
    )
    assert again is not None, printed
    reread = compile_rule(again)
    for n in (1, 3):
        sizes = dict.fromkeys(problem.dims + reread.dims, n)
        values = _values(problem, sizes, seed=n)
        values.update({k: v for k, v in _values(reread, sizes, n).items() if k not in values})
        original = evaluate(problem.f, values, sizes)
        sized = evaluate(to_ast(canonical, sized=True), values, sizes)
        assert torch.allclose(sized, original, atol=1e-8)
        assert torch.allclose(evaluate(reread.f, values, sizes), original, atol=1e-8), printed


@settings(max_examples=40, deadline=None)
@given(expressions())
def test_differential_matches_autograd(text: str) -> None:
    rule, _ = rule_from_fields(
        {"id": "p", "f": text, "wrt": "X", "differential": "0"},
        symbols={"A": "matrix(n, n)", "B": "matrix(n, n)", "X": "matrix(n, n)"},
        assume={"X": ["invertible"]},
    )
    assert rule is not None
    problem = compile_rule(rule)
    d = differential(problem.f, "X")
    sizes = dict.fromkeys(problem.dims, 3)
    sample = sample_point(problem, sizes, 7)
    values = {k: torch.tensor(v) for k, v in sample.values.items()}
    direction = torch.tensor(sample.direction)
    expected = true_derivative(problem, values, sizes, direction)
    got = torch.zeros_like(expected) if d is None else evaluate(d, values, sizes, {"X": direction})
    assert torch.allclose(got, expected, atol=1e-8, rtol=1e-7)


# ----- the torch code is code-safe whatever the names (issue 9) -----

TRICKY = [
    "os.system('id')",
    "p.q#r",
    "lambda",
    "None",
    "torch",
    "derivative",
    "q'",
    "W1",
    "b_2",
    "λ",
]


def _check_source(text: str) -> ast.FunctionDef:
    """The module is `import torch`, known helpers and one `def derivative`, and the def
    binds only identifiers and reads only its arguments, its sizes, torch and helpers."""
    from gradcheck.calculus.torch_code import HELPERS

    module = ast.parse(text)
    defs = [n for n in module.body if isinstance(n, ast.FunctionDef)]
    assert all(isinstance(n, ast.Import | ast.FunctionDef) for n in module.body)
    assert [a.name for n in module.body if isinstance(n, ast.Import) for a in n.names] == ["torch"]
    (main,) = [d for d in defs if d.name == "derivative"]
    assert {d.name for d in defs} - {"derivative"} <= set(HELPERS)
    params = [a.arg for a in main.args.args]
    assert len(set(params)) == len(params)
    assert all(p.isidentifier() and not keyword.iskeyword(p) for p in params), params
    assigned = {t.id for n in ast.walk(main) if isinstance(n, ast.Assign)
                for t in n.targets if isinstance(t, ast.Name)}
    read = {n.id for n in ast.walk(main) if isinstance(n, ast.Name)}
    assert read <= set(params) | assigned | {"torch"} | set(HELPERS), read
    return main


def _matches_autograd(text: str, problem: Problem, kind: str) -> None:
    namespace: dict[str, object] = {}
    exec(compile(text, "<generated>", "exec"), namespace)  # our own generated code only
    derivative = namespace["derivative"]
    assert callable(derivative)
    _agrees_with_autograd(derivative, problem, kind, 2)


def _agrees_with_autograd(derivative: Any, problem: Problem, kind: str, points: int) -> None:
    """The generated function equals autograd's derivative at `points` sample points."""
    for seed in range(points):
        sizes = {d: 2 + (i + seed) % points for i, d in enumerate(problem.dims)}
        sample = sample_point(problem, sizes, seed)
        values = {k: torch.tensor(v) for k, v in sample.values.items()}
        direction = torch.tensor(sample.direction)
        args = [values[name] for name in problem.shapes]
        if kind == "differential":
            args.append(direction)
        expected = true_derivative(problem, values, sizes, direction)
        assert torch.allclose(derivative(*args), expected, atol=1e-9, rtol=1e-7)


@pytest.mark.parametrize("name", TRICKY)
def test_torch_code_binds_only_safe_identifiers(name: str) -> None:
    symbols = {name: "vector(n)", "A": "matrix(n, n)"}
    f = f"({name})ᵀA x + sum(x)"
    result = derive_formula(f, "x", symbols=symbols, options=Options(examples=10))
    assert result.exit_code == 0, (result.error, result.diagnostics)
    text = result.texts["torch"]
    main = _check_source(text)
    params = [a.arg for a in main.args.args]
    safe = name.isidentifier() and not keyword.iskeyword(name) and name not in (
        "torch", "derivative")
    assert (name in params) is safe
    if not safe:  # renamed; the original is named only in a comment, as an inert literal
        assert f"    # arg1 is the symbol {name!a}\n" in text
        strings = [n.value for n in ast.walk(main) if isinstance(n, ast.Constant)]
        assert not any(name in str(v) for v in strings)
    _matches_autograd(text, structured(f, "x", symbols=symbols), "gradient")


def test_torch_code_renames_directions_and_sizes_that_are_not_identifiers() -> None:
    from gradcheck.calculus.torch_code import source
    from gradcheck.lang.ast import Const

    wrt = "os.system('id')"
    symbols = {wrt: "matrix(n, n)", "None": "matrix(n, n)"}
    f = f"tr(None {wrt})"
    result = derive_formula(f, wrt, kind="differential", symbols=symbols,
                            options=Options(examples=10))
    assert result.exit_code == 0, (result.error, result.diagnostics)
    text = result.texts["torch"]
    main = _check_source(text)
    assert [a.arg for a in main.args.args] == ["arg1", "arg2", "arg3"]
    assert f"# arg3 is the direction {'d' + wrt!a}" in text
    _matches_autograd(text, structured(f, wrt, "differential", symbols=symbols), "differential")
    # a size the formula reads off an argument, named like a keyword
    problem = structured("sum(x)", "x", symbols={"x": "vector(if)"})
    sized = source(problem, Const("ones", ("if",)))
    main = _check_source(sized)
    assert "    arg1 = x.shape[0]\n" in sized and "# arg1 is the size 'if'" in sized
    _matches_autograd(sized, structured("sum(x)", "x", symbols={"x": "vector(n)"}), "gradient")


def test_torch_code_holds_only_the_helpers_it_uses() -> None:
    plain = derive_formula("xᵀAx", "x", options=Options(examples=10)).texts["torch"]
    assert "def _s" not in plain and "def _diag" not in plain and "def _softmax" not in plain
    soft = derive_formula("logsumexp(x)", "x", options=Options(examples=10)).texts["torch"]
    assert "def _softmax" in soft and "def _s(" not in soft and "def _diag" not in soft


def test_the_cli_refuses_a_symbol_name_that_is_not_one_word() -> None:
    from gradcheck.cli.options import parse_symbols

    assert parse_symbols(["W1:matrix(m, n)", "b_2:vector(m)", "λ:scalar"]) == {
        "W1": "matrix(m, n)", "b_2": "vector(m)", "λ": "scalar"}
    for bad in ["os.system('id'):vector(n)", "a b:vector(n)", "1x:scalar", "x':vector(n)"]:
        with pytest.raises(typer.BadParameter, match="is not a name"):
            parse_symbols([bad])
    name = "os.system('id')"
    out = subprocess.run(
        [sys.executable, "-m", "gradcheck", "derive", f"{name}ᵀx", "--wrt", "x",
         "--symbol", f"{name}:vector(n)", "--format", "torch"],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode == 2 and out.stdout == ""
    assert "is not a name" in out.stderr
