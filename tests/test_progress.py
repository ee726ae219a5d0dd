"""Tests for the progress of a run (gradcheck.cli.progress): stderr only, a plain line about
every ten seconds in a CI log, nothing with --quiet, and a report on stdout alone."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gradcheck.cli import progress as progress_module
from gradcheck.cli.progress import Progress
from gradcheck.model import Expect, Status, Verdict

SEED = Path(__file__).resolve().parents[1] / "rules" / "seed.yaml"


def verdict(rule_id: str) -> Verdict:
    return Verdict(rule_id, Status.HOLDS, Expect.HOLDS, "")


def test_a_ci_log_gets_a_plain_line_every_so_often(capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_module, "PLAIN_EVERY", 0.0)
    with Progress() as progress:
        progress.begin(3)
        for rule_id in ("a", "b", "c"):
            progress(verdict(rule_id))
    lines = capsys.readouterr().err.splitlines()  # captured: not a terminal
    assert len(lines) == 3
    assert lines[0].startswith("gradcheck: 1/3 rules, ") and "s left (last: a)" in lines[0]
    assert lines[2].startswith("gradcheck: 3/3 rules, ") and lines[2].endswith("(last: c)")


def test_a_quick_run_prints_nothing_and_quiet_prints_nothing(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with Progress() as progress:  # under PLAIN_EVERY seconds: no line
        progress.begin(2)
        progress(verdict("a"))
        progress(verdict("b"))
    monkeypatch.setattr(progress_module, "PLAIN_EVERY", 0.0)
    with Progress(quiet=True) as progress:
        progress.begin(2)
        progress(verdict("a"))
    assert capsys.readouterr().err == ""


def test_a_terminal_gets_a_bar_that_goes_away(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(progress_module, "DELAY", 0.0)
    terminal = io.StringIO()
    terminal.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stderr", terminal)  # read when the Progress is made
    with Progress() as progress:
        progress.begin(2)
        assert progress._timer is not None
        progress._timer.join(5)
        assert progress._bar is not None  # shown after DELAY
        progress(verdict("a"))
    assert progress._bar is None  # stopped with the run


def test_verify_keeps_stdout_for_the_report(tmp_path: Path) -> None:
    env = {**os.environ, "CI": "true", "NO_COLOR": "1", "XDG_CACHE_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "gradcheck", "verify", SEED, "--format",
                             "json", "--examples", "20", "--quiet"], capture_output=True,
                            text=True, env=env, timeout=600, check=False)
    assert result.returncode == 0
    assert result.stdout.lstrip().startswith("{") and result.stderr == ""
