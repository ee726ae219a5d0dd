"""The operator table's facets written in the rule language, read once: the derivative f′
of every elementwise function, and the definition of those sympy has no function for."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..ops import OPS
from .ast import Call, Node, Sym
from .lexer import tokenize
from .parser import Parser

ARGUMENT = "a"  # the name of a function's argument in its row's formulas


def _read(text: str) -> Node:
    # The table's own text, not a rule's: read with the grammar, not via parse_expression,
    # which reads (and counts) what users wrote.
    parser = Parser(tokenize(text, ()), (), ())
    node = parser.expression()
    parser.expect_end()
    return node


DERIVATIVES: Mapping[str, Node] = MappingProxyType(
    {row.name: _read(row.derivative) for row in OPS.values() if row.derivative}
)
DEFINITIONS: Mapping[str, Node] = MappingProxyType(
    {row.name: _read(row.means) for row in OPS.values() if row.means}
)


def applied(template: Node, argument: Node) -> Node:
    """`template` with its argument `a` replaced by `argument`."""
    if isinstance(template, Sym) and template.name == ARGUMENT:
        return argument
    if isinstance(template, Call):
        return Call(template.op, tuple(applied(a, argument) for a in template.args))
    return template


def derivative(op: str, argument: Node) -> Node:
    """f′(argument) of the elementwise function `op`."""
    return applied(DERIVATIVES[op], argument)


def definition(op: str, argument: Node) -> Node:
    """`op`(argument) spelled with other functions (σ(a) = 1 / (1 + exp(−a)))."""
    return applied(DEFINITIONS[op], argument)
