"""The CI formats of `verify` and `check`: SARIF 2.1.0 (validated against the official schema,
tests/data/sarif-schema-2.1.0.json, copied from the OASIS sarif-spec repository's
Schemata/sarif-schema-2.1.0.json), JUnit XML and GitHub workflow commands, and `-o FILE`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from gradcheck.model import Expect, Position, Report, Status, Verdict
from gradcheck.report import github, junit, sarif

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
DEMO = """\
rules:
  - id: quadratic-form
    claim: "∇_x (xᵀAx) = (A + Aᵀ)x"
  - id: quadratic-form-wrong
    claim: "∇_x (xᵀAx) = 2Ax"
  - id: linear-map-known-wrong
    claim: "∇_x (Ax) = A"
    expect: fails
"""
BROKEN = DEMO + """\
  - id: unreadable
    claim: "∇_x (xᵀAx = 2Ax"
"""


def gradcheck(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gradcheck", *args, "--examples", "20"],
        capture_output=True, text=True, cwd=folder, timeout=600, check=False,
        env={**os.environ, "NO_COLOR": "1", **env},
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    (folder / "demo.gradcheck.yaml").write_text(DEMO, encoding="utf-8")
    (folder / "broken.gradcheck.yaml").write_text(BROKEN, encoding="utf-8")
    return folder


def test_sarif_is_valid_and_points_at_the_wrong_rule(demo: Path) -> None:
    done = gradcheck(demo, "verify", "demo.gradcheck.yaml", "--format", "sarif", "-o", "out.sarif")
    assert done.returncode == 1, done.stderr
    assert "quadratic-form-wrong" in done.stdout and "┃ verdict" in done.stdout  # the table
    log = json.loads((demo / "out.sarif").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(SCHEMA).validate(log)
    (run,) = log["runs"]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == list(sarif.KINDS)
    (result,) = run["results"]  # the expected failure is as expected: no result
    assert result["ruleId"] == "quadratic-form-wrong" and result["level"] == "error"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "demo.gradcheck.yaml"
    assert location["region"] == {"startLine": 4, "startColumn": 5}
    assert "Verified correct formula: (A + Aᵀ)x" in result["message"]["text"]
    assert "counterexample at n=2" in result["message"]["text"]


def test_unreadable_rules_and_typed_claims_are_valid_sarif_too(demo: Path) -> None:
    done = gradcheck(demo, "verify", "broken.gradcheck.yaml", "--format", "sarif")
    assert done.returncode == 2
    log = json.loads(done.stdout)
    jsonschema.Draft7Validator(SCHEMA).validate(log)
    verdicts = {r["ruleId"]: r["properties"]["verdict"] for r in log["runs"][0]["results"]}
    assert verdicts == {"quadratic-form-wrong": "fails", "unreadable": "ill-formed"}
    claim = gradcheck(demo, "check", "∇_x (xᵀAx) = 2Ax", "--format", "sarif")
    assert claim.returncode == 1
    log = json.loads(claim.stdout)
    jsonschema.Draft7Validator(SCHEMA).validate(log)
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "claim" and result["locations"] == []  # typed: no file


def test_junit_has_a_case_per_rule_and_one_failure(demo: Path) -> None:
    done = gradcheck(demo, "verify", "demo.gradcheck.yaml", "--format", "junit", "-o", "out.xml")
    assert done.returncode == 1, done.stderr
    root = ET.parse(demo / "out.xml").getroot()
    cases = root.findall("./testsuite/testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("demo.gradcheck.yaml", "quadratic-form"),
        ("demo.gradcheck.yaml", "quadratic-form-wrong"),
        ("demo.gradcheck.yaml", "linear-map-known-wrong"),
    ]
    assert root.get("tests") == "3" and root.get("failures") == "1" and root.get("errors") == "0"
    failure = cases[1].find("failure")
    assert failure is not None and failure.text is not None
    assert "counterexample at n=2" in failure.text and "(A + Aᵀ)x" in failure.text
    broken = ET.fromstring(gradcheck(demo, "verify", "broken.gradcheck.yaml", "--format",
                                     "junit").stdout)
    assert broken.get("errors") == "1" and broken.get("failures") == "1"


def test_github_annotates_the_wrong_rule_and_writes_the_summary(demo: Path) -> None:
    summary = demo / "summary.md"
    done = gradcheck(demo, "verify", "demo.gradcheck.yaml", "--format", "github",
                     GITHUB_STEP_SUMMARY=str(summary))
    assert done.returncode == 1, done.stderr
    (error,) = [line for line in done.stdout.splitlines() if line.startswith("::")]
    assert error.startswith("::error file=demo.gradcheck.yaml,line=4,col=5,title=gradcheck%3A ")
    message = error.split("::", 2)[2]
    assert "\n" not in message and "%0Acounterexample at n=2" in message
    assert "quadratic-form-wrong" in summary.read_text(encoding="utf-8")


def test_workflow_commands_escape_what_would_end_them() -> None:
    assert github.escape_data("50% a\r\nb") == "50%25 a%0D%0Ab"
    assert github.escape_property("f: a, b") == "f%3A a%2C b"
    line = github.command(github.Level.ERROR, "x\ny", Position("dir/a,b.yaml", 3, 7), "t:1")
    assert line == "::error file=dir/a%2Cb.yaml,line=3,col=7,title=t%3A1::x%0Ay"


def test_a_numeric_only_verdict_is_a_warning_and_not_a_sarif_result() -> None:
    numeric_only = Verdict("n", Status.HOLDS_NUMERIC, Expect.HOLDS, "∇_x f = g",
                           message="symbolic check timeout", position=Position("r.yaml", 2, 5))
    holds = Verdict("h", Status.HOLDS, Expect.HOLDS, "∇_x f = g", position=Position("r.yaml", 4, 5))
    report = Report((numeric_only, holds), seed=0, seconds=0.0)
    (line,) = github.lines(report)
    assert line.startswith("::warning file=r.yaml,line=2,col=5,")
    log = sarif.report_to_sarif(report)
    jsonschema.Draft7Validator(SCHEMA).validate(log)
    assert log["runs"][0]["results"] == []


def test_junit_holds_no_character_xml_cannot() -> None:
    odd = Verdict("odd", Status.FAILS, Expect.HOLDS, "∇_x f\x00\x1b = g", message="bad\x07")
    document = junit.report_to_junit(Report((odd,), seed=0, seconds=0.0))
    case = ET.fromstring(document.split("\n", 1)[1]).find("./testsuite/testcase")
    assert case is not None and case.find("failure") is not None
    assert "\ufffd" in (case.find("failure").text or "")  # type: ignore[union-attr]


def test_an_output_file_that_cannot_be_written_is_a_usage_error(demo: Path) -> None:
    done = gradcheck(demo, "verify", "demo.gradcheck.yaml", "--format", "sarif",
                     "-o", "no/such/folder/out.sarif")
    assert done.returncode == 2
    assert "cannot write no/such/folder/out.sarif" in done.stderr
    assert "Traceback" not in done.stderr
