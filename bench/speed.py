"""The speed and memory targets of issue 11, measured in one run as ratios to the import floor
(`python -c "import torch, sympy, hypothesis"`, the least any check can cost).

    python bench/speed.py                 # everything; a markdown table on stdout
    python bench/speed.py --skip-scale    # without the time-against-rules series
    python bench/speed.py --json out.json # also the raw numbers

Every command runs as a user runs it (`python -m gradcheck ...`, a fresh interpreter, the
default seed and jobs), in a temporary $XDG_CACHE_HOME: "cold" is `--no-cache` or a run into
the empty cache, "cached" the second run of the catalog, after the first filled the cache.
Per-rule phases (sympy, numeric) come from the JSON report of the cold catalog run. The
numeric check at n = 16 … 1024 is compared with torch.autograd.gradcheck (slow and fast mode)
on the same f, claimed gradient and inputs.
Say in the notes whether the machine was idle: wall times on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ROOT.parent / "shared" / "acceptance" / "public.yaml"
FLOOR = "import torch, sympy, hypothesis"
SIZES = (16, 64, 256, 1024)


def _run(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, cwd=ROOT, check=False)
    return time.perf_counter() - start, done


def _gradcheck(env: dict[str, str], *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    seconds, done = _run(["-m", "gradcheck", *args], env)
    if done.returncode not in (0, 1):
        sys.exit(f"gradcheck {' '.join(args)} exited {done.returncode}: {done.stderr[-500:]}")
    return seconds, done


def _peak_child_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def floor(env: dict[str, str], repeat: int = 3) -> float:
    return statistics.median(_run(["-c", FLOOR], env)[0] for _ in range(repeat))


def phases(report: dict[str, Any]) -> dict[str, Any]:
    rules = report["rules"]
    numeric = [r["numeric"]["seconds"] for r in rules if r.get("numeric")]
    # a failing rule's count stops at its counterexample: the floor is the holding rules'
    examples = [r["numeric"]["examples"] for r in rules
                if r.get("numeric") and not r.get("counterexample")]
    symbolic = sorted(((r["symbolic"]["seconds"], r["id"]) for r in rules if r.get("symbolic")),
                      reverse=True)
    slowest = sorted(((r["seconds"], r["id"]) for r in rules), reverse=True)[:5]
    diagnosed = [r["seconds"] for r in rules if r.get("diagnosis")]
    return {
        "rules": len(rules),
        "numeric_median_ms": 1000 * statistics.median(numeric),
        "examples_min": min(examples),
        "sympy_max": symbolic[0],
        "sympy_over_3s": [rid for s, rid in symbolic if s > 3],
        "slowest": slowest,
        "failing_rule_median_s": statistics.median(diagnosed) if diagnosed else 0.0,
    }


def scale(env: dict[str, str]) -> list[tuple[int, float]]:
    """Cold verify of growing parts of the catalog: its first files (sorted by name), copied
    to a folder, a quarter, a half and three quarters of them."""
    import shutil

    files = sorted((ROOT / "rules").glob("*.yaml"))
    series = []
    for share in (4, 2, 4 / 3):
        with tempfile.TemporaryDirectory() as folder:
            for path in files[: round(len(files) / share)]:
                shutil.copy(path, folder)
            seconds, done = _gradcheck(env, "verify", folder, "--no-cache", "-q", "--format",
                                       "json")
            series.append((len(json.loads(done.stdout)["rules"]), seconds))
    return series


def numeric_at_scale() -> list[dict[str, Any]]:
    """∇_x (xᵀAx) = (A + Aᵀ)x at n: gradcheck's numeric search (60 samples, generation and all)
    against torch.autograd.gradcheck, slow and fast mode, on the same 60 inputs; the claimed
    gradient is the backward of an autograd.Function, so that gradcheck checks the claim."""
    import numpy as np
    import torch

    from gradcheck.catalog import rule_from_claim
    from gradcheck.model import Options
    from gradcheck.numeric import search
    from gradcheck.problem import compile_rule

    class Claimed(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
            ctx.save_for_backward(x, a)
            return x.T @ a @ x

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
            x, a = ctx.saved_tensors
            return grad * ((a + a.T) @ x), None

    rule, _ = rule_from_claim("∇_x (xᵀAx) = (A + Aᵀ)x")
    assert rule is not None
    problem = compile_rule(rule)
    rows = []
    for n in SIZES:
        options = Options(numeric_sizes=(("n", n),), examples=60)
        search(problem, options)  # warm: the first vmap of a shape compiles its plan
        start = time.perf_counter()
        evidence = search(problem, options)
        ours = time.perf_counter() - start
        assert evidence.counterexample is None and evidence.examples >= 60, evidence
        rng = np.random.default_rng(0)
        inputs = [(torch.tensor(rng.uniform(-2, 2, (n, 1)), requires_grad=True),
                   torch.tensor(rng.uniform(-2, 2, (n, n)))) for _ in range(evidence.examples)]
        timings = {}
        for mode, fast in (("slow", False), ("fast", True)):
            chosen = inputs if not (n >= 256 and not fast) else inputs[:4]  # slow mode: O(n) f's
            start = time.perf_counter()
            for x, a in chosen:
                assert torch.autograd.gradcheck(lambda x, a=a: Claimed.apply(x, a), (x,),
                                                fast_mode=fast)
            timings[mode] = (time.perf_counter() - start) * len(inputs) / len(chosen)
        rows.append({"n": n, "samples": evidence.examples, "gradcheck_s": ours,
                     "slow_s": timings["slow"], "fast_s": timings["fast"]})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache, "NO_COLOR": "1", "COLUMNS": "120"}
        env.pop("CI", None)
        base = floor(env)
        results: dict[str, Any] = {"floor_s": base, "load_before": os.getloadavg()}
        # cold: the cache folder is empty; this run fills it
        cold, done = _gradcheck(env, "verify", "-q", "--format", "json")
        results["catalog_peak_rss_mib"] = _peak_child_mib()
        results["catalog_cold_s"] = cold
        results["phases"] = phases(json.loads(done.stdout))
        results["catalog_cached_s"] = _gradcheck(env, "verify", "-q")[0]
        if PUBLIC.exists():
            results["public_cold_s"] = _gradcheck(env, "verify", str(PUBLIC), "--no-cache")[0]
        results["check_failing_cold_s"] = _gradcheck(
            env, "check", "∇_x (xᵀAx) = 2Ax", "--no-cache")[0]
        results["derive_s"] = _gradcheck(env, "derive", "aᵀX⁻¹b", "--wrt", "X")[0]
        if not args.skip_scale:
            results["scale"] = scale(env)
            results["scale"].append((results["phases"]["rules"], cold))
        results["numeric_at_scale"] = numeric_at_scale()
        results["load_after"] = os.getloadavg()
    _print(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


def _print(r: dict[str, Any]) -> None:
    f = r["floor_s"]
    p = r["phases"]

    def row(what: str, seconds: float, target: str) -> None:
        print(f"| {what} | {seconds:.1f} s | {seconds / f:.2f} | {target} |")

    print(f"import floor `{FLOOR}`: {f:.2f} s; load average before "
          f"{' '.join(f'{x:.2f}' for x in r['load_before'])}, after "
          f"{' '.join(f'{x:.2f}' for x in r['load_after'])}\n")
    print("| what | wall | floors | target |\n|---|---|---|---|")
    row(f"`gradcheck verify`, cold (bundled catalog, {p['rules']} rules)",
        r["catalog_cold_s"], "≤ 13")
    row("`gradcheck verify`, cached re-run", r["catalog_cached_s"], "≤ 1.5")
    if "public_cold_s" in r:
        row("`gradcheck verify public.yaml --no-cache`", r["public_cold_s"], "≤ 2.5")
    row("`gradcheck check \"∇_x (xᵀAx) = 2Ax\" --no-cache`", r["check_failing_cold_s"], "≤ 1.6")
    row("`gradcheck derive \"aᵀX⁻¹b\" --wrt X`", r["derive_s"], "≤ 1.6")
    print(f"\nnumeric evidence per rule: median {p['numeric_median_ms']:.0f} ms "
          f"(every rule without a counterexample at {p['examples_min']} samples or more; "
          "target ≤ 20 ms at ≥ 60)")
    print(f"slowest sympy step: {p['sympy_max'][0]:.1f} s ({p['sympy_max'][1]}); over 3 s: "
          f"{', '.join(p['sympy_over_3s']) or 'none'}")
    print(f"failing rule with diagnosis: median {p['failing_rule_median_s']:.2f} s")
    print("slowest rules: " + ", ".join(f"{rid} {s:.1f} s" for s, rid in p["slowest"]))
    print(f"peak RSS of the catalog run: {r['catalog_peak_rss_mib']:.0f} MiB (target ≤ 500)")
    if "scale" in r:
        print("\n| rules | wall | s per rule |\n|---|---|---|")
        for n, s in r["scale"]:
            print(f"| {n} | {s:.1f} s | {s / n:.3f} |")
    print("\n| n | gradcheck (60 samples) | autograd.gradcheck slow | fast | slow / ours | "
          "fast / ours |\n|---|---|---|---|---|---|")
    for row_ in r["numeric_at_scale"]:
        ours = row_["gradcheck_s"]
        print(f"| {row_['n']} | {ours * 1000:.0f} ms | {row_['slow_s'] * 1000:.0f} ms | "
              f"{row_['fast_s'] * 1000:.0f} ms | {row_['slow_s'] / ours:.0f}× | "
              f"{row_['fast_s'] / ours:.1f}× |")


if __name__ == "__main__":
    sys.exit(main())
