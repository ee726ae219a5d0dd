"""The operator table: every operator and function of the language, one row each.

A row holds everything about its op: how text spells and prints it, its shape class, the
domain its argument needs, and how every backend computes it. An elementwise function is
complete in its row: sympy's function (or its definition in the rule language), torch's
function, and its derivative f′ in the rule language, from which the differential rule, the
canonical form and the generated torch code follow. Every other op names its `kernel`: the
bespoke code that symbolic.py, numeric.py, calculus/differential.py, calculus/lower.py and
calculus/torch_code.py each register under that name. Backends are named by strings so that
this module imports nothing heavy (`gradcheck --help` stays instant).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ShapeClass(str, Enum):
    """How an op's result shape follows from its arguments' (typed in lang/shapes.py)."""

    SAME = "same"  # unary, the argument's shape (elementwise functions)
    REDUCE = "reduce"  # any array to a scalar
    SQUARE = "square"  # square matrix to a scalar (tr, det, logdet)
    SQUARE_SAME = "square_same"  # square matrix to a matrix of the same shape (inv)
    VECTOR_SAME = "vector_same"  # column or row vector to the same shape (softmax)
    DIAG = "diag"  # vector to diagonal matrix, or square matrix to its diagonal
    TRANSPOSE = "transpose"  # m×n to n×m
    BINARY = "binary"  # the infix operators, typed one by one


@dataclass(frozen=True)
class Op:
    """One operator or function of the language."""

    name: str  # its name in the AST
    arity: int
    shape: ShapeClass
    words: tuple[str, ...] = ()  # the words text may call it by
    commands: tuple[str, ...] = ()  # LaTeX commands that name it (\tanh)
    unicode: str = ""
    latex: str = ""
    ascii: str = ""
    domain: str = ""  # the assumption an argument symbol needs: positive, posdet, invertible
    # ---- an elementwise function, entirely here ----
    sympy: str = ""  # sympy's function of the same meaning, applied entrywise (sympy.tanh)
    means: str = ""  # else its definition in the rule language, over the argument `a`
    torch: str = ""  # torch's function, dotted (torch.nn.functional.softplus)
    derivative: str = ""  # f′(a) in the rule language: d f(a) = f′(a) ⊙ da
    # ---- any other op ----
    kernel: str = ""  # the name of its bespoke code in every backend

    @property
    def elementwise(self) -> bool:
        """A function applied entry by entry, computed from this row alone."""
        return bool(self.derivative)

    @property
    def scalar_valued(self) -> bool:
        """A function whose value is a scalar (sum, ‖x‖, tr, det…)."""
        return self.shape in (ShapeClass.REDUCE, ShapeClass.SQUARE)


def _infix(name: str) -> Op:
    return Op(name, 2, ShapeClass.BINARY, kernel=name)


def _fn(
    name: str,
    *words: str,
    shape: ShapeClass = ShapeClass.SAME,
    commands: tuple[str, ...] = (),
    uni: str = "",
    latex: str = "",
    domain: str = "",
    sympy: str = "",
    means: str = "",
    torch: str = "",
    derivative: str = "",
    kernel: str = "",
) -> Op:
    """A function called by name, f(x); an elementwise one gives `derivative`, else `kernel`."""
    return Op(
        name,
        1,
        shape,
        words or (name,),
        commands,
        uni or name,
        latex or rf"\operatorname{{{name}}}",
        name,
        domain,
        sympy,
        means,
        torch,
        derivative,
        kernel if derivative else kernel or name,
    )


# A row per op reads as a table; the formatter would spread each row over many lines.
# fmt: off
OPS: dict[str, Op] = {
    op.name: op
    for op in (
        # ----- infix and postfix operators (printed by lang/printer.py) -----
        _infix("add"),
        _infix("sub"),
        Op("neg", 1, ShapeClass.SAME, kernel="neg"),
        _infix("matmul"),
        _infix("mul"),
        _infix("scale"),  # scalar × array: built by the engine, never parsed
        _infix("div"),
        _infix("pow"),  # elementwise power, ASCII `**`
        _infix("sup"),  # math `^k`: power of a scalar, matrix power of a square matrix
        Op("matpow", 2, ShapeClass.BINARY, ("matpow",), kernel="matpow"),
        Op("T", 1, ShapeClass.TRANSPOSE, kernel="T"),
        Op("inv", 1, ShapeClass.SQUARE_SAME, ("inv",), domain="invertible", kernel="inv"),
        Op("norm", 1, ShapeClass.REDUCE, ("norm",), domain="nonzero", kernel="norm"),
        Op("fro", 1, ShapeClass.REDUCE, ("fro",), domain="nonzero", kernel="norm"),
        # ----- elementwise functions -----
        _fn("exp", commands=("exp",), latex=r"\exp", sympy="exp", torch="torch.exp",
            derivative="exp(a)"),
        _fn("log", commands=("log", "ln"), latex=r"\log", domain="positive", sympy="log",
            torch="torch.log", derivative="1 / a"),
        _fn("sqrt", commands=("sqrt",), uni="√", latex=r"\sqrt", domain="positive",
            sympy="sqrt", torch="torch.sqrt", derivative="1 / (2 sqrt(a))"),
        _fn("sin", commands=("sin",), latex=r"\sin", sympy="sin", torch="torch.sin",
            derivative="cos(a)"),
        _fn("cos", commands=("cos",), latex=r"\cos", sympy="cos", torch="torch.cos",
            derivative="-sin(a)"),
        _fn("tan", commands=("tan",), latex=r"\tan", sympy="tan", torch="torch.tan",
            derivative="1 + tan(a) ** 2"),
        _fn("atan", "atan", "arctan", commands=("arctan",), latex=r"\arctan", sympy="atan",
            torch="torch.atan", derivative="1 / (1 + a ** 2)"),
        _fn("sinh", commands=("sinh",), latex=r"\sinh", sympy="sinh", torch="torch.sinh",
            derivative="cosh(a)"),
        _fn("cosh", commands=("cosh",), latex=r"\cosh", sympy="cosh", torch="torch.cosh",
            derivative="sinh(a)"),
        _fn("tanh", commands=("tanh",), latex=r"\tanh", sympy="tanh", torch="torch.tanh",
            derivative="1 - tanh(a) ** 2"),
        _fn("sigmoid", "sigmoid", "σ", uni="σ", latex=r"\sigma", means="1 / (1 + exp(-a))",
            torch="torch.sigmoid", derivative="sigmoid(a) ⊙ (1 - sigmoid(a))"),
        _fn("softplus", means="log(1 + exp(a))", torch="torch.nn.functional.softplus",
            derivative="sigmoid(a)"),
        _fn("logsigmoid", means="-log(1 + exp(-a))", torch="torch.nn.functional.logsigmoid",
            derivative="sigmoid(-a)"),
        # relu′ is the step function; away from 0, where relu is differentiable, it is relu(a)/a
        _fn("relu", domain="nonzero", means="(a + abs(a)) / 2", torch="torch.relu",
            derivative="relu(a) / a"),
        _fn("log1p", domain="positive", means="log(1 + a)", torch="torch.log1p",
            derivative="1 / (1 + a)"),
        _fn("expm1", means="exp(a) - 1", torch="torch.expm1", derivative="exp(a)"),
        _fn("erf", commands=("erf",), sympy="erf", torch="torch.erf",
            derivative="2 / sqrt(π) exp(-(a ** 2))"),
        _fn("abs", domain="nonzero", sympy="Abs", torch="torch.abs", derivative="a / abs(a)"),
        _fn("detach", "detach", "sg", uni="sg"),  # a stop-gradient: its own code everywhere
        # ----- reductions and vector maps -----
        _fn("sum", shape=ShapeClass.REDUCE, commands=("sum",), latex=r"\sum"),
        _fn("logsumexp", shape=ShapeClass.REDUCE),
        _fn("softmax", shape=ShapeClass.VECTOR_SAME),
        _fn("diag", shape=ShapeClass.DIAG),
        _fn("tr", "tr", "trace", "Tr", shape=ShapeClass.SQUARE, commands=("tr", "Tr"),
            latex=r"\operatorname{tr}"),
        _fn("det", shape=ShapeClass.SQUARE, commands=("det",), latex=r"\det"),
        _fn("logdet", shape=ShapeClass.SQUARE, uni="log det", latex=r"\log\det",
            domain="posdet"),
    )
}
# fmt: on

# Function words that text may spell, mapped to the op they name.
FUNCTION_WORDS: dict[str, str] = {word: op.name for op in OPS.values() for word in op.words}

# LaTeX commands that name a function (\tanh, \ln).
FUNCTION_COMMANDS: dict[str, str] = {
    command: op.name for op in OPS.values() for command in op.commands
}

# Constants: `I`, `eye(n)`, `ones`, `ones(n)`, `zeros(m, n)`, and the number `π` (`pi`).
PI = "π"  # the one named number: exact in sympy, float64 in torch (unless declared a symbol)
CONSTANT_WORDS: dict[str, str] = {"eye": "I", "ones": "ones", "zeros": "zeros", "pi": PI, PI: PI}


def op(name: str) -> Op:
    """The table row of `name`."""
    return OPS[name]


def kernels() -> set[str]:
    """The bespoke kernels every backend must register."""
    return {row.kernel for row in OPS.values() if row.kernel}
