"""The diff reporter (`--format diff`): a unified patch of each note that replaces every wrong
formula with the verified correct one, in LaTeX.

A verdict of a note's formula (tag `note`) that fails, with a diagnosis whose formula was
verified (`confirmed`), has its right-hand side replaced: the member of the chain at the
verdict's position (an alternative's whole formula; for the first link of a chain, the member
after the derivative). A link between two derivatives is never patched. The note is read
again to find that member (gradcheck.notes.spans); the formula is read from the diagnosis by
the grammar and printed in LaTeX. Files that need no change give no output.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from gradcheck.model import Diagnostic, Report, Rule, Status, Verdict
from gradcheck.report import table
from gradcheck.report.ci import relative_path
from gradcheck.report.common import print_diagnostics

NOTE_TAG = "note"


def _latex(verdict: Verdict) -> str | None:
    """The verified formula of a failing verdict, in LaTeX (None when there is none)."""
    from gradcheck.errors import RuleError
    from gradcheck.lang.parser import parse_expression
    from gradcheck.lang.printer import latex

    d = verdict.diagnosis
    if d is None or not d.confirmed or not d.suggestion:
        return None
    names = [name for name, _ in verdict.statement.shapes] if verdict.statement else []
    try:
        return latex(parse_expression(d.suggestion, names))
    except RuleError:
        return None


def _member_at(
    text: str, line: int, column: int, file_suffix: str = ""
) -> tuple[int, int] | None:
    """The (start, end) offsets of the right-hand side a note's verdict at line:column names."""
    from gradcheck.notes.chains import is_derivative, members
    from gradcheck.notes.spans import Document, Syntax, find_spans, rows

    doc = Document(text)
    if not 0 < line <= doc.lines:
        return None
    offset = doc.starts[line - 1] + column - 1
    syntax = Syntax.LATEX if file_suffix == ".tex" else Syntax.MARKDOWN
    for span in find_spans(text, syntax):
        if not span.start <= offset <= span.end:
            continue
        for formula in rows(span):
            parts = members(formula)
            if len(parts) == 1 and parts[0].at(0) == offset:  # an alternative
                return parts[0].at(0), parts[0].at(len(parts[0].text) - 1) + 1
            anchor = next(
                (i for i, p in enumerate(parts) if is_derivative(p.text, formula.text)), None
            )
            for i, part in enumerate(parts):
                first = formula.strip().at(0) == offset and anchor is not None and i == (
                    anchor + 1 if anchor == 0 else 0)
                if (part.at(0) == offset or first) and not is_derivative(part.text, formula.text):
                    return part.at(0), part.at(len(part.text) - 1) + 1
    return None


def patches(report: Report) -> list[str]:
    """One unified diff per note that has a wrong formula with a verified fix."""
    edits: dict[str, list[tuple[int, int, str]]] = {}
    for verdict in report.verdicts:
        if (
            verdict.status is not Status.FAILS
            or NOTE_TAG not in verdict.tags
            or verdict.position is None
            or (replacement := _latex(verdict)) is None
        ):
            continue
        edits.setdefault(verdict.position.file, []).append(
            (verdict.position.line, verdict.position.column, replacement)
        )
    found = []
    for file, wanted in edits.items():
        if file.endswith(".ipynb"):
            continue  # positions are inside the JSON: not patched
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        places = []
        for line, column, replacement in wanted:
            member = _member_at(text, line, column, Path(file).suffix.lower())
            if member is not None:
                places.append((*member, replacement))
        new = text
        for start, end, replacement in sorted(set(places), reverse=True):
            new = new[:start] + replacement + new[end:]
        if new != text:
            name = relative_path(file)
            found.append("".join(difflib.unified_diff(
                text.splitlines(keepends=True), new.splitlines(keepends=True),
                f"a/{name}", f"b/{name}")))
    return found


def render(report: Report, out: Console, err: Console, *, detail: bool = False) -> None:
    """The patches on `out` (nothing when there is nothing to fix); diagnostics to `err`."""
    for patch in patches(report):
        out.out(patch, highlight=False, end="" if patch.endswith("\n") else "\n")
    print_diagnostics(report, err)


def render_rules(
    rules: Sequence[Rule], diagnostics: Sequence[Diagnostic], out: Console, err: Console
) -> None:
    """A listing has nothing to patch: the table."""
    table.render_rules(rules, diagnostics, out, err)
