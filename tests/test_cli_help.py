"""The CLI's surface: instant help (no heavy imports), usage errors exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "sympy", "hypothesis", "numpy")

# Runs in a fresh interpreter: invoke the app, then report its exit code, output and which
# heavy modules got imported along the way.
PROBE = f"""
import json, sys
from typer.testing import CliRunner
from gradcheck.cli import app
result = CliRunner().invoke(app, sys.argv[1:], prog_name="gradcheck")
heavy = [m for m in {HEAVY!r} if m in sys.modules]
print(json.dumps({{"code": result.exit_code, "output": result.output, "heavy": heavy}}))
"""


def probe(*args: str) -> dict[str, object]:
    """Invoke `gradcheck ARGS` in a subprocess; its exit code, output and heavy imports."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100", "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, check=True, timeout=60)
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize("args", [["--help"], ["verify", "--help"], ["check", "--help"],
                                  ["list", "--help"], ["derive", "--help"],
                                  ["explain", "--help"]])
def test_help_exits_0_without_heavy_imports(args: list[str]) -> None:
    result = probe(*args)
    assert result["code"] == 0
    assert "Usage" in str(result["output"])
    assert result["heavy"] == []


def test_help_lists_the_options() -> None:
    verify = str(probe("verify", "--help")["output"])
    for option in ("--keyword", "-k", "--tag", "--format", "--seed", "--examples",
                   "--symbolic-timeout"):
        assert option in verify
    check = str(probe("check", "--help")["output"])
    for option in ("--assume", "--layout", "--symbol", "--format", "--seed", "--examples"):
        assert option in check


@pytest.mark.parametrize("args", [
    ["verify", "--format", "xml"],
    ["list", "--format", "xml"],
    ["check", "∇_x (A x) = A^T", "--format", "xml"],
    ["check", "∇_x (A x) = A^T", "--layout", "sideways"],
    ["verify", "--examples", "0"],
    ["derive", "x", "--wrt", "x", "--hessian", "--jacobian"],
    ["explain", "linear-map", "--format", "markdown"],
])
def test_bad_options_are_usage_errors(args: list[str]) -> None:
    result = probe(*args)
    assert result["code"] == 2
    assert "Usage" in str(result["output"])
    assert result["heavy"] == []


@pytest.mark.parametrize("command", ["verify", "list"])
def test_a_missing_path_is_a_diagnostic_not_a_usage_error(command: str) -> None:
    result = probe(command, "no/such/rules.yaml")
    assert result["code"] == 2
    assert "no/such/rules.yaml:1:1: no such file or folder" in str(result["output"])
    assert "Usage" not in str(result["output"])
    assert result["heavy"] == []


def test_version_is_instant() -> None:
    from gradcheck import __version__

    result = probe("--version")
    assert result == {"code": 0, "output": f"gradcheck {__version__}\n", "heavy": []}


def _python(code: str) -> str:
    """What `python -c code` prints, run from the checkout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=ROOT, check=True, timeout=60)
    return done.stdout


def test_import_gradcheck_is_light() -> None:
    code = ("import sys, gradcheck; print(gradcheck.__version__); "
            f"print([m for m in {HEAVY!r} + ('gradcheck.api',) if m in sys.modules])")
    assert _python(code).splitlines()[-1] == "[]"


@pytest.mark.parametrize(("args", "says"), [
    (["--assume", "A symmetric"], "SYMBOL:PROPERTY"),
    (["--assume", "A:"], "SYMBOL:PROPERTY"),
    (["--assume", "A:symetric"], "unknown assumption 'symetric'"),
    (["--symbol", "A:matrx(m, n)"], "NAME:matrix(m, n)"),
])
def test_bad_assume_or_symbol_exits_2_with_a_message(args: list[str], says: str) -> None:
    result = probe("check", "∇_x (A x) = A^T", *args)
    assert result["code"] == 2
    assert says in " ".join(str(result["output"]).split()).replace("│ ", "")
    assert result["heavy"] == []


def test_python_dash_m_gradcheck_help() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "gradcheck", "--help"], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 0
    assert "verify" in done.stdout and "check" in done.stdout and "list" in done.stdout


def test_report_modules_import_only_rich_and_model() -> None:
    code = ("import sys, gradcheck.report.table, gradcheck.report.json_report; "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    assert _python(code).strip() == "[]"
