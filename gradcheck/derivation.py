"""`gradcheck derive`: a closed-form derivative, printed only after it verifies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .errors import RuleError
from .model import Diagnostic, Options, Status, Verdict


@dataclass(frozen=True)
class Derived:
    """The outcome of a derivation: the formula in every spelling, and its verification."""

    texts: dict[str, str] = field(default_factory=dict)
    verdict: Verdict | None = None
    diagnostics: tuple[Diagnostic, ...] = ()
    error: str = ""

    @property
    def exit_code(self) -> int:
        if self.diagnostics:
            return 2
        return 0 if self.verdict is not None and self.verdict.status is Status.HOLDS else 1


def derive(
    f: str,
    wrt: str,
    *,
    kind: str = "gradient",
    layout: str = "denominator",
    assume: Mapping[str, Sequence[str]] | None = None,
    symbols: Mapping[str, str] | None = None,
    options: Options | None = None,
) -> Derived:
    """Derive ∂f/∂wrt (or the Jacobian, Hessian or differential) and verify the result."""
    from .calculus.canon import Unsupported
    from .calculus.derive import derive as derive_problem
    from .calculus.torch_code import source
    from .catalog import rule_from_fields
    from .lang.printer import ascii_text, latex, unicode
    from .problem import compile_rule
    from .readback import as_parsed
    from .verdicts import ill_formed, verdict_for

    fields = {"id": "derived", "f": f, "wrt": wrt, kind: "0", "layout": layout}
    rule, diagnostics = rule_from_fields(fields, assume=assume, symbols=symbols, file="<f>")
    if rule is None:
        return Derived(diagnostics=tuple(diagnostics))
    try:
        problem = compile_rule(rule)
    except RuleError as err:
        return Derived(diagnostics=ill_formed(rule, err).diagnostics)
    try:
        derivation = derive_problem(problem)
    except Unsupported as err:
        return Derived(error=f"cannot derive this in closed form: {err}")
    ast = derivation.ast
    try:  # the formula is checked as the claim, as if typed in
        claimed = problem.retarget(claim=as_parsed(ast))
    except RuleError as err:
        verdict = ill_formed(rule, err)
    else:
        verdict = verdict_for(rule, claimed, options or Options())
    texts = {
        "unicode": unicode(ast),
        "latex": latex(ast),
        "ascii": ascii_text(ast),
        "torch": source(problem, derivation.sized_ast),
    }
    if verdict.status is not Status.HOLDS:
        return Derived(
            texts=texts,
            verdict=verdict,
            error=f"the derived formula did not verify ({verdict.outcome}: "
            f"{verdict.message}); it is not shown as a result",
        )
    return Derived(texts=texts, verdict=verdict)
