"""A recursive-descent parser from tokens to the AST, for expressions and one-line claims."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

from ..errors import RuleError
from ..limits import MAX_DIMENSION, MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_NODES, MAX_POWER
from ..model import Kind, Layout
from ..ops import OPS, PI
from .ast import Call, Const, Dir, Node, Num, Spelling, Sym, symbols_in
from .lexer import DIFFERENTIAL_D, Token, tokenize
from .printer import number_text

_T = TypeVar("_T")

ATOM_OPS = {"(", "{", "‖", "|", "frac", "√", "∑", "⟨", "dot"}
PRODUCT_OPS = {"*": "mul", "⊙": "mul", "@": "matmul", "·": "matmul", "×": "matmul", "/": "div"}
SIGMA = "σ"  # the sigmoid when applied, σ(…); a variable when it is differentiated by


@dataclass(frozen=True)
class Entry(Node):
    """`x_i` inside a sum over i: read away by `IndexSum` before the parser returns."""

    name: str


@dataclass(frozen=True)
class RowEntry(Node):
    """xᵢ as a factor of a sum's term, where another xᵢ of the sum is a row of X (a column
    with `columns`): Σᵢ cᵢ xᵢ is then Xᵀc."""

    name: str


@dataclass(frozen=True)
class Summed(Node):
    """A sum over i already taken: Σᵢ cᵢ xᵢ read as Xᵀc, a vector."""

    node: Node


@dataclass(frozen=True)
class ParsedClaim:
    """A one-line claim: `kind` is GRADIENT (gradient or Jacobian), HESSIAN or DIFFERENTIAL."""

    kind: Kind
    f: Node
    wrt: str | None
    rhs: Node
    wrt_pos: int = 0
    leibniz: bool = False  # written as a quotient (∂f/∂x, \frac{dy}{dw}): f must be a formula
    # the claim with the xᵢ of an index sum read as the columns of X, where the first reading
    # took them as its rows: typing keeps the one reading whose shapes agree
    columns: ParsedClaim | None = None
    layout: Layout | None = None  # D(f), the Jacobian whatever the rule's layout


class Parser:
    """Parses one token list; `directions` are the symbols whose `dX` may appear."""

    def __init__(
        self,
        tokens: list[Token],
        declared: Collection[str],
        directions: Collection[str] = (),
        variables: Collection[str] = (),
    ) -> None:
        self.tokens = tokens
        self.i = 0
        self.declared = set(declared)
        self.directions: set[str] = set(directions)
        # names that are variables whatever else they spell: σ differentiated by, or assumed
        self.variables: set[str] = set(variables) | self.declared
        self.indices: list[str] = []  # of the sums over an index being read
        self.columns = False  # xᵢ of a declared X: its columns (else its rows)
        self.rows_or_columns = False  # set when some xᵢ was read as a row of X
        self.entry_matrices: set[str] = set()  # the X of every xᵢ read as its row
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
                if tok.value == "·" and isinstance(left, Call) and left.op == "matmul":
                    left = Call("matmul", left.args, pos=left.pos, spelled=Spelling.DOT)
            elif tok.kind == "OP" and tok.value == "⊗":
                raise RuleError(
                    "⊗ is ambiguous: the Kronecker product in most texts, the Hadamard "
                    "(elementwise) product in some machine-learning texts",
                    tok.pos,
                    "write ⊙ (\\odot) for the elementwise product; the Kronecker product is "
                    "not supported",
                )
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
            elif tok.value == "_" and self.index_follows():
                node = self.entry(node)
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
            return not self.closes(tok)
        return tok.value in ATOM_OPS or (tok.value == "∂" and bool(self.directions))

    def index_follows(self) -> bool:
        """True when `_i` or `_{i}` comes next, i the index of a sum being read."""
        nxt = self.peek(2) if self.at("{", 1) else self.peek(1)
        return nxt.kind == "NAME" and nxt.value in self.indices

    def entry(self, node: Node) -> Node:
        """`y_i`, `x_i`: the subscript is the index of the sum around it."""
        tok = self.take()
        braced = self.at("{")
        if braced:
            self.take()
        self.take()
        if braced:
            self.expect("}")
        if not isinstance(node, Sym):
            raise RuleError("only a name can be indexed: y_i, x_i", tok.pos)
        return Entry(node.name, pos=node.pos)

    def index_sum(self) -> Node:
        """`\\sum_i body`, `\\sum_{i=1}^n body`: body is the product that follows."""
        start = self.take()
        self.take()  # _
        braced = self.at("{")
        if braced:
            self.take()
        index = self.take()
        if braced:
            while not (self.at("}") or self.peek().kind == "END"):  # `= 1`: the whole range
                self.take()
            self.expect("}")
        if self.at("^"):  # the upper bound: every i, whatever it is called
            self.take()
            if self.at("{"):
                while not (self.at("}") or self.peek().kind == "END"):
                    self.take()
            self.take()
        self.indices.append(index.value)
        body = self.term()
        self.indices.pop()
        reading = IndexSum(self.declared, self.columns)
        vector = reading.vector(body)
        if reading.rows & reading.plain:  # (yᵢ − wᵀxᵢ) xᵢ: every xᵢ of the sum is a row
            reading = IndexSum(self.declared, self.columns, rows=reading.rows)
            vector = reading.vector(body)
        self.rows_or_columns = self.rows_or_columns or reading.matrix_entries
        self.entry_matrices |= {name.upper() for name in reading.rows}
        if vector is None:
            raise RuleError(f"the sum over {index.value} has no term indexed by it", start.pos)
        if isinstance(vector, Summed):
            return vector.node
        if isinstance(vector, RowEntry):
            raise RuleError(
                f"Σ {vector.name}_{index.value} alone, of the rows of {vector.name.upper()}, "
                "is not read",
                start.pos,
                "write the sum with vectors and matrices",
            )
        return Call("sum", (vector,), pos=start.pos)

    def closes(self, tok: Token) -> bool:
        """True when the bar `tok` closes an open `‖…‖`, `|…|` or `||…||`."""
        if tok.value in self.closers:
            return True
        return tok.value == "|" and "||" in self.closers and self.double_bar()

    def double_bar(self) -> bool:
        """True when the next two tokens are `|` written together: `||` is ‖."""
        first, second = self.peek(), self.peek(1)
        return self.at("|") and self.at("|", 1) and second.pos == first.pos + 1

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
        d = tok.value == "d" and "d" not in self.declared
        if (
            d
            and nxt.kind == "NAME"
            and nxt.value in self.directions
            and (nxt.pos == tok.pos + 1 or tok.spelled == DIFFERENTIAL_D)
        ):
            self.take()
            return Dir(nxt.value, pos=tok.pos)
        if d and self.at("(") and self.peek(1).value in self.directions and self.at(")", 2):
            direction = self.peek(1).value  # d(X), \mathrm{d}(\mathbf{X}): dX
            self.i += 3
            return Dir(direction, pos=tok.pos)
        if tok.value == "I" and "I" not in self.declared:
            return Const("I", self.size_subscript(), pos=tok.pos)
        return Sym(tok.value, pos=tok.pos)

    def size_subscript(self) -> tuple[str | int, ...]:
        """The size in `I_n`, `\\mathbf{1}_n`, `I_{3}`; () when none is written."""
        if not self.at("_"):
            return ()
        return (self.subscript(_size_of, "close the size with }"),)

    def subscript(self, read: Callable[[Token], _T], hint: str = "") -> _T:
        """A subscript `_t` or `_{t}`, at its `_`: `read` of its one token, then the brace
        closed (so that a wrong token is named before a missing brace)."""
        self.take()
        braced = self.at("{")
        if braced:
            self.take()
        value = read(self.take())
        if braced:
            self.expect("}", hint)
        return value

    def operator_atom(self, tok: Token) -> Node:
        value = tok.value
        if value in ("(", "{"):
            self.take()
            self.closers.append("")
            inner = self.expression()
            self.closers.pop()
            self.expect(")" if value == "(" else "}", "close the parenthesis")
            return inner
        if value == "|" and self.double_bar():
            self.take()
            return self.delimited("||")
        if value in ("‖", "|"):
            return self.delimited(value)
        if value == "⟨":
            self.take()
            self.closers.append("")
            left = self.expression()
            self.expect(",", "write ⟨a, b⟩")
            right = self.expression()
            self.closers.pop()
            self.expect("⟩", "close with ⟩ (\\rangle)")
            return inner_product(left, right, tok.pos)
        if value == "dot":
            self.take()
            args = self.arguments()
            if len(args) != 2:
                raise RuleError(f"dot takes 2 arguments, got {len(args)}", tok.pos)
            return inner_product(args[0], args[1], tok.pos)
        if value == "frac":
            self.take()
            num, den = self.atom(), self.atom()
            if "d" not in self.declared and _d_times(num) and _d_times(den):
                # \frac{dx}{dx} inside a formula: a product d·x over d·x would be a silent
                # misreading (of a derivative that is 1 here)
                raise RuleError(
                    "\\frac{d…}{d…} inside a formula is a derivative, which is read only at "
                    "the start of a claim",
                    tok.pos,
                    "write its value (dx/dx is 1), or declare d as a symbol",
                )
            return Call("div", (num, den), pos=tok.pos)
        if value == "∑" and self.at("_", 1):
            return self.index_sum()
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
        """`‖x‖`, `‖x‖_2`, `‖X‖_F`, `||x||`, `|x|_2`, `|X|_F`, and `|x|` (typing reads |A| as
        det A)."""
        start = self.take()
        self.closers.append(bar)
        inner = self.expression()
        self.closers.pop()
        if bar == "||" and self.double_bar():
            self.take()
        self.expect(bar[0], f"close with {bar}")
        if bar == "|" and not self.at("_"):  # |x|_2, |X|_F: a norm, by its subscript
            return Call("abs", (inner,), pos=start.pos, spelled=Spelling.BARS)
        op = self.subscript(_norm_named) if self.at("_") else "norm"
        return Call(op, (inner,), pos=start.pos)

    def function(self) -> Node:
        if self.peek().value == "sum" and self.at("_", 1):
            return self.index_sum()
        tok = self.take()
        if tok.spelled == SIGMA:
            if SIGMA in self.variables or self.variance_follows():
                return Sym(SIGMA, pos=tok.pos)
            if not self.starts_atom(self.peek()):  # σ(z), σ z: applied, the sigmoid
                raise RuleError(
                    "σ here is ambiguous: the sigmoid function or a variable named σ",
                    tok.pos,
                    "write σ(…) with parentheses for the sigmoid; for a variable, "
                    "differentiate by it (∇_σ) or declare it (--symbol σ:scalar)",
                )
        power = self.function_power()
        node = self.applied(tok)
        return node if power is None else Call("pow", (node, power), pos=tok.pos)

    def variance_follows(self) -> bool:
        """After σ: a power with nothing applied to it (σ², `2\\sigma^2 +`), the variance: the
        sigmoid is only ever applied, σ²(z)."""
        ahead = 0
        if self.at("sup"):
            ahead = 1
        elif self.at("^") and self.peek(1).kind == "NUM":
            ahead = 2
        elif self.at("^") and self.at("(", 1) and self.peek(2).kind == "NUM" and self.at(")", 3):
            ahead = 4
        return ahead > 0 and not self.starts_atom(self.peek(ahead))

    def function_power(self) -> Num | None:
        """The k of `\\tanh^2(x)`, `sin² x`: the function's value to the power k."""
        tok = self.peek()
        if tok.kind == "OP" and tok.value == "sup":
            self.take()
            assert tok.number is not None
            return Num(tok.number, pos=tok.pos)
        if not self.at("^"):
            return None
        self.take()
        braced = self.at("{")
        if braced:
            self.take()
        k = self.take()
        if k.kind != "NUM" or k.number is None or k.number.denominator != 1 or k.number < 1:
            raise RuleError(
                "a power of a function must be a positive whole number (\\tanh^2 x)",
                k.pos,
                "write the inverse function by its name (\\arctan), or the power after "
                "the argument: (\\tanh x)^{-1}",
            )
        if braced:
            self.expect("}", "close the power with }")
        return Num(k.number, pos=k.pos)

    def applied(self, tok: Token) -> Node:
        """The function of `tok` applied to its argument(s)."""
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
        if tok.value == "ones" and self.at("_"):  # \mathbf{1}_n
            return Const("ones", self.size_subscript(), pos=tok.pos)
        if tok.value == PI or not self.at("("):  # π (a + b) is a product, not a size
            return Const(tok.value, pos=tok.pos)
        dims: list[str | int] = []
        for arg in self.arguments():
            if isinstance(arg, Num) and arg.value.denominator == 1 and arg.value > 0:
                dims.append(_dimension(arg))
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


class IndexSum:
    """Reads the body of Σᵢ as one vector over i: yᵢ is the vector y, wᵀxᵢ is Xw (xᵢ the rows
    of a declared X; X ᵀw with `columns`), and sums, products, quotients, powers and
    elementwise functions of such terms apply entry by entry. Anything else is refused: no
    reading is guessed."""

    def __init__(
        self, declared: Collection[str], columns: bool, rows: Collection[str] = ()
    ) -> None:
        self.declared = set(declared)
        self.columns = columns
        self.matrix_entries = False
        self.rows: set[str] = set(rows)  # xᵢ that are rows of X (in an inner product)
        self.plain: set[str] = set()  # yᵢ read as entries of a vector y

    def vector(self, node: Node) -> Node | None:
        """The vector of the body's values over i; None when the body has no index."""
        if isinstance(node, Entry):
            if self.matrix_of(node.name):
                raise RuleError(
                    f"{node.name}_i (a row or a column of {node.name.upper()}) is read only in "
                    f"an inner product such as wᵀ{node.name}_i",
                    node.pos,
                    f"write the sum with {node.name.upper()}: Σᵢ yᵢ wᵀxᵢ is yᵀXw",
                )
            if node.name in self.rows:
                return RowEntry(node.name, pos=node.pos)
            self.plain.add(node.name)
            return Sym(node.name, pos=node.pos)
        if not isinstance(node, Call):
            return None
        if node.op == "matmul" and (product := self.inner_with_entry(node)) is not None:
            return product
        parts = [self.vector(arg) for arg in node.args]
        if all(part is None for part in parts):
            return None
        return self.combine(node, parts)

    def matrix_of(self, name: str) -> bool:
        """xᵢ is a row or column of X when X is declared (and x is not)."""
        return name.upper() != name and name.upper() in self.declared and name not in self.declared

    def inner_with_entry(self, node: Call) -> Node | None:
        """wᵀxᵢ or xᵢᵀw: the i-th entry of Xw (of Xᵀw when the xᵢ are columns)."""
        left, right = node.args
        pairs = [(right, left), (_transposed(left), right)]
        for entry, other in pairs:
            # in an inner product an undeclared xᵢ can only be a row or column of X
            if (
                isinstance(entry, Entry)
                and entry.name.islower()
                and entry.name not in self.declared
            ):
                vector = _transposed(other) if other is left else other
                if vector is None or self.vector(vector) is not None:
                    continue
                self.matrix_entries = True
                self.rows.add(entry.name)
                matrix: Node = Sym(entry.name.upper(), pos=entry.pos)
                if self.columns:
                    matrix = Call("T", (matrix,), pos=entry.pos)
                return Call("matmul", (matrix, vector), pos=node.pos)
        return None

    def combine(self, node: Call, parts: list[Node | None]) -> Node:
        """The op of `node` applied entry by entry to the vectors of its indexed arguments."""
        op = node.op
        args = [
            part if part is not None else arg for part, arg in zip(parts, node.args, strict=True)
        ]
        if any(isinstance(part, (RowEntry, Summed)) for part in parts):
            return self.rows_combined(node, parts)
        if op == "T" or (op in ("sup", "pow") and parts[1] is None):
            return args[0] if op == "T" else Call("pow", tuple(args), pos=node.pos)
        if op in ("add", "sub", "div"):
            return Call(op, tuple(args), pos=node.pos)
        if op in ("mul", "matmul", "scale"):
            if None in parts:  # a constant times yᵢ: vector first, so a vector constant
                # (a sum with vector values) is a shape conflict rather than an inner product
                vector, constant = (args[0], args[1]) if parts[1] is None else (args[1], args[0])
                return Call("matmul", (vector, constant), pos=node.pos)
            return Call("mul", tuple(args), pos=node.pos)
        if len(args) == 1 and (OPS[op].elementwise or op == "neg"):
            return Call(op, tuple(args), pos=node.pos)
        raise RuleError(
            f"{op} of a term indexed by the sum is not read entry by entry",
            node.pos,
            "write the sum with vectors and matrices",
        )


    def rows_combined(self, node: Call, parts: list[Node | None]) -> Node:
        """cᵢ xᵢ, xᵢ a row of X: the sum Σᵢ cᵢ xᵢ = Xᵀc (Xc with `columns`). Nothing else is
        read of a row: an outer product xᵢxᵢᵀ, a sum of such terms."""
        if node.op in ("mul", "matmul", "scale") and len(parts) == 2:
            row, other = (parts[1], parts[0]) if isinstance(parts[1], RowEntry) else parts
            if isinstance(row, RowEntry) and other is not None and not isinstance(
                other, (RowEntry, Summed)
            ):
                matrix: Node = Sym(row.name.upper(), pos=row.pos)
                if not self.columns:
                    matrix = Call("T", (matrix,), pos=row.pos)
                return Summed(Call("matmul", (matrix, other), pos=node.pos), pos=node.pos)
        raise RuleError(
            f"{node.op} of a row of a matrix inside a sum is not read: only cᵢ xᵢ (Xᵀc) and "
            "inner products wᵀxᵢ (Xw)",
            node.pos,
            "write the sum with vectors and matrices",
        )


def _transposed(node: Node) -> Node | None:
    """a for aᵀ, else None."""
    return node.args[0] if isinstance(node, Call) and node.op == "T" else None


def _dimension(arg: Num) -> int:
    """A size written as a whole number, within the limit."""
    if arg.value < 1:
        raise RuleError("a size must be a positive whole number", arg.pos, "e.g. I_n, I_3")
    if arg.value > MAX_DIMENSION:
        raise RuleError(
            f"a size written as a number is at most {MAX_DIMENSION}",
            arg.pos,
            "name the size instead (eye(n)): the checks choose small sizes for it",
        )
    return int(arg.value)


def inner_product(left: Node, right: Node, pos: int) -> Node:
    """⟨a, b⟩ and dot(a, b): aᵀb, which typing makes tr(AᵀB) for matrices."""
    return Call("matmul", (Call("T", (left,), pos=pos), right), pos=pos, spelled=Spelling.INNER)


def _size_of(tok: Token) -> str | int:
    """The size a subscript gives I_n or 1_n: a name or a whole number."""
    if tok.kind == "NAME":
        return tok.value
    if tok.kind == "NUM" and tok.number is not None and tok.number.denominator == 1:
        return _dimension(Num(tok.number, pos=tok.pos))
    raise RuleError("the size of I_n or 1_n must be a name or a whole number", tok.pos)


def _norm_named(sub: Token) -> str:
    """The op of a norm by its subscript: ‖X‖_F, ‖x‖_2."""
    if sub.value == "F":
        return "fro"
    if sub.value != "2":
        raise RuleError(
            f"unsupported norm ‖·‖_{sub.value}",
            sub.pos,
            "write ‖x‖ or ‖x‖_2 for the Euclidean norm, ‖X‖_F for Frobenius",
        )
    return "norm"


def _d_times(node: Node) -> bool:
    """Whether `node` reads as d times something, as dx does where d is no declared symbol."""
    while isinstance(node, Call) and node.op in ("matmul", "mul", "scale") and node.args:
        node = node.args[0]
        if isinstance(node, Sym):
            return node.name == "d"
    return False


def parse_expression(
    text: str, declared: Collection[str] = (), directions: Collection[str] = ()
) -> Node:
    """The AST of one expression; `directions` are symbols whose `dX` may appear."""
    parser = Parser(tokenize(text, declared), declared, directions)
    node = parser.expression()
    parser.expect_end()
    return bounded(node)


def parse_claim(
    text: str, declared: Collection[str] = (), variables: Collection[str] = ()
) -> ParsedClaim:
    """A one-line claim: `∇_x f = g`, `∂f/∂x = g`, `\\frac{∂f}{∂x} = g`, `\\frac{d}{dx} f = g`,
    `∇²_x f`, `d(f) = g`. `variables` are names that are variables whatever else they spell
    (σ with an assumption, or given as the variable)."""
    tokens = tokenize(text, declared)
    variables = set(variables) | _sigma_varies(tokens)
    parser = Parser(tokens, declared, variables=variables)
    claim = _claim(parser)
    named = set(declared) | {tok.value for tok in tokens if tok.kind == "NAME"}
    # xᵢ of X: its rows, or its columns; typing decides. When X is neither written nor
    # declared, the two readings are one claim with X and Xᵀ swapped: the rows are taken.
    if parser.rows_or_columns and parser.entry_matrices & named:
        by_columns = Parser(tokens, declared, variables=variables)
        by_columns.columns = True
        claim = dataclasses.replace(claim, columns=_claim(by_columns))
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


def _sigma_varies(tokens: list[Token]) -> set[str]:
    """{σ} when the claim differentiates by σ (∇_σ, ∂/∂σ, d/dσ): then σ is a variable
    throughout, never the sigmoid."""
    for k, tok in enumerate(tokens):
        if tok.spelled != SIGMA or k == 0:
            continue
        mark = tokens[k - 1]
        if mark.kind == "OP" and mark.value == "{" and k >= 2:  # ∇_{σ}, \partial{\sigma}
            mark = tokens[k - 2]
        if mark.kind == "OP" and mark.value in ("_", "∂"):
            return {SIGMA}
        if mark.kind == "NAME" and mark.value == "d" and tok.pos == mark.pos + 1:  # dσ
            return {SIGMA}
    return set()


def _opens_f(parser: Parser) -> bool:
    """After a leading d: the f of a differential, `d(f)`, `d|X|`, `d\\log|X|`, `dX^{-1}`."""
    nxt = parser.peek(1)
    return nxt.kind in ("NAME", "FUNC", "CONST") or (
        nxt.kind == "OP" and nxt.value in ("(", "{", "|", "‖")
    )


def _claim(parser: Parser) -> ParsedClaim:
    tok = parser.peek()
    if tok.kind == "OP" and tok.value == "∇":
        return _nabla(parser)
    if tok.kind == "OP" and tok.value == "frac":
        return _fraction(parser)
    if (tok.kind == "OP" and tok.value == "∂") or (
        tok.kind == "NAME" and tok.value == "d" and "d" not in parser.declared and _opens_f(parser)
    ):
        return _partial_or_differential(parser)
    if tok.kind == "NAME" and tok.value == "D" and "D" not in parser.declared and parser.at("(", 1):
        parser.take()  # D(f): the derivative operator (the Jacobian), by f's variable as ∇ f
        claim = _rhs(parser, Kind.GRADIENT, parser.power(), None, 0)
        return dataclasses.replace(claim, layout=Layout.NUMERATOR)
    raise RuleError(
        "a claim starts with ∇_x, ∂(f)/∂x, \\frac{\\partial f}{\\partial x}, "
        "\\frac{d}{dx}, ∇²_x or d(f)",
        tok.pos,
        "e.g. ∇_x (xᵀAx) = (A + Aᵀ)x",
    )


def numerator_is_formula(claim: ParsedClaim) -> None:
    """The numerator of dy/dw must be a formula: a lone name other than the variable stands
    for a quantity defined elsewhere, and read as a symbol of its own its derivative is 0.
    (Checked when the rule is compiled: the parser reads `∂f/∂x = g` as written.)"""
    f, wrt = claim.f, claim.wrt
    if claim.leibniz and isinstance(f, Sym) and f.name != wrt:
        raise RuleError(
            f"d{f.name}/d{wrt}: {f.name} names a quantity defined elsewhere; read as a symbol "
            f"of its own, its derivative would be 0",
            f.pos,
            f"write the formula {f.name} stands for: \\frac{{\\partial}}{{\\partial {wrt}}}(…) = …",
        )


def _rhs(
    parser: Parser, kind: Kind, f: Node, wrt: str | None, wrt_pos: int, leibniz: bool = False
) -> ParsedClaim:
    parser.expect("=", "a claim is written  derivative = formula")
    rhs = parser.expression()
    parser.expect_end()
    return ParsedClaim(kind, f, wrt, rhs, wrt_pos, leibniz)


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
    if tok.spelled == SIGMA:  # ∇_σ: a variable named σ
        tok = Token("NAME", SIGMA, tok.pos)
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


def _mark(parser: Parser) -> None:
    """The ∂ or d of Leibniz's notation (`\\partial`, `d`, `\\mathrm{d}`, `\\mathop{d}`)."""
    tok = parser.peek()
    if parser.at("∂") or (tok.kind == "NAME" and tok.value == "d" and "d" not in parser.declared):
        parser.take()
        return
    raise RuleError(
        f"expected '∂' (or d) but found {'the end' if tok.kind == 'END' else repr(tok.value)}",
        tok.pos,
        "write \\frac{\\partial f}{\\partial x}, \\frac{\\partial}{\\partial x} f or "
        "\\frac{d}{dx} f",
    )


def _fraction(parser: Parser) -> ParsedClaim:
    parser.take()
    parser.expect("{", "write \\frac{\\partial f}{\\partial x}")
    _mark(parser)
    hessian = _is_two(parser)
    f: Node | None = None  # \frac{∂}{∂x} f: the operator form, f after the fraction
    if not parser.at("}"):
        parser.closers.append("")
        f = parser.expression()
        parser.closers.pop()
    parser.expect("}")
    parser.expect("{")
    _mark(parser)
    wrt = _wrt_name(parser)
    if wrt.value == SIGMA:
        parser.variables.add(SIGMA)
    if not hessian and _is_two(parser):  # \frac{∂}{∂σ^2}: by the square, a variable itself
        parser.expect("}")
        leibniz = f is not None
        f = parser.expression() if f is None else f
        return _by_square(_rhs(parser, Kind.GRADIENT, f, wrt.value, wrt.pos, leibniz))
    if hessian and not _is_two(parser):
        _mark(parser)
        _wrt_name(parser)
        if parser.at("^") or parser.at("ᵀ"):
            parser.superscript(Sym(wrt.value), wrt.pos) if parser.at(
                "^"
            ) and parser.take() else parser.take()
    parser.expect("}")
    leibniz = f is not None
    f = parser.expression() if f is None else f
    kind = Kind.HESSIAN if hessian else Kind.GRADIENT
    return _rhs(parser, kind, f, wrt.value, wrt.pos, leibniz)


def _by_square(claim: ParsedClaim) -> ParsedClaim:
    """A derivative by σ² (the variance): σ², σ⁴, … are powers of one variable named σ²; σ
    itself may not appear elsewhere, where it would be the square root of that variable."""
    assert claim.wrt is not None
    name, square = claim.wrt, f"{claim.wrt}²"

    def read(node: Node) -> Node:
        if isinstance(node, Call) and node.op in ("pow", "sup"):
            base, power = node.args
            even = isinstance(power, Num) and power.value % 2 == 0 and power.value != 0
            if isinstance(base, Sym) and base.name == name and isinstance(power, Num) and even:
                half = power.value / 2
                variable = Sym(square, pos=base.pos)
                return variable if half == 1 else dataclasses.replace(
                    node, args=(variable, Num(half, pos=power.pos))
                )
        if isinstance(node, Sym) and node.name == name:
            raise RuleError(
                f"{name} outside an even power, where the derivative is by {name}²",
                node.pos,
                f"write {name} only squared ({name}², {name}⁴) in a derivative by {name}²",
            )
        if isinstance(node, Call):
            return dataclasses.replace(node, args=tuple(read(arg) for arg in node.args))
        return node

    return dataclasses.replace(claim, f=read(claim.f), rhs=read(claim.rhs), wrt=square)


def _partial_or_differential(parser: Parser) -> ParsedClaim:
    parser.take()
    f = parser.power()
    if parser.at("/"):
        parser.take()
        parser.expect("∂", "write ∂(f)/∂x")
        wrt = _wrt_name(parser)
        return _rhs(parser, Kind.GRADIENT, f, wrt.value, wrt.pos, leibniz=True)
    parser.directions = set(symbols_in(f))
    return _rhs(parser, Kind.DIFFERENTIAL, f, None, 0)


def number(value: Fraction | int) -> Num:
    """A number node (for code that builds expressions)."""
    return Num(Fraction(value))
