"""The operator table: every operator and function of the language, declared once."""

from __future__ import annotations

from dataclasses import dataclass

# Shape classes, interpreted by lang/shapes.py:
#   same        unary, result has the argument's shape (elementwise functions)
#   reduce      any array to a scalar
#   square      square matrix to a scalar (tr, det, logdet)
#   square_same square matrix to a matrix of the same shape (inv)
#   vector_same column or row vector to the same shape (softmax)
#   diag        vector to diagonal matrix, or square matrix to its diagonal vector
#   binary      the infix operators, typed one by one in lang/shapes.py


@dataclass(frozen=True)
class Op:
    """One operator: its name in the AST, how text spells it, its shape class and domain."""

    name: str
    arity: int
    shape: str
    words: tuple[str, ...] = ()
    unicode: str = ""
    latex: str = ""
    ascii: str = ""
    domain: str = ""  # the assumption an argument symbol needs: positive, posdet, invertible


def _fn(name: str, shape: str, *words: str, uni: str = "", latex: str = "", domain: str = "") -> Op:
    return Op(
        name,
        1,
        shape,
        words or (name,),
        uni or name,
        latex or rf"\operatorname{{{name}}}",
        name,
        domain,
    )


OPS: dict[str, Op] = {
    op.name: op
    for op in (
        # ----- infix and postfix operators (printed by lang/printer.py) -----
        Op("add", 2, "binary"),
        Op("sub", 2, "binary"),
        Op("neg", 1, "same"),
        Op("matmul", 2, "binary"),
        Op("mul", 2, "binary"),
        Op("scale", 2, "binary"),  # scalar × array: built by the engine, never parsed
        Op("div", 2, "binary"),
        Op("pow", 2, "binary"),  # elementwise power, ASCII `**`
        Op("sup", 2, "binary"),  # math `^k`: power of a scalar, matrix power of a square matrix
        Op("matpow", 2, "binary", ("matpow",)),
        Op("T", 1, "transpose"),
        Op("inv", 1, "square_same", ("inv",), domain="invertible"),
        Op("norm", 1, "reduce", ("norm",), domain="nonzero"),
        Op("fro", 1, "reduce", ("fro",), domain="nonzero"),
        # ----- elementwise functions -----
        _fn("exp", "same", latex=r"\exp"),
        _fn("log", "same", latex=r"\log", domain="positive"),
        _fn("sqrt", "same", uni="√", latex=r"\sqrt", domain="positive"),
        _fn("sin", "same", latex=r"\sin"),
        _fn("cos", "same", latex=r"\cos"),
        _fn("tan", "same", latex=r"\tan"),
        _fn("tanh", "same", latex=r"\tanh"),
        _fn("sigmoid", "same", "sigmoid", "σ", uni="σ", latex=r"\sigma"),
        _fn("softplus", "same"),
        _fn("abs", "same", domain="nonzero"),
        _fn("detach", "same", "detach", "sg", uni="sg"),
        # ----- reductions and vector maps -----
        _fn("sum", "reduce", latex=r"\sum"),
        _fn("logsumexp", "reduce"),
        _fn("softmax", "vector_same"),
        _fn("diag", "diag"),
        _fn("tr", "square", "tr", "trace", latex=r"\operatorname{tr}"),
        _fn("det", "square", latex=r"\det"),
        _fn("logdet", "square", uni="log det", latex=r"\log\det", domain="posdet"),
    )
}

# Function words that text may spell, mapped to the op they name.
FUNCTION_WORDS: dict[str, str] = {word: op.name for op in OPS.values() for word in op.words}

# Constants: `I`, `eye(n)`, `ones`, `ones(n)`, `zeros(m, n)`.
CONSTANT_WORDS: dict[str, str] = {"eye": "I", "ones": "ones", "zeros": "zeros"}


def op(name: str) -> Op:
    """The table row of `name`."""
    return OPS[name]
