"""`gradcheck explain`: one rule (by id) or one claim, checked, with what shows its mistake."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import api
from .model import Counterexample, Layout, Options, Report, Rule, Verdict


@dataclass(frozen=True)
class Explanation:
    """The report on one rule and, when its minimal counterexample only shows that the shapes
    differ (all its entries may be 0), a second one at equal dimensions whose entries differ."""

    report: Report
    values_differ: Counterexample | None = None

    @property
    def verdict(self) -> Verdict | None:
        """The verdict to explain; None when nothing was checked or some input was unreadable
        (then the report's diagnostics say why)."""
        if not self.report.verdicts or self.report.errors:
            return None
        return self.report.verdicts[0]


def explain_rule(
    rule_id: str, *, paths: Sequence[str | Path] | None = None, options: Options | None = None
) -> Explanation | None:
    """The rule `rule_id` of `paths` (default: the bundled catalog), checked. If no readable
    file holds it: the report of the unreadable files (it may be in one of them), or None when
    every file was read, so that `rule_id` may be a claim."""
    options = options or Options()
    rules, diagnostics = api.list_rules([str(p) for p in paths] if paths else None)
    chosen = [r for r in rules if r.id == rule_id]
    if not chosen and not (paths and diagnostics):
        return None
    from .verdicts import verify_rules

    if not chosen:
        return Explanation(verify_rules([], diagnostics, options))
    return _explained(verify_rules(chosen, [], options), chosen[0], options)


def explain_claim(
    claim: str,
    *,
    assume: Mapping[str, Sequence[str]] | None = None,
    layout: Layout = Layout.DENOMINATOR,
    symbols: Mapping[str, str] | None = None,
    options: Options | None = None,
) -> Explanation:
    """A claim typed as text, checked as `api.check_report` checks it."""
    options = options or Options()
    report = api.check_report(
        claim, assume=assume, layout=layout.value, symbols=symbols, options=options
    )
    if Explanation(report).verdict is None:
        return Explanation(report)
    from .catalog import rule_from_claim

    rule, _ = rule_from_claim(claim, assume=assume, layout=layout.value, symbols=symbols)
    return _explained(report, rule, options)


def _explained(report: Report, rule: Rule | None, options: Options) -> Explanation:
    verdict = Explanation(report).verdict
    if verdict is None or rule is None:
        return Explanation(report)
    return Explanation(report, _values_differ(verdict, rule, options))


def _values_differ(verdict: Verdict, rule: Rule, options: Options) -> Counterexample | None:
    """A counterexample at equal dimensions, when the minimal one only shows shapes that
    differ (an infinite error, with a note that says so)."""
    cx = verdict.numeric.counterexample if verdict.numeric else None
    if cx is None or not (math.isinf(cx.abs_error) and cx.note):
        return None
    from .numeric import counterexample_where_shapes_agree
    from .problem import compile_rule

    return counterexample_where_shapes_agree(compile_rule(rule), options)
