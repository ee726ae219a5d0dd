"""A claim typed on the command line as rules: `$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]` stripped,
and a chain `a = b = c` cut into links with the ids `claim`, `claim.2`, … (see chains.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from ..catalog import rule_from_claim
from ..errors import RuleError
from ..model import Diagnostic, Position, Rule
from .chains import links, members, strip_delimiters
from .spans import clean

CLAIM_FILE = "<claim>"


def claim_rules(
    claim: str,
    *,
    assume: Mapping[str, Sequence[str]] | None = None,
    layout: str = "denominator",
    symbols: Mapping[str, str] | None = None,
) -> tuple[list[Rule], list[Diagnostic]]:
    """The rules of one typed claim: one, or one per link of a chain."""
    text, lead = strip_delimiters(claim)
    formula = clean(text, lead)
    if len(members(formula)) <= 2 and not any(
        m.text.lstrip().startswith(("\\nabla", "∇", "\\frac", "∂", "\\partial"))
        for m in members(formula)[1:]
    ):  # a plain claim, read as it always was (positions shifted past a delimiter)
        rule, plain = rule_from_claim(text, assume=assume, layout=layout, symbols=symbols)
        if rule is not None and lead:
            rule = replace(rule, positions=(("claim", Position(CLAIM_FILE, 1, 1 + lead)),))
        return [rule] if rule else [], plain
    try:
        found = links(formula, list(symbols or ()))
    except RuleError as err:
        where = Position(CLAIM_FILE, 1, 1 + lead + err.offset)
        return [], [Diagnostic(where, err.message, err.hint, "claim")]
    if not found:
        rule, problems = rule_from_claim(text, assume=assume, layout=layout, symbols=symbols)
        return [rule] if rule else [], problems
    rules: list[Rule] = []
    diagnostics: list[Diagnostic] = []
    for i, link in enumerate(found):
        rule_id = "claim" if i == 0 else f"claim.{i + 1}"
        rule, problems = rule_from_claim(
            link.claim.text, assume=assume, layout=layout, symbols=symbols, rule_id=rule_id
        )
        column = 1 + (formula.strip().at(0) if i == 0 else link.member.at(0))
        if rule is not None:
            where = Position(CLAIM_FILE, 1, column)
            rules.append(
                replace(rule, position=where, positions=(("claim", where),),
                        display=link.display or None)
            )
        diagnostics += problems
    return rules, diagnostics
