"""The operator table (gradcheck/ops.py): every op has every facet, every backend agrees with
every row on inputs from the op's domain, and an elementwise row's f′ is its derivative."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcheck import numeric, symbolic
from gradcheck.api import check
from gradcheck.calculus import differential, lower, torch_code
from gradcheck.derivation import derive
from gradcheck.lang.ast import Call, Const, Node, Num, Sym, walk
from gradcheck.lang.definitions import ARGUMENT, DEFINITIONS, DERIVATIVES, derivative
from gradcheck.lang.lexer import tokenize
from gradcheck.lang.parser import parse_expression
from gradcheck.lang.printer import ascii_text, latex, unicode
from gradcheck.model import ASSUMPTIONS, Options, Status
from gradcheck.numeric import evaluate
from gradcheck.ops import FUNCTION_WORDS, OPS, PI, Op, ShapeClass, kernels
from gradcheck.strategies import build_value, entries
from gradcheck.symbolic import Lowering

ELEMENTWISE = sorted(name for name, row in OPS.items() if row.elementwise)
BESPOKE = sorted(name for name, row in OPS.items() if not row.elementwise)
ALL = sorted(OPS)


# ----- every op has every facet -----


@pytest.mark.parametrize("name", ALL)
def test_every_row_is_complete(name: str) -> None:
    row = OPS[name]
    assert row.name == name and isinstance(row.shape, ShapeClass)
    assert row.arity == (2 if row.shape is ShapeClass.BINARY else 1)
    assert not row.domain or row.domain in {*ASSUMPTIONS, "posdet"}, row.domain
    if row.elementwise:
        assert row.shape is ShapeClass.SAME and not row.kernel
        assert bool(row.sympy) != bool(row.means), "sympy's function or a definition, not both"
        assert row.torch.startswith("torch.")
        assert name in numeric.ELEMENTWISE
    else:
        assert row.kernel and not (row.sympy or row.means or row.torch)
    for word in row.words:
        assert FUNCTION_WORDS[word] == name


@pytest.mark.parametrize("kernel", sorted(kernels()))
def test_every_kernel_is_in_every_backend(kernel: str) -> None:
    assert kernel in symbolic.KERNELS
    assert kernel in numeric.KERNELS
    assert kernel in differential.KERNELS
    assert kernel in lower.UNARY or kernel in lower.BINARY or kernel in lower.POWERS
    assert kernel in torch_code.CALLS or kernel in torch_code.INFIX or kernel in lower.POWERS


@pytest.mark.parametrize("name", sorted({*DERIVATIVES, *DEFINITIONS}))
def test_formulas_of_a_row_use_only_its_argument_and_the_table(name: str) -> None:
    for formula in (DERIVATIVES.get(name), DEFINITIONS.get(name)):
        if formula is None:
            continue
        for node in walk(formula):
            assert not isinstance(node, Sym) or node.name == ARGUMENT, node
            assert not isinstance(node, Call) or node.op in OPS
            assert not isinstance(node, Const) or node.name == PI
    if name in DEFINITIONS:  # a definition in terms of itself would never end
        assert name not in {n.op for n in walk(DEFINITIONS[name]) if isinstance(n, Call)}


# matpow prints as X², which reads as `sup` until typing makes it a matrix power
@pytest.mark.parametrize("name", [n for n, row in OPS.items() if row.words and n != "matpow"])
def test_every_function_prints_and_reads_back(name: str) -> None:
    node = Call(name, tuple(Sym(v) for v in "xy"[: OPS[name].arity]))
    # \log\det X reads as log(det X), the same function: the engine makes it logdet again
    same = {node, Call("log", (Call("det", node.args),))} if name == "logdet" else {node}
    for printer in (unicode, ascii_text, latex):
        assert parse_expression(printer(node)) in same, printer(node)


def test_pi_is_an_exact_constant_unless_declared() -> None:
    for text in ("π", r"\pi", "pi"):
        assert parse_expression(text) == Const(PI)
    assert parse_expression("π", {"π"}) == Sym("π")  # a policy π, declared, is a symbol
    two_pi = Call("mul", (Num(Fraction(2)), Const(PI)))  # π (a + b) is a product, not a size
    assert parse_expression("2π (a + b)") == Call(
        "matmul", (two_pi, Call("add", (Sym("a"), Sym("b"))))
    )
    assert [t.kind for t in tokenize("π")] == ["CONST", "END"]


# ----- the backends agree with the rows, on inputs from each op's domain -----


def _domain_value(row: Op, rows: int, cols: int, draw: st.DrawFn) -> np.ndarray:
    assumed = frozenset({row.domain}) if row.domain else frozenset()
    return build_value(assumed, rows, cols, lambda shape: draw(entries(shape)))


# A case for every bespoke op: the arguments it takes (spd S keeps inv, det and logdet defined).
BINARY_CASES: dict[str, tuple[Node, ...]] = {
    "add": (Sym("A"), Sym("B")),
    "sub": (Sym("A"), Sym("B")),
    "mul": (Sym("A"), Sym("B")),
    "div": (Sym("A"), Sym("P")),  # an spd S may have a 0 off the diagonal: P > 0 entrywise
    "matmul": (Sym("A"), Sym("B")),
    "scale": (Sym("c"), Sym("A")),
    "pow": (Sym("A"), Num(Fraction(3))),
    "sup": (Sym("S"), Num(Fraction(2))),
    "matpow": (Sym("S"), Num(Fraction(3))),
}
ARGUMENT_OF = {
    ShapeClass.SAME: "x",
    ShapeClass.REDUCE: "x",
    ShapeClass.VECTOR_SAME: "x",
    ShapeClass.DIAG: "S",
    ShapeClass.TRANSPOSE: "A",
    ShapeClass.SQUARE: "S",
    ShapeClass.SQUARE_SAME: "S",
}


def test_every_op_has_a_lowering_case() -> None:
    assert {n for n in BESPOKE if OPS[n].shape is ShapeClass.BINARY} == set(BINARY_CASES)
    assert set(ShapeClass) - {ShapeClass.BINARY} == set(ARGUMENT_OF)


@st.composite
def op_cases(draw: st.DrawFn) -> tuple[Node, dict[str, np.ndarray], int]:
    name = draw(st.sampled_from(ALL))
    row = OPS[name]
    n = draw(st.integers(1, 3))
    if row.shape is ShapeClass.BINARY:
        node: Node = Call(name, BINARY_CASES[name])
    else:
        node = Call(name, (Sym(ARGUMENT_OF[row.shape]),))
    values = {
        "A": draw(entries((n, n))),
        "B": draw(entries((n, n))),
        "c": draw(entries((1, 1))),
        "x": _domain_value(row, n, 1, draw),
        "S": build_value(frozenset({"spd"}), n, n, lambda shape: draw(entries(shape))),
        "P": build_value(frozenset({"positive"}), n, n, lambda shape: draw(entries(shape))),
    }
    return node, values, n


def _sympy_value(node: Node, values: dict[str, np.ndarray], n: int) -> np.ndarray:
    mats = {
        k: sp.Matrix(v.shape[0], v.shape[1], lambda i, j, v=v: sp.Float(float(v[i, j]), 30))
        for k, v in values.items()
    }
    result = Lowering(mats, {"n": n}, {}, stop_gradients=False)(node)
    return np.array(result.evalf(30).tolist(), dtype=float).reshape(result.shape)


def _torch_value(node: Node, values: dict[str, np.ndarray], n: int) -> np.ndarray:
    tensors = {k: torch.tensor(v, dtype=torch.float64) for k, v in values.items()}
    with torch.no_grad():
        return evaluate(node, tensors, {"n": n}).numpy()


SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(op_cases())
def test_torch_and_sympy_agree_on_every_op(case: tuple[Node, dict[str, np.ndarray], int]) -> None:
    node, values, n = case
    by_torch, by_sympy = _torch_value(node, values, n), _sympy_value(node, values, n)
    assert by_torch.shape == by_sympy.shape
    finite = np.isfinite(by_sympy)  # exp of a large entry overflows float64 on both sides
    scale = 1.0 + np.abs(by_sympy[finite]).max(initial=0.0)
    assert np.allclose(by_torch[finite], by_sympy[finite], rtol=1e-8, atol=1e-8 * scale), (
        node,
        by_torch,
        by_sympy,
    )


@st.composite
def elementwise_cases(draw: st.DrawFn) -> tuple[str, np.ndarray]:
    name = draw(st.sampled_from(ELEMENTWISE))
    x = _domain_value(OPS[name], draw(st.integers(1, 3)), 1, draw)
    if OPS[name].domain == "nonzero":  # a nonzero vector may have a 0 entry; |a|′ has none
        x = np.where(x == 0, 1.0, x)
    return name, np.clip(x, -20, 20)  # exp, sinh, cosh: stay inside float64


@SETTINGS
@given(elementwise_cases())
def test_a_rows_derivative_is_autograds(case: tuple[str, np.ndarray]) -> None:
    name, x = case
    t = torch.tensor(x, dtype=torch.float64)
    auto = torch.func.vmap(torch.func.grad(numeric.ELEMENTWISE[name]))(t.reshape(-1))
    slope = evaluate(derivative(name, Sym("x")), {"x": t}, {})
    assert np.allclose(slope.numpy().reshape(-1), auto.numpy(), rtol=1e-9, atol=1e-12), name


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_a_rows_derivative_is_sympys(name: str) -> None:
    a = sp.Symbol("a", positive=OPS[name].domain == "positive" or None, real=True)
    lowering = Lowering({"a": sp.Matrix([[a]])}, {}, {}, stop_gradients=False)
    f = lowering(Call(name, (Sym("a"),)))[0, 0]
    slope = lowering(derivative(name, Sym("a")))[0, 0]
    difference = sp.simplify(sp.diff(f, a) - slope)
    if OPS[name].domain == "nonzero":  # |a|, relu: compare on each side of 0
        for side in (sp.Symbol("p", positive=True), -sp.Symbol("p", positive=True)):
            assert sp.simplify(difference.subs(a, side)) == 0, (name, side)
    else:
        assert difference == 0, (name, difference)


# ----- the functions added as one row each work end to end -----

ADDED = ["sinh", "cosh", "log1p", "expm1", "atan", "erf", "logsigmoid", "relu"]
QUICK = Options(examples=20, symbolic_timeout=10.0)


@pytest.mark.parametrize("name", ADDED)
def test_an_added_function_derives_and_its_wrong_derivative_fails(name: str) -> None:
    derived = derive(f"sum({name}(x))", "x", options=QUICK)
    assert derived.verdict is not None and derived.verdict.status is Status.HOLDS, derived
    assert derived.verdict.symbolic is not None and derived.verdict.symbolic.all_sizes
    wrong = check(f"∇_x sum({name}(x)) = {name}(x)", examples=20)  # f for f′
    assert wrong.status is Status.FAILS, wrong
