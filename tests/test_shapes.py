"""Shape inference (spec §2): the letter convention, unification, and conflicts that name both
sides and their shapes."""

from __future__ import annotations

import pytest

from gradcheck.errors import RuleError
from gradcheck.lang.ast import Call, Const, Node
from gradcheck.lang.parser import parse_expression
from gradcheck.lang.printer import unicode
from gradcheck.lang.shapes import (
    SCALAR,
    Conflict,
    Shape,
    Typer,
    Unifier,
    Var,
    default_shape,
)


def typer_for(env: dict[str, Shape] | None = None) -> Typer:
    return Typer(Unifier(), dict(env or {}), unicode)


def typed(text: str, env: dict[str, Shape] | None = None,
          declared: tuple[str, ...] = ()) -> tuple[Typer, Node, Shape]:
    typer = typer_for(env)
    node = parse_expression(text, declared or tuple(env or ()))
    return typer, node, typer.shape(node)


def describe(text: str, env: dict[str, Shape] | None = None) -> str:
    typer, _, shape = typed(text, env)
    return typer.u.describe(shape)


def conflict(text: str, env: dict[str, Shape] | None = None) -> RuleError:
    with pytest.raises(RuleError) as info:
        typed(text, env)
    return info.value


def matrix(rows: str | int, cols: str | int) -> Shape:
    return Shape(rows, cols)


def vector(rows: str | int) -> Shape:
    return Shape(rows, 1)


# ----- the unifier -------------------------------------------------------------------------------
def test_unifier_binds_unknowns_to_names_and_numbers() -> None:
    u = Unifier()
    a, b = Var(), Var()
    u.unify(a, b)
    u.unify(b, "n")
    assert u.find(a) == "n" == u.find(b)
    c = Var()
    u.unify(3, c)
    assert u.find(c) == 3
    u.unify("n", "n")  # equal names are fine
    u.unify(a, "n")


@pytest.mark.parametrize(("left", "right"), [("m", "n"), (2, 3), ("n", 3), (1, "n")])
def test_declared_dimensions_are_distinct(left: str | int, right: str | int) -> None:
    with pytest.raises(Conflict):
        Unifier().unify(left, right)


def test_a_bound_unknown_conflicts_like_its_value() -> None:
    u = Unifier()
    v = Var()
    u.unify(v, "m")
    with pytest.raises(Conflict):
        u.unify(v, "n")


def test_soft_unification_joins_names_and_records_it() -> None:
    u = Unifier()
    u.soft = True
    u.unify("m", "n")
    assert u.joined == [("m", "n")]
    assert u.find("m") == u.find("n")
    u.soft = False
    with pytest.raises(Conflict):
        u.unify("m", 2)  # numbers never join


def test_describe() -> None:
    u = Unifier()
    assert u.describe(SCALAR) == "scalar"
    assert u.describe(Shape("n", 1)) == "vector(n)"
    assert u.describe(Shape(1, "n")) == "row vector(n)"
    assert u.describe(Shape("m", "n")) == "matrix(m, n)"
    assert u.describe(Shape(3, 2)) == "matrix(3, 2)"
    names: dict[Var, str] = {}
    v, w = Var(), Var()
    assert u.describe(Shape(v, w), names) == "matrix(d1, d2)"  # unknowns get placeholder names
    assert u.describe(Shape(v, 1), names) == "vector(d1)"
    assert u.is_one(1) and not u.is_one("n") and not u.is_one(Var())


# ----- the letter convention ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["x", "a", "b", "z", "w1"])
def test_lowercase_is_a_column_vector(name: str) -> None:
    shape = default_shape(name)
    assert shape.cols == 1 and isinstance(shape.rows, Var)


@pytest.mark.parametrize("name", ["A", "X", "W", "W1"])
def test_uppercase_is_a_matrix(name: str) -> None:
    shape = default_shape(name)
    assert isinstance(shape.rows, Var) and isinstance(shape.cols, Var)
    assert shape.rows is not shape.cols


@pytest.mark.parametrize("name", ["λ", "μ", "σ", "ε", "Σ", "Λ"])
def test_greek_is_a_scalar(name: str) -> None:
    assert default_shape(name) == SCALAR


def test_letter_convention_in_expressions() -> None:
    assert describe("x").startswith("vector(")
    assert describe("A").startswith("matrix(")
    assert describe("λ") == "scalar"
    assert describe("\\lambda x").startswith("vector(")
    typer, _, _ = typed("xᵀAx + λ")
    shapes = {name: typer.u.describe(shape) for name, shape in typer.env.items()}
    assert shapes["x"].startswith("vector(")
    assert shapes["A"].startswith("matrix(")
    assert shapes["λ"] == "scalar"


# ----- results -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ["xᵀAx", "x^T A x", "aᵀx", "xᵀx", "‖x‖", "‖X‖_F", "tr(A)", "det(A)", "logdet(A)",
     "sum(x)", "sum(A)", "logsumexp(x)", "xᵀAx + 1", "λ²", "2", "aᵀ(A + Aᵀ)b",
     "log(aᵀx)", "(xᵀx)²", "‖Ax − b‖²", "tr(AᵀB)", "onesᵀx", "\\mathbf{1}^\\top x",
     "xᵀ(A ⊙ B)y"],
)
def test_scalar_results(text: str) -> None:
    assert describe(text) == "scalar"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("A x", "vector"), ("λ x", "vector"), ("x + y", "vector"), ("x ⊙ y", "vector"),
        ("x / λ", "vector"), ("x / y", "vector"), ("softmax(x)", "vector"), ("σ(x)", "vector"),
        ("x ** 2", "vector"), ("diag(A)", "vector"), ("A x + b", "vector"), ("λ + x", "vector"),
        ("xᵀA", "row vector"), ("softmax(xᵀ)", "row vector"), ("(Ax)ᵀ", "row vector"),
        ("x yᵀ", "matrix"), ("A B", "matrix"), ("diag(x)", "matrix"), ("diag(xᵀ)", "matrix"),
        ("I", "matrix"), ("A + I", "matrix"), ("A⁻¹", "matrix"), ("A²", "matrix"),
        ("matpow(A, 3)", "matrix"), ("x xᵀ + A", "matrix"), ("λ A", "matrix"),
        ("zeros(m, n)", "matrix"), ("exp(A)", "matrix"),
    ],
)
def test_result_kinds(text: str, kind: str) -> None:
    assert describe(text).startswith(kind + "(")


def test_square_operations_make_their_argument_square() -> None:
    for text in ["tr(A)", "det(A)", "logdet(A)", "inv(A)", "A⁻¹", "A²", "matpow(A, 2)",
                 "diag(A)", "A + I", "xᵀAx"]:
        typer, _, _ = typed(text)
        shape = typer.env["A"]
        assert typer.u.find(shape.rows) is typer.u.find(shape.cols), text


def test_unification_carries_declared_dimensions() -> None:
    env = {"A": matrix("m", "n")}
    assert describe("A x", env) == "vector(m)"
    typer, _, _ = typed("A x + b", env)
    assert typer.u.describe(typer.env["x"]) == "vector(n)"
    assert typer.u.describe(typer.env["b"]) == "vector(m)"
    typer, _, shape = typed("A B C", {"A": matrix("m", "n"), "C": matrix("p", "q")})
    assert typer.u.describe(typer.env["B"]) == "matrix(n, p)"
    assert typer.u.describe(shape) == "matrix(m, q)"
    assert describe("Aᵀ y", env) == "vector(n)"
    assert describe("A x", {"A": matrix(3, 2)}) == "vector(3)"
    assert describe("eye(n) x") == "vector(n)"
    assert describe("zeros(m, n) x") == "vector(m)"
    assert describe("ones(3)") == "vector(3)"
    assert describe("W1 x", {"W1": matrix("h", "n")}) == "vector(h)"


def test_a_declared_scalar_scales() -> None:
    assert describe("A x", {"A": SCALAR}).startswith("vector(")
    assert describe("x A", {"A": SCALAR}).startswith("vector(")


def test_a_one_by_one_product_is_a_scalar() -> None:
    typer, node, shape = typed("xᵀAx", {"A": matrix("n", "n")})
    assert typer.u.scalar(shape)
    assert typer.is_scalar(node)
    typer, node, shape = typed("aᵀx", {"a": vector(3)})
    assert shape == SCALAR or typer.u.scalar(shape)
    assert typer.u.describe(typer.env["x"]) == "vector(3)"


# ----- conflicts ---------------------------------------------------------------------------------
def test_product_conflict_names_columns_and_rows() -> None:
    err = conflict("A x", {"A": matrix("m", "n"), "x": vector("m")})
    assert err.message == "Ax: A has n columns but x has m rows"
    assert err.offset == 2
    err = conflict("A x", {"A": matrix(3, 2), "x": vector(3)})
    assert err.message == "Ax: A has 2 columns but x has 3 rows"
    assert "declare" in err.hint


def test_sum_conflict_names_both_shapes() -> None:
    err = conflict("A + x", {"A": matrix("m", "n"), "x": vector("m")})
    assert err.message == "A + x: matrix(m, n) + vector(m)"
    assert err.offset == 2
    err = conflict("A + x", {"A": matrix("n", "n"), "x": vector("n")})
    assert err.message == "A + x: matrix(n, n) + vector(n)"
    err = conflict("A x + b", {"A": matrix("m", "n"), "b": vector("n")})
    assert err.message == "Ax + b: vector(m) + vector(n)"
    assert err.offset == 4
    err = conflict("x - A x", {"A": matrix("m", "n")})
    assert err.message == "x − Ax: vector(n) − vector(m)"


@pytest.mark.parametrize(
    ("text", "env", "fragments", "offset"),
    [
        ("aᵀx", {"a": vector("m"), "x": vector("n")}, ["aᵀ has m columns", "x has n rows"], 2),
        ("x ⊙ y", {"x": vector("m"), "y": vector("n")}, ["vector(m) ⊙ vector(n)"], 2),
        ("x / y", {"x": vector(2), "y": vector(3)}, ["vector(2) / vector(3)"], 2),
        ("tr(A)", {"A": matrix("m", "n")}, ["must be square", "matrix(m, n)"], 3),
        ("det(A)", {"A": matrix(2, 3)}, ["must be square", "matrix(2, 3)"], 4),
        ("inv(A)", {"A": matrix(2, 3)}, ["must be square", "matrix(2, 3)"], 4),
        ("A⁻¹", {"A": matrix("m", "n")}, ["must be square"], 0),
        ("A²", {"A": matrix("m", "n")}, ["A²", "must be square", "matrix(m, n)"], 1),
        ("x²", {}, ["power of a vector is ambiguous"], 1),
        ("x ** y", {}, ["the power must be a scalar"], 2),
        ("softmax(A)", {}, ["softmax takes a vector"], 0),
        ("eye(2) x", {"x": vector(3)}, ["eye(2) has 2 columns", "x has 3 rows"], 7),
        ("xᵀAx + A", {"A": matrix("m", "n")}, ["xᵀA has n columns but x has m rows"], 3),
    ],
)
def test_conflicts(text: str, env: dict[str, Shape], fragments: list[str], offset: int) -> None:
    err = conflict(text, env)
    for fragment in fragments:
        assert fragment in err.message
    assert err.offset == offset


def test_vector_power_hint_says_what_to_write() -> None:
    assert "x ** 2" in conflict("x²").hint


# ----- resolve: constants sized, ^k read as power or matrix power --------------------------------
def test_resolve_reads_superscripts_by_shape() -> None:
    typer, node, _ = typed("λ² + tr(A²)")
    resolved = typer.resolve(node, {})
    ops = [n.op for n in _calls(resolved)]
    assert "pow" in ops and "matpow" in ops and "sup" not in ops


def test_resolve_sizes_constants() -> None:
    typer, node, _ = typed("A + I", {"A": matrix("n", "n")})
    resolved = typer.resolve(node, {})
    assert isinstance(resolved, Call)
    assert resolved.args[1] == Const("I", ("n", "n"))
    typer, node, _ = typed("onesᵀx", {"x": vector(3)})
    constant = [n for n in _walk(typer.resolve(node, {})) if isinstance(n, Const)]
    assert constant == [Const("ones", (3, 1))]


def _walk(node: Node) -> list[Node]:
    from gradcheck.lang.ast import walk

    return list(walk(node))


def _calls(node: Node) -> list[Call]:
    return [n for n in _walk(node) if isinstance(n, Call)]


# ----- undeclared letters never collapse to size 1 ------------------------------------------
@pytest.mark.parametrize("text", ["det(x)", "x y", "A + x", "inv(x)", "matpow(x, 2)"])
def test_undeclared_letters_keep_their_kind(text: str) -> None:
    with pytest.raises(RuleError):
        typed(text)
