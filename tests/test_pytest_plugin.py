"""The pytest plugin: rule files collected as tests, in a fresh folder as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

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


def pytest_run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--gradcheck-examples",
         "20", *args],
        capture_output=True, text=True, cwd=folder, timeout=600, check=False,
        env={**os.environ, "NO_COLOR": "1", "PY_COLORS": "0"},
    )


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    (tmp_path / "demo.gradcheck.yaml").write_text(DEMO, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_rule_file_is_a_test_module(demo: Path, workers: list[str]) -> None:
    done = pytest_run(demo, *workers)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 1 passed, 1 xfailed" in done.stdout
    assert "FAILED demo.gradcheck.yaml::quadratic-form-wrong" in done.stdout
    # the readable report: where, the verdict, the counterexample, the fix
    assert "demo.gradcheck.yaml:4:5: quadratic-form-wrong: fails" in done.stdout
    assert "counterexample at n=2" in done.stdout
    assert "Verified correct formula: (A + Aᵀ)x" in done.stdout
    assert "corrected rule:" in done.stdout and "claim: '∇_x (xᵀAx) = (A + Aᵀ)x'" in done.stdout


def test_junitxml_carries_the_rules(demo: Path) -> None:
    pytest_run(demo, "--junitxml", "out.xml")
    cases = ET.parse(demo / "out.xml").getroot().iter("testcase")
    assert sorted(c.get("name") for c in cases) == [
        "linear-map-known-wrong", "quadratic-form", "quadratic-form-wrong"]


def test_an_expected_failure_that_holds_fails_the_run(tmp_path: Path) -> None:
    (tmp_path / "x.gradcheck.yml").write_text(
        'rules:\n  - id: right-after-all\n    claim: "∇_x (aᵀx) = a"\n    expect: fails\n',
        encoding="utf-8")
    done = pytest_run(tmp_path)
    assert done.returncode == 1 and "1 failed" in done.stdout, done.stdout
    assert "right-after-all: holds (expected to fail)" in done.stdout


def test_an_unreadable_rule_is_a_collection_error_at_its_place(tmp_path: Path) -> None:
    (tmp_path / "bad.gradcheck.yaml").write_text(
        'rules:\n  - id: ok\n    claim: "∇_x (aᵀx) = a"\n'
        '  - id: broken\n    claim: "∇_x (xᵀAx = 2Ax"\n', encoding="utf-8")
    done = pytest_run(tmp_path)
    assert done.returncode == 2, done.stdout
    assert "ERROR collecting bad.gradcheck.yaml" in done.stdout
    assert "bad.gradcheck.yaml:5:23: expected ')' but found '='" in done.stdout


def test_collection_imports_nothing_heavy_and_the_patterns_are_an_ini_option(
    tmp_path: Path,
) -> None:
    """Neither torch nor sympy (hypothesis's own pytest plugin imports hypothesis)."""
    (tmp_path / "rules.yaml").write_text(DEMO, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\ngradcheck_files = rules.yaml\n")
    probe = (
        "import sys, pytest; code = pytest.main(['--collect-only', '-q', '-p', "
        "'no:cacheprovider']); print(code, sorted(m for m in ('torch', 'sympy') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600, check=False)
    assert "rules.yaml::quadratic-form-wrong" in done.stdout, done.stdout
    assert done.stdout.strip().endswith("0 []"), done.stdout
