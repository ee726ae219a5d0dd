"""`gradcheck derive F --wrt X`: a closed-form derivative, printed once it verifies."""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated

import typer

from gradcheck import derivation
from gradcheck.model import Kind, Layout, Options

from .options import AssumeOpt, LayoutOpt, SymbolOpt, parse_assume, parse_symbols


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
DeriveFormatOpt = Annotated[
    DeriveFormat,
    typer.Option(
        "--format",
        help="How to print the formula: unicode, latex, ascii, torch (a Python function "
        "that computes it) or json (every spelling and the verdict).",
    ),
]


def derive(
    f: FunctionArg,
    wrt: Annotated[str, typer.Option("--wrt", help="The variable, e.g. x or X.")],
    hessian: Annotated[
        bool, typer.Option("--hessian", help="The Hessian ∇²f instead of the gradient.")
    ] = False,
    jacobian: Annotated[
        bool, typer.Option("--jacobian", help="The Jacobian of a vector-valued f.")
    ] = False,
    differential: Annotated[
        bool, typer.Option("--differential", help="The differential df instead of the gradient.")
    ] = False,
    layout: LayoutOpt = Layout.DENOMINATOR,
    assume: AssumeOpt = None,
    symbol: SymbolOpt = None,
    fmt: DeriveFormatOpt = DeriveFormat.UNICODE,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the verification.")] = 0,
) -> None:
    """Derive a derivative in closed form; it is printed only once it verifies.

    Exit code: 0 a formula was derived and verified, 1 none could be (or it did not verify),
    2 a usage error or an unreadable function, 3 an internal error.
    """
    flags = ((Kind.HESSIAN, hessian), (Kind.JACOBIAN, jacobian), (Kind.DIFFERENTIAL, differential))
    kinds = [kind for kind, on in flags if on]
    if len(kinds) > 1:  # a usage error like any other: the usage message and exit 2
        raise typer.BadParameter(
            "choose one of --hessian, --jacobian, --differential",
            param_hint=", ".join(f"'--{kind.value}'" for kind in kinds),
        )
    result = derivation.derive(
        f,
        wrt,
        kind=(kinds[0] if kinds else Kind.GRADIENT).value,
        layout=layout.value,
        assume=parse_assume(assume) or None,
        symbols=parse_symbols(symbol) or None,
        options=Options(seed=seed),
    )
    for diagnostic in result.diagnostics:
        typer.echo(str(diagnostic), err=True)
    if result.error:
        typer.echo(f"error: {result.error}", err=True)
    if result.exit_code == 0:
        _print(result, fmt)
    raise typer.Exit(result.exit_code)


def _print(result: derivation.Derived, fmt: DeriveFormat) -> None:
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
