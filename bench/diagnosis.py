"""How often the diagnosis names the right mistake: `verify_rule` (diagnosis on) over the mutant
corpus tests/data/mutants.yaml (made by bench/make_mutants.py).

    python bench/diagnosis.py                  # markdown tables and the headline on stdout
    python bench/diagnosis.py -k trace         # only mutants whose id contains "trace"
    python bench/diagnosis.py --every 5        # every 5th mutant (a quick sample)
    python bench/diagnosis.py --json           # one JSON document instead
    python bench/diagnosis.py --update-readme  # also rewrite the section in README.md
    python bench/diagnosis.py -j 4             # worker processes (default 2)
    python bench/diagnosis.py --save out.json  # also keep the rows; --load out.json re-renders

Each mutant is a wrong rule whose tags carry the mutation that made it (`mutation:NAME`) and
the category of mistake the diagnosis must name (`category:NAME`). A mutant counts as right
when its verdict is `fails` and `diagnosis.category` is that category; its suggestion counts
as confirmed when `diagnosis.confirmed` is true (the suggested formula was itself verified as
holding). Runs `gradcheck.verdicts.verify_rule` in forked workers with
`Options(jobs=J, examples=30)`; results do not depend on the number of jobs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "tests" / "data" / "mutants.yaml"
README = ROOT / "README.md"
START, END = "<!-- diagnosis:start -->", "<!-- diagnosis:end -->"
EXAMPLES = 30
ORDER = ("layout", "inverse", "symmetrization", "swap", "transpose", "scale-2", "scale-half")


def tag(rule: Any, name: str) -> str:
    """The value of the tag `name:VALUE` of a rule."""
    return next(t.split(":", 1)[1] for t in rule.tags if t.startswith(f"{name}:"))


def verify_each(rules: list[Any], options: Any) -> Iterator[Any]:
    """The verdicts in order, as they come (forked workers, as `verify_rules` uses)."""
    from gradcheck.verdicts import verify_rule

    if options.jobs <= 1:
        yield from (verify_rule(rule, options) for rule in rules)
        return
    import multiprocessing

    from gradcheck import numeric, symbolic  # noqa: F401 - imported once for the workers

    with multiprocessing.get_context("fork").Pool(options.jobs) as pool:
        yield from pool.imap(_verify, [(rule, options) for rule in rules], chunksize=1)


def _verify(task: tuple[Any, Any]) -> Any:
    from gradcheck.verdicts import verify_rule

    return verify_rule(*task)


def _progress(verdicts: Iterator[Any], total: int) -> Iterator[Any]:
    """Pass the verdicts through, with a line on stderr every 25 of them."""
    start = time.perf_counter()
    for done, verdict in enumerate(verdicts, 1):
        if done % 25 == 0 or done == total:
            print(f"{done}/{total} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        yield verdict


def run(path: Path, keyword: str | None, every: int, jobs: int) -> tuple[list[dict], float]:
    from gradcheck.catalog import load_file
    from gradcheck.model import Options, Status

    rules, diags = load_file(path)
    if diags:
        raise SystemExit(f"{path}: {len(diags)} diagnostic(s), e.g. {diags[0]}")
    rules = [r for r in rules if keyword is None or keyword in r.id][::every]
    start = time.perf_counter()
    options = Options(jobs=jobs, examples=EXAMPLES)
    verdicts = list(_progress(verify_each(rules, options), len(rules)))
    seconds = time.perf_counter() - start
    rows = []
    for rule, verdict in zip(rules, verdicts, strict=True):
        d = verdict.diagnosis
        got = d.category.value if d is not None else f"({verdict.status.value})"
        expected = tag(rule, "category")
        rows.append(
            {
                "id": rule.id,
                "from": rule.correct,
                "mutation": tag(rule, "mutation"),
                "expected": expected,
                "got": got,
                "right": verdict.status is Status.FAILS and got == expected,
                "confirmed": bool(d and d.confirmed),
                "detail": d.detail if d else verdict.message,
                "suggestion": d.suggestion if d else "",
                "claim": verdict.display,
                "seconds": round(verdict.seconds, 2),
            }
        )
    return rows, seconds


def _share(k: int, n: int) -> str:
    return f"{100 * k / n:.0f}%" if n else "–"


def headline(rows: list[dict]) -> str:
    n = len(rows)
    right = sum(r["right"] for r in rows)
    confirmed = sum(r["confirmed"] for r in rows)
    return (
        f"{right}/{n} mutants get the category of their mutation ({_share(right, n)}); "
        f"{confirmed}/{n} suggestions verify"
    )


def tables(rows: list[dict]) -> str:
    """The per-mutation table, the per-category confusion, and the mismatches (markdown)."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r["mutation"]].append(r)
    rank = {m: i for i, m in enumerate(ORDER)}
    lines = [
        "| mutation | expected category | mutants | right category | share "
        "| suggestion confirmed |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for mutation in sorted(groups, key=lambda m: (rank.get(m, len(rank)), m)):
        group = groups[mutation]
        right = sum(r["right"] for r in group)
        confirmed = sum(r["confirmed"] for r in group)
        expected = ", ".join(sorted({r["expected"] for r in group}))
        lines.append(
            f"| {mutation} | {expected} | {len(group)} | {right} | "
            f"{_share(right, len(group))} | {confirmed} |"
        )
    right = sum(r["right"] for r in rows)
    confirmed = sum(r["confirmed"] for r in rows)
    lines.append(
        f"| **all** | | **{len(rows)}** | **{right}** | **{_share(right, len(rows))}** | "
        f"**{confirmed}** |"
    )
    wrong = [r for r in rows if not r["right"]]
    lines += ["", f"Mismatches ({len(wrong)}):", ""]
    if wrong:
        lines += ["| mutant | claim | expected | got | detail |", "|---|---|---|---|---|"]
        for r in wrong:
            cells = [r["id"], r["claim"], r["expected"], r["got"], r["detail"]]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    else:
        lines.append("none")
    unconfirmed = [r for r in rows if not r["confirmed"]]
    lines += ["", f"Suggestions not confirmed ({len(unconfirmed)}):", ""]
    lines += [f"- {r['id']}: {r['suggestion'] or '(no suggestion)'}" for r in unconfirmed] or [
        "none"
    ]
    return "\n".join(lines)


def update_readme(text: str) -> None:
    """Replace the block between the markers (added after the Diagnosis section if absent)."""
    readme = README.read_text(encoding="utf-8")
    block = f"{START}\n{text}\n{END}"
    if START in readme and END in readme:
        pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
        readme = pattern.sub(lambda _: block, readme, count=1)
    else:
        anchor = "\n## Verdicts and exit codes"
        if anchor not in readme:
            raise SystemExit("README.md: no '## Verdicts and exit codes' to put the section before")
        section = (
            "\n#### On a corpus of wrong rules\n\n"
            "`bench/make_mutants.py` makes `tests/data/mutants.yaml` from the bundled catalog: "
            "each rule that holds is mutated (its claim transposed, scaled ×2, ×½ or ×−1, a "
            "symmetrization such as A + Aᵀ dropped to 2A, two factors of a product swapped, "
            "an X⁻¹ turned into X⁻ᵀ or back, a Jacobian's layout flipped), and each mutant that "
            "verifies as wrong is kept, tagged with the category its mutation must get "
            "(transpose → `transposed`, layout → `layout`, scale and sign → `scale`, dropped "
            "symmetrization → `assumption`, swapped factors and X⁻¹ ↔ X⁻ᵀ → `inverse`). "
            "`python bench/diagnosis.py --update-readme` diagnoses every mutant and writes "
            "this:\n\n" + block + "\n"
        )
        readme = readme.replace(anchor, section + anchor, 1)
    README.write_text(readme, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=MUTANTS)
    parser.add_argument("-k", "--keyword", help="only mutants whose id contains this")
    parser.add_argument("--every", type=int, default=1, help="only every N-th mutant")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--save", type=Path, help="write the rows as JSON to this file")
    parser.add_argument("--load", type=Path, help="render rows saved by --save (no run)")
    args = parser.parse_args(argv)

    if args.load:
        saved = json.loads(args.load.read_text(encoding="utf-8"))
        rows, seconds = saved["mutants"], saved["seconds"]
    else:
        rows, seconds = run(args.path, args.keyword, args.every, args.jobs)
    summary = {"headline": headline(rows), "seconds": round(seconds, 1), "mutants": rows}
    if args.save:
        args.save.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.json:
        json.dump(summary, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print(tables(rows))
        print()
        print(headline(rows))
        print(f"({len(rows)} mutants in {seconds:.0f} s with {args.jobs} jobs)")
    if args.update_readme:
        if args.keyword or args.every != 1 or (args.path != MUTANTS and not args.load):
            raise SystemExit("--update-readme measures the whole corpus: drop -k, --every, PATH")
        measured = f"{headline(rows)}.\n\n{tables(rows)}"
        update_readme(measured)
        print("updated README.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
