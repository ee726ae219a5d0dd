"""The options several commands share, and the parsers of --assume and --symbol."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated

import typer

from gradcheck.model import ASSUMPTIONS, Layout, Options
from gradcheck.report import Format

DEFAULTS = Options()
_SYMBOL_DECL = re.compile(r"scalar|vector\(\s*\w+\s*\)|matrix\(\s*\w+\s*,\s*\w+\s*\)")
_SYMBOL_NAME = re.compile(r"[A-Za-zα-ωΑ-Ω][A-Za-z0-9_α-ωΑ-Ω]*")  # one word: A, x, W1, b_2, λ
_MAX_DEFAULT_JOBS = 4  # "0: one per core, up to 4", as the help of --jobs says


def parse_assume(values: list[str] | None) -> dict[str, list[str]]:
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


def parse_symbols(values: list[str] | None) -> dict[str, str]:
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


def workers(jobs: int) -> int:
    """The processes for `--jobs N`: N, or for 0 one per core up to four."""
    return jobs or min(_MAX_DEFAULT_JOBS, os.cpu_count() or 1)


PathsArg = Annotated[
    list[Path] | None,
    # No exists=True: a missing path is a diagnostic at path:1:1 (exit 2) like any other
    # unreadable input, reported beside the files that could be read.
    typer.Argument(
        show_default=False,
        metavar="PATH",
        help="Rule files (YAML) or folders of them, - for standard input (default: the "
        "bundled catalog).",
    ),
]
KeywordOpt = Annotated[
    str | None,
    typer.Option("-k", "--keyword", help="Only rules whose id, title or a tag contains this text."),
]
TagOpt = Annotated[
    list[str] | None, typer.Option("--tag", help="Only rules with this tag (repeatable).")
]
FormatOpt = Annotated[
    Format,
    typer.Option(
        "--format",
        help="table to read, json for programs, markdown for documents; sarif (code scanning), "
        "junit (test reports) and github (workflow annotations) for CI; diff: a patch of each "
        "note with the verified formula in place of each wrong one.",
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write the --format report to this file; stdout then shows the table.",
        dir_okay=False,
    ),
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
NoCacheOpt = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help="Check every rule afresh: neither read nor write the result cache "
        "(see `gradcheck cache`).",
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress on stderr (stdout is the report).")
]
SizeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--size",
        metavar="DIM=N",
        help="Draw the numeric check's inputs at this size of a dimension, e.g. --size n=1024 "
        "(repeatable; the other dimensions are drawn; the symbolic proof is unchanged).",
    ),
]
_MAX_SIZE = 4096  # a 4096 × 4096 matrix is 128 MiB of float64 per sample: larger is a typo


def parse_sizes(values: list[str] | None) -> tuple[tuple[str, int], ...]:
    """`n=1024` (repeatable) → (("n", 1024),)."""
    sizes: dict[str, int] = {}
    for value in values or []:
        name, sep, number = (part.strip() for part in value.partition("="))
        if not (sep and _SYMBOL_NAME.fullmatch(name) and number.isdigit()):
            raise typer.BadParameter(f"{value!r}: write DIM=N, e.g. n=1024", param_hint="'--size'")
        if not 1 <= int(number) <= _MAX_SIZE:
            raise typer.BadParameter(
                f"{value!r}: a size is from 1 to {_MAX_SIZE}", param_hint="'--size'"
            )
        sizes[name] = int(number)
    return tuple(sorted(sizes.items()))
