"""Tokens of the expression language: Unicode math, LaTeX and NumPy-like ASCII, mixed."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from fractions import Fraction

from ..errors import RuleError
from ..limits import (
    MAX_EXPRESSION_CHARS,
    MAX_EXPRESSION_DEPTH,
    MAX_LITERAL_DIGITS,
    MAX_LITERAL_EXPONENT,
)
from ..ops import CONSTANT_WORDS, FUNCTION_COMMANDS, FUNCTION_WORDS


@dataclass(frozen=True)
class Token:
    """A token: `kind` is NUM, NAME, FUNC, CONST, OP or END; `pos` an offset in the text."""

    kind: str
    value: str
    pos: int
    number: Fraction | None = None
    spelled: str = ""  # the word a FUNC token was written as (σ or sigmoid)


GREEK_COMMANDS = {
    name: unicodedata.lookup(f"GREEK SMALL LETTER {name.upper().replace('LAMBDA', 'LAMDA')}")
    for name in [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "zeta",
        "eta",
        "theta",
        "iota",
        "kappa",
        "lambda",
        "mu",
        "nu",
        "xi",
        "pi",
        "rho",
        "sigma",
        "tau",
        "upsilon",
        "phi",
        "chi",
        "psi",
        "omega",
    ]
}
GREEK_COMMANDS.update(
    {
        name: unicodedata.lookup(f"GREEK CAPITAL LETTER {name.upper().replace('LAMBDA', 'LAMDA')}")
        for name in [
            "Gamma",
            "Delta",
            "Theta",
            "Lambda",
            "Xi",
            "Pi",
            "Sigma",
            "Upsilon",
            "Phi",
            "Psi",
            "Omega",
        ]
    }
)
GREEK_COMMANDS["varepsilon"] = "ε"

# LaTeX commands that stand for one token of the language.
COMMAND_TOKENS = {
    "nabla": ("OP", "∇"),
    "partial": ("OP", "∂"),
    "cdot": ("OP", "·"),
    "odot": ("OP", "⊙"),
    "circ": ("OP", "⊙"),
    "times": ("OP", "×"),  # a plain matrix product: never the inner product that · may be
    "otimes": ("OP", "⊗"),  # refused by the parser: Kronecker or Hadamard, by the text
    "oslash": ("OP", "/"),  # elementwise division
    "langle": ("OP", "⟨"),
    "rangle": ("OP", "⟩"),
    "top": ("OP", "⊤"),
    "intercal": ("OP", "⊤"),
    "|": ("OP", "‖"),
    "lVert": ("OP", "‖"),
    "rVert": ("OP", "‖"),
    "Vert": ("OP", "‖"),
    "lvert": ("OP", "|"),
    "rvert": ("OP", "|"),
    "frac": ("OP", "frac"),
    "dfrac": ("OP", "frac"),
    "tfrac": ("OP", "frac"),
    "{": ("OP", "("),
    "}": ("OP", ")"),
} | {command: ("FUNC", op) for command, op in FUNCTION_COMMANDS.items()}
IGNORED_COMMANDS = {
    "left",
    "right",
    "big",
    "Big",
    "bigg",
    "Bigg",
    # sized delimiters: \bigl( … \bigr) are ( … )
    *(size + side for size in ("big", "Big", "bigg", "Bigg") for side in ("l", "r", "m")),
    ",",
    ";",
    "!",
    ":",
    " ",
    "quad",
    "qquad",
    "displaystyle",
    "textstyle",
    "limits",
    "nolimits",
    "qty",  # physics' \qty(…), \qty[…]: the brackets follow
}
WRAPPER_COMMANDS = {
    "mathbf",
    "boldsymbol",
    "bm",
    "textbf",
    "pmb",
    "mathbb",
    "mathrm",
    "operatorname",
    "mathop",
    "mathit",
    "vec",
    "mathsf",
    "text",
    "textrm",
    "textit",
    "mbox",
}
# Wrappers whose `{1}` is the vector of ones (\vec{1}, \mathbb{1}), not the number 1.
BOLD_WRAPPERS = {"mathbf", "boldsymbol", "bm", "textbf", "pmb", "mathbb", "vec"}
# Wrappers whose content may name a function (\operatorname{Tr}, \text{tr}).
NAME_WRAPPERS = {"operatorname", "mathrm", "mathop", "text", "textrm"}
# Wrappers of prose: `\text{ for all }` inside math is words for people, not symbols.
PROSE_WRAPPERS = {"text", "textrm", "textit", "mbox"}
# A d written as an operator (\mathrm{d}\mathbf{X}, \mathop{d}X, d\mathbf{X}): with the
# symbol after it, a direction dX although the two are not written side by side.
DIFFERENTIAL_D = "differential d"
# Accents that make a name of their own (\tilde{X} is not X): the combining mark each adds.
DECORATIONS = {
    "tilde": "\u0303",
    "widetilde": "\u0303",
    "hat": "\u0302",
    "widehat": "\u0302",
    "bar": "\u0304",
    "overline": "\u0304",
}
DECORATION_MARKS = frozenset(DECORATIONS.values())
# A subscript that is a word in text style labels a name (W_{\text{old}} is W_old), where a
# letter subscript indexes it.
LABEL_SUBSCRIPT = re.compile(
    r"_\s*(?:\{\s*)?\\(?:text|mathrm|textrm|rm)\s*\{\s*([A-Za-z]{2,})\s*\}(?:\s*\})?"
)
# A superscript index in parentheses, x^{(n)}: the n-th data point (not a power), when n is
# the index of a sum around it.
DATA_INDEX = re.compile(r"\^\s*\{\s*\(\s*([A-Za-z])\s*\)\s*\}")
# Written for the vector of ones: 𝟏 (bold one) and 𝟙 (double-struck one).
ONES_CHARACTERS = {"𝟏", "𝟙"}

SINGLE_OPS = {
    "+": "+",
    "-": "-",
    "−": "-",
    "*": "*",
    "/": "/",
    "@": "@",
    "·": "·",
    "⋅": "·",
    "⊙": "⊙",
    "∘": "⊙",
    "^": "^",
    "_": "_",
    "(": "(",
    ")": ")",
    "{": "{",
    "}": "}",
    "[": "(",
    "]": ")",
    ",": ",",
    "=": "=",
    "'": "ᵀ",
    "′": "ᵀ",
    "ᵀ": "ᵀ",
    "⊤": "⊤",
    "‖": "‖",
    "|": "|",
    "∇": "∇",
    "∂": "∂",
    "√": "√",
    "∑": "∑",
    "×": "×",
    "⊗": "⊗",
    "⊘": "/",
    "⟨": "⟨",
    "⟩": "⟩",
    "〈": "⟨",
    "〉": "⟩",
}
SUPERSCRIPT_DIGITS = {
    "⁰": 0,
    "¹": 1,
    "²": 2,
    "³": 3,
    "⁴": 4,
    "⁵": 5,
    "⁶": 6,
    "⁷": 7,
    "⁸": 8,
    "⁹": 9,
}
# The index of a sum over an index: `\sum_i`, `\sum_{i=1}^n`, `∑_i`.
INDEX_SUM = re.compile(r"(?:\\sum|∑)\s*_\s*(?:\{\s*([A-Za-z])\s*(?:=[^{}]*)?\}|([A-Za-z]))")
NUMBER = re.compile(r"\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?")
SUBSCRIPT_DIGITS = "₀₁₂₃₄₅₆₇₈₉"


DIGITS = "0123456789"


def is_name_char(ch: str) -> bool:
    """A letter or an ASCII digit (not ², which is a power)."""
    return len(ch) == 1 and (is_letter(ch) or ch in DIGITS)


def is_letter(ch: str) -> bool:
    """Latin or Greek letter (the characters names are made of)."""
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ("α" <= ch <= "ω") or ("Α" <= ch <= "Ω")


class Lexer:
    """Splits text into tokens, resolving runs of letters against the declared names."""

    def __init__(self, text: str, names: Collection[str]):
        self.text = text
        self.names = set(names)
        # the indices of sums over an index: `y_i` is then y indexed by i, not a name
        self.indices = {a or b for a, b in INDEX_SUM.findall(text)}
        self.words = sorted(
            set(self.names) | set(FUNCTION_WORDS) | set(CONSTANT_WORDS), key=len, reverse=True
        )
        self.tokens: list[Token] = []
        self.depth = 0  # wrappers inside wrappers: bounded so that no input exhausts the stack

    def run(self) -> list[Token]:
        """All tokens, ending with END."""
        self._lex(self.text, 0, len(self.text))
        self.tokens.append(Token("END", "", len(self.text)))
        return self.tokens

    def _lex(self, text: str, start: int, stop: int) -> None:
        i = start
        while i < stop:
            i = self._one(text, i, stop)

    def _one(self, text: str, i: int, stop: int) -> int:
        ch = text[i]
        if ch.isspace():
            return i + 1
        if ch == "\\":
            return self._command(text, i, stop)
        if ch == "." and text.startswith(".T", i) and not text[i + 2 : i + 3].isalnum():
            self.tokens.append(Token("OP", "ᵀ", i))
            return i + 2
        if ch in ONES_CHARACTERS:  # before numbers: 𝟏 is a Unicode digit
            self.tokens.append(Token("CONST", "ones", i))
            return i + 1
        match = NUMBER.match(text, i, stop)
        if match:
            self.tokens.append(Token("NUM", match.group(), i, literal(match.group(), i)))
            return match.end()
        if ch == "*" and text.startswith("**", i):
            self.tokens.append(Token("OP", "**", i))
            return i + 2
        if ch == "⁻":
            return self._superscript_minus(text, i)
        if ch in SUPERSCRIPT_DIGITS:
            j = i
            while j < stop and text[j] in SUPERSCRIPT_DIGITS:
                j += 1
            digits = text[i:j].translate(_SUP)
            self.tokens.append(Token("OP", "sup", i, literal(digits, i)))
            return j
        if ch in SINGLE_OPS:
            self.tokens.append(Token("OP", SINGLE_OPS[ch], i))
            return i + 1
        if is_letter(ch):
            return self._letters(text, i, stop)
        accented = unicodedata.normalize("NFD", ch)
        if len(accented) == 2 and is_letter(accented[0]) and accented[1] in DECORATION_MARKS:
            self.tokens.append(Token("NAME", accented, i))  # ŵ, typed as one character
            return i + 1
        raise RuleError(f"unexpected character {ch!r}", i, "see the language table in the README")

    def _superscript_minus(self, text: str, i: int) -> int:
        nxt = text[i + 1 : i + 2]
        if nxt == "¹":
            self.tokens.append(Token("OP", "⁻¹", i))
            return i + 2
        if nxt in ("ᵀ", "⊤"):
            self.tokens.append(Token("OP", "⁻ᵀ", i))
            return i + 2
        raise RuleError("'⁻' must be followed by ¹ or ᵀ", i, "write X⁻¹ or X⁻ᵀ")

    def _command(self, text: str, i: int, stop: int) -> int:
        match = re.compile(r"\\([A-Za-z]+|.)").match(text, i, stop)
        if not match:
            raise RuleError("a lone backslash", i, "write a LaTeX command such as \\nabla")
        name, end = match.group(1), match.end()
        if name in IGNORED_COMMANDS:
            return end
        if name in WRAPPER_COMMANDS:
            return self._wrapper(text, name, i, end, stop)
        if name in GREEK_COMMANDS:
            self._letters(GREEK_COMMANDS[name], 0, 1, offset=i)
            return end
        if name in DECORATIONS:
            return self._decorated(text, name, i, end, stop)
        if name in COMMAND_TOKENS:
            kind, value = COMMAND_TOKENS[name]
            self.tokens.append(Token(kind, value, i))
            return end
        raise RuleError(
            f"unknown LaTeX command \\{name}", i, "see the language table in the README"
        )

    def _decorated(self, text: str, name: str, i: int, end: int, stop: int) -> int:
        """`\\tilde{X}`, `\\hat{\\mathbf{w}}`, `\\bar x`: one name, the letter with its accent."""
        while end < stop and text[end].isspace():
            end += 1
        if end < stop and text[end] == "{":
            close = _matching_brace(text, end, stop)
            if close < 0:
                raise RuleError(f"\\{name}{{ is not closed", end, "add the closing }")
            inner, after = _unwrapped(text[end + 1 : close]), close + 1
        else:
            inner, after = text[end : end + 1], end + 1
        letter = GREEK_COMMANDS.get(inner.lstrip("\\"), inner) if inner.startswith("\\") else inner
        if len(letter) != 1 or not is_letter(letter):
            raise RuleError(
                f"\\{name} of {inner[:20]!r}: an accent is read on one letter only",
                i,
                f"write \\{name}{{X}}, or name the quantity with one letter",
            )
        self.tokens.append(Token("NAME", letter + DECORATIONS[name], i))
        return after

    def _wrapper(self, text: str, name: str, i: int, end: int, stop: int) -> int:
        """`\\mathbf{x}`, `\\operatorname{tr}`: the content counts as if typed bare."""
        while end < stop and text[end].isspace():
            end += 1
        if end >= stop or text[end] != "{":
            if name in BOLD_WRAPPERS and text[end : end + 1] == "1":
                self.tokens.append(Token("CONST", "ones", i))  # `\mathbf 1`
                return end + 1
            return end  # `\mathbf x`: the next token stands for itself
        close = _matching_brace(text, end, stop)
        if close < 0:
            raise RuleError(f"\\{name}{{ is not closed", end, "add the closing }")
        inner = text[end + 1 : close]
        word = inner.strip()
        if word in ("1", "0") and name in BOLD_WRAPPERS:
            if word == "1":
                self.tokens.append(Token("CONST", "ones", i))
            else:
                self.tokens.append(Token("NUM", "0", i, Fraction(0)))
            return close + 1
        if word == "d" and name in NAME_WRAPPERS | {"mathbb"}:
            self.tokens.append(Token("NAME", "d", end + 1, spelled=DIFFERENTIAL_D))
            return close + 1
        if name in NAME_WRAPPERS and word in FUNCTION_WORDS:
            self.tokens.append(Token("FUNC", FUNCTION_WORDS[word], i, spelled=word))
            return close + 1
        label = LABEL_SUBSCRIPT.match(text, close + 1, stop)
        if label and len(word) == 1 and is_letter(word):  # \mathbf{W}_{\text{old}}
            self.tokens.append(Token("NAME", f"{word}_{label.group(1)}", i))
            return label.end()
        if name in PROSE_WRAPPERS and _is_prose(word, self.names):
            return close + 1  # `\text{ for all }`: words for the reader
        if name == "operatorname":
            raise RuleError(
                f"unknown function \\operatorname{{{inner}}}",
                i,
                "see the functions in the README's language table",
            )
        self.depth += 1
        if self.depth > MAX_EXPRESSION_DEPTH:
            raise RuleError(
                f"\\{name}{{…}} nests more than {MAX_EXPRESSION_DEPTH} levels deep",
                i,
                "write the formula without the nested decorations",
            )
        self._lex(text, end + 1, close)
        self.depth -= 1
        return close + 1

    def _letters(self, text: str, i: int, stop: int, offset: int | None = None) -> int:
        """A run of letters: declared names and function words first (longest), else one letter."""
        pos = i if offset is None else offset
        run = _run_of_letters(text, i, stop)
        if run == "dot" and text[i + 3 : i + 4] == "(" and "dot" not in self.names:
            self.tokens.append(Token("OP", "dot", pos))  # dot(a, b): the inner product
            return i + 3
        if (
            len(run) >= 3
            and run.islower()
            and text[i + len(run) : i + len(run) + 1] == "("
            and run not in self.names
            and run not in FUNCTION_WORDS
            and run not in CONSTANT_WORDS
        ):
            raise RuleError(
                f"unknown function {run!r}",
                pos,
                "the functions are listed in the README's language table",
            )
        for word in self.words:
            fits = text.startswith(word, i) and i + len(word) <= stop
            if fits and (
                word in self.names
                or not (
                    _continues_word(text, i + len(word), stop, word)
                    or (word[0].isupper() and not _opens(text, i + len(word), stop))
                )
            ):
                return self._word(word, pos, i)
        j = i + 1
        if text[j : j + 1] in DECORATION_MARKS:  # x̃ typed as x and a combining tilde
            self.tokens.append(Token("NAME", text[i : j + 1], pos))
            return j + 1
        label = LABEL_SUBSCRIPT.match(text, j, stop)
        if label:
            self.tokens.append(Token("NAME", f"{text[i]}_{label.group(1)}", pos))
            return label.end()
        if text[i] == "I" and "I" not in self.names and text[j : j + 1] == "_":
            self.tokens.append(Token("NAME", "I", pos))  # I_n: the parser reads its size
            return j
        data = DATA_INDEX.match(text, j, stop)
        if data and data.group(1) in self.indices:  # x^{(n)}: the n-th data point, as x_n
            self.tokens.append(Token("NAME", text[i], pos))
            self.tokens.append(Token("OP", "_", j))
            self.tokens.append(Token("NAME", data.group(1), data.start(1)))
            return data.end()
        if text[j : j + 1] == "_" and _subscript(text, j + 1, stop) in self.indices:
            self.tokens.append(Token("NAME", text[i], pos))  # y_i: the parser reads the index
            return j
        if j < stop and (
            text[j] in DIGITS or (text[j] == "_" and is_name_char(text[j + 1 : j + 2]))
        ):
            k = j
            while k < stop and (is_name_char(text[k]) or text[k] == "_"):
                k += 1
            raise RuleError(
                f"the name {text[i:k]!r} is not declared",
                pos,
                f"declare it under symbols (e.g. {text[i:k]}: matrix(m, n)); "
                "undeclared names are single letters",
            )
        before_command = text[i] == "d" and text[j : j + 1] == "\\"  # d\mathbf{X}
        self.tokens.append(
            Token("NAME", text[i], pos, spelled=DIFFERENTIAL_D if before_command else "")
        )
        return j

    def _word(self, word: str, pos: int, i: int) -> int:
        if word in self.names:
            self.tokens.append(Token("NAME", word, pos))
        elif word in CONSTANT_WORDS:
            self.tokens.append(Token("CONST", CONSTANT_WORDS[word], pos))
        else:
            self.tokens.append(Token("FUNC", FUNCTION_WORDS[word], pos, spelled=word))
        return i + len(word)


_SUP = str.maketrans({k: str(v) for k, v in SUPERSCRIPT_DIGITS.items()})


def _run_of_letters(text: str, i: int, stop: int) -> str:
    j = i
    while j < stop and "a" <= text[j] <= "z":
        j += 1
    return text[i:j]


def _matching_brace(text: str, start: int, stop: int) -> int:
    """The index of the } closing the { at `start`, or -1."""
    depth = 0
    for k in range(start, stop):
        depth += {"{": 1, "}": -1}.get(text[k], 0)
        if depth == 0:
            return k
    return -1


def _subscript(text: str, j: int, stop: int) -> str:
    """The one letter of a subscript at `j` (`i` or `{i}`), or ""."""
    match = re.compile(r"\{\s*([A-Za-z])\s*\}|([A-Za-z])(?![A-Za-z0-9_])").match(text, j, stop)
    return (match.group(1) or match.group(2)) if match else ""


def _unwrapped(inner: str) -> str:
    """The content of `\\mathbf{x}`-like wrappers, as far as they nest (for an accent's letter)."""
    inner = inner.strip()
    match = re.fullmatch(r"\\([A-Za-z]+)\s*\{(.*)\}", inner, re.DOTALL)
    while match and match.group(1) in WRAPPER_COMMANDS:
        inner = match.group(2).strip()
        match = re.fullmatch(r"\\([A-Za-z]+)\s*\{(.*)\}", inner, re.DOTALL)
    match = re.fullmatch(r"\\([A-Za-z]+)\s+([A-Za-z])", inner)  # \mathbf x
    if match and match.group(1) in WRAPPER_COMMANDS:
        return match.group(2)
    return inner


def _opens(text: str, j: int, stop: int) -> bool:
    """True when a bracket opens at `j` (spaces and \\left skipped): a capitalised function
    word (`Tr`) names a function only when applied, so that `x^Tr` stays xᵀ r."""
    while j < stop and text[j].isspace():
        j += 1
    return text.startswith(("\\left", "\\big", "\\Big"), j) or (j < stop and text[j] in "([{")


def _is_prose(word: str, names: Collection[str]) -> bool:
    """`\\text{…}` content that is words for the reader: not a letter, a name or a function."""
    return not (word in names or (len(word) == 1 and is_letter(word)) or word in FUNCTION_WORDS)


def _continues_word(text: str, j: int, stop: int, word: str) -> bool:
    """Multi-letter function words must not be glued to digits (`exp2` is not `exp 2`)."""
    return len(word) > 1 and j < stop and (text[j] in DIGITS or text[j] == "_")


def tokenize(text: str, names: Collection[str] = ()) -> list[Token]:
    """Tokens of `text`; `names` are the declared symbols (they may be multi-letter)."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise RuleError(
            f"the expression has {len(text):,} characters; the limit is {MAX_EXPRESSION_CHARS:,}",
            MAX_EXPRESSION_CHARS,
            "split the rule into smaller ones",
        )
    return Lexer(text, names).run()


def literal(text: str, pos: int) -> Fraction:
    """The exact value of a number literal, refused before it is computed when it is too long
    or its exponent too large (Fraction("1e999999999") would build a billion-digit integer)."""
    mantissa, _, exponent = text.lower().partition("e")
    digits = sum(ch.isdigit() for ch in mantissa)
    if digits > MAX_LITERAL_DIGITS:
        raise RuleError(
            f"a number with {digits:,} digits; the limit is {MAX_LITERAL_DIGITS}",
            pos,
            "write it with an exponent, e.g. 1.5e3",
        )
    power = exponent.lstrip("+-").lstrip("0")
    if len(power) > len(str(MAX_LITERAL_EXPONENT)) or int(power or 0) > MAX_LITERAL_EXPONENT:
        raise RuleError(
            f"the number {text[:20]}{'…' if len(text) > 20 else ''} has an exponent beyond "
            f"±{MAX_LITERAL_EXPONENT}",
            pos,
            f"write numbers between 1e-{MAX_LITERAL_EXPONENT} and 1e{MAX_LITERAL_EXPONENT}",
        )
    return Fraction(text)
