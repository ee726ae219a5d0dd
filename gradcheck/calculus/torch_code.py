"""A derived formula as a torch function a user can paste into a custom backward.

The source is code, so nothing of the rule's text reaches it raw: every symbol and dimension
becomes a Python identifier that is safe to bind (the declared name where it is one, else
`arg1`, `arg2`, …, named in a comment by `ascii()`), numbers are printed by `repr(float)`,
and the rest is fixed text. The module holds `import torch`, the helpers the formula uses
and the one `def`.
"""

from __future__ import annotations

import keyword
import math
import unicodedata
from collections.abc import Iterable
from fractions import Fraction
from types import MappingProxyType

from ..lang.ast import Call, Const, Dir, Node, Num, Sym, walk
from ..ops import OPS, PI
from ..problem import Problem

HELPERS = {
    "_s": """def _s(t):  # a scalar as a 1×1 tensor, the way gradcheck keeps every value 2-D
    return t.reshape(1, 1)
""",
    "_diag": """def _diag(t):  # diag(v) of a vector, or the diagonal of a square matrix as a column
    return torch.diag(t.reshape(-1)) if 1 in t.shape else torch.diagonal(t).reshape(-1, 1)
""",
    "_softmax": """def _softmax(t):
    return torch.softmax(t, dim=0 if t.shape[1] == 1 else 1)
""",
}
PRELUDE = "import torch\n\n\n" + "\n\n".join(HELPERS.values())  # every helper, for reference

INFIX = {"add": "+", "sub": "-", "matmul": "@", "mul": "*", "scale": "*", "div": "/"}
# The code of every bespoke function, by kernel name (ops.py); an elementwise function calls
# the torch function its row names.
CALLS = MappingProxyType(
    {
        "detach": "({}).detach()",
        "sum": "_s(({}).sum())",
        "logsumexp": "_s(torch.logsumexp(({}).reshape(-1), 0))",
        "softmax": "_softmax({})",
        "diag": "_diag({})",
        "tr": "_s(torch.trace({}))",
        "det": "_s(torch.linalg.det({}))",
        "logdet": "_s(torch.logdet({}))",
        "inv": "torch.linalg.inv({})",
        "norm": "_s(torch.linalg.norm({}))",
        "T": "({}).T",
        "neg": "-({})",
    }
)
FUNCTION_NAME = "derivative"
# Names the module itself binds or reads: no argument or size may take them.
RESERVED = {"torch", FUNCTION_NAME, *HELPERS}


def is_safe_name(name: str) -> bool:
    """A name the generated code may bind as it is: an identifier Python keeps as written
    (NFKC would merge ﬁ and fi), not a keyword, not dunder, not one the module reads (the
    function calls no builtin, so an argument named `max` shadows nothing it uses)."""
    return (
        name.isidentifier()
        and unicodedata.normalize("NFKC", name) == name
        and not keyword.iskeyword(name)
        and not name.startswith("__")
        and name not in RESERVED
    )


class Names:
    """The Python identifier of every symbol, direction and size of one formula."""

    def __init__(self) -> None:
        self.of: dict[tuple[str, str], str] = {}  # (kind, name) → identifier
        self.renamed: list[tuple[str, str, str]] = []  # (identifier, kind, original)
        self.taken: set[str] = set(RESERVED)

    def add(self, kind: str, name: str) -> str:
        if (kind, name) in self.of:
            return self.of[(kind, name)]
        ident = name if is_safe_name(name) and name not in self.taken else self._fresh()
        if ident != name:
            self.renamed.append((ident, kind, name))
        self.of[(kind, name)] = ident
        self.taken.add(ident)
        return ident

    def _fresh(self) -> str:
        k = 1
        while f"arg{k}" in self.taken:
            k += 1
        return f"arg{k}"

    def symbol(self, name: str) -> str:
        return self.of[("symbol", name)]

    def direction(self, name: str) -> str:
        return self.of[("direction", name)]

    def size(self, dim: str | int) -> str:
        return str(dim) if isinstance(dim, int) else self.of[("size", dim)]


def _number(value: Fraction) -> str:
    try:
        x = float(value)
    except OverflowError:
        x = math.inf if value > 0 else -math.inf
    if math.isinf(x):
        return "torch.inf" if x > 0 else "(-torch.inf)"
    return repr(x)


def expression(node: Node, names: Names | None = None) -> str:
    """Python source computing `node` on 2-D float64 tensors (`names`: the identifiers;
    without it every name must already be safe, as in tests)."""
    if names is None:
        names = Names()
        for n in walk(node):
            if isinstance(n, Sym):
                names.add("symbol", n.name)
            elif isinstance(n, Dir):
                names.add("direction", f"d{n.name}")
            elif isinstance(n, Const):
                for d in n.dims:
                    if isinstance(d, str):
                        names.add("size", d)
    return _expression(node, names)


def _expression(node: Node, names: Names) -> str:
    if isinstance(node, Sym):
        return names.symbol(node.name)
    if isinstance(node, Dir):
        return names.direction(f"d{node.name}")
    if isinstance(node, Num):
        return _number(node.value)
    if isinstance(node, Const) and node.name == PI:
        return _tensor("torch.pi")
    if isinstance(node, Const):
        rows, cols = _dims(node, names)
        maker = {"I": "torch.eye", "ones": "torch.ones", "zeros": "torch.zeros"}[node.name]
        return f"{maker}({rows}, {cols}, dtype=torch.float64)"
    assert isinstance(node, Call)
    args = [_expression(a, names) for a in node.args]
    if node.op in INFIX:
        return f"({args[0]} {INFIX[node.op]} {args[1]})"
    if node.op in ("pow", "sup"):
        return f"({args[0]} ** {args[1]})"
    if node.op == "matpow":
        exponent = node.args[1]
        if not isinstance(exponent, Num) or exponent.value.denominator != 1:
            raise ValueError("a matrix power needs a whole-number exponent")
        return f"torch.linalg.matrix_power({args[0]}, {int(exponent.value)})"
    # torch's functions take tensors: a number argument (√2) becomes one
    args = [_tensor(a) if isinstance(n, Num) else a for a, n in zip(args, node.args, strict=True)]
    row = OPS[node.op]
    if row.elementwise:
        return f"{row.torch}({args[0]})"
    return CALLS[row.kernel].format(*args)


def _tensor(number: str) -> str:
    return f"torch.tensor({number}, dtype=torch.float64)"


def _dims(node: Const, names: Names) -> tuple[str, str]:
    dims = [names.size(d) for d in node.dims]
    if node.name == "I":
        return dims[0], dims[0]
    return dims[0], dims[1] if len(dims) > 1 else "1"


def _helpers(node: Node) -> list[str]:
    """The helpers the formula calls, in the order of HELPERS."""
    used = {
        helper
        for n in walk(node)
        if isinstance(n, Call) and OPS[n.op].kernel in CALLS
        for helper in HELPERS
        if CALLS[OPS[n.op].kernel].startswith(helper + "(")
    }
    return [HELPERS[h] for h in HELPERS if h in used]


def _comment(renamed: Iterable[tuple[str, str, str]]) -> str:
    """Which argument stands for which name; `ascii()` keeps the original text inert (a
    one-line literal: no newline, quote or control character can end the comment)."""
    return "".join(f"    # {ident} is the {kind} {name!a}\n" for ident, kind, name in renamed)


def source(problem: Problem, node: Node, name: str = FUNCTION_NAME) -> str:
    """A module defining `name(…)`: the formula, with sizes read off the arguments."""
    if not is_safe_name(name) and name != FUNCTION_NAME:
        raise ValueError(f"{name!r} is not a safe function name")
    names = Names()
    params = [names.add("symbol", s) for s in problem.shapes]
    if any(isinstance(n, Dir) for n in walk(node)):
        params.append(names.add("direction", f"d{problem.wrt}"))
    sizes = []
    for dim in sorted(
        {d for n in walk(node) if isinstance(n, Const) for d in n.dims if isinstance(d, str)}
    ):
        holder, axis = next(
            (s, axis)
            for s, shape in problem.shapes.items()
            for axis, d in enumerate(shape)
            if d == dim
        )
        sizes.append(f"    {names.add('size', dim)} = {names.symbol(holder)}.shape[{axis}]\n")
    body = _expression(node, names)
    header = f"def {name}({', '.join(params)}):\n"
    doc = '    """Derived and verified by gradcheck; every argument is a 2-D float64 tensor."""\n'
    helpers = "".join(f"\n\n{h}" for h in _helpers(node))
    return (
        f"import torch\n{helpers}\n\n{header}{doc}{_comment(names.renamed)}"
        f"{''.join(sizes)}    return {body}\n"
    )
