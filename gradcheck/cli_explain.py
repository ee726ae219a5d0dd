"""The `gradcheck explain ID|CLAIM` command (registered on the app of cli.py)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from .cli import _parse_assume, _parse_symbols, app
from .model import Counterexample, Layout, Options, Rule, Verdict

PathsOpt = Annotated[
    list[Path] | None,
    typer.Option("--path", help="Rule files or folders to look the id up in (repeatable)."),
]


@app.command()
def explain(
    target: Annotated[str, typer.Argument(metavar="ID|CLAIM", help="A rule id or a claim.")],
    path: PathsOpt = None,
    assume: Annotated[list[str] | None, typer.Option("--assume", metavar="SYMBOL:PROP")] = None,
    layout: Annotated[Layout, typer.Option("--layout")] = Layout.DENOMINATOR,
    symbol: Annotated[list[str] | None, typer.Option("--symbol", metavar="NAME:DECL")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Explain a wrong rule: the kind of mistake, a minimal counterexample, the right formula."""
    from rich.console import Console

    from . import api
    from .report import render
    from .report.explain import explain_panel
    from .verify import verify_rules

    options = Options(seed=seed)
    rules, _ = api.list_rules([str(p) for p in path] if path else None)
    chosen = [r for r in rules if r.id == target]
    if chosen:
        report = verify_rules(chosen, [], options)
    else:
        report = api.check_report(
            target,
            assume=_parse_assume(assume) or None,
            layout=layout.value,
            symbols=_parse_symbols(symbol) or None,
            options=options,
        )
    if not report.verdicts or report.errors:
        render(report)
        raise typer.Exit(int(report.exit_code))
    verdict = report.verdicts[0]
    rule = chosen[0] if chosen else _claim_rule(target, assume, layout, symbol)
    Console().print(explain_panel(verdict, _values_differ(verdict, rule, options)))
    raise typer.Exit(int(report.exit_code))


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
