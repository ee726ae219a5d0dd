"""What every reporter shares: the outcomes and their counts, the diagnostics of a report,
a rule as written, numbers and matrices on one line."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from gradcheck.model import Diagnostic, Kind, Matrix, Report, Rule, Status, Verdict

if TYPE_CHECKING:
    from rich.console import Console

# Every outcome a verdict can show, in the order summaries list them.
OUTCOMES = (
    Status.HOLDS.value,
    Status.HOLDS_NUMERIC.value,
    "fails (expected)",
    Status.FAILS.value,
    f"{Status.HOLDS.value} (expected to fail)",
    f"{Status.HOLDS_NUMERIC.value} (expected to fail)",
    Status.ILL_FORMED.value,
    Status.ERROR.value,
)


def count_outcomes(verdicts: Iterable[Verdict]) -> dict[str, int]:
    """How many verdicts show each outcome, in `OUTCOMES` order, zeros left out."""
    counts = Counter(v.outcome for v in verdicts)
    known = {name: counts.pop(name) for name in OUTCOMES if name in counts}
    return known | dict(sorted(counts.items()))


def all_diagnostics(report: Report) -> list[Diagnostic]:
    """The file-level errors, then every verdict's diagnostics, without repeats."""
    found: list[Diagnostic] = list(report.errors) + list(report.unread)
    for verdict in report.verdicts:
        found.extend(verdict.diagnostics)
        if not verdict.diagnostics and not verdict.readable and verdict.position:
            found.append(Diagnostic(verdict.position, verdict.message, rule_id=verdict.rule_id))
    return list(dict.fromkeys(found))


def print_diagnostics(report: Report, err: Console) -> None:
    """Every diagnostic of `report` on `err`, a line each: the reporters whose own output is
    a file format (SARIF, JUnit, annotations, a patch) keep it free of them."""
    for d in all_diagnostics(report):
        err.print(str(d), markup=False, highlight=False, soft_wrap=True)


_KIND_TEMPLATES = {
    Kind.GRADIENT: "∇_{wrt} ({f}) = {rhs}",
    Kind.JACOBIAN: "∂({f})/∂{wrt} = {rhs}",
    Kind.HESSIAN: "∇²_{wrt} ({f}) = {rhs}",
    Kind.DIFFERENTIAL: "d({f}) = {rhs}",
}


def rule_text(rule: Rule) -> str:
    """The rule as written: its one-line claim, or its structured form on one line."""
    if rule.claim is not None:
        return rule.claim
    template = _KIND_TEMPLATES.get(rule.kind, "{f} wrt {wrt} = {rhs}") if rule.kind else "{f}"
    return template.format(f=rule.f or "?", wrt=rule.wrt or "?", rhs=rule.rhs or "?")


def format_number(x: float, digits: int = 3) -> str:
    """`x` with `digits` significant digits; -0 shows as 0, inf and nan as words."""
    if math.isnan(x) or math.isinf(x):
        return str(x)
    text = f"{x:.{digits}g}"
    return "0" if text == "-0" else text


def format_matrix(m: Matrix, digits: int = 3) -> str:
    """A matrix on one line: `2` (1×1), `[1, 2]ᵀ` (a column), else `[[1, 0], [0, 1]]`."""
    if not m or not m[0]:
        return "[]"
    rows = [[format_number(x, digits) for x in row] for row in m]
    if len(rows) == 1 and len(rows[0]) == 1:
        return rows[0][0]
    if all(len(row) == 1 for row in rows):
        return "[" + ", ".join(row[0] for row in rows) + "]ᵀ"
    return "[" + ", ".join("[" + ", ".join(row) + "]" for row in rows) + "]"
