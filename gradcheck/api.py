"""The Python API: `check` one claim, `verify` rule files, `list_rules` of a catalog."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .model import Diagnostic, Expect, Options, Report, Rule, Status, Verdict

if TYPE_CHECKING:
    from .cache import Cache
    from .verdicts import Progress


def list_rules(
    paths: Sequence[str | Path] | None = None,
    *,
    keyword: str | None = None,
    tags: Sequence[str] = (),
    notes: bool = False,
) -> tuple[list[Rule], list[Diagnostic]]:
    """The rules in `paths` (default: the bundled catalog), selected by keyword and tags;
    `notes`: folders are searched for notes (*.md, *.tex, …) too."""
    from .catalog import bundled_catalog, load_paths, select

    rules, diagnostics = load_paths(list(paths) if paths else [bundled_catalog()], notes=notes)
    return select(rules, keyword=keyword, tags=tags), diagnostics


def verify(
    paths: Sequence[str | Path] | None = None,
    *,
    keyword: str | None = None,
    tags: Sequence[str] = (),
    options: Options | None = None,
    cache: bool = False,
    progress: Progress | None = None,
    notes: bool = False,
    strict: bool = False,
) -> Report:
    """Check every selected rule in `paths` (default: the bundled catalog); with `cache`, reuse
    and store verdicts in the result cache (gradcheck.cache); `progress` is told of each.
    `notes`: folders are searched for notes too; `strict`: a formula of a note that cannot be
    read fails the run."""
    from dataclasses import replace

    from .verdicts import verify_rules

    rules, diagnostics = list_rules(paths, keyword=keyword, tags=tags, notes=notes)
    report = verify_rules(
        rules, diagnostics, options or Options(), cache=_cache(cache), progress=progress
    )
    return replace(report, strict=strict)


def _cache(wanted: bool) -> Cache | None:
    from .cache import Cache, directory

    return Cache(directory()) if wanted else None


def check_report(
    claim: str,
    *,
    assume: Mapping[str, Sequence[str]] | None = None,
    layout: str = "denominator",
    symbols: Mapping[str, str] | None = None,
    options: Options | None = None,
    cache: bool = False,
    wrt: str | None = None,
    otimes: str | None = None,
) -> Report:
    """Check one claim typed as text; a Report with its verdict (or its errors): one verdict
    per link of a chain `a = b = c` (ids `claim`, `claim.2`, …); `$…$` and the other math
    delimiters around it are ignored. `otimes` ("hadamard" or "kronecker") is the reading of
    ⊗ the text declares; without one ⊗ is refused, naming both readings."""
    from .notes.claims import claim_rules
    from .notes.declarations import Otimes
    from .verdicts import verify_rules

    reading = Otimes(otimes) if otimes else None
    rules, diagnostics = claim_rules(
        claim, assume=assume, layout=layout, symbols=symbols, otimes=reading
    )
    if wrt:  # the variable of `∇ f = g`, written without a subscript
        rules = [dataclasses.replace(rule, wrt=wrt) for rule in rules]
    return verify_rules(rules, diagnostics, options or Options(), cache=_cache(cache))


def check(
    claim: str,
    *,
    assume: Mapping[str, Sequence[str]] | None = None,
    layout: str = "denominator",
    symbols: Mapping[str, str] | None = None,
    seed: int = 0,
    examples: int | None = None,
    wrt: str | None = None,
) -> Verdict:
    """The verdict on one claim, e.g. `check("∇_x (xᵀAx) = 2Ax", assume={"A": ["symmetric"]})`."""
    options = Options(seed=seed, examples=examples or Options().examples)
    report = check_report(
        claim, assume=assume, layout=layout, symbols=symbols, options=options, wrt=wrt
    )
    if report.verdicts:
        return report.verdicts[0]
    first = report.errors[0] if report.errors else None
    return Verdict(
        rule_id="claim",
        status=Status.ILL_FORMED,
        expect=Expect.HOLDS,
        display=claim,
        message=first.message if first else "unreadable claim",
        position=first.position if first else None,
        diagnostics=report.errors,
    )
