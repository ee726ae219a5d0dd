"""A built AST as the parser would read it back from its ASCII text, without the text.

The diagnosis and `gradcheck derive` check trees they build (a repaired claim, a derived
formula). They used to print them and parse the text again, so such a tree checks exactly as
the same claim typed in. `as_parsed` gives that tree directly: the parser writes a scalar
factor as `mul` (never `scale`), a negative number as `neg` of a positive one, a fraction
without a decimal form as a division, and refuses what it would refuse in the text.
"""

from __future__ import annotations

from .errors import RuleError
from .lang.ast import Call, Node, Num
from .lang.lexer import literal
from .lang.parser import bounded
from .lang.printer import number_text


def as_parsed(node: Node) -> Node:
    """`parse_expression(ascii_text(node))`, computed on the tree; raises RuleError where that
    text would be refused (a literal or a power beyond the limits, too deep, too large)."""
    return bounded(_read(node))


def _read(node: Node) -> Node:
    if isinstance(node, Num):
        return _number(node)
    if not isinstance(node, Call):
        return node  # symbols, directions and constants print and read back as themselves
    if node.op == "sup":
        return _superscript(node)
    args = tuple(_read(a) for a in node.args)
    op = node.op
    if op == "scale":
        op = "mul"  # printed `a * X`
    elif op == "matmul" and isinstance(args[0], Num):
        op = "mul"  # `2 @ X`: a number in front scales whatever follows
    elif op == "pow":
        exponent = args[1]
        if (
            isinstance(exponent, Call)
            and exponent.op == "neg"
            and isinstance(exponent.args[0], Num)
        ):
            args = (args[0], Num(-exponent.args[0].value, pos=exponent.pos))  # `x ** (-2)`
    elif op == "matpow" and not isinstance(args[1], Num):
        raise RuleError("matpow's power must be a whole number", args[1].pos, "matpow(A, 2)")
    return Call(op, args, pos=node.pos)


def _superscript(node: Call) -> Node:
    """`x^k`: a superscript reads back only as a whole number, and `x^-1` as the inverse."""
    base, exponent = _read(node.args[0]), node.args[1]
    if isinstance(exponent, Num) and exponent.value.denominator == 1:
        if exponent.value >= 0:
            return Call("sup", (base, _number(exponent)), pos=node.pos)
        if exponent.value == -1:
            return Call("inv", (base,), pos=node.pos)
        raise RuleError("unsupported exponent", exponent.pos, "write ^{-1} or ^{-T}")
    raise RuleError("unsupported superscript", exponent.pos, "write ^T, ^\\top, ^{-1}, ^{-T} or ^2")


def _number(node: Num) -> Node:
    """A number as its literal reads back: `-2` is −(2), `1/3` a division of two literals."""
    if node.value < 0:
        return Call("neg", (_number(Num(-node.value, pos=node.pos)),), pos=node.pos)
    text = number_text(node.value)
    if "/" in text:
        numerator, denominator = text.split("/")
        return Call(
            "div",
            (_literal(numerator, node.pos), _literal(denominator, node.pos)),
            pos=node.pos,
        )
    return _literal(text, node.pos)


def _literal(text: str, pos: int) -> Num:
    """The number a literal reads as, refused as the lexer refuses it (too many digits, an
    exponent too large, an integer too long to print)."""
    try:
        return Num(literal(text, pos), pos=pos)
    except ValueError:  # `123…e4567`: printed shortened, so it cannot be read back
        raise RuleError(f"the number {text[:20]} cannot be read back", pos) from None
