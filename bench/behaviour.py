"""A snapshot of what gradcheck says, to show that a refactoring changes nothing.

    python bench/behaviour.py snapshot out.json     # catalog, mutants and derive corpus
    python bench/behaviour.py compare before.json after.json

The snapshot holds, per rule of the bundled catalog and of the mutant corpus
(tests/data/mutants.yaml), the status, message and diagnosis (category, detail, suggestion,
confirmed), and per entry of the derive corpus (tests/data/derive_corpus.yaml) the derived
formula in every spelling. Timings are left out; runs use the default seed, so two snapshots
of the same code are equal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "tests" / "data" / "mutants.yaml"
DERIVE_CORPUS = ROOT / "tests" / "data" / "derive_corpus.yaml"


def _verdicts(paths: list[Path], examples: int) -> dict[str, Any]:
    from gradcheck.api import verify
    from gradcheck.model import Options

    report = verify(paths, options=Options(jobs=2, examples=examples))
    rows: dict[str, Any] = {}
    for v in report.verdicts:
        d = v.diagnosis
        rows[v.rule_id] = {
            "status": v.status.value,
            "display": v.display,
            "message": v.message,
            "diagnosis": None
            if d is None
            else [str(d.category), d.detail, d.suggestion, d.confirmed],
        }
    return rows


def _derived() -> dict[str, Any]:
    from ruamel.yaml import YAML

    from gradcheck.derivation import derive
    from gradcheck.model import Options

    rows: dict[str, Any] = {}
    for entry in YAML(typ="safe").load(DERIVE_CORPUS.read_text(encoding="utf-8")):
        result = derive(
            entry["f"],
            entry["wrt"],
            kind=entry.get("kind", "gradient"),
            layout=entry.get("layout", "denominator"),
            assume=entry.get("assume"),
            symbols=entry.get("symbols"),
            options=Options(examples=20),
        )
        rows[entry["id"]] = {"texts": result.texts, "error": result.error}
    return rows


def snapshot(out: Path) -> None:
    from gradcheck.catalog import bundled_catalog

    data = {
        "catalog": _verdicts([bundled_catalog()], 60),
        "mutants": _verdicts([MUTANTS], 30),
        "derive": _derived(),
    }
    out.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def compare(before: Path, after: Path) -> int:
    old, new = (json.loads(p.read_text()) for p in (before, after))
    changed = 0
    for part in ("catalog", "mutants", "derive"):
        a, b = old.get(part, {}), new.get(part, {})
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                changed += 1
                print(f"{part}/{key}:\n  before {a.get(key)}\n  after  {b.get(key)}")
        differing = sum(a.get(k) != b.get(k) for k in set(a) | set(b))
        print(f"{part}: {len(b)} entries, {differing} changed")
    return 1 if changed else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "snapshot":
        snapshot(Path(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    else:
        sys.exit(__doc__)
