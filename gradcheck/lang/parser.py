"""A recursive-descent parser from tokens to the AST, for expressions and one-line claims."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from fractions import Fraction

from ..errors import RuleError
from ..limits import MAX_DIMENSION, MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_NODES, MAX_POWER
from ..model import Kind
from ..ops import OPS, PI
from .ast import Call, Const, Dir, Node, Num, Sym, symbols_in
from .lexer import Token, tokenize
from .printer import number_text

ATOM_OPS = {"(", "{", "‖", "|", "frac", "√", "∑"}
PRODUCT_OPS = {"*": "mul", "⊙": "mul", "@": "matmul", "·": "matmul", "/": "div"}


@dataclass(frozen=True)
class ParsedClaim:
    """A one-line claim: `kind` is GRADIENT (gradient or Jacobian), HESSIAN or DIFFERENTIAL."""

    kind: Kind
    f: Node
    wrt: str | None
    rhs: Node
    wrt_pos: int = 0


class Parser:
    """Parses one token list; `directions` are the symbols whose `dX` may appear."""

    def __init__(
        self, tokens: list[Token], declared: Collection[str], directions: Collection[str] = ()
    ) -> None:
        self.tokens = tokens
        self.i = 0
        self.declared = set(declared)
        self.directions: set[str] = set(directions)
        self.closers: list[str] = []
        self.depth = 0  # open nestings: bounded so that no input exhausts the stack

    def descend(self, pos: int) -> None:
        """Enter one more nesting (a bracket, a function, a sign); refused past the limit."""
        self.depth += 1
        if self.depth > MAX_EXPRESSION_DEPTH:
            raise RuleError(_too_deep(), pos, _SPLIT_HINT)

    # ----- token helpers -----
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def at(self, value: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == "OP" and tok.value == value

    def take(self) -> Token:
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, value: str, hint: str = "") -> Token:
        if not self.at(value):
            tok = self.peek()
            found = "the end" if tok.kind == "END" else repr(tok.value)
            raise RuleError(f"expected {value!r} but found {found}", tok.pos, hint)
        return self.take()

    def expect_end(self) -> None:
        tok = self.peek()
        if tok.kind != "END":
            raise RuleError(
                f"unexpected {tok.value!r}", tok.pos, "an operator may be missing before it"
            )

    # ----- expressions, loosest first -----
    def expression(self) -> Node:
        left = self.term()
        while self.at("+") or self.at("-"):
            tok = self.take()
            right = self.term()
            left = Call("add" if tok.value == "+" else "sub", (left, right), pos=tok.pos)
        return left

    def term(self) -> Node:
        left = self.unary()
        while True:
            tok = self.peek()
            if tok.kind == "OP" and tok.value in PRODUCT_OPS:
                self.take()
                left = self.product(PRODUCT_OPS[tok.value], left, self.unary(), tok.pos)
            elif self.starts_atom(tok):
                left = self.product("matmul", left, self.power(), tok.pos)
            else:
                return left

    @staticmethod
    def product(op: str, left: Node, right: Node, pos: int) -> Node:
        # A number in front scales whatever follows, however the product is spelled.
        if op == "matmul" and isinstance(left, Num):
            op = "mul"
        return Call(op, (left, right), pos=pos)

    def unary(self) -> Node:
        if self.at("-"):
            tok = self.take()
            self.descend(tok.pos)
            # −ab is −(ab): the minus takes the whole product, as in written maths
            node: Node = Call("neg", (self.term(),), pos=tok.pos)
            self.depth -= 1
            return node
        while self.at("+"):
            self.take()
        return self.unary() if self.at("-") else self.power()

    def exponent(self) -> Node:
        """A power's exponent: a signed power (`x ** -2 y` is `(x ** -2) y`, as in Python)."""
        while self.at("+"):
            self.take()
        if self.at("-"):
            tok = self.take()
            self.descend(tok.pos)
            node: Node = Call("neg", (self.exponent(),), pos=tok.pos)
            self.depth -= 1
            return node
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        if self.at("**"):
            tok = self.take()
            exponent = self.exponent()
            if (
                isinstance(exponent, Call)
                and exponent.op == "neg"
                and isinstance(exponent.args[0], Num)
            ):  # x ** -2: the number −2
                exponent = Num(-exponent.args[0].value, pos=exponent.pos)
            return Call("pow", (base, exponent), pos=tok.pos)
        return base

    def postfix(self) -> Node:
        node = self.atom()
        while True:
            tok = self.peek()
            if tok.kind != "OP":
                return node
            if tok.value in ("ᵀ", "⊤"):
                node = Call("T", (node,), pos=self.take().pos)
            elif tok.value == "⁻¹":
                node = Call("inv", (node,), pos=self.take().pos)
            elif tok.value == "⁻ᵀ":
                node = Call("T", (Call("inv", (node,), pos=tok.pos),), pos=self.take().pos)
            elif tok.value == "sup":
                assert tok.number is not None
                node = Call("sup", (node, Num(tok.number, pos=tok.pos)), pos=self.take().pos)
            elif tok.value == "^":
                self.take()
                node = self.superscript(node, tok.pos)
            elif tok.value == "_" and not self.closers:
                raise RuleError(
                    "subscripts are not part of the language here",
                    tok.pos,
                    "declare an indexed name under symbols, e.g. b_2: vector(n)",
                )
            else:
                return node

    def superscript(self, node: Node, pos: int) -> Node:
        braced = self.at("{")
        if braced:
            self.take()
        tok = self.take()
        if (tok.kind == "NAME" and tok.value == "T") or (tok.kind == "OP" and tok.value in "ᵀ⊤"):
            result: Node = Call("T", (node,), pos=pos)
        elif tok.kind == "NUM" and tok.number is not None and tok.number.denominator == 1:
            result = Call("sup", (node, Num(tok.number, pos=tok.pos)), pos=pos)
        elif tok.kind == "OP" and tok.value == "-" and self.peek().kind in ("NUM", "NAME", "OP"):
            nxt = self.take()
            if nxt.kind == "NUM" and nxt.number == 1:
                result = Call("inv", (node,), pos=pos)
            elif nxt.value in ("T", "⊤", "ᵀ"):
                result = Call("T", (Call("inv", (node,), pos=pos),), pos=pos)
            else:
                raise RuleError("unsupported exponent", nxt.pos, "write ^{-1} or ^{-T}")
        else:
            raise RuleError(
                "unsupported superscript", tok.pos, "write ^T, ^\\top, ^{-1}, ^{-T} or ^2"
            )
        if braced:
            self.expect("}", "close the superscript with }")
        return result

    def starts_atom(self, tok: Token) -> bool:
        if tok.kind in ("NUM", "NAME", "FUNC", "CONST"):
            return True
        if tok.kind != "OP":
            return False
        if tok.value in ("‖", "|"):
            return tok.value not in self.closers
        return tok.value in ATOM_OPS or (tok.value == "∂" and bool(self.directions))

    def atom(self) -> Node:
        self.descend(self.peek().pos)
        node = self.atom_inside()
        self.depth -= 1
        return node

    def atom_inside(self) -> Node:
        tok = self.peek()
        if tok.kind == "NUM":
            self.take()
            assert tok.number is not None
            return Num(tok.number, pos=tok.pos)
        if tok.kind == "NAME":
            return self.name()
        if tok.kind == "FUNC":
            return self.function()
        if tok.kind == "CONST":
            return self.constant()
        if tok.kind == "OP":
            return self.operator_atom(tok)
        raise RuleError("the expression ends too early", tok.pos, "complete the expression")

    def name(self) -> Node:
        tok = self.take()
        nxt = self.peek()
        if (
            tok.value == "d"
            and "d" not in self.declared
            and nxt.kind == "NAME"
            and nxt.value in self.directions
            and nxt.pos == tok.pos + 1
        ):
            self.take()
            return Dir(nxt.value, pos=tok.pos)
        if tok.value == "I" and "I" not in self.declared:
            return Const("I", pos=tok.pos)
        return Sym(tok.value, pos=tok.pos)

    def operator_atom(self, tok: Token) -> Node:
        value = tok.value
        if value in ("(", "{"):
            self.take()
            self.closers.append("")
            inner = self.expression()
            self.closers.pop()
            self.expect(")" if value == "(" else "}", "close the parenthesis")
            return inner
        if value in ("‖", "|"):
            return self.delimited(value)
        if value == "frac":
            self.take()
            num, den = self.atom(), self.atom()
            return Call("div", (num, den), pos=tok.pos)
        if value in ("√", "∑"):
            self.take()
            return Call("sqrt" if value == "√" else "sum", (self.power(),), pos=tok.pos)
        if value == "∂" and self.peek(1).kind == "NAME" and self.peek(1).value in self.directions:
            self.take()
            return Dir(self.take().value, pos=tok.pos)
        found = "the end" if tok.kind == "END" else repr(value)
        raise RuleError(
            f"expected an expression but found {found}", tok.pos, "an operand may be missing"
        )

    def delimited(self, bar: str) -> Node:
        """`‖x‖`, `‖x‖_2`, `‖X‖_F` and `|x|`."""
        start = self.take()
        self.closers.append(bar)
        inner = self.expression()
        self.closers.pop()
        self.expect(bar, f"close with {bar}")
        if bar == "|":
            return Call("abs", (inner,), pos=start.pos)
        op = "norm"
        if self.at("_"):
            self.take()
            braced = self.at("{")
            if braced:
                self.take()
            sub = self.take()
            if sub.value == "F":
                op = "fro"
            elif sub.value != "2":
                raise RuleError(
                    f"unsupported norm ‖·‖_{sub.value}",
                    sub.pos,
                    "write ‖x‖ or ‖x‖_2 for the Euclidean norm, ‖X‖_F for Frobenius",
                )
            if braced:
                self.expect("}")
        return Call(op, (inner,), pos=start.pos)

    def function(self) -> Node:
        tok = self.take()
        name, arity = tok.value, OPS[tok.value].arity
        if name == "sqrt" and self.at("{"):  # LaTeX \sqrt{...}
            return Call(name, (self.atom(),), pos=tok.pos)
        if not self.at("("):
            return Call(name, (self.power(),), pos=tok.pos)
        args = self.arguments()
        if len(args) != arity:
            raise RuleError(f"{name} takes {arity} argument(s), got {len(args)}", tok.pos)
        if name == "matpow" and not isinstance(args[1], Num):
            raise RuleError("matpow's power must be a whole number", args[1].pos, "matpow(A, 2)")
        return Call(name, tuple(args), pos=tok.pos)

    def arguments(self) -> list[Node]:
        self.expect("(")
        self.closers.append("")
        args = [self.expression()]
        while self.at(","):
            self.take()
            args.append(self.expression())
        self.closers.pop()
        self.expect(")", "close the argument list")
        return args

    def constant(self) -> Node:
        tok = self.take()
        if tok.value == PI or not self.at("("):  # π (a + b) is a product, not a size
            return Const(tok.value, pos=tok.pos)
        dims: list[str | int] = []
        for arg in self.arguments():
            if isinstance(arg, Num) and arg.value.denominator == 1 and arg.value > 0:
                if arg.value > MAX_DIMENSION:
                    raise RuleError(
                        f"a size written as a number is at most {MAX_DIMENSION}",
                        arg.pos,
                        "name the size instead (eye(n)): the checks choose small sizes for it",
                    )
                dims.append(int(arg.value))
            elif isinstance(arg, Sym):
                dims.append(arg.name)
            else:
                raise RuleError(
                    "a size must be a name or a positive whole number",
                    arg.pos,
                    "e.g. eye(n), ones(n), zeros(m, n)",
                )
        wanted = {"I": 1, "ones": 1, "zeros": 2}[tok.value]
        if len(dims) not in (wanted, 2):
            raise RuleError(f"{tok.value} takes 1 or 2 sizes", tok.pos)
        return Const(tok.value, tuple(dims), pos=tok.pos)


def parse_expression(
    text: str, declared: Collection[str] = (), directions: Collection[str] = ()
) -> Node:
    """The AST of one expression; `directions` are symbols whose `dX` may appear."""
    parser = Parser(tokenize(text, declared), declared, directions)
    node = parser.expression()
    parser.expect_end()
    return bounded(node)


def parse_claim(text: str, declared: Collection[str] = ()) -> ParsedClaim:
    """A one-line claim: `∇_x f = g`, `∂f/∂x = g`, `\\frac{∂f}{∂x} = g`, `∇²_x f`, `d(f) = g`."""
    claim = _claim(Parser(tokenize(text, declared), declared))
    bounded(claim.f)
    bounded(claim.rhs)
    return claim


_SPLIT_HINT = "split the rule into smaller ones"


def _too_deep() -> str:
    return (
        f"the expression nests more than {MAX_EXPRESSION_DEPTH} levels deep (brackets, functions, "
        "ᵀ and ⁻¹, and each term of a sum or factor of a product count as a level)"
    )


def bounded(node: Node) -> Node:
    """`node`, once it is known to be within the limits every later stage relies on: depth
    (the stages recurse), size (they are linear or worse in it) and integer powers (sympy
    would expand A¹⁰⁰⁰⁰⁰⁰⁰⁰⁰). Iterative, so it cannot itself exhaust the stack."""
    count = 0
    stack: list[tuple[Node, int]] = [(node, 1)]
    while stack:
        sub, depth = stack.pop()
        count += 1
        if count > MAX_EXPRESSION_NODES:
            raise RuleError(
                f"the expression has more than {MAX_EXPRESSION_NODES} operators and operands",
                sub.pos,
                _SPLIT_HINT,
            )
        if depth > MAX_EXPRESSION_DEPTH:
            raise RuleError(_too_deep(), sub.pos, _SPLIT_HINT)
        if isinstance(sub, Call):
            power = sub.args[-1]
            powers = sub.op in ("pow", "sup", "matpow")
            if powers and isinstance(power, Num) and abs(power.value) > MAX_POWER:
                raise RuleError(
                    f"the power {number_text(power.value)} is beyond ±{MAX_POWER}",
                    power.pos,
                    f"powers of at most {MAX_POWER} in absolute value are checked",
                )
            stack.extend((child, depth + 1) for child in sub.args)
    return node


def _claim(parser: Parser) -> ParsedClaim:
    tok = parser.peek()
    if tok.kind == "OP" and tok.value == "∇":
        return _nabla(parser)
    if tok.kind == "OP" and tok.value == "frac":
        return _fraction(parser)
    if (tok.kind == "OP" and tok.value == "∂") or (
        tok.kind == "NAME" and tok.value == "d" and parser.at("(", 1)
    ):
        return _partial_or_differential(parser)
    raise RuleError(
        "a claim starts with ∇_x, ∂(f)/∂x, \\frac{\\partial f}{\\partial x}, ∇²_x or d(f)",
        tok.pos,
        "e.g. ∇_x (xᵀAx) = (A + Aᵀ)x",
    )


def _rhs(parser: Parser, kind: Kind, f: Node, wrt: str | None, wrt_pos: int) -> ParsedClaim:
    parser.expect("=", "a claim is written  derivative = formula")
    rhs = parser.expression()
    parser.expect_end()
    return ParsedClaim(kind, f, wrt, rhs, wrt_pos)


def _is_two(parser: Parser) -> bool:
    """Consumes a `²`, `^2` or `^{2}` if one comes next."""
    tok = parser.peek()
    if tok.kind == "OP" and tok.value == "sup" and tok.number == 2:
        parser.take()
        return True
    if parser.at("^") and parser.peek(1).kind == "NUM" and parser.peek(1).number == 2:
        parser.i += 2
        return True
    if parser.at("^") and parser.at("{", 1) and parser.peek(2).number == 2 and parser.at("}", 3):
        parser.i += 4
        return True
    return False


def _wrt_name(parser: Parser) -> Token:
    braced = parser.at("{")
    if braced:
        parser.take()
    tok = parser.take()
    if tok.kind != "NAME":
        raise RuleError("expected the name of the variable", tok.pos, "e.g. ∇_x or ∂/∂X")
    if braced:
        parser.expect("}")
    return tok


def _nabla(parser: Parser) -> ParsedClaim:
    parser.take()
    hessian = _is_two(parser)
    wrt: Token | None = None
    if parser.at("_"):
        parser.take()
        wrt = _wrt_name(parser)
        hessian = _is_two(parser) or hessian
    f = parser.expression()
    kind = Kind.HESSIAN if hessian else Kind.GRADIENT
    return _rhs(parser, kind, f, wrt.value if wrt else None, wrt.pos if wrt else 0)


def _fraction(parser: Parser) -> ParsedClaim:
    parser.take()
    parser.expect("{", "write \\frac{\\partial f}{\\partial x}")
    parser.expect("∂", "write \\frac{\\partial f}{\\partial x}")
    hessian = _is_two(parser)
    parser.closers.append("")
    f = parser.expression()
    parser.closers.pop()
    parser.expect("}")
    parser.expect("{")
    parser.expect("∂")
    wrt = _wrt_name(parser)
    if hessian and not _is_two(parser):
        parser.expect("∂", "write \\partial x \\partial x^\\top or \\partial x^2")
        _wrt_name(parser)
        if parser.at("^") or parser.at("ᵀ"):
            parser.superscript(Sym(wrt.value), wrt.pos) if parser.at(
                "^"
            ) and parser.take() else parser.take()
    parser.expect("}")
    kind = Kind.HESSIAN if hessian else Kind.GRADIENT
    return _rhs(parser, kind, f, wrt.value, wrt.pos)


def _partial_or_differential(parser: Parser) -> ParsedClaim:
    parser.take()
    f = parser.power()
    if parser.at("/"):
        parser.take()
        parser.expect("∂", "write ∂(f)/∂x")
        wrt = _wrt_name(parser)
        return _rhs(parser, Kind.GRADIENT, f, wrt.value, wrt.pos)
    parser.directions = set(symbols_in(f))
    return _rhs(parser, Kind.DIFFERENTIAL, f, None, 0)


def number(value: Fraction | int) -> Num:
    """A number node (for code that builds expressions)."""
    return Num(Fraction(value))
