"""A claim typed on the command line as rules: `$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]` stripped,
and a chain `a = b = c` cut into links with the ids `claim`, `claim.2`, … (see chains.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from ..catalog import rule_from_claim
from ..errors import RuleError
from ..model import Diagnostic, Position, Rule
from .chains import links, members, strip_delimiters
from .declarations import Otimes, label_end, prose_condition, with_otimes
from .spans import clean

CLAIM_FILE = "<claim>"


def claim_rules(
    claim: str,
    *,
    assume: Mapping[str, Sequence[str]] | None = None,
    layout: str = "denominator",
    symbols: Mapping[str, str] | None = None,
    otimes: Otimes | None = None,
) -> tuple[list[Rule], list[Diagnostic]]:
    """The rules of one typed claim: one, or one per link of a chain. A leading label
    (`\\text{Tanh}': \\quad`) is cut off; a trailing condition in prose,
    `\\quad (A \\text{ invertible})`, is cut off and assumed. `otimes` is the reading of ⊗ the
    user declares (the Hadamard product: read as ⊙; else ⊗ is refused, naming both)."""
    try:
        claim = with_otimes(claim, otimes)
    except RuleError as err:
        return [], [Diagnostic(Position(CLAIM_FILE, 1, 1 + err.offset), err.message, err.hint,
                               "claim")]
    text, lead = strip_delimiters(claim)
    label = label_end(text)  # `\\text{Tanh}': \\quad …`: a label, not a factor
    text, lead = text[label:], lead + label
    try:
        condition = prose_condition(text)
    except RuleError as err:
        where = Position(CLAIM_FILE, 1, 1 + lead + err.offset)
        return [], [Diagnostic(where, err.message, err.hint, "claim")]
    if condition is not None:
        cut, stated = condition
        text = text[:cut]
        widened = {name: list(kinds) for name, kinds in (assume or {}).items()}
        for name, assumption in stated:
            if assumption not in widened.setdefault(name, []):
                widened[name].append(assumption)
        assume = widened
    formula = clean(text, lead)
    parts = members(formula)
    if len(parts) <= 2 and not any(
        m.text.lstrip().startswith(("\\nabla", "∇", "\\frac", "∂", "\\partial"))
        for m in parts[1:]
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
