"""Tests for gradcheck.verdicts: every catalog rule as expected, mutants fail, folding evidence."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import subprocess
import sys
import textwrap
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest
import sympy as sp

from gradcheck.catalog import bundled_catalog, load_file, rule_from_claim
from gradcheck.checking import check_problem
from gradcheck.errors import RuleError
from gradcheck.lang.ast import Call, Node, Num, walk
from gradcheck.lang.parser import parse_claim, parse_expression
from gradcheck.lang.printer import unicode
from gradcheck.model import (
    Counterexample,
    CrossCheck,
    Expect,
    Kind,
    NumericEvidence,
    Options,
    Position,
    Rule,
    Status,
    SymbolDecl,
    SymbolicEvidence,
    Verdict,
)
from gradcheck.problem import Problem, compile_rule
from gradcheck.symbolic import Lowering, constraints, direction_matrix, size_plan, symbol_matrices
from gradcheck.verdicts import fold, verdict_for, verify_rule, verify_rules

# the diagnosis of failing rules is not what these tests check, and it costs extra checks
FAST = Options(examples=20, diagnose=False)
SEED = bundled_catalog() / "seed.yaml"
PUBLIC = Path(__file__).resolve().parents[2] / "shared" / "acceptance" / "public.yaml"


def rules_of(path: Path) -> list[Rule]:
    if not path.exists():
        return []
    rules, diagnostics = load_file(path)
    assert diagnostics == [], diagnostics
    return rules


SEED_RULES = rules_of(SEED)
PUBLIC_RULES = rules_of(PUBLIC)


def claim_rule(claim: str, **kw: object) -> Rule:
    rule, diagnostics = rule_from_claim(claim, **kw)  # type: ignore[arg-type]
    assert rule is not None and diagnostics == [], diagnostics
    return rule


# ---- every catalog rule is as expected ----


def test_the_catalogs_are_there() -> None:
    assert len(SEED_RULES) >= 10
    assert any(r.expect is Expect.FAILS for r in SEED_RULES)


@pytest.mark.parametrize("rule", SEED_RULES, ids=[r.id for r in SEED_RULES])
def test_seed_rule_is_as_expected(rule: Rule) -> None:
    verdict = verify_rule(rule, FAST)
    assert verdict.as_expected, (verdict.status, verdict.message)
    if verdict.status is Status.FAILS:
        assert verdict.outcome == "fails (expected)"
        assert verdict.message


@pytest.mark.skipif(not PUBLIC_RULES, reason="shared/acceptance/public.yaml is not present")
@pytest.mark.parametrize("rule", PUBLIC_RULES, ids=[r.id for r in PUBLIC_RULES])
def test_public_rule_is_as_expected(rule: Rule) -> None:
    verdict = verify_rule(rule, FAST)
    assert verdict.as_expected, (verdict.status, verdict.message)
    if rule.expect is Expect.FAILS:
        # a failure always comes with its evidence
        has_counterexample = verdict.numeric is not None and \
            verdict.numeric.counterexample is not None
        disproved = verdict.symbolic is not None and verdict.symbolic.status == "disproved"
        assert has_counterexample or disproved
    else:
        assert verdict.crosscheck is None or verdict.crosscheck.agreed


def test_note_rule_says_where_its_claim_is_defined() -> None:
    (rule,) = [r for r in SEED_RULES if r.id == "linear-map-note-symmetrised"]
    verdict = verify_rule(rule, FAST)
    assert verdict.status is Status.FAILS and verdict.outcome == "fails (expected)"
    assert "defined only when m = n" in verdict.message


# ---- mutants of the bundled rules that hold: each must fail ----


def _replace(node: Node, target: Node, new: Node) -> Node:
    if node is target:
        return new
    if isinstance(node, Call):
        return dataclasses.replace(node, args=tuple(_replace(a, target, new) for a in node.args))
    return node


def _parts(rule: Rule) -> tuple[str, str | None, Kind, Node]:
    """(f as text, wrt, kind, claim AST) of a rule in either form."""
    declared = {decl.name for decl in rule.symbols}
    if rule.claim is not None:
        parsed = parse_claim(rule.claim, declared)
        return unicode(parsed.f), parsed.wrt, parsed.kind, parsed.rhs
    assert rule.f is not None and rule.kind is not None and rule.rhs is not None
    return rule.f, rule.wrt, rule.kind, parse_expression(rule.rhs, declared)


def mutants(rule: Rule) -> dict[str, Node]:
    _, _, _, claim = _parts(rule)
    found: dict[str, Node] = {
        "transposed": Call("T", (claim,)),
        "doubled": Call("mul", (Num(Fraction(2)), claim)),
        "negated": Call("neg", (claim,)),
    }
    calls = [n for n in walk(claim) if isinstance(n, Call)]
    for i, t in enumerate(n for n in calls if n.op == "T"):
        found[f"transpose-{i}-dropped"] = _replace(claim, t, t.args[0])
    for i, m in enumerate(n for n in calls if n.op == "matmul"):
        found[f"product-{i}-swapped"] = _replace(claim, m, dataclasses.replace(
            m, args=m.args[::-1]))
    return found


def mutated(rule: Rule, name: str, claim: Node) -> Rule:
    """The rule with `claim` as its right-hand side, in the structured form."""
    f, wrt, kind, _ = _parts(rule)
    return Rule(id=f"{rule.id}.{name}", position=rule.position, f=f, wrt=wrt, kind=kind,
                rhs=unicode(claim), symbols=rule.symbols, assume=rule.assume,
                layout=rule.layout)


HOLDING = [r for r in SEED_RULES if r.expect is Expect.HOLDS]
MUTANTS = [pytest.param(rule, name, node, id=f"{rule.id}:{name}")
           for rule in HOLDING for name, node in mutants(rule).items()]


def same_meaning(original: Problem, mutant: Problem) -> bool:
    """Exactly equal claims (under the assumptions) at every planned size: a mutant that
    changes nothing, like the transpose of a symmetric result or twice a zero."""
    if mutant.shapes != original.shapes or mutant.dims != original.dims:
        return False
    for sizes in size_plan(original, 3):
        mats = symbol_matrices(original, sizes)
        direction = direction_matrix(original, sizes)
        lower = Lowering(mats, sizes, {original.wrt: direction}, stop_gradients=False)
        a, b = lower(original.claim), lower(mutant.claim)
        if a.shape != b.shape:
            return False
        subs = constraints(original, mats, direction)
        if any(sp.simplify((x - y).xreplace(subs)) != 0 for x, y in zip(a, b, strict=True)):
            return False
    return True


def test_same_meaning_recognises_a_mutant_that_changes_nothing() -> None:
    rule = claim_rule("∇²_x (xᵀAx) = A + Aᵀ")
    original = compile_rule(rule)
    _, _, _, claim = _parts(rule)
    transposed = compile_rule(mutated(rule, "transposed", Call("T", (claim,))))
    assert same_meaning(original, transposed)  # the Hessian is symmetric
    doubled = compile_rule(mutated(rule, "doubled", Call("mul", (Num(Fraction(2)), claim))))
    assert not same_meaning(original, doubled)


def test_the_mutants_cover_every_holding_seed_rule() -> None:
    assert {p.values[0].id for p in MUTANTS} == {r.id for r in HOLDING}
    names = {p.values[1] for p in MUTANTS}
    assert {"transposed", "doubled", "negated", "transpose-0-dropped",
            "product-0-swapped"} <= names


@pytest.mark.parametrize("rule", HOLDING, ids=[r.id for r in HOLDING])
def test_a_rebuilt_rule_still_holds(rule: Rule) -> None:
    # the mutants are built by printing the claim into the structured form; unmutated, that
    # must give the original verdict, or a failing mutant would prove nothing
    _, _, _, claim = _parts(rule)
    verdict = verify_rule(mutated(rule, "unchanged", claim), FAST)
    assert verdict.status is Status.HOLDS, verdict.message


@pytest.mark.parametrize(("rule", "name", "claim"), MUTANTS)
def test_mutant_fails(rule: Rule, name: str, claim: Node) -> None:
    mutant = mutated(rule, name, claim)
    try:
        problem = compile_rule(mutant)
    except RuleError as err:
        # Swapping the factors of (A + Aᵀ)x gives x(A + Aᵀ), which no sizes make a product:
        # that mutant is not a claim at all, and must be reported as ill-formed.
        verdict = verify_rule(mutant, FAST)
        assert verdict.status is Status.ILL_FORMED, (err.message, verdict.status)
        assert verdict.position is not None
        return
    if same_meaning(compile_rule(rule), problem):
        # Transposing a symmetric result, scaling a zero, swapping commuting factors: the
        # mutant states the same thing as the rule, so it rightly holds.
        pytest.skip(f"{unicode(claim)} means the same as the original claim")
    verdict = verify_rule(mutant, FAST)
    assert verdict.status is Status.FAILS, (unicode(claim), verdict.status, verdict.message)
    assert verdict.message
    shape_only = problem.shape_note != ""
    has_counterexample = verdict.numeric is not None and \
        verdict.numeric.counterexample is not None
    assert shape_only or has_counterexample


# ---- rules that cannot be read or typed ----

BAD_RULES = """
    rules:
      - id: parse-error
        claim: "∇_x (A x = Aᵀ"
      - id: shape-conflict
        claim: "∇_x (A x + x) = Aᵀ"
        symbols: {A: matrix(m, n)}
      - id: matrix-by-matrix
        claim: "∇_X (X X) = X"
      - id: hessian-of-a-vector
        claim: "∇²_x (A x) = A"
      - id: assume-unused
        claim: "∇_x (aᵀx) = a"
        assume: {B: [symmetric]}
      - id: symmetric-rectangular
        claim: "∇_x (xᵀ A y) = A y"
        symbols: {A: matrix(m, n)}
        assume: {A: [symmetric]}
      - id: structured-rhs
        f: "x.T @ x"
        wrt: x
        gradient: "2 * * x"
      - id: good
        claim: "∇_x (aᵀx) = a"
    """


def test_ill_formed_rules_point_at_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    text = textwrap.dedent(BAD_RULES).lstrip("\n")
    path.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    rules, diagnostics = load_file(path)
    assert diagnostics == []
    report = verify_rules(rules, diagnostics, FAST)
    verdicts = {v.rule_id: v for v in report.verdicts}
    assert verdicts.pop("good").status is Status.HOLDS  # the bad rules hide nothing
    assert set(verdicts) == {r.id for r in rules} - {"good"}
    for rule_id, verdict in verdicts.items():
        assert verdict.status is Status.ILL_FORMED, rule_id
        assert verdict.message, rule_id
        assert verdict.position is not None and verdict.position.file == str(path)
        assert verdict.diagnostics and verdict.diagnostics[0].position == verdict.position
        start = lines.index(f"  - id: {rule_id}") + 1
        assert start <= verdict.position.line <= start + 4, (rule_id, verdict.position)

    def column_of(rule_id: str, snippet: str) -> Position:
        line = next(i for i, t in enumerate(lines, 1)
                    if i > lines.index(f"  - id: {rule_id}") and snippet in t)
        return Position(str(path), line, lines[line - 1].index(snippet) + 1)

    assert verdicts["parse-error"].position == column_of("parse-error", "= Aᵀ")
    assert verdicts["shape-conflict"].position == column_of("shape-conflict", "+ x)")
    assert "vector(m)" in verdicts["shape-conflict"].message
    assert "vector(n)" in verdicts["shape-conflict"].message
    assert verdicts["structured-rhs"].position == column_of("structured-rhs", "* x")
    assert "d(f)" in verdicts["matrix-by-matrix"].diagnostics[0].hint
    assert report.exit_code == 2


@pytest.mark.parametrize("claim", ["∇_x (x + xᵀ) = 2I", "∇_x gelu(x) = x", "∇_x tr(x) = ones",
                                   "∇_x sum(xᵀA x + A + x) = x"])
def test_undeclared_vectors_keep_their_length(claim: str) -> None:
    # An undeclared lowercase letter is a column vector (spec §2): inference must not make it
    # 1×1 to let a row + column sum, tr of a vector or a product of vectors typecheck (the
    # rule would then be checked at n = 1 only). Declared as vector(n), x + xᵀ is ill-formed
    # too. gelu is no function of the language.
    verdict = verify_rule(claim_rule(claim), FAST)
    assert verdict.status is Status.ILL_FORMED, (verdict.status, verdict.message)
    assert verdict.position is not None


def test_a_transposed_constant_is_a_wrong_shape_not_a_crash() -> None:
    # the `transposed` mutant of autograd-sum
    verdict = verify_rule(claim_rule("∇_x sum(x) = onesᵀ"), FAST)
    assert verdict.status is Status.FAILS, verdict.message
    assert "row vector" in verdict.message


def test_declared_row_plus_column_is_ill_formed() -> None:
    verdict = verify_rule(claim_rule("∇_x (x + xᵀ) = 2I", symbols={"x": "vector(n)"}), FAST)
    assert verdict.status is Status.ILL_FORMED
    assert "row vector" in verdict.message


# ---- the tool's own failures are verdicts, not exceptions ----


def test_a_backend_exception_is_an_error_verdict() -> None:
    # inv(A − A) is the inverse of the zero matrix: torch.linalg.inv raises on every input
    broken = claim_rule("∇_A tr(inv(A − A)) = A")
    good = claim_rule("∇_x (aᵀx) = a")
    good = dataclasses.replace(good, id="good")
    report = verify_rules([broken, good], [], Options(examples=5, diagnose=False))
    first, second = report.verdicts
    assert first.status is Status.ERROR and first.message
    assert not first.as_expected
    assert second.status is Status.HOLDS
    assert report.exit_code == 1


def test_spd_and_diagonal_together() -> None:
    # the numeric inputs must be diagonal too, or autograd and sympy (which substitutes a
    # diagonal A) check different claims and disagree
    verdict = verify_rule(claim_rule("∇_x (xᵀAx) = 2 diag(A) ⊙ x",
                                     assume={"A": ["spd", "diagonal"]}), FAST)
    assert verdict.status is Status.HOLDS, verdict.message


# ---- fold: the evidence to a verdict ----

PROBLEM = compile_rule(claim_rule("∇_x (xᵀAx) = (A + Aᵀ)x"))
SHAPE_PROBLEM = compile_rule(claim_rule("∇_x (A x) = (A + Aᵀ) x",
                                        symbols={"A": "matrix(m, n)", "x": "vector(n)"}))
PROVED = SymbolicEvidence("proved", sizes=((("n", 1),), (("n", 2),), (("n", 3),)))
CLEAN = NumericEvidence(examples=20, max_abs_error=0.0, max_rel_error=0.0, rtol=1e-7,
                        atol=1e-9)
AGREED = CrossCheck(agreed=True, max_diff=0.0, sizes=(("n", 2),))


def counterexample_at(n: int) -> NumericEvidence:
    ce = Counterexample(sizes=(("n", n),), inputs=(), true=((1.0,),), claimed=((0.0,),),
                        abs_error=1.0, rel_error=1.0)
    return dataclasses.replace(CLEAN, counterexample=ce)


def test_fold_holds_when_everything_agrees() -> None:
    assert fold(PROBLEM, PROVED, CLEAN, AGREED) == (Status.HOLDS, "")
    assert fold(PROBLEM, PROVED, CLEAN, None)[0] is Status.HOLDS


def test_fold_oracles_disagreeing_at_the_sample_point_is_an_error() -> None:
    disagree = CrossCheck(agreed=False, max_diff=0.5, sizes=(("n", 2),),
                          detail="max difference 0.5 at sizes {'n': 2}")
    status, message = fold(PROBLEM, PROVED, CLEAN, disagree)
    assert status is Status.ERROR and "disagree" in message
    # whatever else the evidence says
    assert fold(PROBLEM, PROVED, counterexample_at(2), disagree)[0] is Status.ERROR


def test_fold_proof_and_counterexample_at_the_same_size_is_an_error() -> None:
    status, message = fold(PROBLEM, PROVED, counterexample_at(2), AGREED)
    assert status is Status.ERROR
    assert "disagree" in message and "n=2" in message


def test_fold_counterexample_fails() -> None:
    timeout = SymbolicEvidence("timeout", sizes=((("n", 1),),), detail="time limit")
    status, message = fold(PROBLEM, timeout, counterexample_at(2), AGREED)
    assert status is Status.FAILS and "n=2" in message
    disproved = SymbolicEvidence("disproved", sizes=((("n", 2),),), detail="entry (1, 1): …")
    assert fold(PROBLEM, disproved, counterexample_at(2), AGREED)[0] is Status.FAILS


def test_fold_exact_disproof_fails_without_a_counterexample() -> None:
    disproved = SymbolicEvidence("disproved", sizes=((("n", 2),),), detail="entry (1, 2): x")
    status, message = fold(PROBLEM, disproved, CLEAN, None)
    assert status is Status.FAILS and "entry (1, 2)" in message


def test_fold_shape_note_fails() -> None:
    assert SHAPE_PROBLEM.shape_note
    status, message = fold(SHAPE_PROBLEM, PROVED, CLEAN, None)
    assert status is Status.FAILS and message == SHAPE_PROBLEM.shape_note
    assert "defined only when m = n" in message


@pytest.mark.parametrize("status", ["timeout", "unsupported"])
def test_fold_numeric_only(status: str) -> None:
    symbolic = SymbolicEvidence(status, detail="why")
    verdict, message = fold(PROBLEM, symbolic, CLEAN, None)
    assert verdict is Status.HOLDS_NUMERIC and status in message


def test_fold_no_inputs_is_an_error() -> None:
    empty = dataclasses.replace(CLEAN, examples=0, detail="could not draw inputs")
    assert fold(PROBLEM, PROVED, empty, None) == (Status.ERROR, "could not draw inputs")


def test_verdict_fields() -> None:
    rule = claim_rule("∇_x (aᵀx) = a")
    verdict = verify_rule(rule, FAST)
    assert verdict.rule_id == "claim" and verdict.kind is Kind.GRADIENT
    assert verdict.symbolic is not None and verdict.numeric is not None
    assert verdict.crosscheck is not None and verdict.crosscheck.agreed
    assert verdict.numeric.examples == 20
    assert verdict.seconds >= 0 and not math.isnan(verdict.seconds)


# ---- issue 9: a declared direction is the direction ----

DINV = """\
rules:
  - id: dinv
    f: "inv(X)"
    wrt: X
    differential: "-inv(X) @ dX @ inv(X)"
    symbols: {X: "matrix(n,n)", dX: "matrix(n,n)"}
    assume: {X: [invertible]}
  - id: dinv-wrong-shape
    f: "inv(X)"
    wrt: X
    differential: "-inv(X) @ dX @ inv(X)"
    symbols: {X: "matrix(n,n)", dX: "matrix(n,m)"}
    assume: {X: [invertible]}
"""


def test_the_issues_declared_direction_holds(tmp_path: Path) -> None:
    path = tmp_path / "dinv.yaml"
    path.write_text(DINV, encoding="utf-8")
    dinv, wrong = verify_rules(rules_of(path), [], FAST).verdicts
    assert dinv.status is Status.HOLDS, dinv.message
    assert wrong.status is Status.ILL_FORMED
    assert wrong.message == "dX is declared matrix(n, m) but the direction of X is matrix(n, n)"
    assert wrong.position is not None and wrong.position.line == 12  # at dX's declaration


def _decl(name: str, shape: tuple[str | int, str | int]) -> SymbolDecl:
    rows, cols = shape
    if (rows, cols) == (1, 1):
        return SymbolDecl(name, "scalar", ())
    return SymbolDecl(name, "vector", (rows,)) if cols == 1 else SymbolDecl(name, "matrix", shape)


def _with_declared_direction(rule: Rule, problem: Problem) -> Rule:
    """The rule with `d<wrt>` declared in wrt's shape: the shape f alone gives it, before a
    claim "defined only when m = n" joins its dimensions (so a claim of d(f) = 0 tells)."""
    alone = compile_rule(
        dataclasses.replace(
            rule, claim=None, f=unicode(problem.f), wrt=problem.wrt, kind=Kind.DIFFERENTIAL,
            rhs="0",
        )
    )
    return dataclasses.replace(
        rule, symbols=(*rule.symbols, _decl(f"d{problem.wrt}", alone.shapes[problem.wrt]))
    )


CATALOG_DIFFERENTIALS = [
    (rule, problem)
    for rule in load_file(bundled_catalog())[0]
    for problem in [compile_rule(rule)]
    if problem.kind is Kind.DIFFERENTIAL
]


def test_the_catalog_has_differentials_of_both_spellings() -> None:
    assert len(CATALOG_DIFFERENTIALS) >= 30
    assert any(rule.claim is not None for rule, _ in CATALOG_DIFFERENTIALS)  # d(f) = …
    assert any(rule.kind is Kind.DIFFERENTIAL for rule, _ in CATALOG_DIFFERENTIALS)
    assert any(rule.expect is Expect.FAILS for rule, _ in CATALOG_DIFFERENTIALS)


def test_every_catalog_differential_reads_the_same_with_its_direction_declared() -> None:
    for rule, problem in CATALOG_DIFFERENTIALS:
        declared = compile_rule(_with_declared_direction(rule, problem))
        assert declared == problem, rule.id  # the same Problem: every check sees the same


def test_every_catalog_differential_gets_the_same_verdict_with_its_direction_declared() -> None:
    rules = [rule for rule, _ in CATALOG_DIFFERENTIALS]
    declared = [_with_declared_direction(rule, problem) for rule, problem in CATALOG_DIFFERENTIALS]
    # small: the Problems are equal (above), so this only confirms what they imply
    quick = Options(examples=5, diagnose=False, max_symbolic_size=2, max_numeric_size=3)
    plain, with_dx = verify_rules(rules, [], quick), verify_rules(declared, [], quick)
    for a, b in zip(plain.verdicts, with_dx.verdicts, strict=True):
        assert (a.rule_id, a.status, a.message) == (b.rule_id, b.status, b.message)
        assert a.as_expected, (a.rule_id, a.message)


def test_a_declared_dx_in_a_gradient_is_a_symbol_of_its_own() -> None:
    # sympy named dX's entries like the direction's (dX11): the cross-check mixed them up
    rule = claim_rule("∇_X tr(dX X) = dXᵀ", symbols={"X": "matrix(n,n)", "dX": "matrix(n,n)"})
    verdict = verify_rule(rule, FAST)
    assert verdict.status is Status.HOLDS, verdict.message


def test_symbols_whose_entries_sympy_named_alike_stay_apart() -> None:
    # A's entry A11 and A1's entry A11 were one sympy symbol: a true rule was an `error`
    rule = claim_rule(
        "∇_A (A1ᵀAx) = A1 xᵀ", symbols={"A1": "vector(n)", "A": "matrix(n,n)", "x": "vector(n)"}
    )
    verdict = verify_rule(rule, FAST)
    assert verdict.status is Status.HOLDS, verdict.message


# ---- issue 9: numeric evidence includes its counterexample ----

FAILING = [
    "∇_x (xᵀAx) = 2Ax",
    "∇_x (xᵀx)² = 3x",
    "∇²_x (xᵀAx) = A",
    "d(XᵀX) = 2Xᵀ dX",
    "∇_x sum(x ** 3) = 3x ** 3",
    "∇_X tr(XᵀA) = Aᵀ",
    "∇_X tr(XA) = Aᵀ + tr(X) I",
    "∇_x log(aᵀx) = a",
    "∇_x (A x) = (A + A^T) x",  # shapes differ at first, not at the shrunk counterexample
]


@pytest.mark.parametrize("claim", FAILING)
def test_numeric_evidence_includes_the_counterexample(claim: str) -> None:
    from gradcheck.report.json_report import dumps, report_to_dict

    report = verify_rules([claim_rule(claim)], [], FAST)
    (verdict,) = report.verdicts
    assert verdict.status is Status.FAILS
    numeric = verdict.numeric
    assert numeric is not None and numeric.counterexample is not None
    cx = numeric.counterexample
    assert numeric.examples >= 1
    assert numeric.max_abs_error >= cx.abs_error
    assert numeric.max_rel_error >= cx.rel_error
    (data,) = json.loads(dumps(report_to_dict(report)))["rules"]
    numbers, cx_numbers = data["numeric"], data["counterexample"]  # inf is the string "inf"
    assert float(numbers["max_abs_error"]) >= float(cx_numbers["abs_error"])
    assert float(numbers["max_rel_error"]) >= float(cx_numbers["rel_error"])
    assert data["numeric"]["examples"] >= 1


def test_a_holding_rule_counts_every_example_and_no_counterexample() -> None:
    verdict = verify_rule(claim_rule("∇_x (aᵀx) = a"), FAST)
    assert verdict.numeric is not None and verdict.numeric.counterexample is None
    assert verdict.numeric.examples == FAST.examples


# ---- issue 9: messages in gradcheck's notation, never sympy's ----

SYMPY_SYNTAX = re.compile(
    r"\*\*"  # a power
    r"|[\w)\]]\s*\*\s*[\w(]"  # a product
    r"|Matrix\(|MatrixSymbol|ImmutableMatrix|Transpose\(|Inverse\(|Trace\(|Determinant\("
    r"|HadamardProduct|MatMul|MatAdd|Abs\(|sign\(|Symbol\(|Dummy|_dummy"
    r"|\{'|\(\d+, \d+\) (?:and|do|where)"  # a Python dict, a shape tuple
)
WRONG = [
    ("∇_x (xᵀAx) = 2Ax", ["2A₁₁x₁"]),
    ("∇_x (xᵀx)² = 3x", ["4x³", "3x"]),
    ("∇²_x (xᵀAx) = A", ["2A"]),
    ("d(XᵀX) = dXᵀX", ["2X dX"]),
    ("∇_x sum(x ** 3) = 3x ** 3", ["3x²", "3x³"]),
    ("∇_x tanh(aᵀx) = a", ["1 − tanh(ax)²"]),
    ("∇_x exp(aᵀx) = a", ["exp(ax) a"]),
    ("d(X⁻¹) = −X⁻¹ X⁻¹ dX", []),
    ("∇_X tr(XᵀA) = Aᵀ", ["2×1"]),
]


def _messages(data: object) -> list[str]:
    """Every sentence of a verdict's JSON: messages, details, notes, the diagnosis."""
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("message", "detail", "matrix_detail", "note", "suggestion", "hint"):
                found.append(str(value))
            found.extend(_messages(value))
    elif isinstance(data, list):
        for item in data:
            found.extend(_messages(item))
    return found


@pytest.mark.parametrize(("claim", "shown"), WRONG)
def test_messages_are_in_gradchecks_notation(claim: str, shown: list[str]) -> None:
    from gradcheck.report.json_report import dumps, report_to_dict

    report = verify_rules([claim_rule(claim)], [], Options(examples=20))
    (data,) = json.loads(dumps(report_to_dict(report)))["rules"]
    assert data["verdict"] == "fails"
    texts = _messages(data)
    assert data["diagnosis"] is not None and data["symbolic"]["detail"]
    for text in texts:
        assert not SYMPY_SYNTAX.search(text), (claim, text)
    for piece in shown:
        assert piece in data["symbolic"]["detail"], data["symbolic"]["detail"]


def test_check_json_from_the_command_line_is_in_gradchecks_notation() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gradcheck", "check", "∇_x (xᵀAx) = 2Ax", "--format", "json",
         "--examples", "20"],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode == 1, out.stderr
    (data,) = json.loads(out.stdout)["rules"]
    assert "the derivative is 2A₁₁x₁ + A₁₂x₂ + A₂₁x₂, the claim 2A₁₁x₁ + 2A₁₂x₂" in (
        data["symbolic"]["detail"]
    )
    for text in _messages(data):
        assert not SYMPY_SYNTAX.search(text), text


# ---- the checks on a compiled problem ----


def _without_timings(verdict: Verdict) -> Verdict:
    symbolic = replace(verdict.symbolic, seconds=0.0) if verdict.symbolic else None
    numeric = replace(verdict.numeric, seconds=0.0) if verdict.numeric else None
    return replace(verdict, seconds=0.0, symbolic=symbolic, numeric=numeric)


@pytest.mark.parametrize(
    ("written", "target"),
    [("∇_x (xᵀAx) = 2Ax", "∇_x (xᵀAx) = (A + Aᵀ)x"), ("∇_X tr(AX) = Aᵀ", "∇_X tr(AX) = A")],
)
def test_a_retargeted_problem_gets_the_verdict_of_the_rule_so_written(
    written: str, target: str
) -> None:
    rule = claim_rule(target)
    retargeted = compile_rule(claim_rule(written)).retarget(claim=compile_rule(rule).parsed.claim)
    assert _without_timings(verdict_for(rule, retargeted, FAST)) == _without_timings(
        verify_rule(rule, FAST)
    )


def test_check_problem_folds_the_evidence_of_a_problem() -> None:
    holds = check_problem(compile_rule(claim_rule("∇_x (aᵀx) = a")), FAST)
    assert holds.status is Status.HOLDS and holds.holds and holds.numeric is not None
    fails = check_problem(compile_rule(claim_rule("∇_x (aᵀx) = 2a")), FAST)
    assert fails.status is Status.FAILS and not fails.holds
    assert fails.message.startswith("counterexample") or "disproof" in fails.message


def test_a_verdict_keeps_the_compiled_rule_for_reporters() -> None:
    rule = claim_rule("∇_x (xᵀAx) = (A + Aᵀ)x")
    verdict = verify_rule(rule, FAST)
    assert verdict.statement == compile_rule(rule).statement()
    unreadable = rule_from_claim("∇_x (aᵀx = a")[0]
    assert unreadable is not None
    assert verify_rule(unreadable, FAST).statement is None
