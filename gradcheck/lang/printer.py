"""Printers from the AST back to text: Unicode math (the table), ASCII and LaTeX."""

from __future__ import annotations

from fractions import Fraction

from ..errors import RuleError
from ..ops import OPS, PI, ShapeClass
from .ast import Call, Const, Dir, Node, Num, Spelling, Sym
from .lexer import is_name_char

SUM, NEGATION, PRODUCT, POWER, POSTFIX, ATOM = range(6)
LEVEL = {
    "add": SUM,
    "sub": SUM,
    "matmul": PRODUCT,
    "mul": PRODUCT,
    "scale": PRODUCT,
    "div": PRODUCT,
    "neg": NEGATION,
    "pow": POWER,
    "sup": POWER,
    "matpow": POWER,  # printed as a superscript, A²
    "T": POSTFIX,
    "inv": POSTFIX,
}
SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def level(node: Node) -> int:
    """How tightly a node binds when printed (higher binds tighter)."""
    if isinstance(node, Call):
        if node.op == "T" and isinstance(node.args[0], Call) and node.args[0].op == "inv":
            return POSTFIX
        return LEVEL.get(node.op, ATOM)
    if isinstance(node, Num) and node.value < 0:
        return NEGATION
    if isinstance(node, Num) and "/" in number_text(node.value):
        return PRODUCT  # 1/3 is a division: (1/3)y, not 1/3y, which reads as 1/(3y)
    return ATOM


def number_text(value: Fraction) -> str:
    """An exact number as a decimal where it has one, else as p/q; long runs of zeros as an
    exponent (1e300, not 301 digits), which reads back as the same exact number."""
    if value.denominator == 1:
        return _integer_text(value.numerator)
    if value.numerator.bit_length() < 64 and value.denominator.bit_length() < 64:
        as_float = float(value)
        if Fraction(repr(as_float)) == value:
            return repr(as_float)
    power = 0
    denominator = value.denominator
    while denominator % 10 == 0:
        denominator //= 10
        power += 1
    if denominator == 1 and power > 15:  # 3/10³⁰⁰ → 3e-300
        return f"{value.numerator}e-{power}"
    return f"{_integer_text(value.numerator)}/{_integer_text(value.denominator)}"


def _integer_text(value: int) -> str:
    """An integer; trailing zeros past 15 as an exponent; one too long to print in full
    (a power of a long literal) as its leading digits, marked with '…'."""
    mantissa, zeros = value, 0
    while mantissa and mantissa % 10**16 == 0:
        mantissa //= 10**16
        zeros += 16
    while mantissa and mantissa % 10 == 0:
        mantissa //= 10
        zeros += 1
    if mantissa.bit_length() > 3000:  # ~900 digits: str() would be slow, or refused at 4300
        digits = int(mantissa.bit_length() * 0.30103)
        lead = mantissa // 10 ** (digits - 15)
        return f"{lead}…e{zeros + digits - 15}"
    if zeros <= 15:
        return str(mantissa * 10**zeros)
    return f"{mantissa}e{zeros}"


class Printer:
    """Prints in one style: `unicode`, `ascii` or `latex`."""

    def __init__(self, style: str = "unicode") -> None:
        self.style = style

    def __call__(self, node: Node) -> str:
        return self.text(node)

    def wrap(self, node: Node, at_least: int) -> str:
        inner = self.text(node)
        if level(node) >= at_least:
            return inner
        return rf"\left({inner}\right)" if self.style == "latex" else f"({inner})"

    def text(self, node: Node) -> str:
        if isinstance(node, Sym):
            return self.name(node.name)
        if isinstance(node, Num):
            return number_text(node.value)
        if isinstance(node, Dir):
            return f"d{node.name}"
        if isinstance(node, Const):
            return self.constant(node)
        assert isinstance(node, Call)
        method = getattr(self, f"op_{node.op}", None)
        return method(node) if method else self.function(node)

    def name(self, name: str) -> str:
        """A symbol's name; W_old (read from W_{\\text{old}}) printed so that it reads back."""
        letter, label = name.split("_", 1) if "_" in name else (name, "")
        if len(letter) == 1 and len(label) >= 2 and label.isascii() and label.isalpha() and (
            self.style != "unicode"
        ):
            return rf"{letter}_{{\text{{{label}}}}}"
        return name

    def constant(self, node: Const) -> str:
        if node.name == PI:
            return {"unicode": PI, "ascii": "pi", "latex": r"\pi"}[self.style]
        if not node.dims:
            return (
                {"I": "I", "ones": "ones", "zeros": "zeros"}[node.name]
                if self.style != "latex"
                else {"I": "I", "ones": r"\mathbf{1}", "zeros": "0"}[node.name]
            )
        if self.style == "latex":
            base = {"I": "I", "ones": r"\mathbf{1}", "zeros": "0"}[node.name]
            return f"{base}_{{{','.join(str(d) for d in node.dims)}}}"
        name = {"I": "eye", "ones": "ones", "zeros": "zeros"}[node.name]
        return f"{name}({', '.join(str(d) for d in node.dims)})"

    def function(self, node: Call) -> str:
        op = OPS[node.op]
        name = {"unicode": op.unicode, "ascii": op.ascii, "latex": op.latex}[self.style]
        if node.op == "logdet" and self.style == "unicode":
            name = "logdet"
        args = ", ".join(self.text(a) for a in node.args)
        if self.style == "latex":
            return rf"{name}\left({args}\right)"
        return f"{name}({args})"

    # ----- infix -----
    def infix(self, node: Call, symbol: str, right_level: int) -> str:
        left, right = node.args
        this = LEVEL[node.op]
        return f"{self.wrap(left, this)}{symbol}{self.wrap(right, right_level)}"

    def op_add(self, node: Call) -> str:
        return self.infix(node, " + ", SUM + 1)

    def op_sub(self, node: Call) -> str:
        return self.infix(node, " − " if self.style == "unicode" else " - ", SUM + 1)

    def op_div(self, node: Call) -> str:
        if self.style == "latex":
            return rf"\frac{{{self.text(node.args[0])}}}{{{self.text(node.args[1])}}}"
        return self.infix(node, " / ", PRODUCT + 1)

    def op_mul(self, node: Call) -> str:
        left, right = node.args
        if isinstance(left, Num) and self.style != "ascii" and not isinstance(right, Num):
            right_text = self.wrap(right, PRODUCT + 1)
            sep = " " if self.style == "latex" else "·" if right_text[:1].isdigit() else ""
            return f"{self.wrap(left, ATOM)}{sep}{right_text}"
        symbol = {"unicode": " ⊙ ", "ascii": " * ", "latex": r" \odot "}[self.style]
        return self.infix(node, symbol, PRODUCT + 1)

    def op_matmul(self, node: Call) -> str:
        first = node.args[0]
        if node.spelled is Spelling.INNER and isinstance(first, Call):  # ⟨a, b⟩: first is aᵀ
            a, b = self.text(first.args[0]), self.text(node.args[1])
            return {"unicode": f"⟨{a}, {b}⟩", "ascii": f"dot({a}, {b})"}.get(
                self.style, rf"\langle {a}, {b} \rangle"
            )
        if node.spelled is Spelling.DOT and self.style != "ascii":
            return self.infix(node, " · " if self.style == "unicode" else r" \cdot ", PRODUCT + 1)
        if self.style == "ascii":
            return self.infix(node, " @ ", PRODUCT + 1)
        left = self.wrap(node.args[0], PRODUCT)
        if isinstance(node.args[0], Call) and node.args[0].op == "div":
            left = f"({left})"  # (1 / 2)xᵀPx, not 1 / 2xᵀPx
        right = self.wrap(node.args[1], PRODUCT + 1)
        if right[:1] in "‖|":  # ‖a(‖b‖)‖: a bar after a factor would read as a closing one
            right = f"({right})"
        if self.style == "latex":
            return f"{left} {right}"
        return left + (self.joiner(left, right, node.args[0], node.args[1])) + right

    @staticmethod
    def joiner(left: str, right: str, left_node: Node, right_node: Node) -> str:
        """Juxtapose without a space where the text still reads as the same two factors."""
        if right[:1].isdigit() or isinstance(right_node, Num):
            return "·"
        if left.endswith(")") and isinstance(left_node, Call) and left_node.op in FUNCTIONS:
            return " "  # det(X) X⁻ᵀ, not det(X)X⁻ᵀ
        if _edge(left_node, last=True) or _edge(right_node, last=False):
            return " "  # −X⁻¹ dX X⁻¹: a direction stands apart
        if is_name_char(left[-1:]) and is_name_char(right[:1]):
            return "" if reads_apart(left, right) else " "
        return ""

    def op_scale(self, node: Call) -> str:
        """A scalar times an array: (aᵀx) b, det(X)² X⁻ᵀ, 2Aᵀ(Ax − b)."""
        if self.style == "ascii":
            return self.infix(node, " * ", PRODUCT + 1)
        left_node, right_node = node.args
        left = self.wrap(left_node, POWER if not isinstance(left_node, Num) else ATOM)
        right = self.wrap(right_node, PRODUCT)
        if right[:1] in "‖|" and self.style == "unicode":
            right = f"({right})"
        if self.style == "latex":
            return f"{left} {right}"
        if isinstance(right_node, Num) or right[:1].isdigit():
            return f"{left}·{right}"
        ends_scalar = left.endswith(")") or left[-1:] in SUPERSCRIPT_CHARS
        if (ends_scalar and not right.startswith("(")) or _function_first(right_node):
            return f"{left} {right}"
        return left + self.joiner(left, right, left_node, right_node) + right

    def op_neg(self, node: Call) -> str:
        sign = "−" if self.style == "unicode" else "-"
        return sign + self.wrap(node.args[0], PRODUCT)

    # ----- powers and postfix -----
    def op_pow(self, node: Call) -> str:
        base, exponent = node.args
        if self.style == "latex":
            return rf"{{{self.wrap(base, ATOM)}}}^{{\circ {self.text(exponent)}}}"
        return f"{self.wrap(base, POSTFIX)} ** {self.wrap(exponent, POWER)}"

    def op_sup(self, node: Call) -> str:
        base, exponent = node.args
        k = self.text(exponent)
        if self.style == "unicode" and k.isdigit():
            return self.wrap(base, POSTFIX) + k.translate(SUPERSCRIPTS)
        if self.style == "ascii":
            return f"{self.wrap(base, POSTFIX)}^{k}"
        return f"{{{self.wrap(base, ATOM)}}}^{{{k}}}"

    def op_matpow(self, node: Call) -> str:
        if self.style == "ascii":
            return f"matpow({self.text(node.args[0])}, {self.text(node.args[1])})"
        return self.op_sup(node)

    def op_T(self, node: Call) -> str:
        # Only the chosen style is printed: building all three would cost 3^depth on Aᵀᵀᵀ…
        inner = node.args[0]
        if isinstance(inner, Call) and inner.op == "inv":
            base = inner.args[0]
            if self.style == "unicode":
                return f"{self.wrap(base, ATOM)}⁻ᵀ"
            if self.style == "ascii":
                return f"inv({self.text(base)}).T"
            return f"{{{self.wrap(base, ATOM)}}}^{{-\\top}}"
        if self.style == "unicode":
            return f"{self.wrap(inner, POSTFIX)}ᵀ"
        if self.style == "ascii":
            if isinstance(inner, Num):
                return f"({self.text(inner)}).T"
            return f"{self.wrap(inner, POSTFIX)}.T"
        return f"{{{self.wrap(inner, ATOM)}}}^\\top"

    def op_inv(self, node: Call) -> str:
        inner = node.args[0]
        if self.style == "unicode":
            return f"{self.wrap(inner, POSTFIX)}⁻¹"
        if self.style == "ascii":
            return f"inv({self.text(inner)})"
        return f"{{{self.wrap(inner, ATOM)}}}^{{-1}}"

    # ----- delimited -----
    def op_norm(self, node: Call) -> str:
        return self.bars(node, "‖", "‖", "norm", r"\left\|", r"\right\|")

    def op_fro(self, node: Call) -> str:
        return self.bars(node, "‖", "‖_F", "fro", r"\left\|", r"\right\|_F")

    def op_abs(self, node: Call) -> str:
        if self.style == "unicode" and not _bars_read_back(node):
            return self.function(node)  # |x| of a vector is refused as ambiguous: abs(x)
        return self.bars(node, "|", "|", "abs", r"\left|", r"\right|")

    def bars(self, node: Call, left: str, right: str, word: str, tex_l: str, tex_r: str) -> str:
        """‖x‖, |x| and their ASCII and LaTeX forms."""
        inner = self.text(node.args[0])
        if self.style == "unicode":
            return f"{left}{inner}{right}"
        if self.style == "ascii":
            return f"{word}({inner})"
        return f"{tex_l}{inner}{tex_r}"


def reads_apart(left: str, right: str) -> bool:
    """True when `left + right` lexes as left's tokens then right's (`Ax`, `ab`; not `t`+`r`).
    Only the letters and digits that meet at the seam can merge, so only they are lexed:
    lexing the whole texts at every product would be quadratic in the expression."""
    from .lexer import tokenize

    tail = len(left)
    while tail > 0 and is_name_char(left[tail - 1]):
        tail -= 1
    head = 0
    while head < len(right) and is_name_char(right[head]):
        head += 1
    if right[head : head + 1] == "(":
        head += 1  # `x` then `abs(`: lexed together, `xabs(` is an unknown function
    left, right = left[tail:], right[:head]
    try:
        joined = [(t.kind, t.value) for t in tokenize(left + right)][:-1]
        parts = [(t.kind, t.value) for t in tokenize(left)][:-1]
        parts += [(t.kind, t.value) for t in tokenize(right)][:-1]
    except RuleError:
        return False
    return joined == parts


SUPERSCRIPT_CHARS = "⁰¹²³⁴⁵⁶⁷⁸⁹ᵀ"


def _bars_read_back(node: Call) -> bool:
    """True when |·| reads back as this abs: written so, or of a scalar-valued function
    (|det X|); |x| of a vector is refused as ambiguous."""
    arg = node.args[0]
    scalar = isinstance(arg, Num) or (isinstance(arg, Call) and OPS[arg.op].scalar_valued)
    return node.spelled is Spelling.BARS or scalar


def _edge(node: Node, last: bool) -> bool:
    """True when the factor printed at that end of `node` is a direction dX."""
    while isinstance(node, Call) and node.op in ("matmul", "scale"):
        node = node.args[-1 if last else 0]
    return isinstance(node, Dir)


def _function_first(node: Node) -> bool:
    """True when `node` prints starting with a function name (softmax(z), det(X))."""
    while isinstance(node, Call) and node.op in ("matmul", "scale", "mul"):
        node = node.args[0]
    return isinstance(node, Call) and node.op in FUNCTIONS


FUNCTIONS = {name for name, op in OPS.items() if op.shape is not ShapeClass.BINARY} - {
    "T",
    "inv",
    "neg",
}


unicode = Printer("unicode")
ascii_text = Printer("ascii")
latex = Printer("latex")
