"""The `gradcheck explain ID|CLAIM` command (registered on the app of cli.py)."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from .cli import AssumeOpt, LayoutOpt, SymbolOpt, _parse_assume, _parse_symbols, app
from .model import Counterexample, Layout, Options, Report, Rule, Verdict

PathsOpt = Annotated[
    list[Path] | None,
    typer.Option("--path", help="Rule files or folders to look the id up in (repeatable)."),
]


class ExplainFormat(StrEnum):
    """How `gradcheck explain` prints its explanation."""

    TABLE = "table"
    JSON = "json"


@app.command()
def explain(
    target: Annotated[
        str,
        typer.Argument(
            metavar="ID|CLAIM",
            help="The id of a rule (in the bundled catalog or --path), or a one-line claim.",
        ),
    ],
    path: PathsOpt = None,
    assume: AssumeOpt = None,
    layout: LayoutOpt = Layout.DENOMINATOR,
    symbol: SymbolOpt = None,
    fmt: Annotated[
        ExplainFormat,
        typer.Option("--format", help="table to read, json for programs."),
    ] = ExplainFormat.TABLE,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generated inputs.")] = 0,
) -> None:
    """Explain a wrong rule: the kind of mistake, a minimal counterexample, the right formula.

    Exit code: 0 the rule is as expected, 1 it is not, 2 a usage error or unreadable input
    (an unknown id, an unreadable claim or --path), 3 an internal error.
    """
    from . import api
    from .verdicts import verify_rules

    options = Options(seed=seed)
    rules, diagnostics = api.list_rules([str(p) for p in path] if path else None)
    chosen = [r for r in rules if r.id == target]
    if chosen:
        report = verify_rules(chosen, [], options)
    elif path and diagnostics:  # the id may be in a file that could not be read: say so
        report = verify_rules([], diagnostics, options)
    else:
        report = api.check_report(
            target,
            assume=_parse_assume(assume) or None,
            layout=layout.value,
            symbols=_parse_symbols(symbol) or None,
            options=options,
        )
    if not report.verdicts or report.errors:
        _render_report(report, fmt)
        raise typer.Exit(int(report.exit_code))
    verdict = report.verdicts[0]
    rule = chosen[0] if chosen else _claim_rule(target, assume, layout, symbol)
    values_differ = _values_differ(verdict, rule, options)
    if fmt is ExplainFormat.JSON:
        from .report import json_report

        typer.echo(json_report.dumps(explanation(verdict, values_differ)))
    else:
        from .report import console
        from .report.explain import explain_panel

        console().print(explain_panel(verdict, values_differ))
    raise typer.Exit(int(report.exit_code))


def explanation(verdict: Verdict, values_differ: Counterexample | None) -> dict[str, Any]:
    """The JSON of `explain`: the verdict as `verify --format json` writes it (diagnosis
    included), the counterexample where the shapes agree, and no timings, so that two runs
    print the same bytes."""
    from .report.json_report import _counterexample, verdict_to_dict

    data = verdict_to_dict(verdict)
    data["counterexample_where_shapes_agree"] = _counterexample(values_differ)
    return _without_timings(data)


def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def _render_report(report: Report, fmt: ExplainFormat) -> None:
    """A report without a verdict to explain: its diagnostics, as `check` shows them (in JSON
    the report of `verify --format json`, without timings)."""
    from .report import all_diagnostics, render

    if fmt is ExplainFormat.TABLE:
        render(report)
        return
    from .report.json_report import dumps, report_to_dict

    typer.echo(dumps(_without_timings(report_to_dict(report))))
    for diagnostic in all_diagnostics(report):
        typer.echo(str(diagnostic), err=True)


def _claim_rule(
    claim: str, assume: list[str] | None, layout: Layout, symbol: list[str] | None
) -> Rule | None:
    from .catalog import rule_from_claim

    rule, _ = rule_from_claim(
        claim,
        assume=_parse_assume(assume) or None,
        layout=layout.value,
        symbols=_parse_symbols(symbol) or None,
    )
    return rule


def _values_differ(verdict: Verdict, rule: Rule | None, options: Options) -> Counterexample | None:
    """When the minimal counterexample only shows shapes that differ (all its entries may be
    0), a second one at equal dimensions, where the entries themselves differ."""
    cx = verdict.numeric.counterexample if verdict.numeric else None
    if rule is None or cx is None or not (math.isinf(cx.abs_error) and cx.note):
        return None
    from .numeric import counterexample_where_shapes_agree
    from .problem import compile_rule

    return counterexample_where_shapes_agree(compile_rule(rule), options)
