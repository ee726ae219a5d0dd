"""A derived formula as a torch function a user can paste into a custom backward."""

from __future__ import annotations

from fractions import Fraction

from ..lang.ast import Call, Const, Dir, Node, Num, Sym, walk
from ..problem import Problem

PRELUDE = """import torch


def _s(t):  # a scalar as a 1×1 tensor, the way gradcheck keeps every value 2-D
    return t.reshape(1, 1)


def _diag(t):  # diag(v) of a vector, or the diagonal of a square matrix as a column
    return torch.diag(t.reshape(-1)) if 1 in t.shape else torch.diagonal(t).reshape(-1, 1)


def _softmax(t):
    return torch.softmax(t, dim=0 if t.shape[1] == 1 else 1)
"""

INFIX = {"add": "+", "sub": "-", "matmul": "@", "mul": "*", "scale": "*", "div": "/"}
CALLS = {
    "exp": "torch.exp({})",
    "log": "torch.log({})",
    "sqrt": "torch.sqrt({})",
    "sin": "torch.sin({})",
    "cos": "torch.cos({})",
    "tan": "torch.tan({})",
    "tanh": "torch.tanh({})",
    "sigmoid": "torch.sigmoid({})",
    "abs": "torch.abs({})",
    "softplus": "torch.nn.functional.softplus({})",
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
    "fro": "_s(torch.linalg.norm({}))",
    "T": "({}).T",
    "neg": "-({})",
}


def expression(node: Node) -> str:
    """Python source computing `node` on 2-D float64 tensors."""
    if isinstance(node, Sym):
        return node.name
    if isinstance(node, Dir):
        return f"d{node.name}"
    if isinstance(node, Num):
        return repr(float(node.value))
    if isinstance(node, Const):
        rows, cols = _dims(node)
        maker = {"I": "torch.eye", "ones": "torch.ones", "zeros": "torch.zeros"}[node.name]
        return f"{maker}({rows}, {cols}, dtype=torch.float64)"
    assert isinstance(node, Call)
    args = [expression(a) for a in node.args]
    if node.op in INFIX:
        return f"({args[0]} {INFIX[node.op]} {args[1]})"
    if node.op in ("pow", "sup"):
        return f"({args[0]} ** {args[1]})"
    if node.op == "matpow":
        return f"torch.linalg.matrix_power({args[0]}, {int(Fraction(args[1]))})"
    return CALLS[node.op].format(*args)


def _dims(node: Const) -> tuple[str, str]:
    dims = [str(d) for d in node.dims]
    if node.name == "I":
        return dims[0], dims[0]
    return dims[0], dims[1] if len(dims) > 1 else "1"


def source(problem: Problem, node: Node, name: str = "derivative") -> str:
    """A module defining `name(…)`: the formula, with sizes read off the arguments."""
    params = list(problem.shapes)
    if any(isinstance(n, Dir) for n in walk(node)):
        params.append(f"d{problem.wrt}")
    sizes = []
    for dim in sorted(
        {d for n in walk(node) if isinstance(n, Const) for d in n.dims if isinstance(d, str)}
    ):
        holder = next(
            (s, axis)
            for s, shape in problem.shapes.items()
            for axis, d in enumerate(shape)
            if d == dim
        )
        sizes.append(f"    {dim} = {holder[0]}.shape[{holder[1]}]\n")
    header = f"def {name}({', '.join(params)}):\n"
    doc = '    """Derived and verified by gradcheck; every argument is a 2-D float64 tensor."""\n'
    return f"{PRELUDE}\n\n{header}{doc}{''.join(sizes)}    return {expression(node)}\n"
