"""The reporters on hand-built reports: the table's text and the JSON's shape."""

from __future__ import annotations

import io
import json
import math

import pytest
from rich.console import Console

from gradcheck.model import (
    Counterexample,
    CrossCheck,
    Diagnostic,
    Expect,
    Kind,
    NumericEvidence,
    Position,
    Report,
    Rule,
    Status,
    SymbolicEvidence,
    Verdict,
)
from gradcheck.report import (
    Format,
    count_outcomes,
    format_matrix,
    format_number,
    render,
    render_rules,
    rule_text,
)
from gradcheck.report.json_report import report_to_dict
from gradcheck.report.table import numeric_cell, summary, symbolic_cell

SIZES = tuple((("m", m), ("n", n)) for m in (1, 2, 3) for n in (1, 2))
PROVED = SymbolicEvidence("proved", sizes=SIZES, seconds=0.4)
CLEAN = NumericEvidence(60, 2.2e-16, 1.1e-16, rtol=1e-7, atol=1e-9, seconds=0.2)
CX = Counterexample(
    sizes=(("n", 2),),
    inputs=(("A", ((1.0, 2.0), (3.0, 4.0))), ("x", ((1.0,), (-0.5,)))),
    true=((2.0, 3.0), (4.0, 5.0)),
    claimed=((1.0, 0.0), (0.0, 1.0)),
    abs_error=4.0,
    rel_error=0.8,
)
FAILING = NumericEvidence(12, 4.0, 0.8, rtol=1e-7, atol=1e-9, counterexample=CX)


def verdict(rule_id: str, status: Status, **kw: object) -> Verdict:
    """A verdict with a position and a display; `kw` overrides any field."""
    fields: dict[str, object] = {
        "expect": Expect.HOLDS, "display": f"∇ₓ {rule_id}", "kind": Kind.GRADIENT,
        "position": Position("rules/seed.yaml", 3, 5), "source": "d2l 2.4", "tags": ("t",),
    }
    fields.update(kw)
    return Verdict(rule_id, status, **fields)  # type: ignore[arg-type]


BAD_DIAG = Diagnostic(Position("rules/bad.yaml", 7, 12), "A x: A has 3 columns but x has 2 rows",
                      hint="declare x: vector(3)", rule_id="bad-shape")
VERDICTS = (
    verdict("linear-map", Status.HOLDS, symbolic=PROVED, numeric=CLEAN,
            crosscheck=CrossCheck(True, 0.0, (("n", 2),))),
    verdict("slow-one", Status.HOLDS_NUMERIC, numeric=CLEAN,
            symbolic=SymbolicEvidence("timeout", seconds=20.0), message="symbolic timed out"),
    verdict("erratum", Status.FAILS, expect=Expect.FAILS, numeric=FAILING,
            symbolic=SymbolicEvidence("disproved", sizes=((("n", 2),),)),
            message="claim differs from the true gradient"),
    verdict("wrong", Status.FAILS, numeric=FAILING, message="claim differs"),
    verdict("too-right", Status.HOLDS, expect=Expect.FAILS, symbolic=PROVED, numeric=CLEAN,
            message="expected to fail, but holds"),
    verdict("bad-shape", Status.ILL_FORMED, message="shape conflict", diagnostics=(BAD_DIAG,)),
    verdict("crashed", Status.ERROR, message="oracles disagree: sympy 1 vs autograd 2",
            symbolic=SymbolicEvidence("unsupported", detail="no lowering for erf"),
            crosscheck=CrossCheck(False, 1.0)),
)
FILE_ERROR = Diagnostic(Position("rules/broken.yaml", 1, 1), "not valid YAML", hint="indent")


def make_report(verdicts: tuple[Verdict, ...] = VERDICTS, **kw: object) -> Report:
    """A report of `verdicts` with seed 7."""
    return Report(verdicts, seed=7, seconds=12.34, examples=60, **kw)  # type: ignore[arg-type]


def capture(report: Report, fmt: Format, *, detail: bool = False) -> tuple[str, str]:
    """Render into recording consoles, 160 columns, no colour; return (stdout, stderr)."""
    out = Console(record=True, width=160, no_color=True, file=io.StringIO())
    err = Console(record=True, width=160, no_color=True, file=io.StringIO())
    render(report, fmt, out, err, detail=detail)
    return out.export_text(), err.export_text()


def test_numbers_and_matrices_are_compact() -> None:
    assert format_number(1 / 3) == "0.333"
    assert format_number(-0.0) == "0"
    assert format_number(math.inf) == "inf"
    assert format_matrix(((1.0, 0.0), (0.0, 1.0))) == "[[1, 0], [0, 1]]"
    assert format_matrix(((1.0,), (2.5,))) == "[1, 2.5]ᵀ"
    assert format_matrix(((2.0,),)) == "2"
    assert format_matrix(((1.0, math.nan),)) == "[[1, nan]]"


def test_cells_describe_the_evidence() -> None:
    assert symbolic_cell(PROVED) == "proved at 6 sizes (m ≤ 3, n ≤ 2)"
    assert symbolic_cell(SymbolicEvidence("proved", sizes=((("n", 3),), (("n", 2),)))) == \
        "proved at 2 sizes (n ≤ 3)"
    assert symbolic_cell(SymbolicEvidence("timeout", seconds=20.0)) == "timeout after 20 s"
    assert symbolic_cell(SymbolicEvidence("unsupported", detail="erf")) == "unsupported: erf"
    assert symbolic_cell(None) == "—"
    assert numeric_cell(CLEAN) == "60 ex., max err 2.2e-16"
    assert numeric_cell(FAILING) == "counterexample at n=2"


def test_table_shows_every_verdict_and_why() -> None:
    out, _ = capture(make_report(), Format.TABLE)
    for v in VERDICTS:
        assert v.rule_id in out
        assert v.outcome in out
    assert "fails (expected)" in out
    assert "holds (expected to fail)" in out
    assert "true    [[2, 3], [4, 5]]" in out
    assert "claimed [[1, 0], [0, 1]]" in out
    assert "abs err 4, rel err 0.8 at n=2" in out
    assert "oracles disagree" in out
    assert "proved at 6 sizes (m ≤ 3, n ≤ 2)" in out
    assert "rules/bad.yaml" not in out  # diagnostics go to stderr


def test_summary_counts_outcomes() -> None:
    line = summary(make_report())
    assert line.startswith("7 rules: 1 holds, 1 holds (numeric only), 1 fails as expected, ")
    assert "1 fails, 1 holds but was expected to fail, 1 ill-formed, 1 error" in line
    assert line.endswith("· seed 7 · 60 examples/rule · 12.3 s")
    out, _ = capture(make_report(), Format.TABLE)
    assert out.rstrip().splitlines()[-1] == line


def test_summary_of_a_clean_run() -> None:
    report = make_report((VERDICTS[0], VERDICTS[0], VERDICTS[2]))
    assert summary(report) == \
        "3 rules: 2 hold, 1 fails as expected · seed 7 · 60 examples/rule · 12.3 s"


def test_diagnostics_go_to_stderr() -> None:
    _, err = capture(make_report(errors=(FILE_ERROR,)), Format.TABLE)
    assert "rules/broken.yaml:1:1: not valid YAML (indent)" in err
    assert ("rules/bad.yaml:7:12: A x: A has 3 columns but x has 2 rows "
            "(declare x: vector(3))") in err


def test_detail_panel_shows_the_counterexample_inputs() -> None:
    out, _ = capture(make_report((VERDICTS[3],)), Format.TABLE, detail=True)
    assert "counterexample" in out
    assert "[1  2]" in out and "[3  4]" in out  # A as a small matrix
    assert "[   1]" in out and "[-0.5]" in out  # x as a column
    assert "rtol 1e-07" in out


def test_narrow_terminal_wraps_instead_of_cutting() -> None:
    long = verdict("long", Status.FAILS, display="∇ₓ " + "x + " * 40 + "x", numeric=FAILING)
    out = Console(record=True, width=60, no_color=True, file=io.StringIO())
    render(make_report((long,)), Format.TABLE, out, Console(file=io.StringIO()))
    text = out.export_text()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 60
    rule_column = "".join(line.split("│")[2] for line in text.splitlines() if "│" in line)
    assert rule_column.replace(" ", "").startswith("∇ₓ" + "x+" * 40 + "x")


def test_json_is_valid_with_one_object_per_verdict() -> None:
    out, _ = capture(make_report(errors=(FILE_ERROR,)), Format.JSON)
    data = json.loads(out)
    assert data["seed"] == 7
    assert data["examples"] == 60
    assert data["exit_code"] == 2
    assert [r["id"] for r in data["rules"]] == [v.rule_id for v in VERDICTS]
    assert data["counts"] == count_outcomes(VERDICTS)
    assert data["errors"][0]["position"] == "rules/broken.yaml:1:1"
    erratum = data["rules"][2]
    assert (erratum["outcome"], erratum["verdict"], erratum["as_expected"]) == \
        ("fails (expected)", "fails", True)
    assert erratum["counterexample"]["inputs"]["x"] == [[1.0], [-0.5]]
    assert erratum["counterexample"]["sizes"] == {"n": 2}
    assert data["rules"][0]["symbolic"]["sizes"][0] == {"m": 1, "n": 1}
    assert data["rules"][0]["position"] == "rules/seed.yaml:3:5"
    assert data["rules"][5]["diagnostics"][0]["hint"] == "declare x: vector(3)"


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_json_survives_inf_and_nan(bad: float) -> None:
    cx = Counterexample((), (("s", ((bad,),)),), ((bad,),), ((1.0,),), bad, bad)
    ev = NumericEvidence(3, bad, bad, rtol=1e-7, atol=1e-9, counterexample=cx)
    report = make_report((verdict("blowup", Status.FAILS, numeric=ev),))
    text = json.dumps(report_to_dict(report), allow_nan=False)
    assert json.loads(text)["rules"][0]["numeric"]["max_abs_error"] == str(bad)
    out, _ = capture(report, Format.TABLE)
    assert str(bad) in out


def test_exit_codes_follow_the_spec() -> None:
    assert make_report((VERDICTS[0], VERDICTS[2])).exit_code == 0
    assert make_report((VERDICTS[0], VERDICTS[3])).exit_code == 1
    assert make_report((VERDICTS[0], VERDICTS[4])).exit_code == 1
    assert make_report((VERDICTS[6],)).exit_code == 1
    assert make_report((VERDICTS[5],)).exit_code == 2
    assert json.loads(capture(make_report((VERDICTS[3],)), Format.JSON)[0])["exit_code"] == 1


RULES = [
    Rule("linear-map", Position("r.yaml", 2, 5), claim="∇_x (A x) = A^T", source="d2l 2.4",
         tags=("linear",)),
    Rule("quad", Position("r.yaml", 6, 5), f="x.T @ A @ x", wrt="x", kind=Kind.GRADIENT,
         rhs="(A + A.T) @ x", expect=Expect.FAILS),
]


def test_rule_text_covers_both_forms() -> None:
    assert rule_text(RULES[0]) == "∇_x (A x) = A^T"
    assert rule_text(RULES[1]) == "∇_x (x.T @ A @ x) = (A + A.T) @ x"


def test_rule_listing_ends_with_the_count() -> None:
    out = Console(record=True, width=160, no_color=True, file=io.StringIO())
    err = Console(record=True, width=160, no_color=True, file=io.StringIO())
    render_rules(RULES, [FILE_ERROR], Format.TABLE, out, err)
    text = out.export_text()
    assert text.rstrip().splitlines()[-1] == "2 rules"
    assert "(A + A.T) @ x" in text and "fails" in text and "d2l 2.4" in text
    assert "rules/broken.yaml:1:1" in err.export_text()


def test_rule_listing_as_json() -> None:
    out = Console(record=True, width=160, file=io.StringIO())
    render_rules(RULES, [], Format.JSON, out, Console(file=io.StringIO()))
    data = json.loads(out.export_text())
    assert data["count"] == 2
    assert data["rules"][1]["expect"] == "fails"
    assert data["rules"][1]["kind"] == "gradient"


def test_a_diagnosis_names_its_suggestion_once() -> None:
    from gradcheck.model import Category, Diagnosis
    from gradcheck.report.table import diagnosis_line

    order = Diagnosis(Category.INVERSE, "a wrong order of factors: −X⁻¹ dX X⁻¹ holds",
                      "−X⁻¹ dX X⁻¹", "", confirmed=True)
    shape = Diagnosis(Category.SHAPE, "defined only when m = n; the derivative is Aᵀ", "Aᵀ", "",
                      confirmed=True)
    scale = Diagnosis(Category.SCALE, "the claim is ½ times the derivative", "2x", "",
                      confirmed=True)
    assert diagnosis_line(order) == "inverse: a wrong order of factors: −X⁻¹ dX X⁻¹ holds"
    assert diagnosis_line(shape) == "shape: defined only when m = n; the derivative is Aᵀ"
    assert diagnosis_line(scale) == "scale: the claim is ½ times the derivative → 2x"
    row, _ = capture(make_report((verdict("half", Status.FAILS, diagnosis=scale),)), Format.TABLE)
    assert "scale: the claim is ½ times the derivative → 2x" in row


def test_a_shape_counterexample_shows_the_shapes_not_infinite_errors() -> None:
    cx = Counterexample(sizes=(("m", 1), ("n", 2)), inputs=(("A", ((0.0, 0.0),)),),
                        true=((0.0,), (0.0,)), claimed=((0.0, 0.0),), abs_error=math.inf,
                        rel_error=math.inf,
                        note="the claim is 1×2 where the derivative is 2×1")
    evidence = NumericEvidence(2, 0.0, 0.0, rtol=1e-7, atol=1e-9, counterexample=cx)
    report = make_report((verdict("tr-ax", Status.FAILS, numeric=evidence),))
    for detail in (False, True):
        out, _ = capture(report, Format.TABLE, detail=detail)
        assert "the claim is 1×2 where the derivative is 2×1" in out
        assert "inf" not in out


def test_the_numeric_detail_counts_the_counterexample_with_its_error() -> None:
    cx = Counterexample(sizes=(("n", 1),), inputs=(("x", ((1.0,),)),), true=((2.0,),),
                        claimed=((1.0,),), abs_error=1.0, rel_error=0.5)
    evidence = NumericEvidence(3, 1.0, 0.5, rtol=1e-7, atol=1e-9, counterexample=cx)
    report = make_report((verdict("wrong", Status.FAILS, numeric=evidence),))
    out, _ = capture(report, Format.TABLE, detail=True)
    assert "3 examples with the counterexample, max abs err 1, max rel err 0.5" in out
    shape = Counterexample(sizes=(("n", 2),), inputs=(), true=((0.0,), (0.0,)),
                           claimed=((0.0, 0.0),), abs_error=math.inf, rel_error=math.inf,
                           note="the claim is 1×2 where the derivative is 2×1")
    inf = NumericEvidence(2, math.inf, math.inf, rtol=1e-7, atol=1e-9, counterexample=shape)
    out, _ = capture(make_report((verdict("tr", Status.FAILS, numeric=inf),)), Format.TABLE,
                     detail=True)
    assert "inf" not in out
    assert "2 examples with the counterexample; there the claim is 1×2" in out


def test_a_diagnosis_category_is_an_enum_written_as_its_value() -> None:
    from gradcheck.model import Category, Diagnosis
    from gradcheck.report.json_report import verdict_to_dict

    d = Diagnosis("transposed", "the claim is the transpose of the derivative", "Aᵀ")
    assert d.category is Category.TRANSPOSED  # a value (as JSON has it) reads as the member
    assert f"{d.category}" == str(d.category) == "transposed"
    data = verdict_to_dict(verdict("t", Status.FAILS, diagnosis=d))
    assert data["diagnosis"]["category"] == "transposed"
    assert json.loads(json.dumps(data))["diagnosis"]["category"] == "transposed"
    assert [c.value for c in Category] == [
        "layout", "inverse", "transposed", "scale", "assumption", "term", "shape", "differs"
    ]


def test_markdown_prints_a_checked_rule_from_its_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    """The verdict keeps the compiled rule (`statement`): the catalog page of checked rules
    compiles nothing again, and prints each rule as the unchecked page does."""
    from dataclasses import replace

    from gradcheck import problem
    from gradcheck.catalog import rule_from_claim
    from gradcheck.model import Options
    from gradcheck.report.markdown import catalog_markdown
    from gradcheck.verdicts import verify_rules

    claims = ["∇_x (xᵀAx) = (A + Aᵀ)x", "d(X⁻¹) = −X⁻¹ dX X⁻¹", "∇_x (aᵀx = a"]
    read = [rule_from_claim(claim)[0] for claim in claims]
    rules = [replace(rule, id=f"r{i}") for i, rule in enumerate(read) if rule is not None]
    report = verify_rules(rules, [], Options(examples=5, diagnose=False))
    verdicts = {v.rule_id: v for v in report.verdicts}
    unchecked = catalog_markdown(rules)

    def no_compiling(*args: object) -> None:
        raise AssertionError("compiled again")

    monkeypatch.setattr(problem, "compile_rule", no_compiling)
    checked = catalog_markdown(rules, verdicts)

    def rule_cells(text: str) -> list[str]:
        return [line.split(" | ")[1] for line in text.splitlines() if line.startswith("| <a id")]

    assert rule_cells(checked) == rule_cells(unchecked)
    assert rule_cells(checked)[0].startswith("$\\nabla_{x}")
    assert rule_cells(checked)[-1].startswith("`")  # unreadable: shown as written
