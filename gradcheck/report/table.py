"""The rich table reporter: one row per rule, a summary line, diagnostics on stderr."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gradcheck.model import (
    Counterexample,
    CrossCheck,
    Diagnosis,
    Diagnostic,
    Matrix,
    NumericEvidence,
    Report,
    Rule,
    Status,
    SymbolicEvidence,
    SymbolicStatus,
    Verdict,
)
from gradcheck.report.common import (
    all_diagnostics,
    count_outcomes,
    format_matrix,
    format_number,
    rule_text,
)

_STATUS_STYLES = {
    Status.HOLDS: "green",
    Status.HOLDS_NUMERIC: "yellow",
    Status.FAILS: "bold red",
    Status.ILL_FORMED: "magenta",
    Status.ERROR: "bold white on red",
}

# How the summary line words each outcome: (one, many).
_SUMMARY_WORDS = {
    "holds": ("holds", "hold"),
    "holds (numeric only)": ("holds (numeric only)", "hold (numeric only)"),
    "fails (expected)": ("fails as expected", "fail as expected"),
    "fails": ("fails", "fail"),
    "holds (expected to fail)": (
        "holds but was expected to fail",
        "hold but were expected to fail",
    ),
    "holds (numeric only) (expected to fail)": (
        "holds (numeric only) but was expected to fail",
        "hold (numeric only) but were expected to fail",
    ),
    "ill-formed": ("ill-formed", "ill-formed"),
    "error": ("error", "errors"),
}


def outcome_style(verdict: Verdict) -> str:
    """The colour of a verdict: green as expected, red not, yellow numeric only, magenta bad."""
    if verdict.readable and verdict.status is not Status.ERROR and not verdict.as_expected:
        return "bold red"
    if verdict.status is Status.FAILS:
        return "dim green"
    return _STATUS_STYLES[verdict.status]


def plural(n: int, one: str, many: str | None = None) -> str:
    """`1 rule`, `2 rules`."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _sizes(sizes: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{name}={n}" for name, n in sizes)


def _size_bound(all_sizes: tuple[tuple[tuple[str, int], ...], ...]) -> str:
    """`m,n ≤ 3` when every dimension reached the same maximum, else `m ≤ 3, n ≤ 2`."""
    top: dict[str, int] = {}
    for sizes in all_sizes:
        for name, n in sizes:
            top[name] = max(top.get(name, n), n)
    if not top:
        return ""
    if len(set(top.values())) == 1:
        return f"{','.join(top)} ≤ {next(iter(top.values()))}"
    return ", ".join(f"{name} ≤ {n}" for name, n in top.items())


def symbolic_cell(ev: SymbolicEvidence | None) -> str:
    """`proved at 6 sizes (m,n ≤ 3)`, `disproved`, `timeout after 20 s`, `unsupported: why`."""
    if ev is None:
        return "—"
    if ev.all_sizes:
        entrywise = (
            f"; entrywise at {plural(len(ev.sizes), 'size')}"
            if ev.sizes and ev.status is SymbolicStatus.PROVED
            else ""
        )
        return f"proved for all sizes{entrywise}"
    if ev.status is SymbolicStatus.PROVED:
        bound = _size_bound(ev.sizes)
        text = f"proved at {plural(len(ev.sizes), 'size')}" if ev.sizes else "proved"
        return f"{text} ({bound})" if bound else text
    if ev.status is SymbolicStatus.DISPROVED:
        return f"disproved at {_sizes(ev.sizes[0])}" if ev.sizes and ev.sizes[0] else "disproved"
    if ev.status is SymbolicStatus.TIMEOUT:
        return f"timeout after {format_number(ev.seconds)} s"
    return f"{ev.status.value}: {ev.detail}" if ev.detail else ev.status.value


def numeric_cell(ev: NumericEvidence | None) -> str:
    """`60 ex., max err 2.2e-16`, or `counterexample at n=2`."""
    if ev is None:
        return "—"
    if ev.counterexample is not None:
        where = _sizes(ev.counterexample.sizes)
        return f"counterexample at {where}" if where else "counterexample"
    if ev.examples == 0 and ev.detail:
        return ev.detail
    return f"{ev.examples} ex., max err {format_number(ev.max_abs_error, 2)}"


def counterexample_lines(cx: Counterexample) -> list[str]:
    """A counterexample in short: true and claimed derivative, then errors, sizes and note."""
    where = f" at {_sizes(cx.sizes)}" if cx.sizes else ""
    if math.isinf(cx.abs_error) and cx.note:  # shapes differ: no error to measure
        last = f"{cx.note}{where}"
    else:
        errors = f"abs err {format_number(cx.abs_error)}, rel err {format_number(cx.rel_error)}"
        last = f"{errors}{where}" + (f" ({cx.note})" if cx.note else "")
    return [
        f"true    {format_matrix(cx.true)}",
        f"claimed {format_matrix(cx.claimed)}",
        last,
    ]


def diagnosis_line(d: Diagnosis) -> str:
    """`category: detail → suggestion`, the arrow left out when the detail already names it."""
    said = f"{d.suggestion} holds" in d.detail or d.detail.endswith(f"is {d.suggestion}")
    fix = f" → {d.suggestion}" if d.suggestion and not said else ""
    return f"{d.category.value}: {d.detail}{fix}"


def why(verdict: Verdict) -> str:
    """Why a rule is not a plain `holds`: its message and its counterexample, if any."""
    lines = []
    d = verdict.diagnosis
    if d is not None:
        lines.append(diagnosis_line(d))
    elif verdict.message and (verdict.status is not Status.HOLDS or not verdict.as_expected):
        lines.append(verdict.message)
    cx = verdict.numeric.counterexample if verdict.numeric else None
    if cx is not None:
        lines.extend(counterexample_lines(cx))
    return "\n".join(lines)


def _rule_cell(verdict: Verdict) -> Text:
    cell = Text(verdict.display)
    if "note" in verdict.tags and verdict.position is not None:  # a formula of a note: where
        cell.append(f"  {verdict.position.line}:{verdict.position.column}", style="dim")
    reason = why(verdict)
    if reason:
        style = "dim" if verdict.as_expected else outcome_style(verdict).replace("bold ", "")
        cell.append("\n" + reason, style=style)
    return cell


def _id_column(ids: Iterable[str]) -> dict[str, Any]:
    """An id is what people search a log for: its column is as wide as the longest id and
    never wraps, so an id is never split mid-word (the other columns wrap instead)."""
    return {"no_wrap": True, "min_width": max((len(i) for i in ids), default=2)}


def verdict_table(verdicts: Sequence[Verdict]) -> Table:
    """The table of verdicts: id, rule (and why it fails), symbolic, numeric, verdict."""
    table = Table(show_lines=False, expand=False)
    table.add_column("id", style="bold", **_id_column(v.rule_id for v in verdicts))
    table.add_column("rule", overflow="fold")
    table.add_column("symbolic", overflow="fold")
    table.add_column("numeric", overflow="fold")
    table.add_column("verdict", overflow="fold")
    for v in verdicts:
        outcome = Text(v.outcome, style=outcome_style(v))
        table.add_row(
            v.rule_id, _rule_cell(v), symbolic_cell(v.symbolic), numeric_cell(v.numeric), outcome
        )
    return table


def summary(report: Report) -> str:
    """`37 rules: 27 hold, 10 fail as expected · seed 0 · 60 examples/rule · 12.3 s`."""
    counts = count_outcomes(report.verdicts)
    parts = [f"{n} {_SUMMARY_WORDS.get(name, (name, name))[n != 1]}" for name, n in counts.items()]
    head = plural(len(report.verdicts), "rule") + (": " + ", ".join(parts) if parts else "")
    tail = [f"seed {report.seed}", f"{report.examples} examples/rule", f"{report.seconds:.1f} s"]
    if report.errors:
        tail.insert(
            0, plural(len(report.errors), "unreadable file or rule", "unreadable files or rules")
        )
    if report.unread:
        tail.insert(0, plural(len(report.unread), "unread formula", "unread formulas"))
    return " · ".join([head, *tail])


def render_diagnostics(diagnostics: Sequence[Diagnostic], err: Console) -> None:
    """Each diagnostic as `file:line:col: message (hint)`."""
    for diagnostic in diagnostics:
        err.print(Text(str(diagnostic), style="magenta"), soft_wrap=True)


def render(report: Report, out: Console, err: Console, *, detail: bool = False) -> None:
    """The table, the summary line, a detail panel per rule if asked; diagnostics to `err`."""
    if report.verdicts:
        out.print(verdict_table(report.verdicts))
    if detail:
        for verdict in report.verdicts:
            out.print(detail_panel(verdict))
    out.print(Text(summary(report)), soft_wrap=True)
    render_diagnostics(all_diagnostics(report), err)


def render_rules(
    rules: Sequence[Rule], diagnostics: Sequence[Diagnostic], out: Console, err: Console
) -> None:
    """One row per rule (id, rule, expect, tags, source), then `N rules` as the last line."""
    table = Table()
    table.add_column("id", style="bold", **_id_column(rule.id for rule in rules))
    for name in ("rule", "expect", "tags", "source"):
        table.add_column(name, overflow="fold")
    for rule in rules:
        table.add_row(
            rule.id,
            Text(rule_text(rule)),
            rule.expect.value,
            ", ".join(rule.tags),
            Text(rule.source or ""),
        )
    if rules:
        out.print(table)
    out.print(plural(len(rules), "rule"))
    render_diagnostics(diagnostics, err)


# ----- The detail panel of `gradcheck check` -----


def matrix_block(m: Matrix, digits: int = 3) -> str:
    """A matrix over several lines, columns aligned: `[1  0]` / `[0  1]`."""
    rows = [[format_number(x, digits) for x in row] for row in m]
    if not rows or not rows[0]:
        return "[]"
    widths = [max(len(row[j]) for row in rows) for j in range(len(rows[0]))]
    return "\n".join(
        "[" + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=False)) + "]" for row in rows
    )


def _symbolic_detail(ev: SymbolicEvidence) -> str:
    sizes = "; ".join(_sizes(s) or "scalars" for s in ev.sizes)
    parts = [symbolic_cell(ev), f"sizes {sizes}" if sizes else "", ev.detail, f"{ev.seconds:.2f} s"]
    return "\n".join(p for p in parts if p)


def _numeric_detail(ev: NumericEvidence) -> str:
    """The examples and their largest errors, the counterexample's among them."""
    cx = ev.counterexample
    count = f"{ev.examples} examples" + (" with the counterexample" if cx else "")
    if cx is not None and math.isinf(cx.abs_error) and cx.note:  # shapes differ: no error
        summary = f"{count}; there {cx.note}"
    else:
        summary = (
            f"{count}, max abs err {format_number(ev.max_abs_error, 2)}, "
            f"max rel err {format_number(ev.max_rel_error, 2)}"
        )
    parts = [
        summary,
        f"tolerance rtol {format_number(ev.rtol, 2)}, atol {format_number(ev.atol, 2)}",
        ev.detail,
        f"{ev.seconds:.2f} s",
    ]
    return "\n".join(p for p in parts if p)


def _crosscheck_detail(cc: CrossCheck) -> str:
    head = "sympy and autograd agree" if cc.agreed else "sympy and autograd DISAGREE"
    where = f" at {_sizes(cc.sizes)}" if cc.sizes else ""
    parts = [f"{head}{where}, max diff {format_number(cc.max_diff, 2)}", cc.detail]
    return "\n".join(p for p in parts if p)


def _counterexample_grid(cx: Counterexample) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="italic")
    grid.add_column()
    if cx.sizes:
        grid.add_row("sizes", _sizes(cx.sizes))
    for name, value in cx.inputs:
        grid.add_row(name, matrix_block(value))
    grid.add_row("true", matrix_block(cx.true))
    grid.add_row("claimed", matrix_block(cx.claimed))
    if not (math.isinf(cx.abs_error) and cx.note):
        grid.add_row(
            "error", f"abs {format_number(cx.abs_error)}, rel {format_number(cx.rel_error)}"
        )
    if cx.note:
        grid.add_row("note", cx.note)
    return grid


def detail_panel(verdict: Verdict) -> Panel:
    """Everything known about one rule: symbolic, numeric, cross-check, counterexample."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    grid.add_row("verdict", Text(verdict.outcome, style=outcome_style(verdict)))
    if verdict.message:
        grid.add_row("message", verdict.message)
    if verdict.symbolic:
        grid.add_row("symbolic", _symbolic_detail(verdict.symbolic))
    if verdict.numeric:
        grid.add_row("numeric", _numeric_detail(verdict.numeric))
    if verdict.crosscheck:
        grid.add_row("cross-check", _crosscheck_detail(verdict.crosscheck))
    if verdict.diagnosis:
        grid.add_row("mistake", diagnosis_line(verdict.diagnosis))
    cx = verdict.numeric.counterexample if verdict.numeric else None
    body = (
        Group(grid, Text("\ncounterexample", style="bold"), _counterexample_grid(cx))
        if cx
        else grid
    )
    return Panel(body, title=f"{verdict.rule_id}: {verdict.display}", title_align="left")
