"""The CLI when things go wrong, and for a new user: exit 3 on an internal error (one line, the
traceback only with --debug), exit 130 on Ctrl-C, usage errors stay 2, missing paths are
diagnostics, `--version`, help texts, `explain --format json`, and a readable table width
when the output is piped."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gradcheck import api, cli, derivation
from gradcheck.model import ExitCode
from gradcheck.report import PIPED_WIDTH, console

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "rules" / "seed.yaml"
COMMANDS = ("verify", "check", "list", "derive", "explain")


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    """`gradcheck ARGS` in this process, stdout and stderr apart (GRADCHECK_DEBUG unset)."""
    settings: dict[str, str | None] = {"COLUMNS": "100", "NO_COLOR": "1", "GRADCHECK_DEBUG": None}
    return CliRunner().invoke(cli.app, list(args), prog_name="gradcheck",
                              env={**settings, **(env or {})})


def _fail(*_: object, **__: object) -> None:
    raise RuntimeError("injected\nfailure")


def _interrupt(*_: object, **__: object) -> None:
    raise KeyboardInterrupt


# ---- exit 3: an internal error ----


@pytest.mark.parametrize(("patch", "args"), [
    ((api, "verify"), ("verify", str(SEED))),
    ((api, "check_report"), ("check", "∇_x (A x) = A^T")),
    ((api, "list_rules"), ("list",)),
    ((api, "list_rules"), ("explain", "linear-map")),
    ((derivation, "derive"), ("derive", "xᵀAx", "--wrt", "x")),
])
def test_an_internal_error_exits_3_with_one_line(
        monkeypatch: pytest.MonkeyPatch, patch: tuple[object, str], args: tuple[str, ...]) -> None:
    monkeypatch.setattr(*patch, _fail)
    result = invoke(*args)
    assert result.exit_code == ExitCode.INTERNAL == 3
    assert result.stderr == ("gradcheck: internal error: RuntimeError: injected failure "
                             "(run with --debug for the traceback)\n")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("how", [("--debug", "verify", str(SEED)), ("verify", str(SEED))])
def test_debug_adds_the_traceback(monkeypatch: pytest.MonkeyPatch, how: tuple[str, ...]) -> None:
    monkeypatch.setattr(api, "verify", _fail)
    env = {} if how[0] == "--debug" else {"GRADCHECK_DEBUG": "1"}
    result = invoke(*how, env=env)
    assert result.exit_code == 3
    assert "Traceback (most recent call last)" in result.stderr
    assert 'raise RuntimeError("injected\\nfailure")' in result.stderr
    assert result.stderr.endswith("gradcheck: internal error: RuntimeError: injected failure\n")


def test_a_long_message_stays_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: object, **__: object) -> None:
        raise ValueError("x\n" * 1000)

    monkeypatch.setattr(api, "list_rules", fail)
    result = invoke("list")
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1
    assert len(result.stderr) < 500


def test_ctrl_c_exits_130_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "verify", _interrupt)
    result = invoke("verify", str(SEED))
    assert result.exit_code == 130
    assert result.stderr == "gradcheck: interrupted\n"


def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
             *args: str) -> tuple[object, str, str]:
    """`main()` as the console script runs it: its exit code, stdout and stderr."""
    monkeypatch.setattr(sys, "argv", ["gradcheck", *args])
    monkeypatch.delenv("GRADCHECK_DEBUG", raising=False)
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", os.devnull)  # main() would set it
    with pytest.raises(SystemExit) as stop:
        cli.main()
    out, err = capsys.readouterr()
    return stop.value.code, out, err


def test_main_exits_3_on_an_internal_error(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(api, "list_rules", _fail)
    code, _, err = run_main(monkeypatch, capsys, "list")
    assert code == 3
    assert err.splitlines() == ["gradcheck: internal error: RuntimeError: injected failure "
                                "(run with --debug for the traceback)"]


def test_main_catches_what_fails_before_any_command(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "_keep_hypothesis_out_of_the_working_directory", _fail)
    code, _, err = run_main(monkeypatch, capsys, "list")
    assert code == 3
    assert err.startswith("gradcheck: internal error: RuntimeError: injected failure")
    monkeypatch.setattr(cli, "_keep_hypothesis_out_of_the_working_directory", _interrupt)
    code, _, err = run_main(monkeypatch, capsys, "list")
    assert (code, err) == (130, "gradcheck: interrupted\n")
    monkeypatch.setattr(cli, "_keep_hypothesis_out_of_the_working_directory", _fail)
    code, _, err = run_main(monkeypatch, capsys, "--debug", "list")
    assert code == 3
    assert "Traceback (most recent call last)" in err


def test_main_keeps_usage_errors_at_2(monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(monkeypatch, capsys, "verify", "--format", "xml")
    assert code == 2
    assert "Usage" in err
    assert "internal error" not in err and "Traceback" not in err


def test_main_version(monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    import gradcheck

    code, out, _ = run_main(monkeypatch, capsys, "--version")
    assert code == 0
    assert out == f"gradcheck {gradcheck.__version__}\n"
    assert re.fullmatch(r"gradcheck \d+\.\d+\.\d+\S*\n", out)


# ---- a missing path is unreadable input (exit 2) with a position ----


@pytest.mark.parametrize("args", [("verify",), ("list",), ("explain", "linear-map", "--path")])
def test_a_missing_path_is_a_diagnostic_at_1_1(tmp_path: Path, args: tuple[str, ...]) -> None:
    missing = tmp_path / "no-such.yaml"
    result = invoke(*args, str(missing))
    assert result.exit_code == 2
    assert f"{missing}:1:1: no such file or folder" in result.stderr
    assert "Usage" not in result.output


def test_a_missing_path_beside_a_good_one_still_checks_the_good_one(tmp_path: Path) -> None:
    result = invoke("list", str(tmp_path / "no-such.yaml"), str(SEED))
    assert result.exit_code == 2
    assert "linear-map" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == "10 rules"


# ---- help texts speak to users ----


def _help(*args: str) -> str:
    result = invoke(*args, "--help", env={"COLUMNS": "200"})
    assert result.exit_code == 0
    return " ".join(result.output.replace("│", " ").split())


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_says_what_it_does_and_its_exit_codes(command: str) -> None:
    text = _help(command)
    assert "spec" not in text and "§" not in text
    assert "Exit code: 0" in text
    assert "3 an internal error" in text


def test_the_main_help_names_exit_codes_version_and_debug() -> None:
    text = _help()
    assert "spec" not in text and "§" not in text
    assert "3 an internal error" in text
    for word in ("--version", "--debug", "GRADCHECK_DEBUG", *COMMANDS):
        assert word in text


# ---- the table's width ----


def test_the_console_is_120_wide_when_piped_unless_columns_says(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert console().width == PIPED_WIDTH == 120
    monkeypatch.setenv("COLUMNS", "77")
    assert console().width == 77


def _piped(*args: str, columns: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env |= {"NO_COLOR": "1", "PYTHONPATH": str(ROOT)} | ({"COLUMNS": columns} if columns else {})
    return subprocess.run([sys.executable, "-m", "gradcheck", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300, check=False)


def _seed_ids() -> list[str]:
    ids = re.findall(r"^\s*- id:\s*(\S+)", SEED.read_text(encoding="utf-8"), re.MULTILINE)
    assert len(ids) == 10
    return ids


def test_piped_verify_is_120_wide_and_keeps_every_id_whole() -> None:
    done = _piped("verify", str(SEED), "--examples", "10", "--jobs", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert 80 < max(len(line) for line in lines) <= 120
    for rule_id in _seed_ids():
        assert any(re.match(rf"│ {re.escape(rule_id)} +│", line) for line in lines), rule_id


@pytest.mark.parametrize("columns", [None, "80"])
def test_list_keeps_every_id_whole(columns: str | None) -> None:
    done = _piped("list", str(SEED), columns=columns)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= int(columns or 120)
    for rule_id in _seed_ids():
        assert any(re.match(rf"│ {re.escape(rule_id)} +│", line) for line in lines), rule_id


# ---- explain --format json ----


def test_explain_json_has_the_verdict_the_diagnosis_and_is_deterministic() -> None:
    claim = "∇_X tr(AX) = A"  # its minimal counterexample only shows that the shapes differ
    runs = [subprocess.Popen([sys.executable, "-m", "gradcheck", "explain", claim, "--format",
                              "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
            for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [1, 1], outputs
    (first, _), (second, _) = outputs
    assert first == second
    data = json.loads(first)
    assert data["verdict"] == "fails" and data["as_expected"] is False
    assert data["display"] == "∇_X tr(AX) = A"
    assert data["diagnosis"]["category"] == "transposed"
    assert data["diagnosis"]["suggestion"] == "Aᵀ"
    assert data["counterexample"]["note"]
    agree = data["counterexample_where_shapes_agree"]
    assert agree is not None and agree["abs_error"] != "inf"
    assert "seconds" not in first


def test_explain_json_of_an_unreadable_claim() -> None:
    result = invoke("explain", "∇_x (xᵀAx = 2Ax", "--format", "json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["verdict"] == "ill-formed"
    assert data["diagnostics"][0]["position"] == "<claim>:1:11"


@pytest.mark.parametrize("size", ["n=0", "n=4097", "n", "=3", "n=x", "1n=2"])
def test_a_bad_size_is_a_usage_error(size: str) -> None:
    result = invoke("check", "∇_x (xᵀAx) = (A + Aᵀ)x", "--size", size)
    assert result.exit_code == 2
    assert "--size" in result.output


def test_check_at_a_given_size_finds_and_shrinks_a_mistake() -> None:
    result = invoke("check", "∇_x (xᵀAx) = 2Ax", "--size", "n=64", "--examples", "20",
                    "--format", "json", "--no-diagnose", "--no-cache")
    assert result.exit_code == 1
    (rule,) = json.loads(result.stdout)["rules"]
    assert rule["counterexample"]["sizes"] == {"n": 2}  # found at 64, shrunk to the smallest
