"""`gradcheck verify PATH...`: check the rules of files or folders."""

from __future__ import annotations

from typing import Annotated

import typer

from gradcheck.model import Options
from gradcheck.report import Format

from .exits import finish
from .options import (
    DEFAULTS,
    DiagnoseOpt,
    ExamplesOpt,
    FormatOpt,
    KeywordOpt,
    NoCacheOpt,
    OutputOpt,
    PathsArg,
    QuietOpt,
    SeedOpt,
    SizeOpt,
    TagOpt,
    TimeoutOpt,
    parse_sizes,
    workers,
)


def verify(
    paths: PathsArg = None,
    keyword: KeywordOpt = None,
    tag: TagOpt = None,
    fmt: FormatOpt = Format.TABLE,
    output: OutputOpt = None,
    seed: SeedOpt = DEFAULTS.seed,
    examples: ExamplesOpt = DEFAULTS.examples,
    symbolic_timeout: TimeoutOpt = DEFAULTS.symbolic_timeout,
    diagnose: DiagnoseOpt = DEFAULTS.diagnose,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs", "-j", min=0, help="Rules checked in parallel (0: one per core, up to 4)."
        ),
    ] = 0,
    size: SizeOpt = None,
    no_cache: NoCacheOpt = False,
    quiet: QuietOpt = False,
    notes: Annotated[
        bool,
        typer.Option(
            "--notes",
            help="Also read the notes (*.md, *.markdown, *.txt, *.tex, *.ipynb) in folders; "
            "a note named as a file is always read.",
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="A formula of a note that states a derivative but cannot be read "
            "fails the run (exit 2)."
        ),
    ] = False,
) -> None:
    """Check every rule in the files or folders PATH... (default: the bundled catalog).

    A Markdown, LaTeX, text or notebook file (*.md, *.markdown, *.txt, *.tex, *.ipynb) is read
    as a note: every formula in it that states a derivative is checked.

    One row per rule: the symbolic proof, the numeric check and the verdict. A rule is as
    expected when its verdict matches its `expect` (a rule that records a common mistake
    expects to fail).

    Exit code: 0 every rule as expected, 1 some rule not as expected, 2 a usage error or an
    unreadable file or rule (the readable rules are still checked), 3 an internal error.
    """
    numeric_sizes = parse_sizes(size)
    # gradcheck.api pulls in sympy, torch and hypothesis when a rule is checked: imported
    # here, so that `gradcheck --help` stays instant.
    from gradcheck import api

    from .progress import Progress

    options = Options(
        seed=seed,
        examples=examples,
        symbolic_timeout=symbolic_timeout,
        jobs=workers(jobs),
        diagnose=diagnose,
        numeric_sizes=numeric_sizes,
    )
    with Progress(quiet=quiet) as progress:
        report = api.verify(
            paths or None,
            keyword=keyword,
            tags=tuple(tag or ()),
            options=options,
            cache=not no_cache,
            progress=progress,
            notes=notes,
            strict=strict,
        )
    finish(report, fmt, output=output)
