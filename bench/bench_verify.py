"""Time `gradcheck verify`: in-process through `gradcheck.api.verify`, or the CLI end to end.

    python bench/bench_verify.py                      # the bundled catalog, 3 runs
    python bench/bench_verify.py PATH... --repeat 5   # other rule files or folders
    python bench/bench_verify.py --cold               # `python -m gradcheck verify` as a subprocess

In-process mode imports gradcheck and its heavy dependencies (torch, sympy, hypothesis) once
before the clock starts, and clears sympy's cache before every run so that no run profits from
the one before. It prints the median wall time, rules per second, the per-phase totals taken
from each verdict's evidence (sympy seconds, autograd search seconds), and the peak RSS.
Runs are deterministic (a fixed seed); the script checks that every run gives the same outcomes.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

WARM_UP = ("gradcheck.api", "gradcheck.verdicts", "gradcheck.symbolic", "gradcheck.numeric",
           "gradcheck.crosscheck", "gradcheck.calculus.derive", "gradcheck.diagnose")


def _peak_rss_mib(who: int) -> float:
    """Peak resident set size in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(who).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished children (workers, CLIs)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _options(args: argparse.Namespace) -> Any:
    from gradcheck.model import Options

    fields = {f.name for f in dataclasses.fields(Options)}
    chosen: dict[str, Any] = {"seed": args.seed}
    if args.examples is not None:
        chosen["examples"] = args.examples
    if args.jobs is not None:
        if "jobs" not in fields:
            sys.exit("this version of gradcheck has no parallel mode (Options.jobs)")
        chosen["jobs"] = args.jobs
    return Options(**chosen)


def _warm_up() -> float:
    """Import everything a verify run needs; the seconds it took."""
    start = time.perf_counter()
    for name in WARM_UP:
        with contextlib.suppress(ImportError):  # a module this version does not have
            importlib.import_module(name)
    return time.perf_counter() - start


def in_process(args: argparse.Namespace) -> int:
    """Median of `--repeat` runs of gradcheck.api.verify, with phase totals and peak RSS."""
    import_seconds = _warm_up()
    import sympy

    from gradcheck import api

    options = _options(args)
    runs: list[float] = []
    cpu: list[float] = []
    phases: list[tuple[float, float, float]] = []
    outcomes: list[tuple[tuple[str, str], ...]] = []
    last = None
    for _ in range(args.repeat):
        sympy.core.cache.clear_cache()
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        report = api.verify(args.paths or None, options=options)
        runs.append(time.perf_counter() - start)
        cpu.append(_cpu_seconds() - cpu_start)
        phases.append(_phases(report.verdicts))
        outcomes.append(tuple((v.rule_id, v.outcome) for v in report.verdicts))
        last = report
    assert last is not None
    verdicts = last.verdicts
    rules = len(verdicts)
    median = statistics.median(runs)
    symbolic, numeric, rest = phases[runs.index(median)] if median in runs else phases[-1]
    slowest = sorted(verdicts, key=lambda v: v.seconds, reverse=True)[:3]
    jobs = getattr(options, "jobs", 1)

    print(f"catalog        {_describe(args.paths)}")
    print(f"mode           in-process gradcheck.api.verify, seed {options.seed}, "
          f"{options.examples} examples/rule, jobs {jobs}")
    print(f"import         {import_seconds:.2f} s (torch, sympy, hypothesis; not timed below)")
    print(f"rules          {rules}   outcomes: {_counts(verdicts)}   exit code "
          f"{int(last.exit_code)}")
    print("runs           " + ", ".join(
        f"{wall:.2f} s (sympy {sym:.2f}, numeric {num:.2f})"
        for wall, (sym, num, _) in zip(runs, phases, strict=True)))
    print(f"median         {median:.2f} s   ({rules / median:.2f} rules/s)")
    print(f"CPU time       {statistics.median(cpu):.2f} s median (user + system, workers "
          f"included; less sensitive than wall time to other load)   load average "
          f"{_load()}")
    print(f"phases         symbolic (sympy) {symbolic:.2f} s, numeric (autograd + hypothesis) "
          f"{numeric:.2f} s, rest (parse, matrix form, cross-check, diagnosis) {rest:.2f} s; "
          "summed over the rules of the median run"
          + ("" if jobs <= 1 else ", across workers"))
    print("slowest        " + ", ".join(f"{v.rule_id} {v.seconds:.2f} s" for v in slowest))
    print(f"peak RSS       {_peak_rss_mib(resource.RUSAGE_SELF):.0f} MiB"
          + (f" (largest worker {_peak_rss_mib(resource.RUSAGE_CHILDREN):.0f} MiB)"
             if jobs > 1 else ""))
    same = all(o == outcomes[0] for o in outcomes)
    print(f"deterministic  {'yes' if same else 'NO'}: "
          f"{'every run gave the same outcomes' if same else 'outcomes differ between runs'}")
    return 0 if same else 1


def cold(args: argparse.Namespace) -> int:
    """Median of `--repeat` runs of `python -m gradcheck verify` in a fresh interpreter."""
    command = [sys.executable, "-m", "gradcheck", "verify", *args.paths, "--seed", str(args.seed)]
    if args.examples is not None:
        command += ["--examples", str(args.examples)]
    if args.jobs is not None:
        command += ["--jobs", str(args.jobs)]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    runs: list[float] = []
    cpu: list[float] = []
    codes: list[int] = []
    summary = ""
    for _ in range(args.repeat):
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        done = subprocess.run(command, capture_output=True, text=True, env=env,
                              stdin=subprocess.DEVNULL, check=False)
        runs.append(time.perf_counter() - start)
        cpu.append(_cpu_seconds() - cpu_start)
        codes.append(done.returncode)
        lines = done.stdout.strip().splitlines()
        summary = lines[-1] if lines else done.stderr.strip()[-200:]
    median = statistics.median(runs)
    rules = _rule_count(summary)
    print(f"catalog        {_describe(args.paths)}")
    shown = " ".join(Path(c).name if i == 0 else c for i, c in enumerate(command))
    print(f"mode           cold: {shown}")
    print(f"last line      {summary}")
    print(f"exit codes     {', '.join(map(str, codes))}")
    print(f"runs           {', '.join(f'{s:.2f}' for s in runs)} s")
    rate = f"   ({rules / median:.2f} rules/s)" if rules else ""
    print(f"median         {median:.2f} s{rate}, end to end (interpreter start, imports, output)")
    print(f"CPU time       {statistics.median(cpu):.2f} s median (user + system of the CLI "
          f"process and its workers)   load average {_load()}")
    print(f"peak RSS       {_peak_rss_mib(resource.RUSAGE_CHILDREN):.0f} MiB "
          "(largest child process)")
    return 0 if all(code in (0, 1) for code in codes) else 1


def _phases(verdicts: Any) -> tuple[float, float, float]:
    """Seconds summed over rules: sympy, the autograd search, and the rest of each rule."""
    symbolic = sum(v.symbolic.seconds for v in verdicts if v.symbolic)
    numeric = sum(v.numeric.seconds for v in verdicts if v.numeric)
    total = sum(v.seconds for v in verdicts)
    return symbolic, numeric, max(total - symbolic - numeric, 0.0)


def _load() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine skews wall times."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _describe(paths: list[str]) -> str:
    return ", ".join(paths) if paths else "bundled (rules/)"


def _counts(verdicts: Any) -> str:
    counts = Counter(v.outcome for v in verdicts)
    return ", ".join(f"{n} {name}" for name, n in counts.items())


def _rule_count(summary: str) -> int:
    first = summary.split(" ", 1)[0]
    return int(first) if first.isdigit() else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="rule files or folders (default: the bundled catalog)")
    parser.add_argument("--repeat", type=int, default=3, help="runs to take the median of")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated inputs")
    parser.add_argument("--examples", type=int, default=None,
                        help="generated inputs per rule (default: gradcheck's default)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="rules in parallel (default: the library default in-process, "
                             "the CLI default with --cold)")
    parser.add_argument("--cold", action="store_true",
                        help="time the CLI in a subprocess, end to end")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return cold(args) if args.cold else in_process(args)


if __name__ == "__main__":
    sys.exit(main())
