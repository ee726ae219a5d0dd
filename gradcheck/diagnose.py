"""Why a claim is wrong: the kind of mistake, confirmed by checking the repaired claim."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import assert_never

from .assumptions import TABLE, SymbolShape, proposals
from .checking import check_problem
from .lang.ast import Call, Node, Num, Sym, walk
from .lang.printer import ascii_text, unicode
from .model import Category, Diagnosis, Kind, Layout, Options, Rule
from .problem import Problem
from .readback import as_parsed

# The assumptions a diagnosis proposes, in the order it tries them (the first that holds wins).
SQUARE_ASSUMPTIONS = proposals(SymbolShape.SQUARE)
VECTOR_ASSUMPTIONS = proposals(SymbolShape.VECTOR)


@dataclass(frozen=True)
class Repair:
    """A candidate fix: the category it stands for, a sentence, and what it changes: the rule's
    layout or assumptions (`rule`: the rule so declared, its texts unchanged) or the claim."""

    category: Category
    detail: str
    rule: Rule | None = None
    claim: Node | None = None

    def applied(self, problem: Problem) -> Problem | None:
        """The repaired problem, or None when the repair does not even type."""
        if self.claim is not None:
            return _with_claim(problem, self.claim)
        assert self.rule is not None
        try:
            return problem.retarget(layout=self.rule.layout, assume=self.rule.assume)
        except Exception:  # a repair that does not even type is simply not the fix
            return None


def _holds(problem: Problem | None, options: Options) -> bool:
    """The repaired problem passes the same checks as any rule. Numeric first, unshrunk: it
    is cheaper, and a repair with a counterexample is not the fix however small that is; 20
    samples reject most candidates, the rule's full search the rest, before any sympy work."""
    from .numeric import search

    if problem is None or problem.shape_note:
        return False
    for examples in (min(options.examples, 20), options.examples):
        found = search(problem, replace(options, examples=examples), shrink=False)
        if found.counterexample is not None or found.examples == 0:
            return False
    try:
        # the search above is the one check_problem would run: same seed, same samples
        return check_problem(problem, replace(options, diagnose=False), found).holds
    except Exception:  # as a rule whose check fails: an `error`, so not the fix
        return False


def _with_claim(problem: Problem, claim: Node) -> Problem | None:
    """The problem with a built claim, read as if it were typed in (readback.as_parsed), or
    None when that claim does not type."""
    try:
        return problem.retarget(claim=as_parsed(claim))
    except Exception:  # a repair that does not even type is simply not the fix
        return None


def _scale_of(problem: Problem) -> Fraction | None:
    """c with claim = c · derivative at a generic point, if c is a simple fraction."""
    import torch

    from .numeric import evaluate, near_singular, true_derivative
    from .strategies import sample_point

    ratios: list[float] = []
    # mixed sizes first (they show a transpose), then equal ones: log det(XᵀX) is defined only
    # where X is tall, and a point where an inverted matrix is singular says nothing
    plans = [{d: 2 + (i + seed) % 2 for i, d in enumerate(problem.dims)} for seed in (1, 2)] + [
        {d: n for d in problem.dims} for n in (2, 3)
    ]
    for seed, sizes in itertools.product(range(1, 4), plans):
        if len(ratios) == 2:
            break
        sample = sample_point(problem, sizes, seed + 10 * len(ratios))
        values = {k: torch.tensor(v) for k, v in sample.values.items()}
        direction = torch.tensor(sample.direction)
        if near_singular(problem, values, sizes, {problem.wrt: direction}):
            continue
        try:
            true = true_derivative(problem, values, sizes, direction)
            claimed = evaluate(problem.claim, values, sizes, {problem.wrt: direction})
        except (ValueError, RuntimeError):
            return None
        norm = float((true * true).sum())
        if claimed.shape != true.shape:
            return None
        if norm < 1e-12 or not (torch.isfinite(true).all() and torch.isfinite(claimed).all()):
            continue
        ratios.append(float((claimed * true).sum()) / norm)
    if len(ratios) < 2:
        return None
    c = Fraction(ratios[0]).limit_denominator(12)
    if c in (0, 1) or any(abs(float(c) - r) > 1e-9 for r in ratios):
        return None
    return c


def _inverse_toggles(node: Node) -> Iterator[Node]:
    """The node with one X⁻¹ turned into X⁻ᵀ or back."""
    for target in walk(node):
        if (
            isinstance(target, Call)
            and target.op == "T"
            and isinstance(target.args[0], Call)
            and target.args[0].op == "inv"
        ):
            yield _substitute(node, target, target.args[0])
        elif isinstance(target, Call) and target.op == "inv":
            yield _substitute(node, target, Call("T", (target,)))


def _factors(node: Node) -> list[Node]:
    if isinstance(node, Call) and node.op == "matmul":
        return _factors(node.args[0]) + _factors(node.args[1])
    return [node]


def _swaps(node: Node) -> Iterator[Node]:
    """The node with the factors of one product in another order (−X⁻¹X⁻¹dX → −X⁻¹dXX⁻¹)."""
    inner: set[int] = set()
    for target in walk(node):
        if not (isinstance(target, Call) and target.op == "matmul") or id(target) in inner:
            continue
        inner.update(id(n) for n in walk(target) if n is not target)
        factors = _factors(target)
        orders = (
            itertools.permutations(range(len(factors)))
            if len(factors) <= 4
            else [
                (*range(i), i + 1, i, *range(i + 2, len(factors))) for i in range(len(factors) - 1)
            ]
        )
        for order in orders:
            if list(order) == sorted(order):
                continue
            product = factors[order[0]]
            for i in order[1:]:
                product = Call("matmul", (product, factors[i]))
            yield _substitute(node, target, product)


def _substitute(node: Node, old: Node, new: Node) -> Node:
    if node is old:
        return new
    if isinstance(node, Call):
        return Call(node.op, tuple(_substitute(a, old, new) for a in node.args))
    return node


def _terms(node: Node) -> list[tuple[int, Node]]:
    """(sign, term) of a sum."""
    if isinstance(node, Call) and node.op in ("add", "sub"):
        left = _terms(node.args[0])
        right = [(s * (1 if node.op == "add" else -1), t) for s, t in _terms(node.args[1])]
        return left + right
    return [(1, node)]


def _sum(terms: list[tuple[int, Node]]) -> Node:
    result: Node | None = None
    for sign, term in terms:
        if result is None:
            result = term if sign > 0 else Call("neg", (term,))
        else:
            result = Call("add" if sign > 0 else "sub", (result, term))
    assert result is not None
    return result


def _sign_text(c: Fraction) -> str:
    names = {Fraction(1, 2): "½", Fraction(-1, 2): "−½", Fraction(-1): "−1"}
    return names.get(c, str(c).replace("-", "−"))


def _candidates(rule: Rule, problem: Problem) -> Iterator[Repair]:
    """Repairs to try, most specific mistake first."""
    claim = problem.claim
    if problem.kind is Kind.JACOBIAN:
        other = Layout.NUMERATOR if problem.layout is Layout.DENOMINATOR else Layout.DENOMINATOR
        yield Repair(
            Category.LAYOUT,
            f"the claim holds in {other.value} layout, not in this rule's "
            f"{problem.layout.value} layout",
            rule=replace(rule, layout=other),
        )
    for alt in _inverse_toggles(claim):
        yield Repair(Category.INVERSE, f"{_inverse_text(claim, alt)}", claim=alt)
    for alt in _swaps(claim):
        yield Repair(Category.INVERSE, f"a wrong order of factors: {unicode(alt)} holds", claim=alt)
    yield Repair(
        Category.TRANSPOSED,
        "the claim is the transpose of the derivative",
        claim=Call("T", (claim,)),
    )
    terms = _terms(claim)
    for i, (sign, term) in enumerate(terms if len(terms) > 1 else []):
        fixed = [*terms[:i], (sign, Call("T", (term,))), *terms[i + 1 :]]
        yield Repair(
            Category.TRANSPOSED,
            f"the term {unicode(term)} should be transposed",
            claim=_sum(fixed),
        )
    for alt, before, after in _factor_transposes(claim):
        yield Repair(
            Category.TRANSPOSED,
            f"the factor {unicode(before)} should be {unicode(after)}",
            claim=alt,
        )
    c = _scale_of(problem)
    if c is not None:
        yield Repair(
            Category.SCALE,
            f"the claim is {_sign_text(c)} times the derivative",
            claim=Call("scale", (Num(1 / c), claim)),
        )
    yield from _assumption_repairs(rule, problem)
    yield from _term_repairs(rule, problem)


def _factor_transposes(node: Node) -> Iterator[tuple[Node, Node, Node]]:
    """(the node with one matrix factor A ↔ Aᵀ, the factor, its replacement): 2A(Ax − b) for
    2Aᵀ(Ax − b). Only symbols, and only outside a transpose's own argument."""
    seen: set[int] = set()
    for target in walk(node):
        if id(target) in seen:
            continue
        if isinstance(target, Call) and target.op == "T" and isinstance(target.args[0], Sym):
            seen.add(id(target.args[0]))
            yield _substitute(node, target, target.args[0]), target, target.args[0]
        elif isinstance(target, Sym):
            flipped = Call("T", (target,))
            yield _substitute(node, target, flipped), target, flipped


def _inverse_text(claim: Node, alt: Node) -> str:
    before = sum(
        1
        for n in walk(claim)
        if isinstance(n, Call)
        and n.op == "T"
        and isinstance(n.args[0], Call)
        and n.args[0].op == "inv"
    )
    after = sum(
        1
        for n in walk(alt)
        if isinstance(n, Call)
        and n.op == "T"
        and isinstance(n.args[0], Call)
        and n.args[0].op == "inv"
    )
    return "X⁻¹ where X⁻ᵀ is right" if after > before else "X⁻ᵀ where X⁻¹ is right"


def _assumption_repairs(rule: Rule, problem: Problem) -> Iterator[Repair]:
    assumed = dict(rule.assume)
    own = _shapes_in_f(rule, problem)
    for name, (rows, cols) in problem.shapes.items():
        if rows == 1 and cols == 1:
            continue
        # A claim "defined only when m = n" makes A square; "A symmetric" would then make f's
        # A square too and hide the shape mistake, so square assumptions need f's A square.
        square = rows == cols and (name not in own or own[name][0] == own[name][1])
        options = SQUARE_ASSUMPTIONS if square else VECTOR_ASSUMPTIONS if cols == 1 else ()
        for assumption in options:
            if assumption in problem.assumptions.get(name, frozenset()):
                continue
            extended = {**assumed, name: (*assumed.get(name, ()), assumption)}
            proposal = TABLE[assumption].repair
            assert proposal is not None  # proposals() lists only assumptions with a repair
            yield Repair(
                Category.ASSUMPTION,
                proposal.sentence.format(name=name),
                replace(rule, assume=tuple(extended.items())),
            )


def _f_alone(problem: Problem) -> Problem | None:
    """The rule typed from f alone: the claim `0` takes the derivative's shape, so nothing the
    claim needs (m = n) is joined. (None if f does not type alone: then the rule's shapes.)"""
    return _with_claim(problem, Num(Fraction(0)))


def _shapes_in_f(rule: Rule, problem: Problem) -> dict[str, tuple[str | int, str | int]]:
    """The shapes f alone gives its symbols."""
    own = _f_alone(problem)
    return own.shapes if own else {}


def _term_repairs(rule: Rule, problem: Problem) -> Iterator[Repair]:
    """The claim misses or adds exactly one term of the derivative."""
    from .calculus.canon import Unsupported
    from .calculus.derive import derive_expr
    from .calculus.human import to_ast
    from .calculus.lower import Context, lower

    try:
        derived = derive_expr(problem)
        claim = lower(problem.claim, Context(problem.shapes, problem.assumptions))
        if (derived.rows, derived.cols) != (claim.rows, claim.cols):
            return
        extra = claim - derived
    except Unsupported:
        return
    if len(extra.terms) != 1:
        return
    (_, coef) = extra.terms[0]
    term = to_ast(extra if coef > 0 else -extra)
    verb = "has an extra term" if coef > 0 else "misses the term"
    fixed = Call("sub" if coef > 0 else "add", (problem.claim, term))
    yield Repair(Category.TERM, f"the claim {verb} {unicode(term)}", claim=fixed)


def answers_in_ascii(rule: Rule) -> bool:
    """Whether the rule is written in ASCII (`@`, `.T`): its suggestion then is too."""
    text = rule.claim or rule.rhs or ""
    return "@" in text or ".T" in text


def corrected_yaml(rule: Rule, problem: Problem, formula: str, extra: Rule | None) -> str:
    """The corrected rule as YAML, ready to paste."""
    base = extra or rule
    lines = [f"- id: {rule.id}"]
    if rule.claim is not None:
        lhs = problem.display.split(" = ")[0]
        lines.append(f"  claim: {_quote(f'{lhs} = {formula}')}")
    else:
        lines += [
            f"  f: {_quote(rule.f or '')}",
            f"  wrt: {rule.wrt}",
            f"  {problem.kind.value}: {_quote(formula)}",
        ]
    if rule.symbols:
        decls = ", ".join(
            f"{s.name}: {s.kind}" + (f"({', '.join(map(str, s.dims))})" if s.dims else "")
            for s in rule.symbols
        )
        lines.append(f"  symbols: {{{decls}}}")
    if base.assume:
        lines.append(
            "  assume: {" + ", ".join(f"{k}: [{', '.join(v)}]" for k, v in base.assume) + "}"
        )
    if base.layout is Layout.NUMERATOR:
        lines.append("  layout: numerator")
    if rule.source:
        lines.append(f"  source: {_quote(rule.source)}")
    return "\n".join(lines)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def diagnose(rule: Rule, problem: Problem, options: Options) -> Diagnosis:
    """The first repair that verifies names the mistake; else the shape, else 'differs'.

    The suggestion is the derived formula, itself verified (`confirmed`) before it is offered.
    """
    formula, confirmed, shown = _checked_suggestion(rule, problem, options)
    category, detail = Category.DIFFERS, "the claim differs from the derivative"
    for repair in _candidates(rule, problem):
        repaired = repair.applied(problem)
        if _holds(repaired, options):
            assert repaired is not None
            category, detail = Category(repair.category), repair.detail
            if not formula:
                formula, confirmed = unicode(repaired.claim), True
                shown = formula
            break
    else:
        if problem.shape_note:
            category, detail = Category.SHAPE, problem.shape_note
    if category in (Category.SHAPE, Category.DIFFERS) and (origin := _origin(problem)):
        detail = f"{detail}; {origin}"
    if formula and not _names_the_fix(category):
        detail = f"{detail}; the derivative is {shown}"  # a sentence: in Unicode notation
    corrected = corrected_yaml(rule, problem, formula, None) if formula else ""
    return Diagnosis(category, detail, formula, corrected, confirmed=confirmed)


def _origin(problem: Problem) -> str:
    """"(A + Aᵀ)x is the gradient of xᵀAx" when the claim is the gradient of some
    other function (antiderivative.gradient_of); else ""."""
    from .antiderivative import gradient_of

    try:
        g = gradient_of(problem)
    except Exception:  # the sentence is a courtesy: without it the diagnosis stands
        return ""
    if g is None:
        return ""
    return f"{unicode(problem.claim)} is the gradient of {unicode(g)}"


def _names_the_fix(category: Category) -> bool:
    """Whether a diagnosis of this category says what to change; else its detail ends with
    the derivative itself."""
    match category:
        case (
            Category.LAYOUT
            | Category.INVERSE
            | Category.TRANSPOSED
            | Category.SCALE
            | Category.ASSUMPTION
            | Category.TERM
        ):
            return True
        case Category.SHAPE | Category.DIFFERS:
            return False
        case _:
            assert_never(category)


def _checked_suggestion(rule: Rule, problem: Problem, options: Options) -> tuple[str, bool, str]:
    """The derived formula in the rule's spelling, whether it verifies as the claim, and the
    formula in Unicode (for sentences)."""
    from .calculus.canon import Unsupported
    from .calculus.derive import derive

    # A claim "defined only when m = n" joins f's dimensions; derive from f's own shapes.
    own = _f_alone(problem) if problem.shape_note else None
    try:
        ast = derive(own or problem).ast
    except Unsupported:
        return "", False, ""
    text = ascii_text(ast) if answers_in_ascii(rule) else unicode(ast)
    return text, _holds(_with_claim(problem, ast), options), unicode(ast)
