"""The `gradcheck derive` command (registered on the app of cli.py)."""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated

import typer

from .cli import _parse_assume, _parse_symbols, app
from .derivation import Derived
from .model import Layout, Options


class DeriveFormat(str, Enum):
    """How to print a derived formula."""

    UNICODE = "unicode"
    LATEX = "latex"
    ASCII = "ascii"
    TORCH = "torch"
    JSON = "json"


FunctionArg = Annotated[
    str, typer.Argument(metavar="F", help="The function, e.g. 'xᵀAx' or 'log det X'.")
]
FormatOpt = Annotated[DeriveFormat, typer.Option("--format", help="Output format.")]
AssumeOpt = Annotated[
    list[str] | None,
    typer.Option("--assume", metavar="SYMBOL:PROP[,PROP]", help="e.g. A:symmetric."),
]
SymbolOpt = Annotated[
    list[str] | None,
    typer.Option("--symbol", metavar="NAME:DECL", help="A shape, e.g. A:matrix(m, n)."),
]


@app.command()
def derive(
    f: FunctionArg,
    wrt: Annotated[str, typer.Option("--wrt", help="The variable, e.g. x or X.")],
    hessian: Annotated[bool, typer.Option("--hessian", help="The Hessian ∇²f.")] = False,
    jacobian: Annotated[bool, typer.Option("--jacobian", help="The Jacobian.")] = False,
    differential: Annotated[bool, typer.Option("--differential", help="The differential.")] = False,
    layout: Annotated[Layout, typer.Option("--layout", help="Layout of ∇.")] = Layout.DENOMINATOR,
    assume: AssumeOpt = None,
    symbol: SymbolOpt = None,
    fmt: FormatOpt = DeriveFormat.UNICODE,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the verification.")] = 0,
) -> None:
    """Derive a derivative in closed form; it is printed only once it verifies."""
    kinds = [
        k
        for k, on in (("hessian", hessian), ("jacobian", jacobian), ("differential", differential))
        if on
    ]
    if len(kinds) > 1:
        typer.echo("error: choose one of --hessian, --jacobian, --differential", err=True)
        raise typer.Exit(2)
    from .derivation import derive as derive_formula

    result = derive_formula(
        f,
        wrt,
        kind=kinds[0] if kinds else "gradient",
        layout=layout.value,
        assume=_parse_assume(assume) or None,
        symbols=_parse_symbols(symbol) or None,
        options=Options(seed=seed),
    )
    for diagnostic in result.diagnostics:
        typer.echo(str(diagnostic), err=True)
    if result.error:
        typer.echo(f"error: {result.error}", err=True)
    if result.exit_code == 0:
        _print(result, fmt)
    raise typer.Exit(result.exit_code)


def _print(result: Derived, fmt: DeriveFormat) -> None:
    verdict = result.verdict
    assert verdict is not None  # printed only once verified
    evidence = verdict.symbolic
    proof = "proved for all sizes" if evidence and evidence.all_sizes else verdict.outcome
    if fmt is DeriveFormat.JSON:
        payload = {
            **result.texts,
            "verdict": verdict.outcome,
            "proof": proof,
            "examples": verdict.numeric.examples if verdict.numeric else 0,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    typer.echo(result.texts[fmt.value])
    if fmt is not DeriveFormat.TORCH:
        examples = verdict.numeric.examples if verdict.numeric else 0
        typer.echo(f"verified: {proof}; {examples} autograd examples agree", err=True)
