"""Run every hostile input of issue 9 through the installed `gradcheck` command, as a user
would, and report each one's exit code, wall time and whether anything leaked (a Python
traceback or an "Exception ignored" line). Exit 1 if any input crashed, hung (over 30 s)
or exited with a code other than 0, 1 or 2.

    python bench/hostile.py [--gradcheck PATH]

This spawns processes (the limits hold in a fresh process, with typer, rich and the CLI's
own error handling in the loop); the test suite checks the same inputs in-process."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT_SECONDS = 30.0


def claims() -> list[tuple[str, list[str]]]:
    """(label, arguments of `gradcheck`) for each one-line hostile input."""
    twenty = "ᵀ" * 20
    name = "os.system('id')"
    return [
        ("twenty transposes", ["check", f"∇_x (A{twenty}x) = A"]),
        ("chained inverses", ["check", "∇_X tr(X" + "⁻¹" * 20 + ") = I"]),
        ("sum of 300 terms", ["check", "∇_x (" + " + ".join(["aᵀx"] * 300) + ") = 300a"]),
        ("softmax of a scalar", ["check", "∇_x (aᵀx) = softmax(aᵀx)"]),
        ("det(1e-400)", ["check", "∇_X log(abs(det(1e-400))) = X⁻ᵀ"]),
        ("1e99999", ["check", "∇_x (1e99999 aᵀx) = a"]),
        ("1e999999999", ["check", "∇_x (1e999999999 aᵀx) = a"]),
        ("5,000-digit dimension",
         ["check", "∇_x (aᵀx) = a", "--symbol", f"x:vector({'9' * 5000})"]),
        ("matpow 10⁹", ["check", "∇_A tr(matpow(A, 1000000000)) = I"]),
        ("code as a name", ["derive", f"{name}ᵀx", "--wrt", "x", "--symbol", f"{name}:vector(n)",
                            "--format", "torch"]),
    ]


def files(folder: Path) -> list[tuple[str, list[str]]]:
    """(label, arguments) for each hostile file, written into `folder`."""
    out: list[tuple[str, list[str]]] = []

    def rule_file(label: str, text: str) -> None:
        path = folder / f"{len(out)}.yaml"
        path.write_text(text, encoding="utf-8")
        out.append((label, ["verify", str(path)]))

    good = '  - id: good\n    claim: "∇_x (aᵀx) = a"\n'
    deep = "[" * 5000 + "]" * 5000
    rule_file("YAML nested 5,000 deep",
              f"rules:\n  - id: deep\n    note: {deep}\n    claim: \"∇_x (aᵀx) = a\"\n" + good)
    laughs = "".join(
        f"      - &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 10)
    )
    rule_file("billion laughs in tags", "rules:\n  - id: laughs\n    claim: \"∇_x (aᵀx) = a\"\n"
              "    tags:\n      - &l0 lol\n" + laughs + good)
    rule_file("duplicate key in one rule", "rules:\n  - id: dup\n    claim: \"∇_x (aᵀx) = a\"\n"
              "    claim: \"∇_x (aᵀx) = 2a\"\n" + good)
    rule_file("tab indent in one rule", "rules:\n  - id: tab\n\tclaim: \"∇_x (aᵀx) = a\"\n" + good)
    rule_file("bad merge key", "rules:\n  - id: merge\n    <<: 3\n    claim: \"∇_x (aᵀx) = a\"\n"
              + good)
    dinv = ("rules:\n  - id: dinv\n    f: \"inv(X)\"\n    wrt: X\n"
            "    differential: \"-inv(X) @ dX @ inv(X)\"\n"
            "    symbols: {X: \"matrix(n,n)\", dX: \"matrix(n,n)\"}\n"
            "    assume: {X: [invertible]}\n")
    rule_file("declared direction dX", dinv)
    zero = folder / "zero.yaml"
    zero.symlink_to("/dev/zero")
    out.append(("symlink to /dev/zero", ["verify", str(zero)]))
    fifo = folder / "fifo.yaml"
    os.mkfifo(fifo)
    out.append(("a FIFO", ["verify", str(fifo)]))
    out.append(("a missing path", ["verify", str(folder / "missing.yaml")]))
    return out


def run(gradcheck: str, label: str, args: list[str]) -> bool:
    """Run one input; print its line; True when it behaved."""
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [gradcheck, *args],
            capture_output=True,
            text=True,
            timeout=LIMIT_SECONDS,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "COLUMNS": "120"},
        )
    except subprocess.TimeoutExpired:
        print(f"{label:28} HUNG (over {LIMIT_SECONDS:.0f} s)")
        return False
    seconds = time.perf_counter() - start
    both = done.stdout + done.stderr
    leaked = "Traceback" in both or "Exception ignored" in both
    ok = done.returncode in (0, 1, 2) and not leaked
    last = next((line for line in reversed(done.stdout.splitlines()) if line.strip()), "")
    print(f"{label:28} exit {done.returncode}  {seconds:5.1f} s  "
          f"{'LEAKED A TRACEBACK' if leaked else 'clean'}  {last[:70]}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gradcheck", default=shutil.which("gradcheck") or "gradcheck")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cases = claims() + files(Path(tmp))
        results = [run(options.gradcheck, label, args) for label, args in cases]
    bad = results.count(False)
    print(f"{len(results) - bad} of {len(results)} inputs handled (exit 0/1/2 within "
          f"{LIMIT_SECONDS:.0f} s, nothing leaked)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
