"""A rule, parsed once and typed: the derivative to compute, the claim, shapes and assumptions."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from .assumptions import TABLE, SymbolShape
from .errors import RuleError
from .lang.ast import Call, Const, Node, Num, Sym, directions_in, symbols_in, walk
from .lang.parser import numerator_is_formula, parse_claim, parse_expression
from .lang.printer import ATOM, unicode
from .lang.shapes import SCALAR, Conflict, Shape, Typer, Unifier, Var
from .model import Kind, Layout, Rule, Statement

ResolvedDim = str | int
Assume = tuple[tuple[str, tuple[str, ...]], ...]
FRESH_NAMES = ["n", "m", "k", "p", "q", "r", "s", "t", "u", "v"]
# `∇ f` without a subscript, when f has several vectors and matrices, differentiates by the
# first of these that f has: parameters (w, θ, β) before unknowns (x, z), as in ML and
# optimization texts. README, "Notation as it is printed".
VARIABLE_NAMES = ("w", "W", "θ", "Θ", "β", "x", "X", "z", "Z")


@dataclass(frozen=True)
class Parsed:
    """A rule's expressions as the parser read them, before typing: what a retarget re-types."""

    kind: Kind  # as written: GRADIENT stands for a Jacobian too, until the shapes say which
    f: Node
    wrt: str | None
    claim: Node
    claim_field: str  # the field the claim is in, for errors
    # the same claim with the xᵢ of an index sum as the columns of X (this one: the rows)
    columns: Parsed | None = None
    # undeclared Greek names read as vectors: the variable, where the scalar reading of the
    # letter convention gives shapes that do not agree (∇_θ ‖y − Xθ‖²)
    vectors: frozenset[str] = frozenset()
    layout: Layout | None = None  # the claim's own (D f is the Jacobian), over the rule's


@dataclass(frozen=True)
class Problem:
    """Everything the checks need about one rule; dims are names (drawn) or fixed ints.

    `source` and `parsed` are what it was compiled from (they take no part in equality):
    `retarget` re-types them with another claim, layout or assumptions, without parsing."""

    rule_id: str
    kind: Kind
    layout: Layout
    wrt: str
    f: Node
    claim: Node
    shapes: dict[str, tuple[ResolvedDim, ResolvedDim]]
    dims: tuple[str, ...]
    assumptions: dict[str, frozenset[str]]
    expected: tuple[ResolvedDim, ResolvedDim]
    claim_shape: tuple[ResolvedDim, ResolvedDim]
    shape_note: str
    display: str
    source: Rule = dataclasses.field(compare=False, repr=False)
    parsed: Parsed = dataclasses.field(compare=False, repr=False)
    note: str = ""  # how the notation was read, where it had to choose (∇ without subscript)

    def retarget(
        self,
        *,
        claim: Node | None = None,
        layout: Layout | None = None,
        assume: Assume | None = None,
    ) -> Problem:
        """The problem compile_rule gives for this rule with `claim` (an AST as the parser
        gives it: see `readback.as_parsed` for a built one), `layout` or `assume` instead, and
        the same variable (a differential's claim `0` names no direction); f is typed again,
        not parsed. Raises RuleError as compile_rule would."""
        rule = dataclasses.replace(
            self.source,
            layout=self.source.layout if layout is None else layout,
            assume=self.source.assume if assume is None else assume,
        )
        parsed = dataclasses.replace(
            self.parsed, wrt=self.wrt, claim=self.parsed.claim if claim is None else claim
        )
        return _type_problem(rule, parsed)

    def with_function(self, f: Node) -> Problem:
        """The problem of the gradient of another scalar f (an AST as the parser gives it:
        `readback.as_parsed`) by the same variable, with the same claim and assumptions and
        every shape inferred (none declared): a candidate antiderivative of the claim
        (antiderivative.py). f is typed, not parsed. Raises RuleError as compile_rule would."""
        rule = dataclasses.replace(self.source, symbols=())
        parsed = dataclasses.replace(self.parsed, kind=Kind.GRADIENT, f=f, wrt=self.wrt)
        return _type_problem(rule, parsed)

    def with_layout(self, layout: Layout) -> Problem:
        return self.retarget(layout=layout)

    def with_assumptions(self, assume: Assume) -> Problem:
        return self.retarget(assume=assume)

    def statement(self) -> Statement:
        """What a verdict keeps of the problem, for reporters to print it."""
        return Statement(
            self.kind, self.layout, self.wrt, self.f, self.claim, tuple(self.shapes.items())
        )

    def size_of(self, dim: ResolvedDim, sizes: dict[str, int]) -> int:
        """The concrete value of a dimension under `sizes`."""
        return dim if isinstance(dim, int) else sizes[dim]

    def symbol_size(self, name: str, sizes: dict[str, int]) -> tuple[int, int]:
        rows, cols = self.shapes[name]
        return self.size_of(rows, sizes), self.size_of(cols, sizes)

    def expected_size(self, sizes: dict[str, int]) -> tuple[int, int]:
        return self.size_of(self.expected[0], sizes), self.size_of(self.expected[1], sizes)

    def has(self, name: str, assumption: str) -> bool:
        return assumption in self.assumptions.get(name, frozenset())


def direction_names(name: str) -> tuple[str, str]:
    """How the direction of `name` is written: `dX` and `∂X`."""
    return f"d{name}", f"∂{name}"


def _parse(rule: Rule, declared: set[str]) -> Parsed:
    """(kind, f, wrt, claim, claim field) as written; errors carry the field they are in.

    In a differential, a declared `dX` (or `∂X`) is the direction of X, not a symbol of its
    own: the claim is read as if it were undeclared, so that it gives the same `Dir` node."""
    if rule.claim is not None:
        # an assumed name, or the variable, is a variable even where it spells a function (σ)
        variables = {name for name, _ in rule.assume} | ({rule.wrt} if rule.wrt else set())
        try:
            parsed = parse_claim(rule.claim, declared, variables)
            if parsed.kind is Kind.DIFFERENTIAL:
                varying = symbols_in(parsed.f)
                directions = {d for s in varying for d in direction_names(s)} & declared
                for name in set(varying) & directions:
                    _no_direction_in(parsed.f, name[1:], "claim")
                if directions:
                    parsed = parse_claim(rule.claim, declared - directions, variables)
            numerator_is_formula(parsed)
            wrt = _claim_wrt(parsed.wrt, rule.wrt)
        except RuleError as err:
            err.field = "claim"
            raise
        by_columns = parsed.columns
        columns = by_columns and Parsed(
            by_columns.kind, by_columns.f, wrt, by_columns.rhs, "claim", layout=parsed.layout
        )
        return Parsed(
            parsed.kind, parsed.f, wrt, parsed.rhs, "claim", columns or None, layout=parsed.layout
        )
    assert rule.f is not None and rule.kind is not None and rule.rhs is not None
    field = rule.kind.value
    try:
        f = parse_expression(rule.f, declared)
    except RuleError as err:
        err.field = "f"
        raise
    directions = {rule.wrt} if rule.kind is Kind.DIFFERENTIAL and rule.wrt else set()
    spelled = {d for s in directions for d in direction_names(s)}
    try:
        rhs = parse_expression(rule.rhs, declared - spelled, directions)
    except RuleError as err:
        err.field = field
        raise
    return Parsed(rule.kind, f, rule.wrt, rhs, field)


def _claim_wrt(written: str | None, given: str | None) -> str | None:
    """The claim's variable: its subscript, else the one given beside it (`--wrt`)."""
    if written and given and written != given:
        raise RuleError(
            f"the claim differentiates by {written} but the variable given is {given}",
            0,
            f"drop --wrt, or write ∇_{given}",
            "claim",
        )
    return written or given


def _wrt(
    kind: Kind, f: Node, wrt: str | None, claim: Node, env: dict[str, Shape], field: str
) -> tuple[str, str]:
    """The variable, and a note saying how ∇ without a subscript chose it ("" otherwise)."""
    if wrt is not None:
        return wrt, ""
    if kind is Kind.DIFFERENTIAL:
        found = directions_in(claim)
        if len(found) != 1:
            raise RuleError(
                "a differential names one direction, like dX",
                0,
                "write d(f) = … with dX where X varies",
                field,
            )
        return found[0], ""
    candidates = [s for s in symbols_in(f) if env.get(s, _default(s)) != SCALAR]
    if len(candidates) == 1:
        return candidates[0], ""
    chosen = next((name for name in VARIABLE_NAMES if name in candidates), None)
    if not candidates:
        raise RuleError(
            "∇ without a subscript needs a vector or matrix in f, found none",
            0,
            "write ∇_x",
            field,
        )
    if chosen is None:
        raise RuleError(
            f"∇ without a subscript: f has {len(candidates)} vectors or matrices "
            f"({', '.join(candidates)}) and none is named {', '.join(VARIABLE_NAMES)}",
            0,
            f"write ∇_{candidates[0]}, or give --wrt",
            field,
        )
    others = [c for c in candidates if c != chosen]
    held = f"{', '.join(others)} {'is' if len(others) == 1 else 'are'} held constant"
    return chosen, (
        f"∇ without a subscript read as ∇_{chosen}: {chosen} comes first in "
        f"{' '.join(VARIABLE_NAMES)}, and {held} (write ∇_… or --wrt to choose)"
    )


def _assumed_shapes(rule: Rule, env: dict[str, Shape]) -> None:
    """An undeclared Greek name with an assumption that needs a matrix (or a vector) is one:
    with `Σ: spd`, ∇_Σ log|Σ| is the matrix rule, not a scalar identity."""
    from .lang.shapes import default_shape

    for name, names in rule.assume:
        needs = {TABLE[a].shape for a in names if a in TABLE}
        if name in env or default_shape(name) != SCALAR:
            continue
        if SymbolShape.SQUARE in needs:
            env[name] = Shape(Var(sized=True), Var(sized=True))
        elif SymbolShape.VECTOR in needs:
            env[name] = Shape(Var(sized=True), 1)


def _default(name: str) -> Shape:
    from .lang.shapes import default_shape

    return default_shape(name)


def declared_env(rule: Rule) -> dict[str, Shape]:
    """Declared symbols as shapes (declared dimension names are distinct)."""
    env: dict[str, Shape] = {}
    for decl in rule.symbols:
        dims = [d for d in decl.dims]
        if decl.kind == "scalar":
            env[decl.name] = SCALAR
        elif decl.kind == "vector":
            env[decl.name] = Shape(dims[0], 1)
        else:
            env[decl.name] = Shape(dims[0], dims[1])
    return env


def _apply_assumptions(rule: Rule, typer: Typer, used: list[str]) -> dict[str, set[str]]:
    assumptions: dict[str, set[str]] = {}
    for name, names in rule.assume:
        if name not in used:
            raise RuleError(
                f"assume names {name!r}, which the rule does not use",
                0,
                f"use one of: {', '.join(used)}",
                f"assume.{name}",
            )
        shape = typer.symbol(name)
        for assumption in names:
            needs = TABLE[assumption].shape if assumption in TABLE else SymbolShape.ANY
            message = f"{assumption} needs a {needs.value} but {name} is {typer.u.describe(shape)}"
            if needs is SymbolShape.SQUARE:
                _require(
                    typer,
                    lambda s=shape: typer.u.unify(s.rows, s.cols),  # type: ignore[misc]
                    message,
                    f"assume.{name}",
                )
            if needs is SymbolShape.VECTOR and not typer.u.is_one(shape.cols):
                raise RuleError(message, 0, "", f"assume.{name}")
        assumptions[name] = set(names)
    return assumptions


def _require(typer: Typer, action: Callable[[], None], message: str, field: str) -> None:
    try:
        action()
    except Conflict:
        raise RuleError(message, 0, "", field) from None


def _expected(
    kind: Kind, layout: Layout, f: Shape, x: Shape, typer: Typer, f_text: str, wrt: str
) -> tuple[Kind, Shape]:
    u = typer.u
    if kind is Kind.DIFFERENTIAL:
        return kind, f
    x_vector = u.is_one(x.cols)
    if u.scalar(f) and kind is not Kind.HESSIAN:
        return Kind.GRADIENT, x if layout is Layout.DENOMINATOR else Shape(x.cols, x.rows)
    if kind is Kind.HESSIAN:
        if not (u.scalar(f) and x_vector):
            raise RuleError(
                f"a Hessian needs a scalar f and a vector {wrt}; f is "
                f"{u.describe(f)} and {wrt} is {u.describe(x)}",
                0,
                "state other second derivatives as differentials",
            )
        return kind, Shape(x.rows, x.rows)
    if (kind is Kind.GRADIENT and not (u.is_one(f.cols) or u.is_one(f.rows))) or not x_vector:
        raise RuleError(
            f"{f_text} is {u.describe(f)} and {wrt} is {u.describe(x)}: a derivative of a "
            "matrix-valued f, or by a matrix, is only stated as a differential",
            0,
            "write it as  d(f) = …  with dX",
        )
    length = f.rows if u.is_one(f.cols) else f.cols
    if layout is Layout.DENOMINATOR:
        return Kind.JACOBIAN, Shape(x.rows, length)
    return Kind.JACOBIAN, Shape(length, x.rows)


def _domain_assumptions(nodes: list[Node]) -> dict[str, set[str]]:
    """Symbols that functions need inside their domain: log x, √x, log det X, X⁻¹, ‖x‖."""
    implied: dict[str, set[str]] = {}
    for root in nodes:
        for node in walk(root):
            if not isinstance(node, Call):
                continue
            arg = node.args[0] if node.args else None
            if node.op == "log" and isinstance(arg, Call) and arg.op == "det":
                arg, domain = arg.args[0], "posdet"
            else:
                from .ops import OPS

                domain = OPS[node.op].domain
            if domain and isinstance(arg, Sym):
                implied.setdefault(arg.name, set()).add(domain)
    return implied


def _declared_direction(
    typer: Typer, wrt: str, x_shape: Shape, declared: set[str], taken: set[str]
) -> None:
    """A declared `dX` must have X's shape: it is X's direction (and may fix X's shape)."""
    for name in direction_names(wrt):
        if name not in declared:
            continue
        shape = typer.env[name]
        try:
            typer.u.unify(shape.rows, x_shape.rows)
            typer.u.unify(shape.cols, x_shape.cols)
        except Conflict:
            names = _name_dims(typer, [x_shape], taken)
            raise RuleError(
                f"{name} is declared {typer.u.describe(shape)} but the direction of {wrt} "
                f"is {typer.u.describe(x_shape, names)}",
                0,
                f"declare {name} with the shape of {wrt}, or leave it out: "
                f"{name} is the direction of {wrt}",
                f"symbols.{name}",
            ) from None


def _no_direction_in(f: Node, wrt: str, field: str) -> None:
    """A declared dX is X's direction: f, which the differential varies, cannot hold it."""
    for node in walk(f):
        if isinstance(node, Sym) and node.name in direction_names(wrt):
            raise RuleError(
                f"{node.name} is the direction of {wrt} in this differential, so f cannot "
                "contain it",
                node.pos,
                f"give the symbol in f another name than {node.name}",
                field,
            )


def _fix_dims(typer: Typer, order: list[str], taken: set[str]) -> None:
    """Name f's inferred dimensions: f alone fixes the derivative's sizes, so a claim that
    needs two of them equal is "defined only when m = n", not a smaller rule."""
    names = _name_dims(typer, [typer.symbol(s) for s in order], taken)
    for var, name in names.items():
        typer.u.parent[var] = name
    taken.update(names.values())


def _name_dims(typer: Typer, shapes: list[Shape], taken: set[str]) -> dict[Var, str]:
    names: dict[Var, str] = {}
    fresh = (n for n in FRESH_NAMES + [f"n{i}" for i in range(2, 20)] if n not in taken)
    for shape in shapes:
        for dim in (shape.rows, shape.cols):
            root = typer.u.find(dim)
            if isinstance(root, Var) and root not in names:
                names[root] = next(fresh)
    return names


def display(kind: Kind, layout: Layout, wrt: str, f: Node, claim: Node) -> str:
    """The rule in Unicode math, as the table shows it."""
    f_text, g_text = unicode.wrap(f, ATOM), unicode(claim)
    jacobian = (
        f"∂{f_text}/∂{wrt} = {g_text}"
        if layout is Layout.NUMERATOR
        else f"∇_{wrt} {f_text} = {g_text}"
    )
    text = {
        Kind.GRADIENT: f"∇_{wrt} {f_text} = {g_text}",
        Kind.JACOBIAN: jacobian,
        Kind.HESSIAN: f"∇²_{wrt} {f_text} = {g_text}",
        Kind.DIFFERENTIAL: f"d{f_text} = {g_text}"
        if f_text.startswith("(")
        else f"d({f_text}) = {g_text}",
    }[kind]
    return text + ("   [numerator layout]" if layout is Layout.NUMERATOR else "")


def compile_rule(rule: Rule) -> Problem:
    """Parse and type a rule; raises RuleError (with `field`) if it cannot be read or typed."""
    declared = {decl.name for decl in rule.symbols}
    parsed = _parse(rule, declared)
    try:
        return _typed_reading(rule, parsed)
    except RuleError as as_scalar:
        wrt = parsed.wrt
        if wrt is None or wrt in declared or not _greek_lowercase(wrt):
            raise
        try:  # θ, β, μ as the variable: the vector the shapes ask for, if they agree then
            return _typed_reading(rule, _with_vector(parsed, wrt))
        except RuleError:
            raise as_scalar from None  # the letter convention's reading says what is wrong


def _typed_reading(rule: Rule, parsed: Parsed) -> Problem:
    if parsed.columns is None:
        return _type_problem(rule, parsed)
    return _rows_or_columns(rule, parsed, parsed.columns)


def _greek_lowercase(name: str) -> bool:
    return len(name) == 1 and "α" <= name <= "ω"


def _with_vector(parsed: Parsed, name: str) -> Parsed:
    columns = parsed.columns and _with_vector(parsed.columns, name)
    return dataclasses.replace(parsed, vectors=parsed.vectors | {name}, columns=columns)


def _rows_or_columns(rule: Rule, rows: Parsed, columns: Parsed) -> Problem:
    """The one reading of Σᵢ … xᵢ … whose shapes agree: xᵢ the rows of X, or its columns."""
    readings: list[Problem] = []
    errors: list[RuleError] = []
    for parsed in (rows, dataclasses.replace(columns, columns=None)):
        try:
            readings.append(_type_problem(rule, dataclasses.replace(parsed, columns=None)))
        except RuleError as err:
            errors.append(err)
    if len(readings) == 1:
        return readings[0]
    if not readings:
        raise errors[0]
    sums = [n.pos for n in walk(rows.f) if isinstance(n, Call) and n.op == "sum"]
    raise RuleError(
        "Σᵢ with xᵢ of a matrix X: the xᵢ may be its rows or its columns, and both readings "
        "have shapes that agree",
        sums[0] if sums else 0,
        "declare the shapes, e.g. --symbol 'X:matrix(n, d)' --symbol 'y:vector(n)': then the "
        "xᵢ are the rows",
        "claim",
    )


def _type_problem(rule: Rule, parsed: Parsed) -> Problem:
    """Type parsed expressions: the kind, shapes, shape notes, dimension names and implied
    assumptions. compile_rule and Problem.retarget share it, so both give the same Problem."""
    declared = {decl.name for decl in rule.symbols}
    kind, f, claim, field = parsed.kind, parsed.f, parsed.claim, parsed.claim_field
    layout = parsed.layout or rule.layout
    env = declared_env(rule)
    _assumed_shapes(rule, env)
    for name in parsed.vectors:
        env.setdefault(name, Shape(Var(sized=True), 1))
    typer = Typer(Unifier(), env, unicode)
    wrt, reading = _wrt(kind, f, parsed.wrt, claim, env, field)
    used = list(dict.fromkeys(symbols_in(f) + symbols_in(claim) + [wrt]))
    assumptions = _apply_assumptions(rule, typer, used)
    f_field = "claim" if rule.claim is not None else "f"
    f_shape = _typed(typer, f, f_field)
    x_shape = typer.symbol(wrt)
    taken = {d for decl in rule.symbols for d in decl.dims if isinstance(d, str)}
    if kind is Kind.DIFFERENTIAL:
        _declared_direction(typer, wrt, x_shape, declared, taken)
        _no_direction_in(f, wrt, f_field)
    _fix_dims(typer, [wrt] + [s for s in symbols_in(f) if s != wrt], taken)
    kind, expected = _expected_or_raise(kind, layout, f_shape, x_shape, typer, f, wrt, f_field)
    names: dict[Var, str] = {}
    expected_text = typer.u.describe(expected, names)
    if isinstance(claim, Num) and claim.value == 0:
        claim = Const("zeros", pos=claim.pos)  # `= 0` means the zero of the right shape
    typer.u.soft = True
    claim_shape = _typed(typer, claim, field)
    typer.u.soft = False
    note = _shape_note(typer, claim_shape, expected, expected_text, names)
    order = [wrt] + [s for s in used if s != wrt]
    every = [env[s] for s in order] + [expected, claim_shape] + list(typer.shapes.values())
    names = _name_dims(typer, every, taken)
    resolved = {
        s: (typer.u.name(env[s].rows, names), typer.u.name(env[s].cols, names)) for s in used
    }
    shapes = [
        *resolved.values(),
        *(
            (typer.u.name(s.rows, names), typer.u.name(s.cols, names))
            for s in typer.shapes.values()
        ),
    ]
    dims = tuple(dict.fromkeys(d for shape in shapes for d in shape if isinstance(d, str)))
    f_read, claim_read = typer.resolve(f, names), typer.resolve(claim, names)
    implied = _domain_assumptions([f_read, claim_read])  # resolved: |Σ| is det Σ by now
    for name, extra in implied.items():
        assumptions.setdefault(name, set()).update(extra)
    return Problem(
        rule_id=rule.id,
        kind=kind,
        layout=layout,
        wrt=wrt,
        f=f_read,
        claim=claim_read,
        shapes=resolved,
        dims=dims,
        assumptions={k: frozenset(v) for k, v in assumptions.items()},
        expected=(typer.u.name(expected.rows, names), typer.u.name(expected.cols, names)),
        claim_shape=(typer.u.name(claim_shape.rows, names), typer.u.name(claim_shape.cols, names)),
        shape_note=note,
        display=display(kind, layout, wrt, f, claim),
        source=rule,
        parsed=parsed,
        note=reading or _scalar_note(wrt, declared, env),
    )


def _scalar_note(wrt: str, declared: set[str], env: dict[str, Shape]) -> str:
    """Says so when the variable is a scalar only by the letter convention (a capital Greek
    letter, which texts use for matrices: Σ, Λ, Ω)."""
    if wrt in declared or env.get(wrt) != SCALAR or not ("Α" <= wrt[:1] <= "Ω"):
        return ""
    return (
        f"{wrt} is read as a scalar (an undeclared Greek letter); to check the matrix rule, "
        f"declare it (--symbol '{wrt}:matrix(n, n)') or assume it spd (--assume {wrt}:spd)"
    )


def _typed(typer: Typer, node: Node, field: str) -> Shape:
    try:
        return typer.shape(node)
    except RuleError as err:
        err.field = err.field or field
        raise


def _expected_or_raise(
    kind: Kind, layout: Layout, f: Shape, x: Shape, typer: Typer, f_node: Node, wrt: str, field: str
) -> tuple[Kind, Shape]:
    try:
        return _expected(kind, layout, f, x, typer, unicode(f_node), wrt)
    except RuleError as err:
        err.field = err.field or field
        raise


def _shape_note(
    typer: Typer, claim: Shape, expected: Shape, expected_text: str, names: dict[Var, str]
) -> str:
    """Why the claim's shape is wrong, or "" when it is the derivative's shape."""
    notes = [f"defined only when {a} = {b}" for a, b in typer.u.joined]
    try:
        typer.u.unify(claim.rows, expected.rows)
        typer.u.unify(claim.cols, expected.cols)
    except Conflict:
        claim_text = typer.u.describe(claim, names)
        lead = "even then " if notes else ""
        notes.append(f"{lead}the claim is {claim_text} where the derivative is {expected_text}")
    return "; ".join(notes)
