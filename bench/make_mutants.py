"""Generate tests/data/mutants.yaml: wrong rules made from the bundled catalog, each tagged with
the category of mistake `gradcheck explain` must name for it.

    python bench/make_mutants.py              # rewrite tests/data/mutants.yaml
    python bench/make_mutants.py --check      # exit 1 if the file is not what it would write
    python bench/make_mutants.py -k trace     # only rules whose id contains "trace" (no write)
    python bench/make_mutants.py -j 4         # verification processes (default 2)

Source rules: every rules/*.yaml file as it is when the script runs, provided the file loads
with no diagnostics (another file being edited, half-written, is skipped and named); of those,
every rule with `expect: holds` that compiles.

Mutations of the claim (the compiled AST `problem.claim`), and the category each must get:

| mutation        | what it does                                         | category    |
|-----------------|------------------------------------------------------|-------------|
| layout          | flip `layout:` of a Jacobian rule                    | layout      |
| inverse-K       | the K-th X⁻¹ ↔ X⁻ᵀ                                   | inverse     |
| symmetrization-K| drop the K-th symmetrization: S + Sᵀ → 2S            | assumption  |
|                 | (also BX + BᵀX → 2BX, A⁻¹ + A⁻ᵀ → 2A⁻¹)              |             |
| swap-K          | swap the K-th pair of adjacent factors of a product  | inverse     |
| transpose       | the transpose of the claim (Aᵀ → A, c·M → c·Mᵀ)      | transposed  |
| scale-2, -half  | ×2, ×½ (numeric coefficients folded: ½·2x → x)       | scale       |
| sign            | ×−1                                                  | scale       |

("a wrong order of factors" is filed under *inverse*, as in gradcheck/diagnose.py.)

A mutant is kept only when it is wrong: every mutant is verified once (`verify_rule`,
`Options(examples=30, diagnose=False)`) and kept if its status is `fails`. Everything dropped
is counted with its reason and printed:

* not wrong: the mutant holds (the transpose of a symmetric or 1×1 result, ×2 of zero, …);
* does not type: the mutated claim cannot be typed (swapping AB into BA when the sizes differ);
* same claim as another mutation of the rule (the transpose of X⁻ᵀ is the inverse mutant X⁻¹;
  the first mutation in the table above wins);
* transpose of a Jacobian: in the rule's own layout a transposed Jacobian *is* the layout
  mutant (the claim is the other layout's formula), so it is not generated twice;
* the rule itself does not verify when printed back (round trip of f and claim through the
  printers): its mutants would not say anything.

Every mutant is a structured rule with all shapes declared (the compiled rule's shapes), the
source rule's assumptions, `expect: fails`, `correct: <source rule id>` and tags
`[mutant, mutation:<name>, category:<expected>]`; `gradcheck verify tests/data/mutants.yaml`
reads it like any rule file. The output is deterministic: rule files and rules in catalog
order, mutations in the order of the table.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "mutants.yaml"
EXAMPLES = 30

CATEGORY = {
    "layout": "layout",
    "inverse": "inverse",
    "symmetrization": "assumption",
    "swap": "inverse",
    "transpose": "transposed",
    "scale-2": "scale",
    "scale-half": "scale",
    "sign": "scale",
}


@dataclass(frozen=True)
class Mutant:
    rule_id: str  # the source rule
    mutation: str  # e.g. "inverse-2"
    claim: object  # gradcheck.lang.ast.Node
    layout: object  # gradcheck.model.Layout

    @property
    def kind(self) -> str:
        """The mutation without its occurrence number: inverse-2 → inverse; scale-2 stays."""
        base, _, k = self.mutation.rpartition("-")
        return base if k.isdigit() and base in CATEGORY else self.mutation

    @property
    def category(self) -> str:
        return CATEGORY.get(self.kind, "none")

    @property
    def id(self) -> str:
        return f"{self.rule_id}--{self.mutation}"


# ---------------------------------------------------------------- AST edits


def _T(node):
    from gradcheck.lang.ast import Call

    return Call("T", (node,))


def _is(node, op: str) -> bool:
    from gradcheck.lang.ast import Call

    return isinstance(node, Call) and node.op == op


def _substitute(node, old, new):
    """`node` with the subtree `old` (by identity) replaced by `new`."""
    from gradcheck.lang.ast import Call

    if node is old:
        return new
    if isinstance(node, Call):
        return Call(node.op, tuple(_substitute(a, old, new) for a in node.args))
    return node


def _coefficient(node) -> tuple[Fraction, object]:
    """(c, rest) with node = c · rest for a numeric c (1 when there is none)."""
    from gradcheck.lang.ast import Call, Num

    if (_is(node, "mul") or _is(node, "scale")) and isinstance(node.args[0], Num):
        c, rest = _coefficient(node.args[1])
        return node.args[0].value * c, rest
    if _is(node, "neg"):
        c, rest = _coefficient(node.args[0])
        return -c, rest
    if _is(node, "matmul"):  # 2(A + Aᵀ)x = 2 · (A + Aᵀ)x
        c, left = _coefficient(node.args[0])
        return c, Call("matmul", (left, node.args[1]))
    return Fraction(1), node


def _with_coefficient(node, c: Fraction):
    """c · node, the coefficient written on the leftmost factor of a product (2BX, not 2(BX))."""
    from gradcheck.lang.ast import Call, Num

    if _is(node, "matmul"):
        return Call("matmul", (_with_coefficient(node.args[0], c), node.args[1]))
    return Call("mul", (Num(c), node))


def scaled(node, factor: Fraction):
    """factor · node, numeric coefficients folded (½ · 2x = x, −1 · −X⁻ᵀ = X⁻ᵀ)."""
    from gradcheck.lang.ast import Call, Const, Num

    if isinstance(node, Num):
        return Num(node.value * factor)
    if isinstance(node, Const) and node.name == "zeros":
        return node
    c, rest = _coefficient(node)
    c *= factor
    if c == 1:
        return rest
    if c == -1:
        return Call("neg", (rest,))
    if c < 0:
        return Call("neg", (_with_coefficient(rest, -c),))
    return _with_coefficient(rest, c)


def transposed(node):
    """The transpose, written as a person would: (Aᵀ)ᵀ = A, (c·M)ᵀ = c·Mᵀ, (−M)ᵀ = −Mᵀ."""
    from gradcheck.lang.ast import Call, Num

    if _is(node, "T"):
        return node.args[0]
    if _is(node, "neg"):
        return Call("neg", (transposed(node.args[0]),))
    if (_is(node, "mul") or _is(node, "scale")) and isinstance(node.args[0], Num):
        return Call(node.op, (node.args[0], transposed(node.args[1])))
    return _T(node)


def inverse_toggles(claim) -> Iterator[object]:
    """The claim with one X⁻¹ turned into X⁻ᵀ, or one X⁻ᵀ into X⁻¹ (each in turn)."""
    from gradcheck.lang.ast import walk

    inner_of_t = {id(n.args[0]) for n in walk(claim) if _is(n, "T") and _is(n.args[0], "inv")}
    for node in walk(claim):
        if _is(node, "T") and _is(node.args[0], "inv"):
            yield _substitute(claim, node, node.args[0])
        elif _is(node, "inv") and id(node) not in inner_of_t:
            yield _substitute(claim, node, _T(node))


def _toggle(node, name: str):
    """Every S ↔ Sᵀ and S⁻¹ ↔ S⁻ᵀ for the symbol `name`."""
    from gradcheck.lang.ast import Call, Sym

    plain = Sym(name)
    if node == plain:
        return _T(plain)
    if node == _T(plain):
        return plain
    if node == Call("inv", (plain,)):
        return _T(node)
    if node == _T(Call("inv", (plain,))):
        return node.args[0]
    if isinstance(node, Call):
        return Call(node.op, tuple(_toggle(a, name) for a in node.args))
    return node


def _transposes_of(node, name: str) -> int:
    """How many Sᵀ and S⁻ᵀ of the symbol `name` the node holds."""
    from gradcheck.lang.ast import Call, Sym, walk

    plain = Sym(name)
    return sum(1 for n in walk(node) if _is(n, "T") and n.args[0] in (plain, Call("inv", (plain,))))


def _sum_terms(node) -> list[tuple[int, object]]:
    if _is(node, "add") or _is(node, "sub"):
        sign = 1 if node.op == "add" else -1
        right = [(s * sign, t) for s, t in _sum_terms(node.args[1])]
        return _sum_terms(node.args[0]) + right
    return [(1, node)]


def _rebuild_sum(terms: list[tuple[int, object]]):
    from gradcheck.lang.ast import Call

    result = None
    for sign, term in terms:
        if result is None:
            result = term if sign > 0 else Call("neg", (term,))
        else:
            result = Call("add" if sign > 0 else "sub", (result, term))
    return result


def symmetrizations(claim, square: list[str]) -> Iterator[object]:
    """The claim with one symmetrized pair of terms collapsed: S + Sᵀ → 2S, BX + BᵀX → 2BX."""
    from gradcheck.lang.ast import walk

    inner: set[int] = set()
    for node in walk(claim):
        if not (_is(node, "add") or _is(node, "sub")) or id(node) in inner:
            continue
        inner.update(id(n) for n in walk(node) if _is(n, "add") or _is(n, "sub"))
        terms = _sum_terms(node)
        for i, j in itertools.combinations(range(len(terms)), 2):
            (si, ti), (sj, tj) = terms[i], terms[j]
            if si != sj:
                continue
            for name in square:
                if _toggle(ti, name) != tj or ti == tj:
                    continue
                keep = ti if _transposes_of(ti, name) <= _transposes_of(tj, name) else tj
                rest = [t for k, t in enumerate(terms) if k not in (i, j)]
                collapsed = (si, scaled(keep, Fraction(2)))
                yield _substitute(claim, node, _rebuild_sum([collapsed, *rest]))
                break


def _factors(node) -> list[object]:
    if _is(node, "matmul"):
        return _factors(node.args[0]) + _factors(node.args[1])
    return [node]


def swaps(claim) -> Iterator[object]:
    """The claim with two adjacent factors of one product swapped (−X⁻¹ dX X⁻¹ → −X⁻¹X⁻¹ dX)."""
    from gradcheck.lang.ast import Call, walk

    inner: set[int] = set()
    for node in walk(claim):
        if not _is(node, "matmul") or id(node) in inner:
            continue
        inner.update(id(n) for n in walk(node) if n is not node)
        factors = _factors(node)
        for i in range(len(factors) - 1):
            if factors[i] == factors[i + 1]:
                continue
            order = [*factors[:i], factors[i + 1], factors[i], *factors[i + 2 :]]
            product = order[0]
            for f in order[1:]:
                product = Call("matmul", (product, f))
            yield _substitute(claim, node, product)


def mutants(problem) -> tuple[list[Mutant], Counter[str]]:
    """Every mutant of one compiled rule (before verification), and what was left out."""
    from gradcheck.lang.printer import unicode
    from gradcheck.model import Kind, Layout

    claim, layout, rid = problem.claim, problem.layout, problem.rule_id
    found: list[Mutant] = []
    skipped: Counter[str] = Counter()
    if problem.kind is Kind.JACOBIAN:
        other = Layout.NUMERATOR if layout is Layout.DENOMINATOR else Layout.DENOMINATOR
        found.append(Mutant(rid, "layout", claim, other))
    found += [
        Mutant(rid, f"inverse-{k}", c, layout) for k, c in enumerate(inverse_toggles(claim), 1)
    ]
    square = [
        name
        for name, (rows, cols) in problem.shapes.items()
        if rows == cols and rows != 1 and name != problem.wrt
    ]
    found += [
        Mutant(rid, f"symmetrization-{k}", c, layout)
        for k, c in enumerate(symmetrizations(claim, square), 1)
    ]
    found += [Mutant(rid, f"swap-{k}", c, layout) for k, c in enumerate(swaps(claim), 1)]
    found.append(Mutant(rid, "transpose", transposed(claim), layout))
    found.append(Mutant(rid, "scale-2", scaled(claim, Fraction(2)), layout))
    found.append(Mutant(rid, "scale-half", scaled(claim, Fraction(1, 2)), layout))
    found.append(Mutant(rid, "sign", scaled(claim, Fraction(-1)), layout))
    unique: list[tuple[Mutant, object]] = []
    original = fingerprint(problem, claim, layout)
    for m in found:
        value = fingerprint(problem, m.claim, m.layout)
        text = (unicode(m.claim), m.layout)
        if text == (unicode(claim), layout) or _same(value, original):
            skipped[f"{m.kind}: not wrong (the rule's own claim)"] += 1
            continue
        twin = next(
            (u for u, v in unique if (unicode(u.claim), u.layout) == text or _same(value, v)), None
        )
        if twin is not None:
            skipped[f"{m.kind}: the same claim as the {twin.kind} mutant"] += 1
            continue
        unique.append((m, value))
    return [m for m, _ in unique], skipped


def fingerprint(problem, claim, layout) -> list[object] | None:
    """The claim's values at two generic points, arranged in denominator layout; None when it
    cannot be evaluated at the rule's sizes. Two mutants with the same fingerprint are the same
    wrong claim (the transpose of X⁻ᵀ is X⁻¹; a transposed Jacobian is the other layout's)."""
    import torch

    from gradcheck.model import Kind, Layout
    from gradcheck.numeric import evaluate
    from gradcheck.strategies import sample_point

    values = []
    for seed in (1, 2):
        sizes = {d: 2 + (i + seed) % 2 for i, d in enumerate(problem.dims)}
        sample = sample_point(problem, sizes, seed)
        inputs = {k: torch.tensor(v) for k, v in sample.values.items()}
        direction = torch.tensor(sample.direction)
        try:
            value = evaluate(claim, inputs, sizes, {problem.wrt: direction})
        except (ValueError, RuntimeError, KeyError, IndexError):
            return None
        if layout is Layout.NUMERATOR and problem.kind in (Kind.GRADIENT, Kind.JACOBIAN):
            value = value.T
        values.append(value)
    return values


def _same(a: list[object] | None, b: list[object] | None) -> bool:
    import torch

    if a is None or b is None:
        return False
    return all(
        x.shape == y.shape and bool(torch.allclose(x, y, rtol=1e-9, atol=1e-12))  # type: ignore[attr-defined]
        for x, y in zip(a, b, strict=True)
    )


# ---------------------------------------------------------------- rules and YAML


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _decl(shape: tuple[object, object]) -> str:
    rows, cols = shape
    if rows == 1 and cols == 1:
        return "scalar"
    if cols == 1:
        return f"vector({rows})"
    return f"matrix({rows}, {cols})"


def mutant_fields(rule, problem, m: Mutant) -> dict[str, object]:
    """The mutant as the fields of a structured rule (what the YAML holds)."""
    from gradcheck.lang.printer import ascii_text, unicode

    return {
        "id": m.id,
        "title": f"{m.rule_id} with mutation {m.mutation}",
        "f": ascii_text(problem.f),
        "wrt": problem.wrt,
        problem.kind.value: unicode(m.claim),
        "symbols": {name: _decl(shape) for name, shape in problem.shapes.items()},
        "assume": {name: list(props) for name, props in rule.assume},
        "layout": m.layout.value,
        "expect": "fails",
        "correct": m.rule_id,
        "tags": ["mutant", f"mutation:{m.kind}", f"category:{m.category}"],
    }


def to_rule(fields: dict[str, object]):
    """The Rule the catalog loader makes of these fields (validated the same way)."""
    from gradcheck.catalog import rule_from_fields

    plain = {k: v for k, v in fields.items() if k not in ("symbols", "assume")}
    rule, diags = rule_from_fields(
        plain,
        symbols=fields["symbols"],  # type: ignore[arg-type]
        assume=fields["assume"] or None,  # type: ignore[arg-type]
        file="<mutant>",
    )
    if rule is None:
        raise ValueError(f"{fields['id']}: {'; '.join(map(str, diags))}")
    return rule


def to_yaml(fields: dict[str, object]) -> str:
    lines = [f"  - id: {fields['id']}"]
    for key, value in fields.items():
        if key == "id" or value in ({}, []):
            continue
        if key == "symbols":
            text = "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"  # type: ignore[union-attr]
        elif key == "assume":
            text = "{" + ", ".join(f"{k}: [{', '.join(v)}]" for k, v in value.items()) + "}"  # type: ignore[union-attr]
        elif key == "tags":
            text = "[" + ", ".join(value) + "]"  # type: ignore[arg-type]
        elif key in ("wrt", "layout", "expect", "correct"):
            text = str(value)
        else:
            text = _quote(str(value))
        lines.append(f"    {key}: {text}")
    return "\n".join(lines)


HEADER = """\
# Wrong rules for the diagnosis of `gradcheck explain`: every mutant of every bundled rule
# (rules/*.yaml, `expect: holds`) that verifies as wrong, with the category of its mutation
# (tag `category:NAME`; `correct:` names the rule it was made from).
# GENERATED by bench/make_mutants.py -- do not edit; re-run the script instead.
"""


# ---------------------------------------------------------------- main


def source_rules(keyword: str | None) -> tuple[list[object], list[str]]:
    """The catalog's `expect: holds` rules from files with no diagnostics, and notes on the rest."""
    from gradcheck.catalog import bundled_catalog, load_file
    from gradcheck.model import Expect

    notes: list[str] = []
    rules: list[object] = []
    seen: set[str] = set()
    for path in sorted(bundled_catalog().glob("*.yaml")):
        found, diags = load_file(path)
        if diags:
            notes.append(f"skipped file {path.name}: {len(diags)} diagnostic(s), e.g. {diags[0]}")
            continue
        for rule in found:
            if rule.id in seen:
                notes.append(f"skipped rule {rule.id} in {path.name}: duplicate id")
                continue
            seen.add(rule.id)
            if rule.expect is Expect.HOLDS and (keyword is None or keyword in rule.id):
                rules.append(rule)
    return rules, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", "--keyword", help="only rules whose id contains this (no write)")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--check", action="store_true", help="compare with the file, no write")
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    args = parser.parse_args(argv)

    from gradcheck.errors import RuleError
    from gradcheck.model import Expect, Options, Status
    from gradcheck.problem import compile_rule
    from gradcheck.verdicts import verify_rules

    start = time.perf_counter()
    rules, notes = source_rules(args.keyword)
    skipped: Counter[str] = Counter()
    # (fields, mutant, intended claim); mutant None: the rule itself, printed and read back
    candidates: list[tuple[dict[str, object], Mutant | None, object]] = []
    for rule in rules:
        try:
            problem = compile_rule(rule)
        except RuleError as err:
            notes.append(f"skipped rule {rule.id}: does not compile ({err})")
            continue
        if problem.shape_note:
            notes.append(f"skipped rule {rule.id}: {problem.shape_note}")
            continue
        found, left_out = mutants(problem)
        skipped.update(left_out)
        same = Mutant(rule.id, "round-trip", problem.claim, problem.layout)
        candidates.append((mutant_fields(rule, problem, same), None, problem.claim))
        candidates += [(mutant_fields(rule, problem, m), m, m.claim) for m in found]

    typed: list[tuple[dict[str, object], Mutant | None, object]] = []
    for fields, m, intended in candidates:
        try:
            rule = to_rule(fields)
            read_back = compile_rule(rule).claim
        except (RuleError, ValueError) as err:
            if m is None:
                notes.append(f"skipped rule {fields['correct']}: its printed form fails ({err})")
            else:
                skipped[f"{m.kind}: does not type"] += 1
            continue
        if read_back != intended:
            if m is None:
                notes.append(
                    f"skipped rule {fields['correct']}: its printed claim reads back as "
                    f"another expression"
                )
            else:
                skipped[f"{m.kind}: its printed claim reads back as another expression"] += 1
            continue
        if m is None:
            rule = replace(rule, expect=Expect.HOLDS)
        typed.append((fields, m, rule))

    options = Options(examples=EXAMPLES, diagnose=False, jobs=args.jobs)
    report = verify_rules([rule for _, _, rule in typed], [], options)
    bad_sources = {
        fields["correct"]
        for (fields, m, _), v in zip(typed, report.verdicts, strict=True)
        if m is None and v.status not in (Status.HOLDS, Status.HOLDS_NUMERIC)
    }
    for source in sorted(bad_sources):  # type: ignore[type-var]
        notes.append(f"skipped rule {source}: does not verify when printed back")
    kept: list[dict[str, object]] = []
    for (fields, m, _), verdict in zip(typed, report.verdicts, strict=True):
        if m is None:
            continue
        if fields["correct"] in bad_sources:
            skipped[f"{m.kind}: the source rule does not round-trip"] += 1
        elif verdict.status is Status.FAILS:
            kept.append(fields)
        elif verdict.status in (Status.HOLDS, Status.HOLDS_NUMERIC):
            skipped[f"{m.kind}: not wrong (holds)"] += 1
        else:
            skipped[f"{m.kind}: {verdict.status.value} ({verdict.message[:60]})"] += 1

    text = HEADER + "rules:\n" + "\n".join(to_yaml(f) for f in kept) + "\n"
    by_mutation = Counter(str(f["tags"][1]).split(":", 1)[1] for f in kept)  # type: ignore[index]
    for note in notes:
        print(note, file=sys.stderr)
    print(
        f"{len(rules)} source rules, {len(candidates) - len(rules)} mutants generated, "
        f"{len(kept)} kept (fail as they should) in {time.perf_counter() - start:.0f} s"
    )
    print("kept by mutation: " + ", ".join(f"{k} {v}" for k, v in sorted(by_mutation.items())))
    print("left out:")
    for reason, count in sorted(skipped.items()):
        print(f"  {count:4d}  {reason}")
    if args.check:
        same = args.output.is_file() and args.output.read_text(encoding="utf-8") == text
        print(f"{args.output}: {'up to date' if same else 'differs'}")
        return 0 if same else 1
    if args.keyword:
        print("(-k given: nothing written)")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    _check_written(args.output, kept)
    print(f"wrote {args.output}")
    return 0


def _check_written(path: Path, kept: list[dict[str, object]]) -> None:
    """The file reads back, with no diagnostics, as exactly the rules that were verified."""
    from gradcheck.catalog import load_file

    rules, diags = load_file(path)
    assert not diags, diags[:3]
    assert [r.id for r in rules] == [f["id"] for f in kept]
    for rule, fields in zip(rules, kept, strict=True):
        expected = to_rule(fields)
        for name in ("f", "wrt", "kind", "rhs", "symbols", "assume", "layout", "expect", "tags"):
            assert getattr(rule, name) == getattr(expected, name), (rule.id, name)


if __name__ == "__main__":
    sys.exit(main())
