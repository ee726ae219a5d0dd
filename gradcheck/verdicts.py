"""Rule → Verdict: compile the rule, check it (checking.py), and diagnose a failing claim."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from .checking import Checked, evidence, fold, internal_error
from .errors import RuleError
from .model import Category, Diagnosis, Diagnostic, Expect, Options, Report, Rule, Status, Verdict
from .problem import Problem, compile_rule

__all__ = ["fold", "ill_formed", "verdict_for", "verify_rule", "verify_rules"]


def ill_formed(rule: Rule, err: RuleError) -> Verdict:
    """The verdict for a rule that cannot be read or typed, pointing into its text."""
    field = err.field or ("claim" if rule.claim is not None else "f")
    base = field.split(".")[0]
    position = (
        rule.text_position(field, err.offset)
        if base in ("claim", "f", "rhs")
        or field in ("gradient", "jacobian", "hessian", "differential")
        else rule.position_of(field)
    )
    if field in ("gradient", "jacobian", "hessian", "differential"):
        position = rule.text_position(
            field if dict(rule.positions).get(field) else "rhs", err.offset
        )
    diagnostic = Diagnostic(position, err.message, err.hint, rule.id)
    return Verdict(
        rule_id=rule.id,
        status=Status.ILL_FORMED,
        expect=rule.expect,
        display=rule.claim or f"{rule.f}",
        message=err.message,
        position=position,
        diagnostics=(diagnostic,),
        source=rule.source,
        tags=rule.tags,
    )


def verify_rule(rule: Rule, options: Options) -> Verdict:
    """Check one rule; a wrong rule is a verdict, never an exception. Whatever fails inside
    (a bug, a RecursionError, an overflow) is this rule's `error` and no other rule's."""
    start = time.perf_counter()
    try:
        problem = compile_rule(rule)
    except RuleError as err:
        return ill_formed(rule, err)
    except Exception as err:
        return _internal_error(rule, err, start)
    return _verdict_for(rule, problem, options, start)


def verdict_for(rule: Rule, problem: Problem, options: Options) -> Verdict:
    """The verdict on `problem`, compiled from `rule` (or retargeted from it), which gives the
    verdict its id, expectation, position and tags; like verify_rule, never an exception."""
    return _verdict_for(rule, problem, options, time.perf_counter())


def _verdict_for(rule: Rule, problem: Problem, options: Options, start: float) -> Verdict:
    try:
        return _checked_verdict(rule, problem, options, start)
    except Exception as err:
        return _internal_error(rule, err, start)


def _internal_error(rule: Rule, err: Exception, start: float) -> Verdict:
    return Verdict(
        rule_id=rule.id,
        status=Status.ERROR,
        expect=rule.expect,
        display=rule.claim or f"{rule.f}",
        message=internal_error(err)[:500],
        position=rule.position,
        source=rule.source,
        tags=rule.tags,
        seconds=time.perf_counter() - start,
    )


def _checked_verdict(rule: Rule, problem: Problem, options: Options, start: float) -> Verdict:
    try:
        symbolic, numeric, cross = evidence(problem, options)
    except Exception as err:  # the tool failed, not the rule: say so on this rule only
        return _verdict(rule, problem, Checked(Status.ERROR, internal_error(err)), start)
    checked = Checked(*fold(problem, symbolic, numeric, cross), symbolic, numeric, cross)
    verdict = _verdict(rule, problem, checked, start)
    if checked.status is Status.FAILS and options.diagnose:
        diagnosis = _diagnosis(rule, problem, options)
        verdict = replace(verdict, diagnosis=diagnosis, seconds=time.perf_counter() - start)
    return verdict


def _diagnosis(rule: Rule, problem: Problem, options: Options) -> Diagnosis:
    """Why the claim fails; if the diagnosis itself fails, the verdict stands and says so."""
    from .diagnose import diagnose

    try:
        return diagnose(rule, problem, options)
    except Exception as err:
        detail = f"no diagnosis: {internal_error(err)}"[:300]
        return Diagnosis(category=Category.DIFFERS, detail=detail, suggestion="")


def _verdict(rule: Rule, problem: Problem, checked: Checked, start: float) -> Verdict:
    return Verdict(
        rule_id=rule.id,
        status=checked.status,
        expect=rule.expect,
        display=problem.display,
        message=checked.message,
        position=rule.position,
        kind=problem.kind,
        symbolic=checked.symbolic,
        numeric=checked.numeric,
        crosscheck=checked.crosscheck,
        source=rule.source,
        tags=rule.tags,
        seconds=time.perf_counter() - start,
        statement=problem.statement(),
    )


def _verify_all(rules: Sequence[Rule], options: Options) -> list[Verdict]:
    """Every rule's verdict, in order; with `jobs` > 1 in forked worker processes."""
    jobs = min(options.jobs, len(rules))
    if jobs <= 1:
        return [verify_rule(rule, options) for rule in rules]
    import multiprocessing

    from . import numeric, symbolic  # noqa: F401 - imported once, inherited by the workers

    context = multiprocessing.get_context("fork")
    with context.Pool(jobs, initializer=_leave_interrupts_to_parent) as pool:
        return pool.starmap(verify_rule, [(rule, options) for rule in rules], chunksize=1)


def _leave_interrupts_to_parent() -> None:
    """Ctrl-C reaches the whole process group: the parent ends the pool and says so once,
    instead of every worker printing its own traceback."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def verify_rules(
    rules: Sequence[Rule], diagnostics: Sequence[Diagnostic], options: Options
) -> Report:
    """Check every rule; diagnostics of unreadable rules become ill-formed rows."""
    start = time.perf_counter()
    verdicts = _verify_all(rules, options)
    errors = []
    for diagnostic in diagnostics:
        if diagnostic.rule_id is None:
            errors.append(diagnostic)
            continue
        verdicts.append(
            Verdict(
                rule_id=diagnostic.rule_id,
                status=Status.ILL_FORMED,
                expect=Expect.HOLDS,
                display="",
                message=diagnostic.message,
                position=diagnostic.position,
                diagnostics=(diagnostic,),
            )
        )
    return Report(
        verdicts=tuple(verdicts),
        seed=options.seed,
        seconds=time.perf_counter() - start,
        errors=tuple(errors),
        examples=options.examples,
    )
