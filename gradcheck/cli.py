"""The `gradcheck` command line: options → library call → reporter → exit code."""

from __future__ import annotations

import os
import re
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from gradcheck.model import ASSUMPTIONS, ExitCode, Layout, Options, Report
from gradcheck.report import Format, render, render_rules

# gradcheck.api pulls in sympy, torch and hypothesis: it is imported inside the commands, so
# that `gradcheck --help` stays instant. gradcheck.report imports rich only when it renders.

INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for a command stopped by Ctrl-C
_MESSAGE_CHARS = 300  # an internal error's message is cut to this, so that it stays one line

EXIT_CODES = (
    "Exit code: 0 every rule as expected, 1 some rule not as expected, "
    "2 a usage error or unreadable input, 3 an internal error."
)


def internal_error(exc: BaseException, *, debug: bool) -> int:
    """Say in one line on stderr what failed (after the traceback, with --debug); return 3."""
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    message = " ".join(str(exc).split())
    if len(message) > _MESSAGE_CHARS:
        message = message[: _MESSAGE_CHARS - 1] + "…"
    what = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    hint = "" if debug else " (run with --debug for the traceback)"
    typer.echo(f"gradcheck: internal error: {what}{hint}", err=True)
    return int(ExitCode.INTERNAL)


def interrupted() -> int:
    """Ctrl-C: one line instead of a traceback; return 130."""
    typer.echo("gradcheck: interrupted", err=True)
    return INTERRUPTED


def _debug_requested(args: list[str]) -> bool:
    """--debug on the command line or GRADCHECK_DEBUG set, for errors before typer parsed it."""
    env = os.environ.get("GRADCHECK_DEBUG", "").strip().lower()
    return "--debug" in args or env in {"1", "true", "t", "yes", "y", "on"}


class _Guarded(TyperGroup):
    """The command group. An exception that escapes a command is a bug in gradcheck (a rule's
    own failure is already that rule's `error` verdict): it ends in one line and exit 3, not in
    a traceback and exit 1, which would read as "a rule is not as expected"."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException, BrokenPipeError):
            raise  # exit codes, usage errors (2) and a closed pipe: typer's own handling
        except KeyboardInterrupt:
            raise typer.Exit(interrupted()) from None
        except Exception as exc:
            debug = bool(ctx.params.get("debug"))  # typer also read GRADCHECK_DEBUG into it
            raise typer.Exit(internal_error(exc, debug=debug)) from None


app = typer.Typer(
    name="gradcheck",
    cls=_Guarded,
    help=(
        "Check matrix-calculus rules (gradients, Jacobians, Hessians, differentials): a "
        "symbolic proof with sympy and a numeric check with torch.autograd on generated "
        "inputs give one verdict per rule.\n\n" + EXIT_CODES
    ),
    no_args_is_help=True,
    add_completion=False,
    # Every exception is handled in _Guarded and main(): no rich traceback box, ever.
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from gradcheck import __version__

        typer.echo(f"gradcheck {__version__}")
        raise typer.Exit(int(ExitCode.OK))


@app.callback()
def _global_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print the version of gradcheck and exit.",
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="GRADCHECK_DEBUG",
            help="On an internal error (exit 3), print the traceback too.",
        ),
    ] = False,
) -> None:
    # The options before the command. --debug is read by _Guarded from the context.
    pass

_DEFAULTS = Options()
_SYMBOL_DECL = re.compile(r"scalar|vector\(\s*\w+\s*\)|matrix\(\s*\w+\s*,\s*\w+\s*\)")
_SYMBOL_NAME = re.compile(r"[A-Za-zα-ωΑ-Ω][A-Za-z0-9_α-ωΑ-Ω]*")  # one word: A, x, W1, b_2, λ


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
        if sep and name and not _SYMBOL_NAME.fullmatch(name):
            raise typer.BadParameter(
                f"{name!r} is not a name: write one word of letters, digits and _ that "
                "starts with a letter, e.g. A, x, W1, b_2, λ",
                param_hint="'--symbol'",
            )
        if not (sep and name and _SYMBOL_DECL.fullmatch(decl)):
            raise typer.BadParameter(
                f"{value!r}: write NAME:scalar, NAME:vector(n) or NAME:matrix(m, n)",
                param_hint="'--symbol'",
            )
        symbols[name] = decl
    return symbols


PathsArg = Annotated[
    list[Path] | None,
    # No exists=True: a missing path is a diagnostic at path:1:1 (exit 2) like any other
    # unreadable input, reported beside the files that could be read.
    typer.Argument(
        show_default=False,
        metavar="PATH",
        help="Rule files (YAML) or folders of them (default: the bundled catalog).",
    ),
]
KeywordOpt = Annotated[
    str | None,
    typer.Option(
        "-k", "--keyword", help="Only rules whose id, title or a tag contains this text."
    ),
]
TagOpt = Annotated[
    list[str] | None, typer.Option("--tag", help="Only rules with this tag (repeatable).")
]
FormatOpt = Annotated[
    Format,
    typer.Option("--format", help="table to read, json for programs, markdown for documents."),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the generated inputs.")]
ExamplesOpt = Annotated[int, typer.Option("--examples", min=1, help="Generated inputs per rule.")]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--symbolic-timeout",
        min=0.0,
        metavar="SECONDS",
        help="Time limit of the symbolic proof of each rule (0: none).",
    ),
]
AssumeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--assume",
        metavar="SYMBOL:PROP[,PROP]",
        help="An assumption, e.g. A:symmetric or A:spd,diagonal (repeatable).",
    ),
]
SymbolOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--symbol",
        metavar="NAME:DECL",
        help="A shape, e.g. A:matrix(m, n), x:vector(n), s:scalar (repeatable).",
    ),
]
LayoutOpt = Annotated[
    Layout,
    typer.Option(
        "--layout",
        help="Denominator: ∇_x f has the shape of x. Numerator: its transpose, the Jacobian.",
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
    """Check every rule in the files or folders PATH... (default: the bundled catalog).

    One row per rule: the symbolic proof, the numeric check and the verdict. A rule is as
    expected when its verdict matches its `expect` (a rule that records a common mistake
    expects to fail).

    Exit code: 0 every rule as expected, 1 some rule not as expected, 2 a usage error or an
    unreadable file or rule (the readable rules are still checked), 3 an internal error.
    """
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
    assume: AssumeOpt = None,
    layout: LayoutOpt = Layout.DENOMINATOR,
    symbol: SymbolOpt = None,
    fmt: FormatOpt = Format.TABLE,
    seed: SeedOpt = _DEFAULTS.seed,
    examples: ExamplesOpt = _DEFAULTS.examples,
    symbolic_timeout: TimeoutOpt = _DEFAULTS.symbolic_timeout,
    diagnose: DiagnoseOpt = _DEFAULTS.diagnose,
) -> None:
    """Check one claim typed on the command line and show all its evidence.

    A failing claim comes with a counterexample and, when one is found, the mistake and the
    right formula.

    Exit code: 0 the claim holds, 1 it does not, 2 a usage error or an unreadable claim,
    3 an internal error.
    """
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
            help="Also check the rules: with --format markdown, a catalog page with a verdict "
            "column; with the other formats, the report of `gradcheck verify`.",
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
    """List the rules in the files or folders PATH... (default: the bundled catalog).

    One row per rule (id, rule, expect, tags, source); the last line counts them.

    Exit code: 0 listed, 2 a usage error or an unreadable file or rule, 3 an internal error;
    with --verify, as for `gradcheck verify`.
    """
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
    """Entry point of the `gradcheck` console script and of `python -m gradcheck`."""
    try:
        _keep_hypothesis_out_of_the_working_directory()
        app(prog_name="gradcheck")
    except KeyboardInterrupt:
        sys.exit(interrupted())
    except Exception as exc:  # outside any command (_Guarded handles those)
        sys.exit(internal_error(exc, debug=_debug_requested(sys.argv[1:])))


def _keep_hypothesis_out_of_the_working_directory() -> None:
    """hypothesis caches its constants in ./.hypothesis; a command run in a user's notes folder
    should not leave that behind, so it goes to the user's cache folder (an explicit
    HYPOTHESIS_STORAGE_DIRECTORY wins). The example database itself is never used."""
    if "HYPOTHESIS_STORAGE_DIRECTORY" not in os.environ:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = str(cache / "gradcheck" / "hypothesis")


from . import cli_derive as _cli_derive  # noqa: E402,F401 - registers `gradcheck derive`
from . import cli_explain as _cli_explain  # noqa: E402,F401 - registers `gradcheck explain`
