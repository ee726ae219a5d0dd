"""Coverage of `gradcheck derive`, next to sympy's matrix-level `MatrixExpr.diff`.

    python bench/coverage.py                  # a summary and a markdown table on stdout
    python bench/coverage.py --json           # one JSON document instead
    python bench/coverage.py --update-readme  # also rewrite the block in README.md
    python bench/coverage.py --save out.json  # also keep the JSON document
    python bench/coverage.py -k trace         # only functions whose id contains "trace"
    python bench/coverage.py --only sympy     # one side only (debugging)

The functions: every entry of tests/data/derive_corpus.yaml (the Matrix Cookbook's identities
on determinants, inverses, linear and quadratic forms, traces and norms, ML losses and layers,
Hessians, differentials, and the functions spec §3 says sympy gets wrong), and the f of every
rule in the bundled catalog (rules/*.yaml), as it is when the script runs.

For each function f, wrt, kind and layout:

* **gradcheck derive**: `gradcheck.derivation.derive(...)`; a success is exit code 0, i.e. the
  formula was derived *and* verified (sympy entrywise at small sizes or the matrix-form proof,
  plus torch.autograd on hypothesis inputs). "all sizes" marks a matrix-form proof.
* **sympy**: the same f built as a sympy matrix expression (`MatrixSymbol` with symbolic
  dimensions, `Trace`, `Determinant`, `Inverse`, `HadamardProduct`, elementwise functions as
  `ElementwiseApplyFunction`), differentiated with `.diff(MatrixSymbol)` (twice for a
  Hessian; for a differential, the 4-index derivative contracted with dX), then `.doit()`
  as a user would. The result is
  evaluated at two random points (explicit matrices substituted, `.doit()`) and compared with
  torch.autograd's derivative there (`gradcheck.numeric.true_derivative`): right means
  finite and within 1e-8 relative at both points. A 1×1 matrix that must act as a scalar
  (the argument of log, a factor that scales a matrix) can be written `Trace(M)` or
  `M[0, 0]` in sympy; both spellings are tried and sympy counts as right if either is.
  Failures are classified: "returned 0", "wrong value", "wrong shape", "unevaluated" (an
  unevaluated `Derivative`, or a result that cannot be evaluated to numbers), "crash: …"
  (an exception in `.diff`), "not expressible" (no sympy matrix expression for f), "timeout".

`derive` runs with `--examples` autograd inputs (30) and a `--symbolic-timeout` (5 s) for its
entrywise sympy proof; as in `gradcheck verify`, a proof reached at sizes ≥ 2 before the limit
stands, and the matrix-form proof for all sizes is not limited. Functions run in parallel
processes (`--jobs`, default one per core, at most 4); results do not depend on it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "derive_corpus.yaml"
README = ROOT / "README.md"
START, END = "<!-- coverage:start -->", "<!-- coverage:end -->"

SIZES = (3, 2, 4, 5, 6, 7)  # dimension values, in the order the dimensions appear
SEEDS = tuple(range(1, 13))  # sample points tried until two lie inside f's domain
POINTS = 2
RTOL, ATOL = 1e-8, 1e-12
SYMPY_TIMEOUT = 30.0


# ---------------------------------------------------------------- the functions


@dataclass(frozen=True)
class Item:
    """One function to derive: as `derive(f, wrt, kind=…, layout=…, assume=…, symbols=…)`."""

    id: str
    group: str  # "corpus" or "rules"
    f: str
    wrt: str
    kind: str = "gradient"
    layout: str = "denominator"
    assume: dict[str, list[str]] = field(default_factory=dict)
    symbols: dict[str, str] = field(default_factory=dict)
    source: str = ""
    shown: str = ""  # f as the table shows it (as written; a claim's f in Unicode)

    def command(self) -> str:
        """The `gradcheck derive` command line that reproduces this item."""
        parts = ["gradcheck", "derive", _quote(self.f), "--wrt", self.wrt]
        if self.kind != "gradient":
            parts.append(f"--{self.kind}")
        if self.layout != "denominator":
            parts += ["--layout", self.layout]
        for name, props in self.assume.items():
            parts += ["--assume", f"{name}:{','.join(props)}"]
        for name, decl in self.symbols.items():
            parts += ["--symbol", _quote(f"{name}:{decl}")]
        return " ".join(parts)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def corpus_items(path: Path = CORPUS) -> list[Item]:
    """The entries of the derive corpus."""
    from ruamel.yaml import YAML

    entries = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return [
        Item(
            id=e["id"],
            group="corpus",
            f=str(e["f"]),
            wrt=str(e["wrt"]),
            kind=e.get("kind", "gradient"),
            layout=e.get("layout", "denominator"),
            assume={k: list(v) for k, v in (e.get("assume") or {}).items()},
            symbols={k: str(v) for k, v in (e.get("symbols") or {}).items()},
            source=e.get("source", ""),
        )
        for e in entries
    ]


def rule_items() -> tuple[list[Item], list[str]]:
    """The f of every bundled rule, and a note for each rule that could not be used."""
    from gradcheck.catalog import bundled_catalog, load_paths
    from gradcheck.errors import RuleError
    from gradcheck.lang.ast import symbols_in
    from gradcheck.lang.printer import ascii_text, unicode
    from gradcheck.problem import compile_rule

    rules, diagnostics = load_paths([bundled_catalog()])
    skipped = [str(d) for d in diagnostics]
    items = []
    for rule in rules:
        try:
            problem = compile_rule(rule)
        except RuleError as err:
            skipped.append(f"{rule.id}: {err}")
            continue
        used = set(symbols_in(problem.f)) | {problem.wrt}
        symbols = {}
        for decl in rule.symbols:
            if decl.name in used:
                dims = ", ".join(str(d) for d in decl.dims)
                symbols[decl.name] = f"{decl.kind}({dims})" if dims else decl.kind
        items.append(
            Item(
                id=rule.id,
                group="rules",
                f=rule.f if rule.f is not None else ascii_text(problem.f),
                wrt=problem.wrt,
                kind=problem.kind.value,
                layout=rule.layout.value,
                assume={name: list(props) for name, props in rule.assume if name in used},
                symbols=symbols,
                source=rule.source or "",
                shown=rule.f if rule.f is not None else unicode(problem.f),
            )
        )
    return items, skipped


def problem_of(item: Item) -> Any:
    """The Problem `derive` works on (the claim is a placeholder 0)."""
    from gradcheck.catalog import rule_from_fields
    from gradcheck.problem import compile_rule

    fields = {"id": item.id, "f": item.f, "wrt": item.wrt, item.kind: "0", "layout": item.layout}
    rule, diagnostics = rule_from_fields(
        fields, assume=item.assume or None, symbols=item.symbols or None, file="<corpus>"
    )
    if rule is None:
        raise ValueError("; ".join(str(d) for d in diagnostics))
    return compile_rule(rule)


# ---------------------------------------------------------------- ours


def run_ours(item: Item, options: Any) -> dict[str, Any]:
    from gradcheck.derivation import derive

    start = time.perf_counter()
    try:
        derived = derive(
            item.f,
            item.wrt,
            kind=item.kind,
            layout=item.layout,
            assume=item.assume or None,
            symbols=item.symbols or None,
            options=options,
        )
    except Exception as err:  # a crash of the engine is a result too
        return {
            "ok": False,
            "all_sizes": False,
            "formula": "",
            "outcome": "crash",
            "error": f"{type(err).__name__}: {err}",
            "seconds": time.perf_counter() - start,
        }
    verdict = derived.verdict
    error = derived.error or "; ".join(str(d) for d in derived.diagnostics)
    return {
        "ok": derived.exit_code == 0,
        "all_sizes": bool(verdict and verdict.symbolic and verdict.symbolic.all_sizes),
        "formula": derived.texts.get("unicode", ""),
        "outcome": verdict.outcome if verdict else "not derived",
        "symbolic": verdict.symbolic.status if verdict and verdict.symbolic else "",
        "error": error,
        "seconds": time.perf_counter() - start,
    }


# ---------------------------------------------------------------- sympy


class NotExpressible(Exception):
    """f has no sympy matrix expression."""


class Unevaluated(Exception):
    """sympy's derivative could not be evaluated to numbers."""


class Lowering:
    """Our AST → a sympy matrix expression; `spelling` says how a 1×1 matrix becomes a scalar."""

    def __init__(self, problem: Any, spelling: str) -> None:
        import sympy as sp

        self.sp = sp
        self.problem = problem
        self.spelling = spelling
        self.scalarized = False
        self.dims = {d: sp.Symbol(d, integer=True, positive=True) for d in problem.dims}

    def dim(self, d: str | int) -> Any:
        return d if isinstance(d, int) else self.dims[d]

    def symbol(self, name: str) -> Any:
        rows, cols = self.problem.shapes[name]
        if (rows, cols) == (1, 1):
            return self.sp.Symbol(name, real=True)
        return self.sp.MatrixSymbol(name, self.dim(rows), self.dim(cols))

    # -- shapes and scalars --

    def is_matrix(self, v: Any) -> bool:
        return bool(getattr(v, "is_Matrix", False))

    def shape(self, v: Any) -> tuple[Any, Any]:
        return tuple(v.shape) if self.is_matrix(v) else (1, 1)  # type: ignore[return-value]

    def one_by_one(self, v: Any) -> bool:
        rows, cols = self.shape(v)
        return bool(rows == 1 and cols == 1)

    def scalar(self, v: Any) -> Any:
        """A 1×1 matrix as a scalar: Trace(M) or M[0, 0]."""
        if not self.is_matrix(v):
            return v
        if not self.one_by_one(v):
            raise NotExpressible("a matrix where a scalar is needed")
        self.scalarized = True
        return self.sp.Trace(v) if self.spelling == "trace" else v[0, 0]

    def elementwise(self, fn: Any, v: Any) -> Any:
        if not self.is_matrix(v) or self.one_by_one(v):
            return fn(self.scalar(v))
        d = self.sp.Dummy("d")
        return v.applyfunc(self.sp.Lambda(d, fn(d)))

    def total(self, v: Any) -> Any:
        """sum(M) = 𝟏ᵀ M 𝟏."""
        if not self.is_matrix(v):
            return v
        rows, cols = self.shape(v)
        if rows != 1:
            v = self.sp.OneMatrix(1, rows) * v
        if cols != 1:
            v = v * self.sp.OneMatrix(cols, 1)
        return v

    # -- the lowering --

    def __call__(self, node: Any) -> Any:
        from gradcheck.lang.ast import Call, Const, Num, Sym

        sp = self.sp
        if isinstance(node, Sym):
            return self.symbol(node.name)
        if isinstance(node, Num):
            return sp.Rational(node.value.numerator, node.value.denominator)
        if isinstance(node, Const):
            return self.constant(node)
        if not isinstance(node, Call):
            raise NotExpressible(f"{type(node).__name__} in f")
        op = node.op
        if op == "detach":
            raise NotExpressible("sympy has no stop-gradient (detach)")
        if op in ("pow", "sup", "matpow"):
            return self.power(node)
        args = [self(a) for a in node.args]
        if len(args) == 2:
            return self.binary(op, *args)
        (a,) = args
        if op == "neg":
            return -a
        if op == "T":
            return a.T if self.is_matrix(a) else a
        if op == "inv":
            return a.I if self.is_matrix(a) and not self.one_by_one(a) else 1 / self.scalar(a)
        if op in ("norm", "fro"):
            if not self.is_matrix(a):
                return sp.Abs(a)
            _, cols = self.shape(a)
            gram = a.T * a
            return sp.sqrt(self.scalar(gram) if cols == 1 else sp.Trace(gram))
        if op in FUNCTIONS:
            return self.elementwise(FUNCTIONS[op](sp), a)
        if op == "sum":
            return self.total(a)
        if op == "logsumexp":
            return sp.log(self.scalar(self.total(self.elementwise(sp.exp, a))))
        if op == "softmax":
            e = self.elementwise(sp.exp, a)
            return e * (1 / self.scalar(self.total(e)))
        if op == "diag":
            from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf

            rows, cols = self.shape(a)
            if cols == 1:
                return DiagMatrix(a)
            if rows == 1:
                return DiagMatrix(a.T)
            return DiagonalOf(a)
        if op == "tr":
            return sp.Trace(a) if self.is_matrix(a) else a
        if op == "det":
            return sp.Determinant(a) if self.is_matrix(a) else a
        if op == "logdet":
            return sp.log(sp.Determinant(a) if self.is_matrix(a) else a)
        raise NotExpressible(f"no sympy counterpart for {op}")

    def binary(self, op: str, a: Any, b: Any) -> Any:
        sp = self.sp
        ma, mb = self.is_matrix(a), self.is_matrix(b)
        big_a = ma and not self.one_by_one(a)
        big_b = mb and not self.one_by_one(b)
        if op in ("add", "sub"):
            if big_a != big_b:  # a scalar added to an array means the scalar times 𝟏
                big = a if big_a else b
                ones = sp.OneMatrix(*big.shape)
                a, b = (a, self.scalar(b) * ones) if big_a else (self.scalar(a) * ones, b)
            elif not big_a and (ma != mb):
                a, b = self.scalar(a), self.scalar(b)
            return a + b if op == "add" else a - b
        if op in ("matmul", "scale", "mul"):
            if ma and mb and op != "mul" and a.shape[1] == b.shape[0]:
                return a * b
            if big_a and big_b:
                if op != "mul":
                    raise NotExpressible(f"{op} of {a.shape} and {b.shape}")
                return sp.HadamardProduct(a, b)
            if big_a:
                return self.scalar(b) * a
            if big_b:
                return self.scalar(a) * b
            if ma and mb and op != "mul":
                return a * b
            return self.scalar(a) * self.scalar(b)
        if op == "div":
            if not big_b:
                return (a if big_a else self.scalar(a)) * (1 / self.scalar(b))
            inverse = sp.HadamardPower(b, -1)
            return sp.HadamardProduct(a, inverse) if big_a else self.scalar(a) * inverse
        raise NotExpressible(f"no sympy counterpart for {op}")

    def power(self, node: Any) -> Any:
        from gradcheck.lang.ast import Num

        base, exponent = node.args
        if not isinstance(exponent, Num):
            raise NotExpressible("a power that is not a number")
        k = self.sp.Rational(exponent.value.numerator, exponent.value.denominator)
        a = self(base)
        if not self.is_matrix(a) or self.one_by_one(a):
            return self.scalar(a) ** k
        if node.op == "pow":
            return self.sp.HadamardPower(a, k)
        return a**k  # a matrix power

    def constant(self, node: Any) -> Any:
        sp = self.sp
        dims = [self.dim(d) for d in node.dims]
        if not dims:
            raise NotExpressible(f"{node.name} without a size")
        rows = dims[0]
        cols = dims[1] if len(dims) > 1 else (rows if node.name == "I" else 1)
        if (rows, cols) == (1, 1):
            return sp.Integer(0 if node.name == "zeros" else 1)
        if node.name == "I":
            return sp.Identity(rows)
        if node.name == "ones":
            return sp.OneMatrix(rows, cols)
        return sp.ZeroMatrix(rows, cols)


def _sigmoid(sp: Any) -> Any:
    return lambda t: 1 / (1 + sp.exp(-t))


def _softplus(sp: Any) -> Any:
    return lambda t: sp.log(1 + sp.exp(t))


FUNCTIONS = {
    "exp": lambda sp: sp.exp,
    "log": lambda sp: sp.log,
    "sqrt": lambda sp: sp.sqrt,
    "sin": lambda sp: sp.sin,
    "cos": lambda sp: sp.cos,
    "tan": lambda sp: sp.tan,
    "tanh": lambda sp: sp.tanh,
    "abs": lambda sp: sp.Abs,
    "sigmoid": _sigmoid,
    "softplus": _softplus,
}


def _numbers(z: Any) -> Any:
    """A fully evaluated sympy result as a float64 numpy array (scalars as 0-d arrays)."""
    import numpy as np
    import sympy as sp

    if getattr(z, "is_Matrix", False) and not isinstance(z, sp.MatrixBase):
        z = z.as_explicit()
    if hasattr(z, "as_explicit") and not isinstance(z, sp.MatrixBase | sp.NDimArray):
        z = z.as_explicit()
    if isinstance(z, sp.MatrixBase | sp.NDimArray):
        flat = [sp.N(e) for e in sp.flatten(z.tolist())] if z.shape else [sp.N(z[()])]
        shape = tuple(int(s) for s in z.shape)
    else:
        flat, shape = [sp.N(z)], ()
    values = []
    for e in flat:
        if e.free_symbols or e.has(sp.Derivative):
            raise Unevaluated(f"left {e}")
        c = complex(e)
        if abs(c.imag) > 1e-12 * max(1.0, abs(c.real)):
            values.append(float("nan"))
        else:
            values.append(c.real)
    return np.array(values, dtype=np.float64).reshape(shape)


def _explicit_constants(z: Any) -> Any:
    """𝟏, I and 0 of concrete sizes as explicit matrices, so that `.doit()` multiplies them."""
    import sympy as sp

    def concrete(e: Any) -> bool:
        kinds = (sp.OneMatrix, sp.Identity, sp.ZeroMatrix)
        return isinstance(e, kinds) and all(getattr(d, "is_Integer", False) for d in e.shape)

    return z.replace(concrete, lambda e: sp.ImmutableMatrix(e.as_explicit()))


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(s for s in shape if s != 1)


def run_sympy_once(item: Item, problem: Any, spelling: str) -> dict[str, Any]:
    """sympy's derivative of f, with one spelling of 1×1 matrices as scalars."""
    import numpy as np
    import sympy as sp
    import torch

    from gradcheck.model import Kind, Layout
    from gradcheck.numeric import true_derivative
    from gradcheck.strategies import sample_point

    lowering = Lowering(problem, spelling)
    try:
        f = lowering(problem.f)
    except NotExpressible as err:
        return {"ok": False, "reason": "not expressible", "detail": str(err), "scalarized": False}
    wrt = lowering.symbol(problem.wrt)
    result: dict[str, Any] = {"scalarized": lowering.scalarized, "expression": str(f)[:300]}
    try:
        derivative = f.diff(wrt)
        if problem.kind is Kind.HESSIAN:
            if derivative == 0 or isinstance(derivative, sp.ZeroMatrix):
                # a zero gradient: sympy's second .diff gives an unevaluated Derivative(0, x)
                derivative = sp.ZeroMatrix(wrt.shape[0], wrt.shape[0])
            else:
                derivative = derivative.diff(wrt)
    except Exception as err:
        detail = f"{type(err).__name__}: {err}".splitlines()[0][:200]
        return {**result, "ok": False, "reason": f"crash: {type(err).__name__}", "detail": detail}
    try:
        derivative = derivative.doit()  # what a user would call next (Derivative(0, x) is 0)
    except Exception as err:
        detail = f"doit: {type(err).__name__}: {err}".splitlines()[0][:200]
        return {**result, "ok": False, "reason": "unevaluated", "detail": detail}
    result["derivative"] = str(derivative)[:300]
    if derivative.has(sp.Derivative):
        return {**result, "ok": False, "reason": "unevaluated", "detail": str(derivative)[:200]}
    symbolic_zero = derivative == 0 or isinstance(derivative, sp.ZeroMatrix)

    sizes = dict(zip(problem.dims, SIZES, strict=False))
    xr, xc = problem.symbol_size(problem.wrt, sizes)
    dim_map = {lowering.dims[d]: sp.Integer(v) for d, v in sizes.items()}
    points, worst = 0, 0.0
    for seed in SEEDS:
        sample = sample_point(problem, sizes, seed)
        values = {k: torch.tensor(v, dtype=torch.float64) for k, v in sample.values.items()}
        direction = torch.tensor(sample.direction, dtype=torch.float64)
        try:
            true = true_derivative(problem, values, sizes, direction).detach().numpy()
        except RuntimeError:  # e.g. a singular matrix inverted inside f
            continue
        if not np.isfinite(true).all():
            continue  # outside f's domain: another point
        replace: dict[Any, Any] = {}
        for name, value in sample.values.items():
            rows, cols = problem.symbol_size(name, sizes)
            if problem.shapes[name] == (1, 1):
                replace[sp.Symbol(name, real=True)] = sp.Float(float(value[0, 0]))
            else:
                replace[sp.MatrixSymbol(name, rows, cols)] = sp.ImmutableMatrix(value)
        try:
            z = _explicit_constants(derivative.xreplace(dim_map))
            z = z.xreplace(replace).doit().doit()
            got = _numbers(z)
        except Unevaluated as err:
            return {**result, "ok": False, "reason": "unevaluated", "detail": str(err)[:200]}
        except Exception as err:
            detail = f"{type(err).__name__}: {err}".splitlines()[0][:200]
            return {**result, "ok": False, "reason": "unevaluated", "detail": detail}
        f_shape = _f_shape(problem, sizes, xr, xc)
        expected = (xr, xc, *f_shape)
        if _squeezed(got.shape) != _squeezed(expected):
            detail = f"shape {got.shape}, expected {expected} (wrt shape, then f's)"
            return {**result, "ok": False, "reason": "wrong shape", "detail": detail}
        jac = got.reshape(xr * xc, f_shape[0] * f_shape[1])
        if problem.kind is Kind.DIFFERENTIAL:
            arranged = (jac.T @ sample.direction.reshape(-1)).reshape(f_shape)
        elif problem.kind is Kind.GRADIENT:
            arranged = jac.reshape(xr, xc)
            arranged = arranged if problem.layout is Layout.DENOMINATOR else arranged.T
        else:  # a Jacobian (denominator: n × m) or a Hessian (n × n)
            arranged = jac if problem.layout is Layout.DENOMINATOR else jac.T
        arranged = arranged.reshape(true.shape)
        if not np.isfinite(arranged).all():
            return {**result, "ok": False, "reason": "wrong value", "detail": "not finite"}
        error = float(np.abs(arranged - true).max()) if true.size else 0.0
        scale = float(np.abs(true).max()) if true.size else 0.0
        if error > RTOL * scale + ATOL:
            zero = symbolic_zero or not np.abs(arranged).max() > 0
            reason = "returned 0" if zero else "wrong value"
            detail = f"max abs error {error:.3g} (|true| up to {scale:.3g})"
            return {**result, "ok": False, "reason": reason, "detail": detail}
        worst = max(worst, error / scale if scale else error)
        points += 1
        if points == POINTS:
            return {**result, "ok": True, "reason": "", "detail": f"max rel error {worst:.2g}"}
    return {**result, "ok": False, "reason": "no point", "detail": "no sample inside f's domain"}


def _f_shape(problem: Any, sizes: dict[str, int], xr: int, xc: int) -> tuple[int, int]:
    """The shape of what sympy differentiates: f, or its gradient for a Hessian."""
    import torch

    from gradcheck.model import Kind
    from gradcheck.numeric import evaluate
    from gradcheck.strategies import sample_point

    if problem.kind is Kind.HESSIAN:
        return (xr, xc)
    sample = sample_point(problem, sizes, 0)
    values = {k: torch.tensor(v, dtype=torch.float64) for k, v in sample.values.items()}
    with torch.no_grad():
        value = evaluate(problem.f, values, sizes)
    return (int(value.shape[0]), int(value.shape[1]))


def run_sympy(item: Item, problem: Any) -> dict[str, Any]:
    """sympy's result: the Trace spelling, then (if a 1×1 matrix was used as a scalar) M[0, 0]."""
    from gradcheck.symbolic import SymbolicTimeout, time_limit

    start = time.perf_counter()
    tries = []
    for spelling in ("trace", "entry"):
        try:
            with time_limit(SYMPY_TIMEOUT):
                outcome = run_sympy_once(item, problem, spelling)
        except SymbolicTimeout:
            outcome = {"ok": False, "reason": "timeout", "detail": f"over {SYMPY_TIMEOUT:g} s"}
        except RecursionError as err:
            outcome = {"ok": False, "reason": "crash: RecursionError", "detail": str(err)[:200]}
        outcome["spelling"] = spelling
        tries.append(outcome)
        if outcome["ok"] or not outcome.get("scalarized"):
            break
    best = next((t for t in tries if t["ok"]), tries[0])
    return {**best, "tries": tries, "seconds": time.perf_counter() - start}


# ---------------------------------------------------------------- one item, all items


def run_item(args: tuple[Item, Any, tuple[str, ...]]) -> dict[str, Any]:
    item, options, parts = args
    warnings.simplefilter("ignore")
    row: dict[str, Any] = {"item": asdict(item), "command": item.command()}
    try:
        problem = problem_of(item)
        row["display"] = _display(item, item.shown or item.f)
    except Exception as err:
        row["display"] = item.f
        row["ours"] = {"ok": False, "all_sizes": False, "error": f"cannot compile: {err}"}
        row["sympy"] = {"ok": False, "reason": "not expressible", "detail": "cannot compile"}
        return row
    row["ours"] = (
        run_ours(item, options)
        if "ours" in parts
        else {"ok": False, "all_sizes": False, "error": "not run", "seconds": 0.0}
    )
    if "sympy" not in parts:
        row["sympy"] = {"ok": False, "reason": "not run", "detail": "", "seconds": 0.0}
        return row
    try:
        row["sympy"] = run_sympy(item, problem)
    except Exception as err:  # a bug of this script, not of sympy: say so in the row
        row["sympy"] = {
            "ok": False,
            "reason": "bench error",
            "detail": f"{type(err).__name__}: {err}",
        }
    return row


def _display(item: Item, f: str) -> str:
    wrt = item.wrt
    if item.kind != "jacobian" and any(ch in f for ch in " +−-/*@⊙"):
        f = f"({f})"
    text = {
        "gradient": f"∇_{wrt} {f}",
        "jacobian": f"∂({f})/∂{wrt}",
        "hessian": f"∇²_{wrt} {f}",
        "differential": f"d({f}) by {wrt}",
    }[item.kind]
    return text + (" [numerator]" if item.layout == "numerator" else "")


def run_all(
    items: list[Item], options: Any, jobs: int, parts: tuple[str, ...] = ("ours", "sympy")
) -> list[dict[str, Any]]:
    work = [(item, options, parts) for item in items]
    if jobs <= 1:
        return [run_item(w) for w in work]
    import importlib

    for module in ("gradcheck.derivation", "gradcheck.numeric", "gradcheck.symbolic"):
        importlib.import_module(module)  # imported once, inherited by the workers

    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        return list(pool.imap(run_item, work, chunksize=1))


# ---------------------------------------------------------------- reports


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def count(group: list[dict[str, Any]]) -> dict[str, Any]:
        reasons: dict[str, int] = {}
        for r in group:
            if not r["sympy"]["ok"]:
                key = r["sympy"]["reason"].split(":")[0]
                reasons[key] = reasons.get(key, 0) + 1
        return {
            "functions": len(group),
            "ours": sum(r["ours"]["ok"] for r in group),
            "ours_all_sizes": sum(r["ours"]["ok"] and r["ours"]["all_sizes"] for r in group),
            "sympy": sum(r["sympy"]["ok"] for r in group),
            "sympy_failures": dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
        }

    return {
        "all": count(rows),
        "corpus": count([r for r in rows if r["item"]["group"] == "corpus"]),
        "rules": count([r for r in rows if r["item"]["group"] == "rules"]),
    }


def summary_line(c: dict[str, Any]) -> str:
    return (
        f"gradcheck derive: {c['ours']}/{c['functions']} derived and verified "
        f"({c['ours_all_sizes']} proved for all sizes); "
        f"sympy MatrixExpr.diff: {c['sympy']}/{c['functions']} right"
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def ours_cell(o: dict[str, Any]) -> str:
    if o["ok"]:
        return "✓ all sizes" if o["all_sizes"] else "✓"
    error = re.sub(r"\s+", " ", o.get("error", ""))
    error = error.replace("the derived formula did not verify (", "not verified: ")
    error = error.replace("); it is not shown as a result", "")
    error = error.replace("cannot derive this in closed form: ", "not derived: ")
    short = error if len(error) <= 80 else error[:79] + "…"
    return f"✗ {short}" if short else "✗"


def sympy_cell(s: dict[str, Any]) -> str:
    if s["ok"]:
        return "✓" if s.get("spelling") == "trace" else "✓ (with M[0, 0])"
    reasons = list(dict.fromkeys(t["reason"] for t in s.get("tries", [s])))
    if len(reasons) == 1:
        return f"✗ {reasons[0]}"
    return "✗ " + " / ".join(
        f"{r} ({w})" for r, w in zip(reasons, ("Trace", "M[0, 0]"), strict=False)
    )


def markdown(
    rows: list[dict[str, Any]],
    seconds: float,
    cpu: float,
    skipped: list[str],
    jobs: int,
    load: float | None = None,
) -> str:
    counts = summary(rows)
    failures = ", ".join(f"{k} {v}" for k, v in counts["all"]["sympy_failures"].items())
    lines = [
        f"**{summary_line(counts['all'])}.**",
        "",
        "| functions | count | gradcheck derive: derived and verified | of which proved "
        "for all sizes | sympy `MatrixExpr.diff` right |",
        "|---|---|---|---|---|",
    ]
    for key, label in (
        ("corpus", "Matrix Cookbook, ML, spec §3 (`tests/data/derive_corpus.yaml`)"),
        ("rules", "the f of every bundled rule (`rules/`)"),
        ("all", "all"),
    ):
        c = counts[key]
        lines.append(
            f"| {label} | {c['functions']} | {c['ours']} | {c['ours_all_sizes']} | {c['sympy']} |"
        )
    lines += ["", f"sympy's failures: {failures}.", ""]
    ours_failed = [r for r in rows if not r["ours"]["ok"]]
    if ours_failed:
        lines.append(f"Where `gradcheck derive` fails ({len(ours_failed)}):")
        lines.append("")
        for r in ours_failed:
            error = re.sub(r"\s+", " ", r["ours"].get("error", ""))
            lines.append(f"- `{r['item']['id']}` ({r['item']['group']}): {error}")
        lines.append("")
    lines += [
        "<details>",
        f"<summary>Every function ({len(rows)})</summary>",
        "",
        "| group | id | f | gradcheck derive | sympy `MatrixExpr.diff` |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['item']['group']} | {_cell(r['item']['id'])} | {_cell(r['display'])} | "
            f"{_cell(ours_cell(r['ours']))} | {_cell(sympy_cell(r['sympy']))} |"
        )
    lines += ["", "</details>", ""]
    lines.append(
        f"Measured by `python bench/coverage.py` with {jobs} processes: {seconds:.0f} s wall "
        f"clock, {cpu:.0f} s CPU"
        + (f" (load average {load:.1f} when it started)." if load is not None else ".")
    )
    if skipped:
        lines.append("")
        lines.append("Rules not included (cannot be read): " + "; ".join(skipped))
    return "\n".join(lines) + "\n"


def update_readme(text: str, path: Path = README) -> bool:
    """Replace the block between the coverage markers of README.md; False if none."""
    readme = path.read_text(encoding="utf-8")
    if START not in readme or END not in readme:
        return False
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{text}{END}{tail}", encoding="utf-8")
    return True


def _cpu_seconds() -> float:
    """CPU time of this process and its finished workers."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--examples", type=int, default=30, help="autograd examples per derive")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--symbolic-timeout",
        type=float,
        default=5.0,
        help="derive's time limit for the entrywise sympy proof (a proof at sizes ≥ 2 stands)",
    )
    parser.add_argument("-j", "--jobs", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("-k", "--keyword", help="only functions whose id contains this")
    parser.add_argument("--corpus-only", action="store_true", help="leave out the bundled rules")
    parser.add_argument("--update-readme", action="store_true", help="rewrite README's table")
    parser.add_argument(
        "--only", choices=("ours", "sympy"), help="run one side only (for debugging)"
    )
    parser.add_argument("--save", type=Path, help="also write the JSON document to this file")
    parser.add_argument(
        "--from-json", type=Path, help="render a saved JSON document instead of running"
    )
    args = parser.parse_args(argv)

    if args.from_json:
        saved = json.loads(args.from_json.read_text(encoding="utf-8"))
        text = markdown(
            saved["rows"],
            saved["seconds"],
            saved["cpu_seconds"],
            saved["skipped"],
            saved["jobs"],
            saved.get("load"),
        )
        sys.stdout.write(text)
        return 0 if not args.update_readme or update_readme(text) else 1

    load = os.getloadavg()[0]
    start = time.perf_counter()
    items = corpus_items()
    skipped: list[str] = []
    if not args.corpus_only:
        rules, skipped = rule_items()
        items += rules
    if args.keyword:
        items = [i for i in items if args.keyword.casefold() in i.id.casefold()]
    from gradcheck.model import Options

    options = Options(
        examples=args.examples, seed=args.seed, symbolic_timeout=args.symbolic_timeout
    )
    parts = (args.only,) if args.only else ("ours", "sympy")
    rows = run_all(items, options, args.jobs, parts)
    seconds = time.perf_counter() - start
    cpu = _cpu_seconds()
    document = {
        "summary": summary(rows),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "load": load,
        "examples": args.examples,
        "seed": args.seed,
        "symbolic_timeout": args.symbolic_timeout,
        "jobs": args.jobs,
        "skipped": skipped,
        "rows": rows,
    }
    if args.save:
        args.save.write_text(
            json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n",
            encoding="utf-8",
        )
    if args.json:
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(markdown(rows, seconds, cpu, skipped, args.jobs, load))
    if args.update_readme:
        text = markdown(rows, seconds, cpu, skipped, args.jobs, load)
        if not update_readme(text):
            print(f"README.md has no {START} … {END} block", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
