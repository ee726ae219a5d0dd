"""Notation as it is printed (issue 13, item 3): how many of the derivative claims copied from
public sources (tests/data/printed_claims.yaml) gradcheck reads, and whether the ones it reads
get the verdict the corpus expects.

    python bench/notation.py                  # a Markdown report on stdout
    python bench/notation.py --json out.json  # also every entry's result as JSON
    python bench/notation.py -k mc-           # only entries whose id contains "mc-"

Each entry goes through the public API, in this process, as `gradcheck check` reads a claim:
`gradcheck.notes.claims.claim_rules(printed, assume=..., layout=..., symbols=..., otimes=...)`
reads it (`otimes`: what ⊗ means where the source declares it, as `check --otimes` takes)
(math delimiters stripped, a chain `a = b = c` cut into links, a bracketed condition in prose
assumed), and `gradcheck.verdicts.verify_rule` checks each rule with `Options(seed=0)`
(default examples). A chain is read when every link is, holds when every link holds, and is
right for an entry expected to fail when some link fails. An entry is

* **unread** when no rule comes back or the rule is ill-formed (it cannot be parsed or
  typed); the reason is the first error message, and the report groups the reasons;
* **right** when it was read and its verdict is the expected one (`holds`: holds or holds
  numerically; `fails`: fails);
* **wrong** when it was read and the verdict is anything else, an internal error included.
  These are silent misreadings (gradcheck read something other than what the source means)
  or checker errors; the goal is none.

What gradcheck reads changes as the notation work of issue 13 lands; the script measures the
code as it is when it runs. Run it with a private cache, e.g. XDG_CACHE_HOME=/tmp/cache-corpus.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "printed_claims.yaml"


@dataclass
class Result:
    """What happened to one corpus entry."""

    id: str
    printed: str
    source: str
    expect: str
    outcome: str  # "right" | "wrong" | "unread"
    status: str = ""  # gradcheck's verdict status, "" when unread before a verdict
    message: str = ""  # the first error message (unread) or the verdict's message
    read_as: str = ""  # the statement gradcheck checked, in its Unicode notation
    seconds: float = 0.0


def load(path: Path) -> list[dict[str, Any]]:
    """The corpus entries, as plain data."""
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise SystemExit(f"{path}: expected a list of entries")
    return data


def _read_as(verdict: Any) -> str:
    """The statement a verdict was checked on, printed in gradcheck's notation (best effort:
    the printer is internal, and a failure to print must not change the measurement)."""
    statement = getattr(verdict, "statement", None)
    if statement is None:
        return ""
    try:
        from gradcheck.lang.printer import unicode

        shapes = ", ".join(f"{name}: {rows}×{cols}" for name, (rows, cols) in statement.shapes)
        kind = getattr(statement.kind, "value", str(statement.kind))
        layout = getattr(statement.layout, "value", str(statement.layout))
        return (
            f"{kind} of {unicode(statement.f)} by {statement.wrt} = {unicode(statement.claim)}"
            f" ({layout}; {shapes})"
        )
    except Exception:  # a reporting aid only
        return ""


def run_entry(entry: Mapping[str, Any]) -> Result:
    """Read and check one entry through the public API, as `gradcheck check` does."""
    from gradcheck.model import Options, Status
    from gradcheck.notes.claims import claim_rules
    from gradcheck.notes.declarations import Otimes
    from gradcheck.verdicts import verify_rule

    expect = str(entry.get("expect", "holds"))
    result = Result(
        id=str(entry["id"]),
        printed=str(entry["printed"]),
        source=str(entry.get("source", "")),
        expect=expect,
        outcome="unread",
    )
    start = time.perf_counter()
    try:
        rules, diagnostics = claim_rules(
            result.printed,
            assume={k: list(v) for k, v in (entry.get("assume") or {}).items()},
            layout=str(entry.get("layout", "denominator")),
            symbols={k: str(v) for k, v in (entry.get("symbols") or {}).items()} or None,
            otimes=Otimes(entry["otimes"]) if entry.get("otimes") else None,
        )
    except Exception as err:  # a crash while reading is a finding, not the end of the run
        result.message = f"crash while reading: {type(err).__name__}: {err}"
        result.seconds = time.perf_counter() - start
        return result
    if not rules or diagnostics:
        result.message = diagnostics[0].message if diagnostics else "no rule and no message"
        result.seconds = time.perf_counter() - start
        return result
    try:
        verdicts = [verify_rule(rule, Options(seed=0)) for rule in rules]
    except Exception as err:
        result.outcome = "wrong"
        result.status = "crash"
        result.message = "".join(traceback.format_exception_only(type(err), err)).strip()
        result.seconds = time.perf_counter() - start
        return result
    result.seconds = time.perf_counter() - start
    unreadable = [v for v in verdicts if v.status is Status.ILL_FORMED]
    if unreadable:  # a chain is read when every link is
        result.status = Status.ILL_FORMED.value
        result.message = unreadable[0].message
        return result
    # a chain holds when every link does, and fails when one does
    failing = [v for v in verdicts if v.status is not Status.HOLDS and
               v.status is not Status.HOLDS_NUMERIC]
    shown = failing[0] if failing else verdicts[0]
    result.status = shown.status.value
    result.message = shown.message
    result.read_as = "; ".join(_read_as(v) for v in verdicts)
    fails = any(v.status is Status.FAILS for v in verdicts)
    result.outcome = "right" if (fails if expect == "fails" else not failing) else "wrong"
    return result


# ----- grouping and counting -----

_QUOTED = re.compile(r"`[^`]*`|'[^']*'|\"[^\"]*\"|«[^»]*»")
_NUMBER = re.compile(r"\d+")


def reason_key(message: str) -> str:
    """A message with its specifics (quoted fragments, numbers) blanked, so that the same
    error on different formulas groups together."""
    first = message.strip().splitlines()[0] if message.strip() else "(no message)"
    return _NUMBER.sub("N", _QUOTED.sub("…", first))


_INDEX_ID = re.compile(r"index file id (\d+)")
_GITHUB = re.compile(r"github\.com/([\w.-]+/[\w.-]+)")
_MSE = re.compile(r"math\.stackexchange\.com/questions/(\d+)")
_DOMAIN = re.compile(r"\b([\w-]+(?:\.[\w-]+)*\.(?:com|org|io|ai|xyz|net))/")
_EQUATION = re.compile(r"\s*\beqs?\.\s*\([^)]*\)(?:\s*-\s*\([^)]*\))?")


def source_key(source: str) -> str:
    """Which work an entry comes from: its repository, Q&A thread, site, stored file, or the
    reference before its first comma (equation numbers removed)."""
    for pattern, prefix in (
        (_INDEX_ID, "index file "),
        (_GITHUB, "github "),
        (_MSE, "math.stackexchange "),
        (_DOMAIN, ""),
    ):
        if match := pattern.search(source):
            return prefix + match.group(1)
    return _EQUATION.sub("", source).split(",")[0].strip()


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def cell(text: str, limit: int = 160) -> str:
    """Text fit for a Markdown table cell."""
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def summary(results: Sequence[Result], sources: int) -> dict[str, Any]:
    total = len(results)
    read = [r for r in results if r.outcome != "unread"]
    right = [r for r in read if r.outcome == "right"]
    wrong = [r for r in read if r.outcome == "wrong"]
    groups: dict[str, list[Result]] = {}
    for r in results:
        if r.outcome == "unread":
            groups.setdefault(reason_key(r.message), []).append(r)
    return {
        "total": total,
        "sources": sources,
        "read": len(read),
        "right": len(right),
        "wrong": len(wrong),
        "unread": total - len(read),
        "expected_fails": sum(r.expect == "fails" for r in results),
        "unread_reasons": [
            {
                "reason": key,
                "count": len(items),
                "example": items[0].message,
                "ids": [r.id for r in items],
            }
            for key, items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ],
    }


def markdown(results: Sequence[Result], stats: Mapping[str, Any], seconds: float) -> str:
    total, read = stats["total"], stats["read"]
    lines = [
        "## Printed claims: what gradcheck reads",
        "",
        f"{total} derivative claims copied as printed from {stats['sources']} public sources "
        f"(tests/data/printed_claims.yaml; {stats['expected_fails']} are printed errors "
        f"expected to fail), read with `rule_from_claim` and checked with seed 0 in "
        f"{seconds:.0f} s.",
        "",
        "| | claims | share |",
        "|---|---:|---:|",
        f"| total | {total} | |",
        f"| read | {read} | {share(read, total)} |",
        f"| read, verdict as expected | {stats['right']} | {share(stats['right'], total)} "
        f"of all, {share(stats['right'], read)} of read |",
        f"| read, verdict NOT as expected | {stats['wrong']} | {share(stats['wrong'], total)} |",
        f"| unread | {stats['unread']} | {share(stats['unread'], total)} |",
        "",
    ]
    wrong = [r for r in results if r.outcome == "wrong"]
    lines.append(f"### Read but wrong: {len(wrong)} (silent misreadings or checker errors)")
    lines.append("")
    if wrong:
        lines += [
            "| id | printed | expected | verdict | read as | message |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r.id} | `{cell(r.printed, 120)}` | {r.expect} | {r.status} | "
            f"{cell(r.read_as, 160)} | {cell(r.message, 200)} |"
            for r in wrong
        ]
    else:
        lines.append("None.")
    lines += ["", f"### Unread: {stats['unread']}, grouped by the first error message", ""]
    if stats["unread_reasons"]:
        lines += ["| claims | first error message (example) | ids |", "|---:|---|---|"]
        lines += [
            f"| {g['count']} | {cell(g['example'], 200)} | {', '.join(g['ids'])} |"
            for g in stats["unread_reasons"]
        ]
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the corpus YAML file")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write JSON results")
    parser.add_argument("-k", metavar="TEXT", help="only entries whose id contains TEXT")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)

    entries = [e for e in load(args.corpus) if not args.k or args.k in str(e.get("id", ""))]
    start = time.perf_counter()
    results: list[Result] = []
    for number, entry in enumerate(entries, 1):
        result = run_entry(entry)
        results.append(result)
        if not args.quiet:
            print(
                f"[{number}/{len(entries)}] {result.id}: {result.outcome} "
                f"({result.status or '-'}, {result.seconds:.1f} s)",
                file=sys.stderr,
            )
    seconds = time.perf_counter() - start
    sources = len({source_key(str(e.get("source", ""))) for e in entries})
    stats = summary(results, sources)
    sys.stdout.write(markdown(results, stats, seconds))
    if args.json:
        document = {
            "summary": stats,
            "seconds": round(seconds, 1),
            "results": [asdict(r) for r in results],
        }
        args.json.write_text(
            json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
