"""Rule → Verdict: run the symbolic and numeric checks, cross-check them, fold the evidence."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from .errors import RuleError
from .model import (
    CrossCheck,
    Diagnosis,
    Diagnostic,
    Expect,
    NumericEvidence,
    Options,
    Report,
    Rule,
    Status,
    SymbolicEvidence,
    Verdict,
)
from .problem import Problem, compile_rule


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
        return _verify_rule(rule, options, start)
    except Exception as err:
        return Verdict(
            rule_id=rule.id,
            status=Status.ERROR,
            expect=rule.expect,
            display=rule.claim or f"{rule.f}",
            message=f"internal error: {type(err).__name__}: {err}"[:500],
            position=rule.position,
            source=rule.source,
            tags=rule.tags,
            seconds=time.perf_counter() - start,
        )


def _verify_rule(rule: Rule, options: Options, start: float) -> Verdict:
    try:
        problem = compile_rule(rule)
    except RuleError as err:
        return ill_formed(rule, err)
    try:
        symbolic, numeric, cross = _evidence(problem, options)
    except Exception as err:  # the tool failed, not the rule: say so on this rule only
        return _verdict(
            rule,
            problem,
            Status.ERROR,
            f"internal error: {type(err).__name__}: {err}",
            None,
            None,
            None,
            start,
        )
    status, message = fold(problem, symbolic, numeric, cross)
    verdict = _verdict(rule, problem, status, message, symbolic, numeric, cross, start)
    if status is Status.FAILS and options.diagnose:
        from .diagnose import diagnose

        try:
            diagnosis = diagnose(rule, problem, options)
        except Exception as err:  # the verdict stands, and says why it has no explanation
            detail = f"no diagnosis: internal error: {type(err).__name__}: {err}"[:300]
            diagnosis = Diagnosis(category="differs", detail=detail, suggestion="")
        verdict = replace(verdict, diagnosis=diagnosis, seconds=time.perf_counter() - start)
    return verdict


def _evidence(
    problem: Problem, options: Options
) -> tuple[SymbolicEvidence, NumericEvidence, CrossCheck | None]:
    from . import numeric, symbolic
    from .crosscheck import cross_check

    sym_evidence, at_size = symbolic.check(problem, options)
    all_sizes, matrix_detail = _matrix_form(problem, options)
    sym_evidence = replace(sym_evidence, all_sizes=all_sizes, matrix_detail=matrix_detail)
    num_evidence = numeric.search(problem, options)
    cross = None
    if at_size is not None and at_size.derivative is not None:
        cross = cross_check(problem, at_size, options.seed)
    return sym_evidence, num_evidence, cross


def _matrix_form(problem: Problem, options: Options) -> tuple[bool, str]:
    """Whether the claim equals the derived derivative in canonical matrix form (all sizes)."""
    from .calculus.derive import matrix_form_equal
    from .symbolic import SymbolicTimeout, time_limit

    try:
        with time_limit(options.symbolic_timeout):
            equal, detail = matrix_form_equal(problem)
    except SymbolicTimeout:
        return False, "matrix form: time limit reached"
    except (ArithmeticError, LookupError, ValueError, TypeError, RecursionError) as err:
        return False, f"matrix form: engine failed ({type(err).__name__}: {err})"
    return bool(equal), detail


def fold(
    problem: Problem, symbolic: SymbolicEvidence, numeric: NumericEvidence, cross: CrossCheck | None
) -> tuple[Status, str]:
    """The verdict of spec §4 from the three pieces of evidence, and a one-line reason."""
    if cross is not None and not cross.agreed:
        return Status.ERROR, f"the oracles disagree: {cross.detail}"
    ce = numeric.counterexample
    if symbolic.all_sizes and (ce is not None or symbolic.status == "disproved"):
        return Status.ERROR, (
            "the oracles disagree: the matrix-form proof says the claim holds for all sizes, "
            "but " + ("autograd found a counterexample" if ce else "sympy disproved it")
        )
    if ce is not None:
        sizes = dict(ce.sizes)
        if symbolic.status == "proved" and any(dict(s) == sizes for s in symbolic.sizes):
            return Status.ERROR, (
                "the oracles disagree: sympy proved the claim at "
                f"{_sizes(sizes)} but autograd found a counterexample there"
            )
        return Status.FAILS, _fail_message(problem, ce.note, f"counterexample at {_sizes(sizes)}")
    if symbolic.status == "disproved":
        return Status.FAILS, _fail_message(problem, symbolic.detail, "exact symbolic disproof")
    if problem.shape_note:
        return Status.FAILS, problem.shape_note
    if numeric.examples == 0:
        return Status.ERROR, numeric.detail or "no input could be drawn"
    if symbolic.status == "proved" or symbolic.all_sizes:
        return Status.HOLDS, ""
    return Status.HOLDS_NUMERIC, f"symbolic check {symbolic.status}: {symbolic.detail}"


def _fail_message(problem: Problem, detail: str, lead: str) -> str:
    if problem.shape_note:
        return problem.shape_note
    return f"{lead}: {detail}" if detail else lead


def _sizes(sizes: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(sizes.items())) or "the given sizes"


def _verdict(
    rule: Rule,
    problem: Problem,
    status: Status,
    message: str,
    symbolic: SymbolicEvidence | None,
    numeric: NumericEvidence | None,
    cross: CrossCheck | None,
    start: float,
) -> Verdict:
    return Verdict(
        rule_id=rule.id,
        status=status,
        expect=rule.expect,
        display=problem.display,
        message=message,
        position=rule.position,
        kind=problem.kind,
        symbolic=symbolic,
        numeric=numeric,
        crosscheck=cross,
        source=rule.source,
        tags=rule.tags,
        seconds=time.perf_counter() - start,
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
