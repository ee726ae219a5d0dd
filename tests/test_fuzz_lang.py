"""Fuzzing the language: byte-level and grammar-aware inputs to the lexer, parser, shape
inference and printers, and a small budget of the whole pipeline. Whatever the input, the
only exception that may escape is RuleError (→ an ill-formed verdict with a position), and
every input is handled within a bounded time."""

from __future__ import annotations

import cmath
import math
import time
from collections.abc import Callable
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcheck.errors import RuleError
from gradcheck.lang.ast import Call, Const, Node, Num, Sym
from gradcheck.lang.parser import parse_claim, parse_expression
from gradcheck.lang.printer import ascii_text, latex, unicode
from gradcheck.model import Options, Position, Rule, Status
from gradcheck.problem import compile_rule
from gradcheck.verdicts import verify_rule

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
# Per input: parsing and typing are microseconds to milliseconds; a second means a blow-up.
SECONDS_PER_INPUT = 2.0

# The characters the language gives meaning to, weighted towards the ones that nest.
ALPHABET = (
    "abxyzAXBWσλΣ0123456789.eE+-*/@^_'()[]{}|‖,= \t\n"
    "ᵀ⊤⁻¹²³⊙·∇∂√∑\\∈ℝ"
)
WORDS = [
    r"\frac", r"\partial", r"\nabla", r"\left(", r"\right)", r"\|", r"\mathbf{x}", r"\top",
    r"\operatorname{tr}", r"\log\det", r"\sqrt", r"\odot", r"\cdot", "^{-1}", "^{-T}", "^T",
    "tr(", "det(", "logdet(", "inv(", "matpow(", "softmax(", "norm(", "exp(", "eye(", "ones(",
    "zeros(", "sg(", ".T", "**", "1e999999999", "9" * 60, "ᵀᵀᵀᵀ", "⁻¹⁻¹⁻¹", "((((", "))))",
    "- - -", "+ + +", "d(", "dX", "∂X", "∇_x ", "∇²_x ", " = ",
]
texts = st.one_of(
    st.text(alphabet=ALPHABET, max_size=80),
    st.lists(st.sampled_from(WORDS) | st.text(alphabet=ALPHABET, max_size=4), max_size=25).map(
        "".join
    ),
    st.text(max_size=40),  # any Unicode at all
)


def timed(action, *args):
    """Run `action`; RuleError is a fine answer, anything else fails the test."""
    start = time.perf_counter()
    try:
        action(*args)
    except RuleError as err:
        assert isinstance(err.offset, int) and err.message
    elapsed = time.perf_counter() - start
    assert elapsed < SECONDS_PER_INPUT, f"{elapsed:.1f} s on {args!r}"


@FUZZ
@given(texts)
def test_the_parser_only_raises_rule_errors(text: str) -> None:
    timed(parse_expression, text)
    timed(parse_claim, text)
    timed(parse_claim, "∇_x " + text + " = a")


@FUZZ
@given(texts, st.sampled_from(["x", "X", "A", "σ"]))
def test_typing_only_raises_rule_errors(text: str, wrt: str) -> None:
    rule = Rule(id="fuzz", position=Position("fuzz.yaml", 1, 1), claim=f"∇_{wrt} {text} = {wrt}")
    timed(compile_rule, rule)


# ----- grammar-aware: expressions built from the language's own constructs -----

LEAVES = st.one_of(
    st.sampled_from([Sym("x"), Sym("y"), Sym("A"), Sym("X"), Sym("a"), Sym("λ")]),
    st.fractions(min_value=-1000, max_value=1000, max_denominator=100).map(Num),
    st.sampled_from([Const("I"), Const("ones"), Const("I", (3,)), Const("ones", (2,))]),
)
UNARY = ["neg", "T", "inv", "norm", "fro", "exp", "log", "sqrt", "tanh", "sigmoid", "abs",
         "detach", "sum", "logsumexp", "softmax", "diag", "tr", "det", "logdet", "sin"]
BINARY = ["add", "sub", "matmul", "mul", "div"]


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    unary = st.tuples(st.sampled_from(UNARY), children).map(lambda t: Call(t[0], (t[1],)))
    binary = st.tuples(st.sampled_from(BINARY), children, children).map(
        lambda t: Call(t[0], (t[1], t[2]))
    )
    powers = st.tuples(
        st.sampled_from(["pow", "sup", "matpow"]), children, st.integers(-3, 70)
    ).map(lambda t: Call(t[0], (t[1], Num(Fraction(t[2])))))
    return unary | binary | powers


expressions = st.recursive(LEAVES, _extend, max_leaves=40)


@FUZZ
@given(expressions)
def test_printed_expressions_read_back_or_are_refused(node: Node) -> None:
    for printer in (unicode, ascii_text, latex):
        start = time.perf_counter()
        text = printer(node)
        try:
            normal = printer(parse_expression(text, declared=("λ",)))
            again = printer(parse_expression(normal, declared=("λ",)))
        except RuleError:
            continue  # e.g. a power beyond the limit: refused with a message, not a crash
        # Reading back is stable: once read (1/3 becomes the division 1 / 3), what is
        # printed reads back as the same expression.
        assert again == normal, (text, normal, again)
        assert time.perf_counter() - start < SECONDS_PER_INPUT


# Every op read on scalars (a 1×1 matrix): enough to tell a misprinted precedence or grouping
# from the expression that was meant, whichever way the products are spelled.
SCALAR: dict[str, Callable[..., complex]] = {
    "neg": lambda a: 0 - a, "T": lambda a: a, "inv": lambda a: 1 / a, "norm": abs, "fro": abs,
    "exp": cmath.exp, "log": cmath.log, "sqrt": cmath.sqrt, "tanh": cmath.tanh,
    "sin": cmath.sin, "sigmoid": lambda a: 1 / (1 + cmath.exp(-a)), "abs": abs,
    "detach": lambda a: a, "sum": lambda a: a, "logsumexp": lambda a: a,
    "softmax": lambda a: 1, "diag": lambda a: a, "tr": lambda a: a, "det": lambda a: a,
    "logdet": cmath.log, "add": lambda a, b: a + b, "sub": lambda a, b: a - b,
    "matmul": lambda a, b: a * b, "mul": lambda a, b: a * b, "scale": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a**b, "sup": lambda a, b: a**b,
    "matpow": lambda a, b: a**b,
}
POINT = {"x": 0.7 + 0.1j, "y": -1.3 + 0.2j, "A": 1.9 - 0.4j, "X": 0.4 + 0.3j, "a": -0.6 - 0.5j,
         "λ": 1.1 + 0.05j}


def scalar_value(node: Node) -> complex:
    if isinstance(node, Sym):
        return POINT[node.name]
    if isinstance(node, Num):
        return complex(node.value)
    if isinstance(node, Const):
        return {"I": 1, "ones": 1, "zeros": 0}[node.name]
    assert isinstance(node, Call)
    return complex(SCALAR[node.op](*map(scalar_value, node.args)))


@FUZZ
@given(expressions)
def test_printed_expressions_mean_what_they_meant(node: Node) -> None:
    try:
        meant = scalar_value(node)
    except (ZeroDivisionError, OverflowError, ValueError):
        return
    if not (cmath.isfinite(meant) and abs(meant) < 1e12):
        return
    for printer in (unicode, ascii_text):
        try:
            read = parse_expression(printer(node), declared=("λ",))
        except RuleError:
            continue
        value = scalar_value(read)
        assert math.isclose(abs(value - meant), 0, abs_tol=1e-6 * (1 + abs(meant))), (
            printer(node), printer(read), meant, value
        )


@FUZZ
@given(expressions, st.sampled_from(["x", "X", "A"]))
def test_typing_built_expressions_only_raises_rule_errors(node: Node, wrt: str) -> None:
    rule = Rule(
        id="fuzz",
        position=Position("fuzz.yaml", 1, 1),
        claim=f"∇_{wrt} ({unicode(node)}) = {wrt}",
        symbols=(),
    )
    timed(compile_rule, rule)


# ----- the whole pipeline, on a small budget -----


@settings(FUZZ, max_examples=25)
@given(expressions, expressions)
def test_the_pipeline_gives_a_verdict_for_any_claim(f: Node, g: Node) -> None:
    rule = Rule(
        id="fuzz",
        position=Position("fuzz.yaml", 1, 1),
        claim=f"∇_x ({unicode(f)}) = {unicode(g)}",
    )
    options = Options(examples=4, symbolic_timeout=1.0, diagnose=True)
    start = time.perf_counter()
    verdict = verify_rule(rule, options)
    assert verdict.status in Status
    assert not verdict.message.startswith("internal error"), verdict.message
    # the time limits are 1 s for each symbolic stage; numeric and diagnosis share the rest
    assert time.perf_counter() - start < 30
