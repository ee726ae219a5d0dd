"""`gradcheck list PATH...`: the rules of a catalog, optionally with their verdicts.

(Not `list.py`: the package would then hold a module that shadows the builtin `list`.)
"""

from __future__ import annotations

from typing import Annotated

import typer

from gradcheck.model import ExitCode, Options
from gradcheck.report import Format, render, render_rules

from .options import FormatOpt, KeywordOpt, PathsArg, TagOpt, workers


def list_rules(
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
    options = Options(jobs=workers(jobs))
    report = api.verify(paths or None, keyword=keyword, tags=tuple(tag or ()), options=options)
    if fmt is Format.MARKDOWN:
        verdicts = {verdict.rule_id: verdict for verdict in report.verdicts}
        render_rules(rules, diagnostics, fmt, verdicts=verdicts)
    else:
        render(report, fmt)
    raise typer.Exit(int(report.exit_code))
