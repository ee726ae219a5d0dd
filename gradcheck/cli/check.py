"""`gradcheck check CLAIM`: check one claim typed on the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from gradcheck.model import Layout, Options
from gradcheck.notes.declarations import Otimes
from gradcheck.report import Format

from .exits import finish
from .options import (
    DEFAULTS,
    AssumeOpt,
    DiagnoseOpt,
    ExamplesOpt,
    FormatOpt,
    LayoutOpt,
    NoCacheOpt,
    OutputOpt,
    SeedOpt,
    SizeOpt,
    SymbolOpt,
    TimeoutOpt,
    parse_assume,
    parse_sizes,
    parse_symbols,
)


def check(
    claim: Annotated[
        str,
        typer.Argument(
            metavar="CLAIM", help="A one-line claim, e.g. '∇_x (A x) = A^T'; - reads it from stdin."
        ),
    ],
    assume: AssumeOpt = None,
    layout: LayoutOpt = Layout.DENOMINATOR,
    symbol: SymbolOpt = None,
    fmt: FormatOpt = Format.TABLE,
    output: OutputOpt = None,
    seed: SeedOpt = DEFAULTS.seed,
    examples: ExamplesOpt = DEFAULTS.examples,
    symbolic_timeout: TimeoutOpt = DEFAULTS.symbolic_timeout,
    diagnose: DiagnoseOpt = DEFAULTS.diagnose,
    size: SizeOpt = None,
    no_cache: NoCacheOpt = False,
    wrt: Annotated[
        str | None,
        typer.Option(
            "--wrt",
            metavar="NAME",
            help="The variable of a claim written ∇ f = g, without a subscript.",
        ),
    ] = None,
    otimes: Annotated[
        Otimes | None,
        typer.Option(
            "--otimes",
            help="What ⊗ (\\otimes) means in the claim: hadamard (read as ⊙) or kronecker "
            "(not in the language). Without it ⊗ is refused as ambiguous.",
        ),
    ] = None,
) -> None:
    """Check one claim typed on the command line and show all its evidence.

    A failing claim comes with a counterexample and, when one is found, the mistake and the
    right formula.

    Exit code: 0 the claim holds, 1 it does not, 2 a usage error or an unreadable claim,
    3 an internal error.
    """
    # Parsed first: a usage error should not wait for the heavy imports of gradcheck.api.
    assumptions, symbols = parse_assume(assume), parse_symbols(symbol)
    numeric_sizes = parse_sizes(size)
    if claim == "-":
        claim = _claim_from_stdin()
    from gradcheck import api

    options = Options(
        seed=seed,
        examples=examples,
        symbolic_timeout=symbolic_timeout,
        diagnose=diagnose,
        numeric_sizes=numeric_sizes,
    )
    report = api.check_report(
        claim,
        assume=assumptions or None,
        layout=layout.value,
        symbols=symbols or None,
        options=options,
        cache=not no_cache,
        wrt=wrt,
        otimes=otimes.value if otimes else None,
    )
    finish(report, fmt, detail=True, output=output)


def _claim_from_stdin() -> str:
    """The claim on standard input, its surrounding whitespace removed; a claim longer than
    an expression may be is left for the parser to refuse, with its usual message."""
    import sys

    from gradcheck import limits

    try:
        text = sys.stdin.read(4 * limits.MAX_EXPRESSION_CHARS + 1)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise typer.BadParameter(f"cannot read the claim from standard input: {err}") from None
    return " ".join(text.split())
