"""The diagnosis of failing claims: the issue's acceptance claims, `gradcheck explain`, the JSON
report, and a sample of the mutant corpus tests/data/mutants.yaml (bench/make_mutants.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from gradcheck import api
from gradcheck.catalog import load_file, rule_from_claim
from gradcheck.model import Options, Rule, Status, Verdict
from gradcheck.verdicts import verify_rules

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "tests" / "data" / "mutants.yaml"
ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
CATEGORIES = {"shape", "layout", "transposed", "scale", "assumption", "term", "inverse", "differs"}
EXPECTED_CATEGORY = {
    "layout": "layout",
    "inverse": "inverse",
    "symmetrization": "assumption",
    "swap": "inverse",  # "a wrong order of factors" is filed under inverse
    "transpose": "transposed",
    "scale-2": "scale",
    "scale-half": "scale",
    "sign": "scale",
}


# ---- the CLI runs, started in the background when the module starts (they share the cores
# ---- with the in-process checks below instead of running one after another)

WRONG_RULES = textwrap.dedent(
    """\
    rules:
      - id: trace-ax-wrong
        claim: "∇_X tr(AX) = A"
      - id: quadratic-2ax
        claim: "∇_x (xᵀAx) = 2Ax"
        expect: fails
      - id: linear-map-right
        claim: "∇_x (A x) = Aᵀ"
    """
)


class Run:
    """`gradcheck ARGS` in the background; its output goes to files, not pipes."""

    def __init__(self, args: tuple[str | Path, ...], folder: Path) -> None:
        self.out, self.err = folder / "stdout", folder / "stderr"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gradcheck", *map(str, args)],
                stdout=out,
                stderr=err,
                text=True,
                env=ENV,
                cwd=ROOT,
            )

    def result(self, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        code = self.process.wait(timeout)
        return subprocess.CompletedProcess(
            self.process.args,
            code,
            self.out.read_text(encoding="utf-8"),
            self.err.read_text(encoding="utf-8"),
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _commands(folder: Path) -> dict[str, tuple[str, tuple[str | Path, ...]]]:
    """name: (the test that reads it, the command)."""
    rules = folder / "wrong.yaml"
    rules.write_text(WRONG_RULES, encoding="utf-8")
    return {
        "seed-note": (
            "test_explain_the_seed_note_is_a_shape_mistake",
            ("explain", "linear-map-note-symmetrised"),
        ),
        "quadratic": (
            "test_explain_a_wrong_claim_shows_the_mistake_and_the_fix",
            ("explain", "∇_x (xᵀAx) = 2Ax"),
        ),
        "holds": (
            "test_explain_a_claim_that_holds",
            ("explain", "∇_x (A x) = Aᵀ", "--symbol", "A:matrix(m, n)"),
        ),
        "unreadable": (
            "test_explain_an_unreadable_claim_exits_2",
            ("explain", "∇_x (xᵀAx = 2Ax"),
        ),
        "by-path": (
            "test_explain_a_rule_id_from_a_path",
            ("explain", "trace-ax-wrong", "--path", rules),
        ),
        "json": (
            "test_json_report_carries_the_diagnosis",
            ("verify", rules, "--format", "json", "--examples", "20"),
        ),
        "trace": (
            "test_explain_a_shape_only_counterexample_adds_one_whose_entries_differ",
            ("explain", "∇_X tr(AX) = A"),
        ),
        "no-diagnose": (
            "test_no_diagnose_leaves_the_diagnosis_out",
            ("verify", rules, "--format", "json", "--examples", "20", "--no-diagnose"),
        ),
        "check-panel": (
            "test_check_shows_the_mistake_once",
            ("check", "∇_x (Ax) = (A + Aᵀ)x", "--symbol", "A:matrix(m, n)", "--examples", "20"),
        ),
    }


@pytest.fixture(scope="module", autouse=True)
def cli(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Run]]:
    """The commands the selected tests of this module read, started as the module starts."""
    selected = {
        getattr(item, "originalname", item.name)
        for item in request.session.items
        if item.module is request.module
    }
    folder = tmp_path_factory.mktemp("explain")
    runs = {
        name: Run(args, tmp_path_factory.mktemp(name))
        for name, (user, args) in _commands(folder).items()
        if user in selected
    }
    yield runs
    for run in runs.values():
        run.stop()


# ---- the acceptance claims of the issue, through the Python API


def test_symmetric_quadratic_form_needs_the_assumption() -> None:
    verdict = api.check("∇_x (xᵀAx) = 2Ax")
    assert verdict.status is Status.FAILS
    d = verdict.diagnosis
    assert d is not None
    assert d.category == "assumption"
    assert "only if A is symmetric" in d.detail
    assert d.suggestion == "(A + Aᵀ)x"
    assert d.confirmed
    assert "(A + Aᵀ)x" in d.corrected


def test_gradient_of_trace_ax_is_transposed() -> None:
    d = api.check("∇_X tr(AX) = A").diagnosis
    assert d is not None
    assert d.category == "transposed"
    assert d.suggestion == "Aᵀ"
    assert d.confirmed


def test_gradient_of_log_det_is_the_inverse_transpose() -> None:
    verdict = api.check("∇_X log det X = X⁻¹")
    d = verdict.diagnosis
    assert verdict.status is Status.FAILS and d is not None
    assert d.category in ("inverse", "transposed")  # the issue: "says inverse/transposed"
    assert "X⁻ᵀ" in d.detail or d.category == "transposed"
    assert d.suggestion == "X⁻ᵀ"
    assert d.confirmed


def test_half_the_gradient_of_the_squared_norm_is_a_scale_mistake() -> None:
    d = api.check("∇_x ‖x‖² = x").diagnosis
    assert d is not None
    assert d.category == "scale"
    assert "½" in d.detail
    assert d.suggestion == "2x"
    assert d.confirmed


def test_one_factor_transposed_is_named() -> None:
    """2A(Ax − b) for 2Aᵀ(Ax − b): defined only when A is square, and even then wrong unless A
    is symmetric; the mistake is the one factor, and "A symmetric" must not hide it (it would
    make f's A square too)."""
    verdict = api.check("∇_x ‖Ax − b‖² = 2A(Ax − b)")
    d = verdict.diagnosis
    assert verdict.status is Status.FAILS and d is not None
    assert (d.category, d.detail) == ("transposed", "the factor A should be Aᵀ")
    assert d.suggestion == "2Aᵀ(Ax − b)" and d.confirmed


def test_an_assumption_that_would_change_f_is_not_offered() -> None:
    """∇_x (aᵀAx) = Aa is defined only when the dimensions of A are equal. "A symmetric"
    would make it hold, but only by making f's A square as well, so it is not a candidate
    repair; "x positive" still is."""
    from gradcheck.diagnose import _assumption_repairs
    from gradcheck.problem import compile_rule

    rule = rule_from_claim("∇_x (aᵀAx) = Aa", symbols={"A": "matrix(m, n)"})[0]
    assert rule is not None
    problem = compile_rule(rule)
    assert problem.shape_note.startswith("defined only when")
    offered = [r.detail for r in _assumption_repairs(rule, problem)]
    assert not any("A is" in text for text in offered), offered
    assert "the claim holds only if x is positive" in offered
    square = rule_from_claim("∇_x (xᵀAx) = 2Ax")[0]
    assert square is not None
    offered = [r.detail for r in _assumption_repairs(square, compile_rule(square))]
    assert "the claim holds only if A is symmetric" in offered


def test_a_scale_mistake_where_f_is_defined_only_for_tall_matrices() -> None:
    """log det(XᵀX) is defined only where X is tall: the scale is measured where f is
    defined, and the suggestion is derived from f's own (rectangular) shapes."""
    verdict = api.check("∇_X log det(XᵀX) = 4X(XᵀX)⁻¹", symbols={"X": "matrix(m, n)"})
    d = verdict.diagnosis
    assert verdict.status is Status.FAILS and d is not None
    assert (d.category, d.detail) == ("scale", "the claim is 2 times the derivative")
    assert d.suggestion == "2X(XᵀX)⁻¹" and d.confirmed
    swapped = api.check("∇_X log det(XᵀX) = 2(XᵀX)⁻¹X", symbols={"X": "matrix(m, n)"})
    d = swapped.diagnosis
    assert swapped.status is Status.FAILS and d is not None
    assert d.category == "inverse"  # a wrong order of factors
    assert d.suggestion == "2X(XᵀX)⁻¹" and d.confirmed  # not the square-only 2X⁻ᵀ


def test_a_claim_that_holds_has_no_diagnosis() -> None:
    verdict = api.check("∇_X tr(AX) = Aᵀ")
    assert verdict.status in (Status.HOLDS, Status.HOLDS_NUMERIC)
    assert verdict.diagnosis is None


# ---- gradcheck explain


def plain(panel: str) -> str:
    """The text of a panel without its frame, every run of whitespace one space (so that a
    phrase wrapped onto the next line of the panel still reads as one phrase)."""
    return " ".join(panel.translate(str.maketrans("│╭╮╰╯─", "      ")).split())


def test_explain_the_seed_note_is_a_shape_mistake(cli: dict[str, Run]) -> None:
    done = cli["seed-note"].result()
    assert done.returncode == 0, done.stdout + done.stderr  # `expect: fails`, and it fails
    out = plain(done.stdout)
    assert "linear-map-note-symmetrised" in out
    assert "fails (expected)" in out
    assert "mistake shape: defined only when m = n" in out
    assert "even then the claim is vector(n) where the derivative is matrix(n, m)" in out
    assert "derivative Aᵀ" in out
    assert "claim: '∇_x (Ax) = Aᵀ'" in out  # the corrected rule


def test_explain_a_wrong_claim_shows_the_mistake_and_the_fix(cli: dict[str, Run]) -> None:
    done = cli["quadratic"].result()
    assert done.returncode == 1, done.stdout + done.stderr
    out = plain(done.stdout)
    for text in (
        "rule ∇_x (xᵀAx) = 2Ax",
        "verdict fails",
        "derivative (A + Aᵀ)x",
        "mistake assumption: the claim holds only if A is symmetric",
        "minimal counterexample",
        "corrected rule",
        "claim: '∇_x (xᵀAx) = (A + Aᵀ)x'",
    ):
        assert text in out, (text, out)
    assert "(not verified)" not in out
    assert max(len(line) for line in done.stdout.splitlines()) <= 120


def test_explain_a_claim_that_holds(cli: dict[str, Run]) -> None:
    done = cli["holds"].result()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "holds" in done.stdout
    assert "nothing to explain: the claim holds" in done.stdout
    assert "mistake" not in done.stdout


def test_explain_an_unreadable_claim_exits_2(cli: dict[str, Run]) -> None:
    done = cli["unreadable"].result()
    assert done.returncode == 2, done.stdout + done.stderr
    assert "ill-formed" in done.stdout + done.stderr
    assert "expected ')'" in done.stdout + done.stderr


def test_explain_a_rule_id_from_a_path(cli: dict[str, Run]) -> None:
    done = cli["by-path"].result()
    assert done.returncode == 1, done.stdout + done.stderr
    out = plain(done.stdout)
    assert "trace-ax-wrong" in out
    assert "mistake transposed: the claim is the transpose of the derivative" in out
    assert "derivative Aᵀ" in out


def test_json_report_carries_the_diagnosis(cli: dict[str, Run]) -> None:
    done = cli["json"].result()
    assert done.returncode == 1, done.stdout + done.stderr  # trace-ax-wrong should hold
    rules = {r["id"]: r for r in json.loads(done.stdout)["rules"]}
    wrong = rules["trace-ax-wrong"]["diagnosis"]
    assert wrong["category"] == "transposed"
    assert wrong["detail"] == "the claim is the transpose of the derivative"
    assert wrong["suggestion"] == "Aᵀ"
    assert wrong["confirmed"] is True
    assert "claim: '∇_X tr(AX) = Aᵀ'" in wrong["corrected"]
    expected = rules["quadratic-2ax"]
    assert expected["outcome"] == "fails (expected)"
    assert expected["diagnosis"]["category"] == "assumption"
    assert "A is symmetric" in expected["diagnosis"]["detail"]
    assert expected["diagnosis"]["suggestion"] == "(A + Aᵀ)x"
    assert rules["linear-map-right"]["diagnosis"] is None


def test_explain_a_shape_only_counterexample_adds_one_whose_entries_differ(
    cli: dict[str, Run],
) -> None:
    """∇_X tr(AX) = A: the minimal counterexample (m=1, n=2) only shows a 1×2 claim against a
    2×1 derivative; the panel adds one at m = n where the entries themselves differ."""
    done = cli["trace"].result()
    assert done.returncode == 1, done.stdout + done.stderr
    out = plain(done.stdout)
    assert "mistake transposed: the claim is the transpose of the derivative" in out
    assert "the claim is 1×2 where the derivative is 2×1" in out
    assert "counterexample where the shapes agree sizes m=2, n=2" in out


def test_no_diagnose_leaves_the_diagnosis_out(cli: dict[str, Run]) -> None:
    done = cli["no-diagnose"].result()
    assert done.returncode == 1, done.stdout + done.stderr  # the verdicts do not change
    rules = {r["id"]: r for r in json.loads(done.stdout)["rules"]}
    assert rules["trace-ax-wrong"]["verdict"] == "fails"
    assert rules["quadratic-2ax"]["outcome"] == "fails (expected)"
    assert all(r["diagnosis"] is None for r in rules.values())


def test_check_shows_the_mistake_once(cli: dict[str, Run]) -> None:
    """The seed's note through `check`: the panel names the mistake; the table's one-line
    diagnosis does not repeat a suggestion the sentence already names."""
    done = cli["check-panel"].result()
    assert done.returncode == 1, done.stdout + done.stderr
    out = plain(done.stdout)
    assert "mistake shape: defined only when m = n" in out
    assert "the derivative is Aᵀ" in out
    assert "→ Aᵀ" not in out


# ---- the mutant corpus


def _corpus() -> list[Rule]:
    rules, diagnostics = load_file(MUTANTS) if MUTANTS.is_file() else ([], [])
    assert not diagnostics, diagnostics[:3]
    return rules


def _tag(rule: Rule, name: str) -> str:
    return next(t.split(":", 1)[1] for t in rule.tags if t.startswith(f"{name}:"))


def _sample(rules: list[Rule], size: int = 36) -> list[Rule]:
    """A deterministic sample stratified by mutation: evenly spaced entries of each mutation
    kind, about size / (number of kinds) of each, so every kind is tested.

    The whole corpus (hundreds of mutants, each diagnosed by verifying several repaired
    claims) takes far too long for the test suite: `python bench/diagnosis.py` measures all of
    it. 36 mutants take about 2-3 minutes on 2 cores.
    """
    groups: dict[str, list[Rule]] = defaultdict(list)
    for rule in rules:
        groups[_tag(rule, "mutation")].append(rule)
    quota = max(1, size // max(1, len(groups)))
    chosen: list[Rule] = []
    for name in sorted(groups):
        group = groups[name]
        step = max(1, len(group) // quota)
        chosen += group[step // 2 :: step][:quota]
    return chosen


CORPUS = _corpus()
SAMPLE = _sample(CORPUS)
# Known limitations of the diagnosis, by mutant id (strict: fixing one makes the test say so).
KNOWN: dict[str, str] = {}


def test_the_corpus_is_there_and_well_formed() -> None:
    assert len(CORPUS) >= 100, "run python bench/make_mutants.py"
    ids = [r.id for r in CORPUS]
    assert len(ids) == len(set(ids))
    for rule in CORPUS:
        mutation = _tag(rule, "mutation")
        assert _tag(rule, "category") == EXPECTED_CATEGORY[mutation], rule.id
        assert rule.id.startswith(f"{rule.correct}--")
        assert rule.expect.value == "fails"
    assert {_tag(r, "mutation") for r in SAMPLE} == {_tag(r, "mutation") for r in CORPUS}


@pytest.fixture(scope="module")
def sample_verdicts() -> dict[str, Verdict]:
    """The sample's verdicts with diagnosis, in two processes (as bench/diagnosis.py runs)."""
    report = verify_rules(SAMPLE, [], Options(jobs=2, examples=30))
    return {v.rule_id: v for v in report.verdicts}


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param(r, marks=pytest.mark.xfail(strict=True, reason=KNOWN[r.id]))
        if r.id in KNOWN
        else r
        for r in SAMPLE
    ],
    ids=[r.id for r in SAMPLE],
)
def test_mutant_gets_the_category_of_its_mutation(
    rule: Rule, sample_verdicts: dict[str, Verdict]
) -> None:
    verdict = sample_verdicts[rule.id]
    assert verdict.status is Status.FAILS, verdict.message
    d = verdict.diagnosis
    assert d is not None
    assert d.category in CATEGORIES
    expected = _tag(rule, "category")
    assert d.category == expected, f"{verdict.display}: {d.category}: {d.detail}"
    assert d.confirmed, f"suggestion {d.suggestion!r} does not verify"
    assert d.suggestion
