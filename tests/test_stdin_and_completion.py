"""`-` reads a rule file (verify) or a claim (check) from standard input; shell completion."""

from __future__ import annotations

import json
import os
import subprocess
import sys

RULES = 'rules:\n  - id: a\n    claim: "∇_x (aᵀx) = a"\n  - id: b\n    claim: "∇_x (xᵀx) = x"\n'


def gradcheck(*args: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "gradcheck", *args], input=stdin,
                          capture_output=True, timeout=600, check=False,
                          env={**os.environ, "NO_COLOR": "1"})


def test_verify_reads_a_rule_file_from_stdin() -> None:
    done = gradcheck("verify", "-", "--format", "json", "--examples", "20", stdin=RULES.encode())
    assert done.returncode == 1, done.stderr
    rules = json.loads(done.stdout)["rules"]
    assert [(r["id"], r["verdict"], r["position"]) for r in rules] == [
        ("a", "holds", "<stdin>:2:5"), ("b", "fails", "<stdin>:4:5")]


def test_unreadable_stdin_is_a_diagnostic_at_its_place() -> None:
    done = gradcheck("verify", "-", stdin=b'rules:\n  - id: a\n    claim: "\xff"\n')
    assert done.returncode == 2
    assert b"<stdin>:3:" in done.stderr and b"not UTF-8" in done.stderr
    big = gradcheck("verify", "-", stdin=b"#" * (1024 * 1024 + 10))
    assert big.returncode == 2 and b"<stdin>:1:1" in big.stderr


def test_check_reads_a_claim_from_stdin() -> None:
    done = gradcheck("check", "-", "--format", "json", "--examples", "20",
                     stdin="  ∇_x (xᵀAx) = 2Ax\n".encode())
    assert done.returncode == 1, done.stderr
    (rule,) = json.loads(done.stdout)["rules"]
    assert rule["display"] == "∇_x (xᵀAx) = 2Ax" and rule["verdict"] == "fails"


def test_shell_completion_is_offered() -> None:
    done = subprocess.run([sys.executable, "-m", "gradcheck", "--show-completion", "bash"],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert done.returncode == 0, done.stderr
    assert "_gradcheck_completion" in done.stdout
