"""Rule → Verdict: compile the rule, check it (checking.py), and diagnose a failing claim."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from .checking import Checked, evidence, fold, internal_error
from .errors import RuleError
from .model import (
    Category,
    Diagnosis,
    Diagnostic,
    Expect,
    Kind,
    Options,
    Report,
    Rule,
    Status,
    Verdict,
)
from .problem import Problem, compile_rule

if TYPE_CHECKING:
    from .cache import Cache

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
        display=rule.display or problem.display,
        message="; ".join(part for part in (checked.message, problem.note) if part),
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


class Progress(Protocol):
    """Told how many rules a run checks, then of every verdict as it is reached."""

    def begin(self, total: int) -> None: ...

    def __call__(self, verdict: Verdict) -> None: ...


def _verify_all(
    rules: Sequence[Rule], options: Options, cache: Cache | None, progress: Progress | None
) -> list[Verdict]:
    """Every rule's verdict, in order: from the cache where it holds one, else checked (with
    `jobs` > 1 in forked worker processes) and stored."""
    from .cache import cacheable, refreshed

    if progress is not None:
        progress.begin(len(rules))
    verdicts: dict[int, Verdict] = {}
    todo: list[tuple[int, Rule, Problem, str | None]] = []
    for i, rule in enumerate(rules):
        try:
            problem = compile_rule(rule)
        except RuleError as err:
            verdicts[i] = ill_formed(rule, err)
        except Exception as err:
            verdicts[i] = _internal_error(rule, err, time.perf_counter())
        else:
            entry = _key(rule, problem, options) if cache is not None else None
            cached = cache.get(entry) if cache is not None and entry is not None else None
            if cached is None:
                todo.append((i, rule, problem, entry))
                continue
            verdicts[i] = refreshed(cached, rule, problem)
        if progress is not None:
            progress(verdicts[i])
    entries = {i: entry for i, _, _, entry in todo}
    for i, verdict in _checked(todo, options):
        verdicts[i] = verdict
        entry = entries[i]
        if cache is not None and entry is not None and cacheable(verdict):
            cache.put(entry, verdict)
        if progress is not None:
            progress(verdict)
    return [verdicts[i] for i in range(len(rules))]


def _key(rule: Rule, problem: Problem, options: Options) -> str | None:
    """The rule's cache key; None (checked, not stored) if it cannot be made."""
    from .cache import key

    try:
        return key(rule, problem, options)
    except Exception:  # a rule the cache cannot key is still checked
        return None


def _checked(
    todo: Sequence[tuple[int, Rule, Problem, str | None]], options: Options
) -> Iterator[tuple[int, Verdict]]:
    """(index, verdict) of every compiled rule, as each is reached."""
    jobs = min(options.jobs, len(todo))
    if jobs <= 1:
        for i, rule, problem, _ in todo:
            yield i, verdict_for(rule, problem, options)
        return
    import multiprocessing

    from . import engines, numeric

    engines.load()  # imported (and frozen) once, inherited by the workers

    if any(numeric.uses_reverse_mode(problem, options) for _, _, problem, _ in todo):
        import torch._dynamo  # noqa: F401 - reverse mode imports it (0.5 s): once, not per worker

    context = multiprocessing.get_context("fork")
    with context.Pool(jobs, initializer=_worker) as pool:
        work = [(i, rule, problem, options) for i, rule, problem, _ in todo]
        # the likely slow first, so that no worker is left with one at the end
        work.sort(key=lambda w: _likely_slow(w[1], w[2]), reverse=True)
        yield from pool.imap_unordered(_check_one, work, chunksize=1)


def _likely_slow(rule: Rule, problem: Problem) -> tuple[bool, bool]:
    """A rule expected to fail is diagnosed (most of a run's time); a Hessian costs most of
    the rest. Only the order of the work: every rule's check is independent of it."""
    return rule.expect is Expect.FAILS, problem.kind is Kind.HESSIAN


def _check_one(work: tuple[int, Rule, Problem, Options]) -> tuple[int, Verdict]:
    i, rule, problem, options = work
    return i, verdict_for(rule, problem, options)


def _worker() -> None:
    """Set up a worker process. Ctrl-C reaches the whole process group: the parent ends the
    pool and says so once, instead of every worker printing its own traceback. torch runs on
    one thread: the workers are already one per core, and two workers with two torch threads
    each on two cores made the numeric check 4× slower."""
    import signal

    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)


def verify_rules(
    rules: Sequence[Rule],
    diagnostics: Sequence[Diagnostic],
    options: Options,
    *,
    cache: Cache | None = None,
    progress: Progress | None = None,
) -> Report:
    """Check every rule (reading and filling `cache`, telling `progress` of each verdict);
    diagnostics of unreadable rules become ill-formed rows."""
    start = time.perf_counter()
    verdicts = _verify_all(rules, options, cache, progress)
    errors = []
    unread = []
    for diagnostic in diagnostics:
        if diagnostic.unread:
            unread.append(diagnostic)
            continue
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
        unread=tuple(unread),
    )
