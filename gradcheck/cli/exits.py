"""How a command ends: a report's exit code, or one line on stderr for what escaped it."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from gradcheck.model import ExitCode, Report
from gradcheck.report import Format, render

INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for a command stopped by Ctrl-C
_MESSAGE_CHARS = 300  # an internal error's message is cut to this, so that it stays one line


def finish(
    report: Report, fmt: Format, *, detail: bool = False, output: Path | None = None
) -> None:
    """Render a Report (in `fmt` to `output` and the table on stdout, if `output` is given)
    and leave with its exit code; a file that cannot be written is a usage error (2)."""
    if output is None:
        render(report, fmt, detail=detail)
        raise typer.Exit(int(report.exit_code))
    from rich.console import Console

    from gradcheck.report import PIPED_WIDTH

    try:
        with open(output, "w", encoding="utf-8", newline="\n") as f:
            to_file = Console(file=f, width=PIPED_WIDTH, color_system=None, force_terminal=False)
            render(report, fmt, out=to_file, err=Console(stderr=True, quiet=True), detail=detail)
    except OSError as err:
        typer.echo(f"gradcheck: cannot write {output}: {err.strerror or err}", err=True)
        raise typer.Exit(int(ExitCode.UNREADABLE)) from None
    render(report, Format.TABLE, detail=detail)
    raise typer.Exit(int(report.exit_code))


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


def debug_requested(args: list[str]) -> bool:
    """--debug on the command line or GRADCHECK_DEBUG set, for errors before typer parsed it."""
    env = os.environ.get("GRADCHECK_DEBUG", "").strip().lower()
    return "--debug" in args or env in {"1", "true", "t", "yes", "y", "on"}


class GuardedGroup(TyperGroup):
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
