"""The derive corpus (tests/data/derive_corpus.yaml): it reads, and `gradcheck derive` handles
the functions sympy's MatrixExpr.diff gets wrong; its torch output runs and is right."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from typing import Any

import pytest
import torch
from ruamel.yaml import YAML

from gradcheck.catalog import rule_from_fields
from gradcheck.derivation import derive
from gradcheck.model import Kind, Options
from gradcheck.numeric import true_derivative
from gradcheck.problem import Problem, compile_rule
from gradcheck.strategies import sample_point

CORPUS = Path(__file__).parent / "data" / "derive_corpus.yaml"
KEYS = {"id", "f", "wrt", "kind", "layout", "assume", "symbols", "source", "note"}
KINDS = {kind.value for kind in Kind}
# spec §3: MatrixExpr.diff returns 0, leaves det unevaluated, or crashes on these.
TROUBLE_MAKERS = [
    "sympy-log-linear",
    "sympy-quartic",
    "sympy-det-squared",
    "sympy-logdet",
    "sympy-sqrt-norm",
    "sympy-exp-trace",
    "sympy-hadamard-hessian",
]
TORCH_SAMPLES = [
    "trace-AXB",
    "inverse-bilinear",
    "softmax-jacobian",
    "hessian-least-squares",
    "d-inverse",
]
FAST = Options(examples=20, symbolic_timeout=5.0)

ENTRIES: list[dict[str, Any]] = YAML(typ="safe").load(CORPUS.read_text(encoding="utf-8"))
BY_ID = {entry["id"]: entry for entry in ENTRIES}


def compiled(entry: dict[str, Any]) -> Problem:
    """The Problem `derive` builds for an entry (the claim is a placeholder 0)."""
    kind = entry.get("kind", "gradient")
    fields = {
        "id": entry["id"],
        "f": entry["f"],
        "wrt": entry["wrt"],
        kind: "0",
        "layout": entry.get("layout", "denominator"),
    }
    rule, diagnostics = rule_from_fields(
        fields, assume=entry.get("assume"), symbols=entry.get("symbols"), file=str(CORPUS)
    )
    assert rule is not None, [str(d) for d in diagnostics]
    return compile_rule(rule)


def derived(entry: dict[str, Any]) -> Any:
    return derive(
        entry["f"],
        entry["wrt"],
        kind=entry.get("kind", "gradient"),
        layout=entry.get("layout", "denominator"),
        assume=entry.get("assume"),
        symbols=entry.get("symbols"),
        options=FAST,
    )


def test_corpus_is_a_list_of_well_formed_entries() -> None:
    assert isinstance(ENTRIES, list)
    assert len(ENTRIES) >= 60
    ids = [entry["id"] for entry in ENTRIES]
    assert len(ids) == len(set(ids)), "ids must be unique"
    for entry in ENTRIES:
        assert {"id", "f", "wrt", "source"} <= entry.keys(), entry
        assert entry.keys() <= KEYS, entry.keys() - KEYS
        assert entry.get("kind", "gradient") in KINDS, entry
    assert set(TROUBLE_MAKERS) | set(TORCH_SAMPLES) <= set(ids)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["id"])
def test_every_entry_compiles(entry: dict[str, Any]) -> None:
    problem = compiled(entry)
    assert problem.wrt == entry["wrt"]
    assert problem.kind.value == entry.get("kind", "gradient")


@pytest.mark.parametrize("entry_id", TROUBLE_MAKERS)
def test_sympy_trouble_makers_are_derived_and_verified(entry_id: str) -> None:
    result = derived(BY_ID[entry_id])
    assert result.exit_code == 0, result.error or result.diagnostics
    assert result.texts["unicode"]
    assert result.verdict is not None and result.verdict.symbolic is not None
    assert result.verdict.symbolic.all_sizes


@pytest.mark.parametrize("entry_id", TORCH_SAMPLES)
def test_torch_output_computes_the_derivative(entry_id: str, tmp_path: Path) -> None:
    entry = BY_ID[entry_id]
    result = derived(entry)
    assert result.exit_code == 0, result.error or result.diagnostics
    module_path = tmp_path / f"derived_{entry_id.replace('-', '_')}.py"
    module_path.write_text(result.texts["torch"], encoding="utf-8")
    spec = importlib.util.spec_from_file_location(module_path.stem, module_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    problem = compiled(entry)
    sizes = {dim: size for dim, size in zip(problem.dims, (3, 2, 4, 5), strict=False)}
    for seed in (1, 2):
        sample = sample_point(problem, sizes, seed)
        values = {k: torch.tensor(v, dtype=torch.float64) for k, v in sample.values.items()}
        direction = torch.tensor(sample.direction, dtype=torch.float64)
        by_name = {**values, f"d{problem.wrt}": direction}
        params = inspect.signature(module.derivative).parameters
        got = module.derivative(*(by_name[name] for name in params))
        want = true_derivative(problem, values, sizes, direction)
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, rtol=1e-8, atol=1e-10)
