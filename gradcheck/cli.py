"""The `gradcheck` command line: options → library call → reporter → exit code."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated

import typer

from gradcheck.model import ASSUMPTIONS, ExitCode, Layout, Options, Report
from gradcheck.report import Format, render, render_rules

# gradcheck.api pulls in sympy, torch and hypothesis: it is imported inside the commands, so
# that `gradcheck --help` stays instant. gradcheck.report imports rich only when it renders.

app = typer.Typer(
    name="gradcheck",
    help="Verify matrix-calculus rules: a sympy proof, a torch.autograd check, a verdict.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

_DEFAULTS = Options()
_SYMBOL_DECL = re.compile(r"scalar|vector\(\s*\w+\s*\)|matrix\(\s*\w+\s*,\s*\w+\s*\)")


def _parse_assume(values: list[str] | None) -> dict[str, list[str]]:
    """`A:symmetric,invertible` (repeatable) → {"A": ["symmetric", "invertible"]}."""
    assume: dict[str, list[str]] = {}
    for value in values or []:
        name, sep, props = (part.strip() for part in value.partition(":"))
        names = [p.strip() for p in props.split(",") if p.strip()]
        if not (sep and name and names):
            raise typer.BadParameter(
                f"{value!r}: write SYMBOL:PROPERTY[,PROPERTY...], "
                "e.g. A:symmetric or A:symmetric,invertible",
                param_hint="'--assume'",
            )
        unknown = [p for p in names if p not in ASSUMPTIONS]
        if unknown:
            raise typer.BadParameter(
                f"unknown assumption {unknown[0]!r} in {value!r}; known: {', '.join(ASSUMPTIONS)}",
                param_hint="'--assume'",
            )
        assume.setdefault(name, []).extend(p for p in names if p not in assume.get(name, []))
    return assume


def _parse_symbols(values: list[str] | None) -> dict[str, str]:
    """`A:matrix(m, n)` (repeatable) → {"A": "matrix(m, n)"}."""
    symbols: dict[str, str] = {}
    for value in values or []:
        name, sep, decl = (part.strip() for part in value.partition(":"))
        if not (sep and name and _SYMBOL_DECL.fullmatch(decl)):
            raise typer.BadParameter(
                f"{value!r}: write NAME:scalar, NAME:vector(n) or NAME:matrix(m, n)",
                param_hint="'--symbol'",
            )
        symbols[name] = decl
    return symbols


PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(
        exists=True,
        show_default=False,
        metavar="PATH",
        help="Rule files or directories (default: the bundled catalog).",
    ),
]
KeywordOpt = Annotated[
    str | None,
    typer.Option("-k", "--keyword", help="Only rules matching this keyword."),
]
TagOpt = Annotated[
    list[str] | None, typer.Option("--tag", help="Only rules with this tag (repeatable).")
]
FormatOpt = Annotated[Format, typer.Option("--format", help="Output format.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the generated inputs.")]
ExamplesOpt = Annotated[int, typer.Option("--examples", min=1, help="Generated inputs per rule.")]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--symbolic-timeout",
        min=0.0,
        metavar="SECONDS",
        help="Time limit of the sympy proof per rule.",
    ),
]
DiagnoseOpt = Annotated[
    bool,
    typer.Option(
        "--diagnose/--no-diagnose",
        help="Name the mistake of each failing rule and verify a fix (costs a few checks).",
    ),
]


def _finish(report: Report, fmt: Format, *, detail: bool = False) -> None:
    """Render a Report and leave with its exit code."""
    render(report, fmt, detail=detail)
    raise typer.Exit(int(report.exit_code))


@app.command()
def verify(
    paths: PathsArg = None,
    keyword: KeywordOpt = None,
    tag: TagOpt = None,
    fmt: FormatOpt = Format.TABLE,
    seed: SeedOpt = _DEFAULTS.seed,
    examples: ExamplesOpt = _DEFAULTS.examples,
    symbolic_timeout: TimeoutOpt = _DEFAULTS.symbolic_timeout,
    diagnose: DiagnoseOpt = _DEFAULTS.diagnose,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs", "-j", min=0, help="Rules checked in parallel (0: one per core, up to 4)."
        ),
    ] = 0,
) -> None:
    """Check every rule in PATH... (or the bundled catalog); exit 0, 1 or 2 (spec §4)."""
    from gradcheck import api

    workers = jobs or min(4, os.cpu_count() or 1)
    options = Options(
        seed=seed,
        examples=examples,
        symbolic_timeout=symbolic_timeout,
        jobs=workers,
        diagnose=diagnose,
    )
    report = api.verify(paths or None, keyword=keyword, tags=tuple(tag or ()), options=options)
    _finish(report, fmt)


@app.command()
def check(
    claim: Annotated[
        str, typer.Argument(metavar="CLAIM", help="A one-line claim, e.g. '∇_x (A x) = A^T'.")
    ],
    assume: Annotated[
        list[str] | None,
        typer.Option(
            "--assume",
            metavar="SYMBOL:PROP[,PROP]",
            help="An assumption, e.g. A:symmetric or A:spd,diagonal (repeatable).",
        ),
    ] = None,
    layout: Annotated[Layout, typer.Option("--layout", help="Layout of ∇.")] = Layout.DENOMINATOR,
    symbol: Annotated[
        list[str] | None,
        typer.Option(
            "--symbol",
            metavar="NAME:DECL",
            help="A shape, e.g. A:matrix(m, n), x:vector(n), s:scalar (repeatable).",
        ),
    ] = None,
    fmt: FormatOpt = Format.TABLE,
    seed: SeedOpt = _DEFAULTS.seed,
    examples: ExamplesOpt = _DEFAULTS.examples,
    symbolic_timeout: TimeoutOpt = _DEFAULTS.symbolic_timeout,
    diagnose: DiagnoseOpt = _DEFAULTS.diagnose,
) -> None:
    """Check one claim and show all its evidence; exit 0, 1 or 2."""
    assumptions, symbols = _parse_assume(assume), _parse_symbols(symbol)
    from gradcheck import api

    options = Options(
        seed=seed, examples=examples, symbolic_timeout=symbolic_timeout, diagnose=diagnose
    )
    report = api.check_report(
        claim,
        assume=assumptions or None,
        layout=layout.value,
        symbols=symbols or None,
        options=options,
    )
    _finish(report, fmt, detail=True)


@app.command("list")
def list_(
    paths: PathsArg = None,
    keyword: KeywordOpt = None,
    tag: TagOpt = None,
    fmt: FormatOpt = Format.TABLE,
    with_verdicts: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Also verify the rules: a verdict column in Markdown (`gradcheck list --verify "
            "--format markdown` writes docs/catalog.md), the verify report in the other formats; "
            "exit 0, 1 or 2 as `verify` does.",
        ),
    ] = False,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=0,
            help="With --verify: rules checked in parallel (0: one per core, up to 4).",
        ),
    ] = 0,
) -> None:
    """List the rules in PATH... (or the bundled catalog); the last line counts them."""
    from gradcheck import api

    rules, diagnostics = api.list_rules(paths or None, keyword=keyword, tags=tuple(tag or ()))
    if not with_verdicts:
        render_rules(rules, diagnostics, fmt)
        raise typer.Exit(int(ExitCode.UNREADABLE if diagnostics else ExitCode.OK))
    options = Options(jobs=jobs or min(4, os.cpu_count() or 1))
    report = api.verify(paths or None, keyword=keyword, tags=tuple(tag or ()), options=options)
    if fmt is Format.MARKDOWN:
        verdicts = {verdict.rule_id: verdict for verdict in report.verdicts}
        render_rules(rules, diagnostics, fmt, verdicts=verdicts)
    else:
        render(report, fmt)
    raise typer.Exit(int(report.exit_code))


def main() -> None:
    """Entry point of the `gradcheck` console script."""
    _keep_hypothesis_out_of_the_working_directory()
    app(prog_name="gradcheck")


def _keep_hypothesis_out_of_the_working_directory() -> None:
    """hypothesis caches its constants in ./.hypothesis; a command run in a user's notes folder
    should not leave that behind, so it goes to the user's cache folder (an explicit
    HYPOTHESIS_STORAGE_DIRECTORY wins). The example database itself is never used."""
    if "HYPOTHESIS_STORAGE_DIRECTORY" not in os.environ:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = str(cache / "gradcheck" / "hypothesis")


from . import cli_derive as _cli_derive  # noqa: E402,F401 - registers `gradcheck derive`
from . import cli_explain as _cli_explain  # noqa: E402,F401 - registers `gradcheck explain`
