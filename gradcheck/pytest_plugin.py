"""The pytest plugin (entry point `pytest11`: `gradcheck`): rule files matching the ini option
`gradcheck_files` (default `*.gradcheck.yaml *.gradcheck.yml`) are collected, one test item per
rule, named by its id. A rule as expected passes; one not as expected fails with its verdict,
counterexample, diagnosis and corrected rule, at its file and line; `expect: fails` is a strict
xfail; an unreadable rule is a collection error at file:line:col.

Collection reads, parses and types the rules only (no torch, sympy or hypothesis import); a
rule is checked when its item runs. Under pytest-xdist every worker collects the same items
and checks its share, so `pytest -n N` spreads a catalog over N cores with the same outcomes.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gradcheck.model import Diagnostic, Expect, Options, Rule, Status, Verdict

DEFAULT_FILES = ["*.gradcheck.yaml", "*.gradcheck.yml"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradcheck", "matrix-calculus rule files (gradcheck)")
    group.addoption(
        "--gradcheck-seed",
        type=int,
        default=Options().seed,
        help="Seed of the generated inputs (default %(default)s).",
    )
    group.addoption(
        "--gradcheck-examples",
        type=int,
        default=Options().examples,
        help="Generated inputs per rule (default %(default)s).",
    )
    group.addoption(
        "--gradcheck-no-diagnose",
        action="store_true",
        help="Do not diagnose failing rules (faster, less to read).",
    )
    parser.addini(
        "gradcheck_files",
        type="args",
        default=DEFAULT_FILES,
        help="Glob patterns of the rule files to collect.",
    )


def pytest_configure(config: pytest.Config) -> None:
    # torch's vmap machinery calls its own deprecated torch.jit.script: not the user's concern
    config.addinivalue_line(
        "filterwarnings", "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    patterns = parent.config.getini("gradcheck_files")
    if any(fnmatch.fnmatch(file_path.name, pattern) for pattern in patterns):
        return RuleFile.from_parent(parent, path=file_path)
    return None


class UnreadableRules(Exception):
    """A rule file with rules that cannot be read or typed."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("\n".join(str(d) for d in diagnostics))
        self.diagnostics = diagnostics


class RuleFile(pytest.File):
    """A rule file: one item per rule."""

    def collect(self) -> Iterator[pytest.Item]:
        from gradcheck.catalog import load_file
        from gradcheck.errors import RuleError
        from gradcheck.problem import compile_rule
        from gradcheck.verdicts import ill_formed

        rules, diagnostics = load_file(self.path)
        items = []
        for rule in rules:
            try:
                compile_rule(rule)
            except RuleError as err:
                verdict = ill_formed(rule, err)
                position = verdict.position or rule.position
                diagnostics.append(Diagnostic(position, verdict.message, rule_id=rule.id))
                continue
            items.append(RuleItem.from_parent(self, name=rule.id, rule=rule))
        if diagnostics:
            raise UnreadableRules(diagnostics)
        yield from items

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, UnreadableRules):
            return "gradcheck: rules that cannot be read\n" + str(excinfo.value)
        return str(super().repr_failure(excinfo))


class NotAsExpected(Exception):
    """A rule whose verdict is not what its `expect` says."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.outcome)
        self.verdict = verdict


class ExpectedFailure(Exception):
    """A rule with `expect: fails` that fails: what its strict xfail expects."""


class RuleItem(pytest.Item):
    """One rule, checked when it runs."""

    def __init__(self, *, rule: Rule, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rule = rule
        if rule.expect is Expect.FAILS:
            reason = "the rule records a mistake (expect: fails)"
            self.add_marker(pytest.mark.xfail(reason=reason, strict=True, raises=ExpectedFailure))

    def runtest(self) -> None:
        from gradcheck.problem import compile_rule
        from gradcheck.verdicts import verdict_for

        _one_torch_thread_per_xdist_worker()
        config = self.config
        options = Options(
            seed=config.getoption("gradcheck_seed"),
            examples=config.getoption("gradcheck_examples"),
            diagnose=not config.getoption("gradcheck_no_diagnose"),
        )
        verdict = verdict_for(self.rule, compile_rule(self.rule), options)
        if self.rule.expect is Expect.FAILS and verdict.status is Status.FAILS:
            raise ExpectedFailure(verdict.message)
        if not verdict.as_expected:
            raise NotAsExpected(verdict)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, NotAsExpected):
            return failure_report(excinfo.value.verdict)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.rule.position.line - 1, f"gradcheck rule {self.rule.id}"


def failure_report(verdict: Verdict) -> str:
    """What a failing item shows: where, the verdict and its reason, the diagnosis with the
    verified formula, the counterexample, and the corrected rule."""
    from gradcheck.report.ci import counterexample_text, explanation

    lines = [f"{verdict.position}: {verdict.rule_id}: {verdict.outcome}", explanation(verdict)]
    if counterexample := counterexample_text(verdict):
        lines.append(counterexample)
    d = verdict.diagnosis
    if d is not None and d.corrected:
        lines += ["corrected rule:", d.corrected.rstrip()]
    return "\n".join(lines)


def _one_torch_thread_per_xdist_worker() -> None:
    """Under pytest-xdist the workers are already one per core; torch's own threads on top
    made the numeric check several times slower (as with `gradcheck verify -j`)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)
