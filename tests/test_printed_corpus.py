"""The corpus of derivative claims as printed in public sources (tests/data/printed_claims.yaml,
measured by bench/notation.py): its structure, without running the checker on every entry,
and five entries through the real checker."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from gradcheck.api import check
from gradcheck.assumptions import DECLARABLE
from gradcheck.model import Status

CORPUS = Path(__file__).parent / "data" / "printed_claims.yaml"
FIELDS = {"id", "printed", "source", "layout", "assume", "symbols", "expect", "note", "otimes"}
REQUIRED = {"id", "printed", "source", "layout", "assume", "expect"}
SHAPE = re.compile(r"scalar|vector\(\w+\)|matrix\(\w+, ?\w+\)")


def entries() -> list[dict[str, Any]]:
    data = YAML(typ="safe").load(CORPUS.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


ENTRIES = entries()
BY_ID = {str(e.get("id")): e for e in ENTRIES}


def test_at_least_100_entries_with_unique_ids() -> None:
    assert len(ENTRIES) >= 100
    repeated = [i for i, n in Counter(str(e.get("id")) for e in ENTRIES).items() if n > 1]
    assert not repeated


@pytest.mark.parametrize("entry", ENTRIES, ids=[str(e.get("id")) for e in ENTRIES])
def test_entry_structure(entry: dict[str, Any]) -> None:
    assert isinstance(entry, dict)
    assert entry.keys() >= REQUIRED, f"missing {sorted(REQUIRED - entry.keys())}"
    assert entry.keys() <= FIELDS, f"unknown fields {sorted(entry.keys() - FIELDS)}"
    assert isinstance(entry["id"], str) and re.fullmatch(r"[\w.+-]+", entry["id"])
    for field in ("printed", "source"):
        assert isinstance(entry[field], str) and entry[field].strip(), field
    assert "\n" not in entry["printed"], "a claim is one line"
    assert entry["layout"] in ("denominator", "numerator")
    assert entry["expect"] in ("holds", "fails")
    assert entry.get("otimes", "hadamard") in ("hadamard", "kronecker"), "what ⊗ means"
    if entry["expect"] == "fails":
        assert str(entry.get("note", "")).strip(), "an expected failure says why in its note"
    assume = entry["assume"]
    assert isinstance(assume, dict)
    for symbol, names in assume.items():
        assert isinstance(symbol, str) and symbol
        assert isinstance(names, list) and names, symbol
        unknown = [n for n in names if n not in DECLARABLE]
        assert not unknown, f"{symbol}: unknown assumptions {unknown}; known: {DECLARABLE}"
    symbols = entry.get("symbols", {})
    assert isinstance(symbols, dict)
    for symbol, shape in symbols.items():
        assert isinstance(shape, str) and SHAPE.fullmatch(shape), f"{symbol}: {shape!r}"


def test_mostly_true_claims_with_some_printed_errors() -> None:
    expects = Counter(e["expect"] for e in ENTRIES)
    assert expects["holds"] > expects["fails"] > 0


# Five entries that gradcheck reads today, with both verdicts and both layouts.
CHECKED = ["stansbury-6.1.7", "mc-100", "d2l-2.4-Ax", "mml-5.107", "d2l-app-1x1-sign"]


@pytest.mark.parametrize("entry_id", CHECKED)
def test_read_entries_get_the_expected_verdict(entry_id: str) -> None:
    entry = BY_ID[entry_id]
    verdict = check(
        entry["printed"],
        assume=entry["assume"] or None,
        layout=entry["layout"],
        symbols=entry.get("symbols") or None,
        seed=0,
    )
    wanted = {Status.FAILS} if entry["expect"] == "fails" else {Status.HOLDS, Status.HOLDS_NUMERIC}
    assert verdict.status in wanted, f"{entry_id}: {verdict.status.value}: {verdict.message}"
