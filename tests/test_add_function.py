"""docs/architecture.md's "How to add a function", followed literally: the row it shows,
pasted into a copy of ops.py, makes a new function work in `check` and `derive`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
ANCHOR = "        # ----- elementwise functions -----\n"


def _recipe() -> tuple[str, list[str]]:
    """The row the section shows, and the gradcheck commands it says then work."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## How to add a function", 1)[1].split("\n## ", 1)[0]
    (row,) = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    commands = re.findall(r"`(gradcheck (?:check|derive) [^`]+)`", section)
    return row, commands


@pytest.fixture(scope="module")
def patched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package with the section's row added, and nothing else changed."""
    row, _ = _recipe()
    root = tmp_path_factory.mktemp("added")
    shutil.copytree(ROOT / "gradcheck", root / "gradcheck")
    shutil.copytree(ROOT / "rules", root / "rules")
    ops = root / "gradcheck" / "ops.py"
    source = ops.read_text(encoding="utf-8")
    assert source.count(ANCHOR) == 1, "the section names a line of ops.py that is not there"
    ops.write_text(source.replace(ANCHOR, ANCHOR + row), encoding="utf-8")
    return root


def _run(root: Path, command: str) -> subprocess.CompletedProcess[str]:
    words = re.findall(r'"[^"]*"|\S+', command)
    args = [w[1:-1] if w.startswith('"') else w for w in words[1:]]
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "gradcheck", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=600,
    )


def test_the_section_shows_a_row_and_the_commands_it_enables() -> None:
    row, commands = _recipe()
    assert row.strip().startswith('_fn("asinh"')
    assert [c.split()[1] for c in commands] == ["check", "derive"]


def test_without_the_row_the_function_is_unknown() -> None:
    _, commands = _recipe()
    result = _run(ROOT, commands[0])
    assert result.returncode == 2, result.stdout + result.stderr
    assert "asinh" in result.stdout + result.stderr


def test_the_row_alone_makes_check_prove_the_rule(patched: Path) -> None:
    _, commands = _recipe()
    result = _run(patched, commands[0])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "holds" in result.stdout and "proved for all sizes" in result.stdout
    # and the checker can fail on the new function: a wrong derivative is flagged
    wrong = _run(patched, 'gradcheck check "∇_x sum(asinh(x)) = sqrt(1 + x ** 2)"')
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    assert "fails" in wrong.stdout


def test_the_row_alone_makes_derive_work(patched: Path) -> None:
    _, commands = _recipe()
    result = _run(patched, commands[1])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == "1 / √(x ⊙ x + ones(n))", result.stdout
    assert "verified: proved for all sizes" in result.stderr  # the formula alone on stdout
    torch_code = _run(patched, commands[1] + " --format torch")
    assert torch_code.returncode == 0, torch_code.stdout + torch_code.stderr
    assert "torch.sqrt(((x * x) + torch.ones(n, 1, dtype=torch.float64)))" in torch_code.stdout
