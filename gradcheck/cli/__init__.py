"""The `gradcheck` command line: options → library call → reporter → exit code.

This module makes the typer app and registers the commands, one module each; they share
`options` and `exits` and import neither this package nor each other.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from gradcheck import engines
from gradcheck.model import ExitCode

from . import cache, check, derive, explain, lint, list_rules, verify
from .exits import GuardedGroup, debug_requested, internal_error, interrupted

EXIT_CODES = (
    "Exit code: 0 every rule as expected, 1 some rule not as expected, "
    "2 a usage error or unreadable input, 3 an internal error."
)

app = typer.Typer(
    name="gradcheck",
    cls=GuardedGroup,
    help=(
        "Check matrix-calculus rules (gradients, Jacobians, Hessians, differentials): a "
        "symbolic proof with sympy and a numeric check with torch.autograd on generated "
        "inputs give one verdict per rule.\n\n" + EXIT_CODES
    ),
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish
    # Every exception is handled in GuardedGroup and main(): no rich traceback box, ever.
    pretty_exceptions_enable=False,
)

# In this order in `gradcheck --help`.
app.command()(verify.verify)
app.command()(check.check)
app.command("list")(list_rules.list_rules)
app.command()(derive.derive)
app.command()(explain.explain)
app.command()(lint.lint)
app.command()(lint.schema)
app.add_typer(cache.app, name="cache")


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
    # The options before the command. --debug is read by GuardedGroup from the context.
    pass


def main() -> None:
    """Entry point of the `gradcheck` console script and of `python -m gradcheck`."""
    try:
        _keep_hypothesis_out_of_the_working_directory()
        engines.freeze_after_import()
        app(prog_name="gradcheck")
    except KeyboardInterrupt:
        sys.exit(interrupted())
    except Exception as exc:  # outside any command (GuardedGroup handles those)
        sys.exit(internal_error(exc, debug=debug_requested(sys.argv[1:])))


def _keep_hypothesis_out_of_the_working_directory() -> None:
    """hypothesis caches its constants in ./.hypothesis; a command run in a user's notes folder
    should not leave that behind, so it goes to the user's cache folder (an explicit
    HYPOTHESIS_STORAGE_DIRECTORY wins). The example database itself is never used."""
    if "HYPOTHESIS_STORAGE_DIRECTORY" not in os.environ:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = str(cache / "gradcheck" / "hypothesis")
