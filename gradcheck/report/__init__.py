"""Reporters: one module per output format, chosen by `Format`, behind `Formatter`."""

from __future__ import annotations

import math
import os
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, TextIO

from gradcheck.model import Diagnostic, Kind, Matrix, Report, Rule, Status, Verdict

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "OUTCOMES",
    "Format",
    "Formatter",
    "all_diagnostics",
    "console",
    "count_outcomes",
    "format_matrix",
    "format_number",
    "formatter",
    "render",
    "render_rules",
    "rule_text",
]

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


class Format(StrEnum):
    """An output format of `gradcheck verify`, `check` and `list`."""

    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


class Formatter(Protocol):
    """What every reporter module provides."""

    def render(self, report: Report, out: Console, err: Console, *, detail: bool = False) -> None:
        """Write a report: results to `out`, diagnostics to `err`."""

    def render_rules(
        self, rules: Sequence[Rule], diagnostics: Sequence[Diagnostic], out: Console, err: Console
    ) -> None:
        """Write a catalog listing: rules to `out`, diagnostics to `err`."""


def formatter(fmt: Format) -> Formatter:
    """The reporter module for `fmt` (imported on demand)."""
    if Format(fmt) is Format.JSON:
        from gradcheck.report import json_report

        return json_report
    if Format(fmt) is Format.MARKDOWN:
        from gradcheck.report import markdown

        return markdown
    from gradcheck.report import table

    return table


# The width of output that goes to a file or a pipe (a CI log, `| less`). rich would use 80
# columns there, which wraps every row of the table; COLUMNS, when set, still wins.
PIPED_WIDTH = 120


def console(*, stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr): as wide as the terminal, or COLUMNS if set, or
    PIPED_WIDTH when the stream is not a terminal."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if os.environ.get("COLUMNS", "").isdigit() or _is_terminal(stream) else PIPED_WIDTH
    return Console(stderr=stderr, width=width)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced by something without isatty, or closed
        return False


def _consoles(out: Console | None, err: Console | None) -> tuple[Console, Console]:
    return out or console(), err or console(stderr=True)


def render(
    report: Report,
    fmt: Format = Format.TABLE,
    out: Console | None = None,
    err: Console | None = None,
    *,
    detail: bool = False,
) -> None:
    """Render `report` in `fmt`; `detail` adds a per-rule panel (table format only)."""
    out, err = _consoles(out, err)
    formatter(fmt).render(report, out, err, detail=detail)


def render_rules(
    rules: Sequence[Rule],
    diagnostics: Sequence[Diagnostic],
    fmt: Format = Format.TABLE,
    out: Console | None = None,
    err: Console | None = None,
    *,
    verdicts: Mapping[str, Verdict] | None = None,
) -> None:
    """Render a catalog listing in `fmt`; `verdicts` (by rule id) adds a verdict column
    (Markdown only: the other formats show verdicts with `render`)."""
    out, err = _consoles(out, err)
    if verdicts is not None and Format(fmt) is Format.MARKDOWN:
        from gradcheck.report import markdown

        markdown.render_rules(rules, diagnostics, out, err, verdicts=verdicts)
        return
    formatter(fmt).render_rules(rules, diagnostics, out, err)


def count_outcomes(verdicts: Iterable[Verdict]) -> dict[str, int]:
    """How many verdicts show each outcome, in `OUTCOMES` order, zeros left out."""
    counts = Counter(v.outcome for v in verdicts)
    known = {name: counts.pop(name) for name in OUTCOMES if name in counts}
    return known | dict(sorted(counts.items()))


def all_diagnostics(report: Report) -> list[Diagnostic]:
    """The file-level errors, then every verdict's diagnostics, without repeats."""
    found: list[Diagnostic] = list(report.errors)
    for verdict in report.verdicts:
        found.extend(verdict.diagnostics)
        if not verdict.diagnostics and not verdict.readable and verdict.position:
            found.append(Diagnostic(verdict.position, verdict.message, rule_id=verdict.rule_id))
    return list(dict.fromkeys(found))


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
