"""The JSON reporter: one object per run, one per rule; always strictly valid JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from rich.console import Console

from gradcheck.model import (
    Counterexample,
    CrossCheck,
    Diagnosis,
    Diagnostic,
    Matrix,
    NumericEvidence,
    Report,
    Rule,
    SymbolicEvidence,
    Verdict,
)
from gradcheck.report.common import all_diagnostics, count_outcomes, rule_text

JSONValue = Any


def number(x: float) -> float | str:
    """A float JSON can hold: inf, -inf and nan become the strings `inf`, `-inf`, `nan`."""
    return str(x) if math.isnan(x) or math.isinf(x) else x


def matrix(m: Matrix) -> list[list[float | str]]:
    """A matrix as a list of rows."""
    return [[number(x) for x in row] for row in m]


def sizes(pairs: tuple[tuple[str, int], ...]) -> dict[str, int]:
    """Dimension sizes as `{"m": 2, "n": 3}`."""
    return dict(pairs)


def diagnostic_to_dict(d: Diagnostic) -> dict[str, JSONValue]:
    """A diagnostic with its position as `file:line:col`."""
    return {
        "position": str(d.position),
        "message": d.message,
        "hint": d.hint,
        "rule_id": d.rule_id,
        "text": str(d),
    }


def _symbolic(ev: SymbolicEvidence | None) -> dict[str, JSONValue] | None:
    if ev is None:
        return None
    return {
        "status": ev.status.value,
        "sizes": [sizes(s) for s in ev.sizes],
        "detail": ev.detail,
        "seconds": number(ev.seconds),
        "all_sizes": ev.all_sizes,
        "matrix_detail": ev.matrix_detail,
    }


def _numeric(ev: NumericEvidence | None) -> dict[str, JSONValue] | None:
    if ev is None:
        return None
    return {
        "examples": ev.examples,
        "max_abs_error": number(ev.max_abs_error),
        "max_rel_error": number(ev.max_rel_error),
        "rtol": number(ev.rtol),
        "atol": number(ev.atol),
        "detail": ev.detail,
        "seconds": number(ev.seconds),
    }


def _crosscheck(cc: CrossCheck | None) -> dict[str, JSONValue] | None:
    if cc is None:
        return None
    return {
        "agreed": cc.agreed,
        "max_diff": number(cc.max_diff),
        "sizes": sizes(cc.sizes),
        "detail": cc.detail,
    }


def _counterexample(cx: Counterexample | None) -> dict[str, JSONValue] | None:
    if cx is None:
        return None
    return {
        "sizes": sizes(cx.sizes),
        "inputs": {name: matrix(m) for name, m in cx.inputs},
        "true": matrix(cx.true),
        "claimed": matrix(cx.claimed),
        "abs_error": number(cx.abs_error),
        "rel_error": number(cx.rel_error),
        "note": cx.note,
    }


def verdict_to_dict(v: Verdict) -> dict[str, JSONValue]:
    """One rule's verdict with all its evidence."""
    return {
        "id": v.rule_id,
        "display": v.display,
        "kind": v.kind.value if v.kind else None,
        "verdict": v.status.value,
        "outcome": v.outcome,
        "expected": v.expect.value,
        "as_expected": v.as_expected,
        "message": v.message,
        "position": str(v.position) if v.position else None,
        "source": v.source,
        "tags": list(v.tags),
        "seconds": number(v.seconds),
        "symbolic": _symbolic(v.symbolic),
        "numeric": _numeric(v.numeric),
        "crosscheck": _crosscheck(v.crosscheck),
        "counterexample": _counterexample(v.numeric.counterexample if v.numeric else None),
        "diagnostics": [diagnostic_to_dict(d) for d in v.diagnostics],
        "diagnosis": _diagnosis(v.diagnosis),
    }


def _diagnosis(d: Diagnosis | None) -> dict[str, JSONValue] | None:
    if d is None:
        return None
    return {
        "category": d.category.value,
        "detail": d.detail,
        "suggestion": d.suggestion,
        "corrected": d.corrected,
        "confirmed": d.confirmed,
    }


def report_to_dict(report: Report) -> dict[str, JSONValue]:
    """The whole run: seed, examples, seconds, exit code, counts, rules, errors."""
    return {
        "seed": report.seed,
        "examples": report.examples,
        "seconds": number(report.seconds),
        "exit_code": int(report.exit_code),
        "counts": count_outcomes(report.verdicts),
        "rules": [verdict_to_dict(v) for v in report.verdicts],
        "errors": [diagnostic_to_dict(d) for d in report.errors],
        "unread": [diagnostic_to_dict(d) for d in report.unread],  # formulas of notes
    }


def rule_to_dict(rule: Rule) -> dict[str, JSONValue]:
    """A catalog entry as `gradcheck list --format json` shows it."""
    return {
        "id": rule.id,
        "title": rule.title,
        "rule": rule_text(rule),
        "kind": rule.kind.value if rule.kind else None,
        "expect": rule.expect.value,
        "tags": list(rule.tags),
        "source": rule.source,
        "position": str(rule.position),
    }


def dumps(data: dict[str, JSONValue]) -> str:
    """Strict JSON (no NaN or Infinity literals), indented."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)


def render(report: Report, out: Console, err: Console, *, detail: bool = False) -> None:
    """The report as one JSON document on `out` (it holds every detail); diagnostics to `err`."""
    out.out(dumps(report_to_dict(report)), highlight=False)
    _diagnostics(all_diagnostics(report), err)


def render_rules(
    rules: Sequence[Rule], diagnostics: Sequence[Diagnostic], out: Console, err: Console
) -> None:
    """The catalog as `{"count", "rules", "errors"}`."""
    data = {
        "count": len(rules),
        "rules": [rule_to_dict(r) for r in rules],
        "errors": [diagnostic_to_dict(d) for d in diagnostics],
    }
    out.out(dumps(data), highlight=False)
    _diagnostics(diagnostics, err)


def _diagnostics(diagnostics: Sequence[Diagnostic], err: Console) -> None:
    """Diagnostics also go to stderr, so a redirected run is not silent about them."""
    for d in diagnostics:
        err.print(str(d), markup=False, highlight=False, soft_wrap=True)
