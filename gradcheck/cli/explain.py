"""`gradcheck explain ID|CLAIM`: why a rule is wrong and how to fix it, for one rule."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gradcheck.model import Layout, Options

from .options import AssumeOpt, LayoutOpt, SymbolOpt, parse_assume, parse_symbols

if TYPE_CHECKING:
    from gradcheck.explanation import Explanation

PathsOpt = Annotated[
    list[Path] | None,
    typer.Option("--path", help="Rule files or folders to look the id up in (repeatable)."),
]


class ExplainFormat(StrEnum):
    """How `gradcheck explain` prints its explanation."""

    TABLE = "table"
    JSON = "json"


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
    from gradcheck.explanation import explain_claim, explain_rule

    options = Options(seed=seed)
    result = explain_rule(target, paths=path, options=options)
    if result is None:  # no rule has that id: a claim, and only then --assume and --symbol count
        result = explain_claim(
            target,
            assume=parse_assume(assume) or None,
            layout=layout,
            symbols=parse_symbols(symbol) or None,
            options=options,
        )
    _render(result, fmt)
    raise typer.Exit(int(result.report.exit_code))


def _render(result: Explanation, fmt: ExplainFormat) -> None:
    from gradcheck.report import all_diagnostics, console, render
    from gradcheck.report.explain import explain_panel, explanation_json, report_json

    verdict = result.verdict
    if verdict is None:  # nothing to explain: the report's diagnostics, as `check` shows them
        if fmt is ExplainFormat.TABLE:
            render(result.report)
            return
        typer.echo(report_json(result.report))
        for diagnostic in all_diagnostics(result.report):
            typer.echo(str(diagnostic), err=True)
    elif fmt is ExplainFormat.JSON:
        typer.echo(explanation_json(verdict, result.values_differ))
    else:
        console().print(explain_panel(verdict, result.values_differ))
