"""Reporters: one module per output format, chosen by `Format`, behind `Formatter`."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, TextIO, cast

from gradcheck.model import Diagnostic, Report, Rule, Verdict
from gradcheck.report.common import (
    OUTCOMES,
    all_diagnostics,
    count_outcomes,
    format_matrix,
    format_number,
    rule_text,
)

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "OUTCOMES",
    "Format",
    "Formatter",
    "all_diagnostics",
    "console",
    "count_outcomes",
    "format_matrix",
    "format_number",
    "formatter",
    "render",
    "render_rules",
    "rule_text",
]


class Format(StrEnum):
    """An output format of `gradcheck verify`, `check` and `list`."""

    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    SARIF = "sarif"
    JUNIT = "junit"
    GITHUB = "github"
    DIFF = "diff"  # a patch of each note: the verified formula in place of each wrong one


class Formatter(Protocol):
    """What every reporter module provides."""

    def render(self, report: Report, out: Console, err: Console, *, detail: bool = False) -> None:
        """Write a report: results to `out`, diagnostics to `err`."""

    def render_rules(
        self, rules: Sequence[Rule], diagnostics: Sequence[Diagnostic], out: Console, err: Console
    ) -> None:
        """Write a catalog listing: rules to `out`, diagnostics to `err`."""


def formatter(fmt: Format) -> Formatter:
    """The reporter module for `fmt` (imported on demand)."""
    import importlib

    module = _MODULES[Format(fmt)]
    return cast("Formatter", importlib.import_module(f"gradcheck.report.{module}"))


_MODULES = {
    Format.TABLE: "table",
    Format.JSON: "json_report",
    Format.MARKDOWN: "markdown",
    Format.SARIF: "sarif",
    Format.JUNIT: "junit",
    Format.GITHUB: "github",
    Format.DIFF: "diff",
}


# The width of output that goes to a file or a pipe (a CI log, `| less`). rich would use 80
# columns there, which wraps every row of the table; COLUMNS, when set, still wins.
PIPED_WIDTH = 120


def console(*, stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr): as wide as the terminal, or COLUMNS if set, or
    PIPED_WIDTH when the stream is not a terminal."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if os.environ.get("COLUMNS", "").isdigit() or _is_terminal(stream) else PIPED_WIDTH
    return Console(stderr=stderr, width=width)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced by something without isatty, or closed
        return False


def _consoles(out: Console | None, err: Console | None) -> tuple[Console, Console]:
    return out or console(), err or console(stderr=True)


def render(
    report: Report,
    fmt: Format = Format.TABLE,
    out: Console | None = None,
    err: Console | None = None,
    *,
    detail: bool = False,
) -> None:
    """Render `report` in `fmt`; `detail` adds a per-rule panel (table format only)."""
    out, err = _consoles(out, err)
    formatter(fmt).render(report, out, err, detail=detail)


def render_rules(
    rules: Sequence[Rule],
    diagnostics: Sequence[Diagnostic],
    fmt: Format = Format.TABLE,
    out: Console | None = None,
    err: Console | None = None,
    *,
    verdicts: Mapping[str, Verdict] | None = None,
) -> None:
    """Render a catalog listing in `fmt`; `verdicts` (by rule id) adds a verdict column
    (Markdown only: the other formats show verdicts with `render`)."""
    out, err = _consoles(out, err)
    if verdicts is not None and Format(fmt) is Format.MARKDOWN:
        from gradcheck.report import markdown

        markdown.render_rules(rules, diagnostics, out, err, verdicts=verdicts)
        return
    formatter(fmt).render_rules(rules, diagnostics, out, err)
