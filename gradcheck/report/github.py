"""The GitHub Actions reporter: a workflow command per rule that needs attention
(`::error file=…,line=…,col=…,title=…::…`, `::warning` for a numeric-only verdict), and the
Markdown report appended to `$GITHUB_STEP_SUMMARY` when that is set."""

from __future__ import annotations

import os
from collections.abc import Sequence

from rich.console import Console

from gradcheck.model import Diagnostic, Position, Report, Rule
from gradcheck.report import markdown, table
from gradcheck.report.ci import Level, counterexample_text, explanation, in_a_file, level
from gradcheck.report.ci import relative_path as _relative
from gradcheck.report.common import count_outcomes, print_diagnostics

SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"


def escape_data(text: str) -> str:
    """A workflow command's message: %, CR and LF escaped (GitHub's own toolkit rules)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: also `:` and `,`, which end a property."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: Level, message: str, position: Position | None, title: str) -> str:
    """One workflow command line."""
    props = []
    if in_a_file(position):
        assert position is not None
        props += [
            f"file={escape_property(_relative(position.file))}",
            f"line={position.line}",
            f"col={position.column}",
        ]
    props.append(f"title={escape_property(title)}")
    return f"::{kind.value} {','.join(props)}::{escape_data(message)}"


def lines(report: Report) -> list[str]:
    """Every command of a report, in the rules' order, then the file-level errors."""
    found = []
    for verdict in report.verdicts:
        kind = level(verdict)
        if kind is None:
            continue
        message = "\n".join(t for t in (explanation(verdict), counterexample_text(verdict)) if t)
        found.append(
            command(
                kind, message, verdict.position, f"gradcheck: {verdict.rule_id} {verdict.outcome}"
            )
        )
    for d in report.errors:
        found.append(_diagnostic(d))
    for d in report.unread:
        kind = Level.ERROR if report.strict else Level.WARNING
        message = d.message + (f" ({d.hint})" if d.hint else "")
        found.append(command(kind, message, d.position, "gradcheck: unread formula"))
    return found


def _diagnostic(d: Diagnostic) -> str:
    message = d.message + (f" ({d.hint})" if d.hint else "")
    return command(Level.ERROR, message, d.position, "gradcheck: unreadable")


def render(report: Report, out: Console, err: Console, *, detail: bool = False) -> None:
    """The commands on `out` (GitHub reads them from the log), a count of the outcomes, and
    the Markdown report appended to $GITHUB_STEP_SUMMARY when it is set."""
    for line in lines(report):
        out.out(line, highlight=False)
    counts = ", ".join(f"{n} {name}" for name, n in count_outcomes(report.verdicts).items())
    out.out(f"gradcheck: {len(report.verdicts)} rules: {counts or 'none'}", highlight=False)
    summary = os.environ.get(SUMMARY_VARIABLE)
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(markdown.report_markdown(report) + "\n")
    print_diagnostics(report, err)


def render_rules(
    rules: Sequence[Rule], diagnostics: Sequence[Diagnostic], out: Console, err: Console
) -> None:
    """A listing has no verdicts to annotate: the table, and the unreadable rules as errors."""
    table.render_rules(rules, diagnostics, out, err)
    for d in diagnostics:
        out.out(_diagnostic(d), highlight=False)
