"""A rule is compiled once and its text parsed once, however many repairs the diagnosis tries.

The counters wrap the real `compile_rule`, `parse_claim` and `parse_expression` in every
gradcheck module that holds them (a `from .problem import compile_rule` binds its own name),
so the sympy and torch checks run for real.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

import gradcheck
from gradcheck import problem
from gradcheck.lang import parser

COUNTED = {
    "compile_rule": problem.compile_rule,
    "parse_claim": parser.parse_claim,
    "parse_expression": parser.parse_expression,
}


def _gradcheck_modules() -> Iterator[Any]:
    """Every module of the package, imported (not `__main__`, which would run the CLI)."""
    for info in pkgutil.walk_packages(gradcheck.__path__, "gradcheck."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    yield from (m for name, m in list(sys.modules.items()) if name.startswith("gradcheck"))


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often each counted function is called, wherever it is called from."""
    counts: Counter[str] = Counter()

    def counting(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return real(*args, **kwargs)

        return wrapper

    wrappers = {name: counting(name, real) for name, real in COUNTED.items()}
    patched = 0
    for module in _gradcheck_modules():
        for name, real in COUNTED.items():
            if getattr(module, name, None) is real:
                monkeypatch.setattr(module, name, wrappers[name])
                patched += 1
    assert patched >= len(COUNTED)  # at least the defining modules
    return counts


def _run(*args: str) -> str:
    from gradcheck.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.output


def _parses(calls: Counter[str]) -> int:
    return calls["parse_claim"] + calls["parse_expression"]


def test_a_failing_claim_is_compiled_and_parsed_once(calls: Counter[str]) -> None:
    output = _run("check", "∇_x (xᵀAx) = 2Ax", "--examples", "20")
    assert "fails" in output and "assumption" in output  # diagnosed: A symmetric
    assert calls["compile_rule"] == 1
    assert _parses(calls) == 1


def test_a_holding_claim_is_compiled_and_parsed_once(calls: Counter[str]) -> None:
    output = _run("check", "∇_x (xᵀAx) = (A + Aᵀ)x", "--examples", "20")
    assert "holds" in output
    assert calls["compile_rule"] == 1
    assert _parses(calls) == 1


def test_a_derivation_is_compiled_once(calls: Counter[str]) -> None:
    output = _run("derive", "xᵀAx", "--wrt", "x")
    assert "Aᵀ" in output or "A + A" in output
    assert calls["compile_rule"] == 1
    # f, and the placeholder claim the rule is built with: each text once
    assert calls["parse_expression"] == 2 and calls["parse_claim"] == 0
