"""`gradcheck explain` drawn: a panel with the rule, the true derivative, the mistake and the
fix, or the same as JSON."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from gradcheck.model import Counterexample, Matrix, Report, Verdict
from gradcheck.report import format_number
from gradcheck.report.json_report import JSONValue, dumps, report_to_dict, verdict_to_dict
from gradcheck.report.table import outcome_style


def _matrix(m: Matrix, other: Matrix, tolerance: float) -> Text:
    """A small matrix, the entries that differ from `other` in bold red."""
    text = Text()
    same_shape = len(m) == len(other) and all(
        len(a) == len(b) for a, b in zip(m, other, strict=False)
    )
    for i, row in enumerate(m):
        text.append("[")
        for j, value in enumerate(row):
            differs = not same_shape or abs(value - other[i][j]) > tolerance * (1 + abs(value))
            text.append(f"{format_number(value):>7}", style="bold red" if differs else "")
            text.append(" " if j < len(row) - 1 else "")
        text.append("]\n" if i < len(m) - 1 else "]")
    return text


def _counterexample(cx: Counterexample) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    if cx.sizes:
        grid.add_row("sizes", ", ".join(f"{k}={v}" for k, v in cx.sizes))
    for name, value in cx.inputs:
        grid.add_row(name, _matrix(value, value, 0.0))
    grid.add_row("true", _matrix(cx.true, cx.claimed, 1e-7))
    grid.add_row("claimed", _matrix(cx.claimed, cx.true, 1e-7))
    return grid


def explain_panel(verdict: Verdict, values_differ: Counterexample | None = None) -> Panel:
    """Everything a person needs to fix one rule; `values_differ` is a second counterexample,
    at equal dimensions, for a claim whose minimal one only shows that the shapes differ."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    grid.add_row("rule", verdict.display)
    grid.add_row("verdict", Text(verdict.outcome, style=outcome_style(verdict)))
    d = verdict.diagnosis
    parts: list[object] = [grid]
    if d is None:
        grid.add_row("", verdict.message or "nothing to explain: the claim holds")
        return Panel(Group(*parts), title=verdict.rule_id, expand=False)  # type: ignore[arg-type]
    if d.suggestion:
        grid.add_row("derivative", d.suggestion)
    grid.add_row("mistake", f"{d.category}: {d.detail}")
    cx = verdict.numeric.counterexample if verdict.numeric else None
    if cx is not None:
        parts += [Text("\nminimal counterexample", style="bold"), _counterexample(cx)]
        if cx.note:
            parts.append(Text(cx.note))
    if values_differ is not None:
        parts += [
            Text("\ncounterexample where the shapes agree", style="bold"),
            _counterexample(values_differ),
        ]
    if d.corrected:
        note = "" if d.confirmed else " (not verified)"
        parts += [
            Text(f"\ncorrected rule{note}", style="bold"),
            Syntax(d.corrected, "yaml", theme="ansi_dark", background_color="default"),
        ]
    return Panel(Group(*parts), title=verdict.rule_id, expand=False)  # type: ignore[arg-type]


def explanation_json(verdict: Verdict, values_differ: Counterexample | None = None) -> str:
    """The JSON of `explain`: the verdict as `verify --format json` writes it (diagnosis
    included), the counterexample where the shapes agree, and no timings, so that two runs
    print the same bytes."""
    data = verdict_to_dict(verdict)
    data["counterexample_where_shapes_agree"] = _counterexample_dict(verdict, values_differ)
    return dumps(_without_timings(data))


def report_json(report: Report) -> str:
    """The JSON of `explain` when there is no verdict to explain: the report as
    `verify --format json` writes it, without timings."""
    return dumps(_without_timings(report_to_dict(report)))


def _counterexample_dict(verdict: Verdict, cx: Counterexample | None) -> JSONValue:
    # json_report writes a counterexample only as part of a verdict: put this one in its place.
    if cx is None or verdict.numeric is None:
        return None
    numeric = replace(verdict.numeric, counterexample=cx)
    return verdict_to_dict(replace(verdict, numeric=numeric))["counterexample"]


def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value
