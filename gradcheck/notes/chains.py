"""A formula as claims: its math delimiters stripped, a chain `a = b = c` cut into links.

Every member of a chain is checked against the derivative of its first member that is a
derivative (the *anchor*): a plain member M gives the claim `anchor = M`; a member that is
itself a derivative, ∇_x g, gives ∇_x (f − g) = 0, which holds exactly when ∇_x f = ∇_x g
(f and g are printed by the grammar's own printer and read back: no text is evaluated). A
formula with no derivative among its members states no derivative and gives no claim.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from ..errors import RuleError
from ..lang.ast import Sym
from ..limits import MAX_CHAIN_MEMBERS
from ..model import Kind
from .spans import Clean, clean

_DERIVATIVE = re.compile(
    r"\s*(?:\\nabla|∇|\\partial|∂|\\[dt]?frac\s*\{\s*(?:\\partial|∂|d\b|d\s*\\|\\mathrm\s*\{\s*d|"
    r"\\text\s*\{\s*d|\\operatorname\s*\{\s*d|\\mathop\s*\{\s*d)|"
    r"\\(?:mathrm|operatorname|mathop|text)\s*\{\s*d\s*\}|d\s*\()"
)
# a derivative somewhere in a formula: the cheap test before a formula is read at all
DERIVATIVE_ANYWHERE = re.compile(r"\\nabla|∇|\\partial|∂|\\[dt]?frac\s*\{\s*d|\bd\s*\(|"
                                 r"\\(?:mathrm|operatorname|mathop|text)\s*\{\s*d\s*\}")
_BARE_D = re.compile(r"\s*d\s*\(")
_DIRECTION = re.compile(
    r"(?<![A-Za-z\\])(?:d|\\mathrm\s*\{\s*d\s*\}|∂|\\partial)\s*[A-Za-z](?![A-Za-z(])"
)
_DELIMITERS = (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$"))
_OPEN = "([{"
_CLOSE = ")]}"
_TRAILING = " \t\r\n,.;:，。；："


def strip_delimiters(text: str) -> tuple[str, int]:
    """`$$…$$`, `\\[…\\]`, `\\(…\\)` or `$…$` around a whole claim removed, with trailing
    punctuation inside; the text and the offset where it starts in `text`."""
    body = text.strip()
    lead = len(text) - len(text.lstrip())
    for opener, closer in _DELIMITERS:
        if body.startswith(opener) and body.endswith(closer) and len(body) > len(opener + closer):
            inner = body[len(opener) : len(body) - len(closer)]
            return inner.rstrip(_TRAILING), lead + len(opener)
    return text, 0


def is_derivative(member: str, formula: str | None = None) -> bool:
    """Whether a member of a formula starts with a derivative (∇, ∂, \\frac{d…}, d(…)). A
    member `d(…)` is a differential only when the formula has a direction (`dX`, `dx`):
    `d(x, y) = ‖x − y‖` is a distance."""
    if _DERIVATIVE.match(member) is None:
        return False
    if _BARE_D.match(member) is not None:
        return _DIRECTION.search(formula if formula is not None else member) is not None
    return True


def members(formula: Clean) -> list[Clean]:
    """The members of `formula` split at each `=` outside brackets (`:=`, `==` are not)."""
    parts: list[Clean] = []
    depth = 0
    last = 0
    text = formula.text
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            if text[i + 1] in "{}":  # \{ and \} are set braces, not groups
                i += 2
                continue
            i += 1
        elif ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif ch == "=" and depth == 0:
            before = text[i - 1] if i else ""
            after = text[i + 1] if i + 1 < len(text) else ""
            if before not in ":<>!=" and after != "=":
                parts.append(formula[last:i])
                last = i + 1
        i += 1
    parts.append(formula[last:])
    return [p.strip(_TRAILING) for p in parts]


@dataclass(frozen=True)
class Link:
    """One claim of a formula: its text (with the origin of every character), the member it
    checks (for its position), and how to show a link between two derivatives."""

    claim: Clean
    member: Clean
    display: str = ""  # two derivatives compared: `∇_x f = ∇_x g`, shown instead of ∇_x (f − g) = 0


def anchor_of(formula: Clean) -> Clean | None:
    """The first member of `formula` that is a derivative, if any."""
    return next((p for p in members(formula) if is_derivative(p.text, formula.text)), None)


# `f(x) = xᵀAx \implies ∂f/∂x = …`: a definition, then the claim about what it defines
_IMPLIES = re.compile(r"\\(?:implies|Rightarrow|Longrightarrow|therefore)(?![A-Za-z])|⟹|⇒|∴")
_DEFINED = re.compile(r"\s*([A-Za-z])\s*(?:\(\s*[A-Za-z](?:\s*,\s*[A-Za-z])*\s*\))?\s*$")


def _definition(formula: Clean) -> tuple[str, Clean, Clean] | None:
    r"""(name, its formula, the rest) of `f(x) = … \implies rest`; None without an arrow.
    Raises RuleError when what comes before the arrow defines no name."""
    arrow = _IMPLIES.search(formula.text)
    if arrow is None:
        return None
    before, rest = formula[: arrow.start()], formula[arrow.end() :]
    sides = members(before)
    named = _DEFINED.match(sides[0].text) if len(sides) == 2 and sides[1].text else None
    if named is None:
        raise RuleError(
            "before the arrow comes no definition of the form f(x) = …",
            0,
            "write the definition, then the arrow: f(x) = x^TAx \\implies \\nabla f = …",
        )
    return named.group(1), sides[1], rest


def _with_definition(
    anchor: Clean, definition: tuple[str, Clean], declared: Collection[str]
) -> Clean:
    """The derivative `anchor` of the defined name (∂f/∂x, ∇_x f) as one of its formula."""
    from ..lang.parser import parse_claim

    name, body = definition
    try:
        parsed = parse_claim(anchor.text + " = 0", declared)
    except RuleError:
        return anchor  # read, and refused, as written
    if not (isinstance(parsed.f, Sym) and parsed.f.name == name) or parsed.wrt is None:
        return anchor
    operator = "∇²" if parsed.kind is Kind.HESSIAN else "∇"
    where = anchor.at(0)
    return clean(f"{operator}_{{{parsed.wrt}}} (", where) + body + clean(")", where)


def links(formula: Clean, declared: Collection[str] = ()) -> list[Link]:
    """The claims of `formula`: none when no member is a derivative. Raises RuleError (with
    an offset into `formula.text`) for a derivative member that cannot be read. A definition
    before an arrow (`f(x) = xᵀAx \\implies \\frac{∂f}{∂x} = …`) is substituted into the
    derivative of the name it defines."""
    definition = _definition(formula)
    parts = members(formula if definition is None else definition[2])
    if len(parts) < 2 and "=" in formula.text and DERIVATIVE_ANYWHERE.search(formula.text):
        raise RuleError(
            "a derivative and '=' inside brackets: the formula does not split into "
            "derivative = formula",
            max(0, formula.text.index("=")),
            "check that every bracket is closed",
        )
    if len(parts) < 2:
        return []
    if len(parts) > MAX_CHAIN_MEMBERS:  # each member is a rule to check: bounded work
        raise RuleError(
            f"a chain of {len(parts)} members; the limit is {MAX_CHAIN_MEMBERS}",
            max(0, parts[MAX_CHAIN_MEMBERS].at(0) - formula.at(0)),
            "split the chain into formulas of their own",
        )
    if empty := next((p for p in parts if not p.text), None):
        raise RuleError("an empty side of '='", max(0, empty.at(0) - formula.at(0)),
                        "write derivative = formula")
    anchor_at = next(
        (i for i, p in enumerate(parts) if is_derivative(p.text, formula.text)), None
    )
    if anchor_at is None:
        return []
    anchor = parts[anchor_at]
    if definition is not None:
        anchor = _with_definition(anchor, definition[:2], declared)
    found: list[Link] = []
    for i, member in enumerate(parts):
        if i == anchor_at:
            continue
        if is_derivative(member.text, formula.text):
            claim, shown = _difference(anchor, member, declared, formula)
            found.append(Link(claim, member, shown))
        else:
            glue = clean(" = ", member.at(0))
            found.append(Link(anchor + glue + member, member))
    return found


def _difference(
    anchor: Clean, member: Clean, declared: Collection[str], whole: Clean
) -> tuple[Clean, str]:
    """∇_x (f − g) = 0 for the members ∇_x f and ∇_x g, and `∇_x f = ∇_x g` to show."""
    from ..lang.parser import parse_claim
    from ..lang.printer import ATOM, ascii_text, unicode

    parsed = []
    for part in (anchor, member):
        try:
            parsed.append(parse_claim(part.text + " = 0", declared))
        except RuleError as err:
            where = part.at(err.offset) - whole.at(0)
            raise RuleError(err.message, max(0, where), err.hint, err.field) from None
    (first, second) = parsed
    wrt = first.wrt or second.wrt
    if first.kind is not second.kind or (first.wrt and second.wrt and first.wrt != second.wrt):
        raise RuleError(
            "the two sides are derivatives of different kinds or by different variables",
            max(0, member.at(0) - whole.at(0)),
            "compare derivatives by the same variable, e.g. ∇_x f = ∇_x g",
        )
    if first.kind is Kind.DIFFERENTIAL:
        text = f"d(({ascii_text(first.f)}) - ({ascii_text(second.f)})) = 0"
        shown = f"d({unicode(first.f)}) = d({unicode(second.f)})"
        return Clean(text, tuple([member.at(0)] * len(text))), shown
    operator = "∇²" if first.kind is Kind.HESSIAN else "∇"
    sub = f"_{{{wrt}}}" if wrt else ""
    text = f"{operator}{sub} (({ascii_text(first.f)}) - ({ascii_text(second.f)})) = 0"
    op = f"{operator}_{wrt}" if wrt else operator
    shown = f"{op} {unicode.wrap(first.f, ATOM)} = {op} {unicode.wrap(second.f, ATOM)}"
    return Clean(text, tuple([member.at(0)] * len(text))), shown
