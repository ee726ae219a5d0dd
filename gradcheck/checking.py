"""The checks on one compiled problem: the evidence (sympy, the matrix form, autograd, the
cross-check) and the status it folds to (spec §4). A rule and a repaired claim are checked
alike: verdicts.py makes a rule's Verdict of it, diagnose.py asks whether a repair holds."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .model import CrossCheck, NumericEvidence, Options, Status, SymbolicEvidence, SymbolicStatus
from .problem import Problem


@dataclass(frozen=True)
class Checked:
    """A problem's status, the one-line reason, and the evidence (None where none was had)."""

    status: Status
    message: str
    symbolic: SymbolicEvidence | None = None
    numeric: NumericEvidence | None = None
    crosscheck: CrossCheck | None = None

    @property
    def holds(self) -> bool:
        return self.status in (Status.HOLDS, Status.HOLDS_NUMERIC)


def check_problem(
    problem: Problem, options: Options, numeric: NumericEvidence | None = None
) -> Checked:
    """Gather the evidence (the numeric search's, if given, is not run again) and fold it; a
    failing tool is this problem's `error`."""
    try:
        symbolic, numeric, cross = evidence(problem, options, numeric)
    except Exception as err:
        return Checked(Status.ERROR, internal_error(err))
    return Checked(*fold(problem, symbolic, numeric, cross), symbolic, numeric, cross)


def internal_error(err: BaseException) -> str:
    """The message of an `error` verdict caused by an exception."""
    return f"internal error: {type(err).__name__}: {err}"


def evidence(
    problem: Problem, options: Options, searched: NumericEvidence | None = None
) -> tuple[SymbolicEvidence, NumericEvidence, CrossCheck | None]:
    """sympy entrywise (and the matrix form), autograd (`searched`, if the search has been
    run), and their cross-check; raises when a tool fails, which is the tool's error, not the
    claim's."""
    from . import engines

    engines.load()
    from . import numeric, symbolic
    from .crosscheck import cross_check

    all_sizes, matrix_detail = _matrix_form(problem, options)
    sym_evidence, at_size = symbolic.check(problem, options, all_sizes=all_sizes)
    sym_evidence = replace(sym_evidence, all_sizes=all_sizes, matrix_detail=matrix_detail)
    num_evidence = searched if searched is not None else numeric.search(problem, options)
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
    if symbolic.all_sizes and (ce is not None or symbolic.status is SymbolicStatus.DISPROVED):
        return Status.ERROR, (
            "the oracles disagree: the matrix-form proof says the claim holds for all sizes, "
            "but " + ("autograd found a counterexample" if ce else "sympy disproved it")
        )
    if ce is not None:
        sizes = dict(ce.sizes)
        proved = symbolic.status is SymbolicStatus.PROVED
        if proved and any(dict(s) == sizes for s in symbolic.sizes):
            return Status.ERROR, (
                "the oracles disagree: sympy proved the claim at "
                f"{_sizes(sizes)} but autograd found a counterexample there"
            )
        return Status.FAILS, _fail_message(problem, ce.note, f"counterexample at {_sizes(sizes)}")
    if symbolic.status is SymbolicStatus.DISPROVED:
        return Status.FAILS, _fail_message(problem, symbolic.detail, "exact symbolic disproof")
    if problem.shape_note:
        return Status.FAILS, problem.shape_note
    if numeric.examples == 0:
        return Status.ERROR, numeric.detail or "no input could be drawn"
    if symbolic.status is SymbolicStatus.PROVED or symbolic.all_sizes:
        return Status.HOLDS, ""
    return Status.HOLDS_NUMERIC, f"symbolic check {symbolic.status.value}: {symbolic.detail}"


def _fail_message(problem: Problem, detail: str, lead: str) -> str:
    if problem.shape_note:
        return problem.shape_note
    return f"{lead}: {detail}" if detail else lead


def _sizes(sizes: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(sizes.items())) or "the given sizes"
