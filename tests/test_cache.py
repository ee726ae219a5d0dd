"""Tests for the result cache (gradcheck.cache) and its codec: a cached verdict is the
uncached one, byte for byte; a key changes with what the verdict depends on and not with the
formatting; a corrupt entry, concurrent writers and an unwritable cache are harmless."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from gradcheck import api
from gradcheck.cache import Cache, cacheable, key
from gradcheck.codec import DecodeError, decode, encode
from gradcheck.model import Expect, Options, Status, SymbolicEvidence, SymbolicStatus, Verdict
from gradcheck.problem import compile_rule
from gradcheck.report.json_report import report_to_dict

QUICK = Options(examples=20)
RULES = textwrap.dedent("""\
    rules:
      - id: quadratic
        claim: "∇_x (xᵀAx) = (A + Aᵀ)x"
      - id: quadratic-wrong
        claim: "∇_x (xᵀAx) = 2Ax"
        expect: fails
      - id: log-det
        claim: "∇_X log det(X) = X⁻ᵀ"
        assume: {X: [invertible]}
""")
# The same rules, formatted otherwise: another order, quoting, spacing, titles and tags.
REFORMATTED = textwrap.dedent("""\
    # a comment
    rules:
      - id: log-det
        title: The log-determinant
        assume:
          X: [invertible]
        claim: ∇_X log det( X ) = X⁻ᵀ
        tags: [determinant]
      - claim: '∇_x (xᵀ A x) = (A + Aᵀ) x'
        id: quadratic
      - id: quadratic-wrong
        expect: fails
        claim: ∇_x (xᵀAx) = 2 A x
""")


def without_timings(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: without_timings(v) for k, v in data.items() if k != "seconds"}
    if isinstance(data, list):
        return [without_timings(v) for v in data]
    return data


def as_json(report: Any) -> str:
    return json.dumps(without_timings(report_to_dict(report)), sort_keys=True, ensure_ascii=False)


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "gradcheck"


def rules_file(tmp_path: Path, text: str = RULES, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def entries(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / "verdicts").glob("*/*.json"))


def test_a_cached_verdict_is_the_computed_one_byte_for_byte(tmp_path: Path,
                                                           cache_dir: Path) -> None:
    path = rules_file(tmp_path)
    fresh = api.verify([path], options=QUICK)
    first = api.verify([path], options=QUICK, cache=True)
    assert len(entries(cache_dir)) == 3
    again = api.verify([path], options=QUICK, cache=True)
    assert as_json(fresh) == as_json(first) == as_json(again)
    assert again.verdicts == tuple(
        v.__class__(**{**v.__dict__, "seconds": w.seconds}) for v, w in
        zip(first.verdicts, again.verdicts, strict=True))
    wrong = next(v for v in again.verdicts if v.rule_id == "quadratic-wrong")
    assert wrong.status is Status.FAILS and wrong.numeric and wrong.numeric.counterexample
    assert wrong.diagnosis is not None and wrong.diagnosis.corrected


def test_the_codec_round_trips_every_part_of_a_verdict() -> None:
    report = api.check_report("∇_X tr(AX) = A", options=QUICK)  # fails: a counterexample
    (verdict,) = report.verdicts
    assert verdict.numeric and verdict.numeric.counterexample and verdict.statement
    data = json.loads(json.dumps(encode(verdict)))
    assert decode(data) == verdict
    assert decode(json.loads(json.dumps(encode(float("inf"))))) == float("inf")


@pytest.mark.parametrize("data", [
    {"@": "Popen", "args": ["sh"]},  # only registered classes are ever built
    {"@enum": "Status", "value": "no such status"},
    {"@": "Verdict", "rule_id": "x"},  # fields missing
    {"no": "tag"},
    {"@fraction": [1, 0]},
])
def test_decoding_builds_nothing_but_registered_data(data: Any) -> None:
    with pytest.raises(DecodeError):
        decode(data)


def test_reformatting_a_rule_keeps_its_key(tmp_path: Path, cache_dir: Path) -> None:
    api.verify([rules_file(tmp_path)], options=QUICK, cache=True)
    stored = entries(cache_dir)
    moved = api.verify([rules_file(tmp_path, REFORMATTED, "other.yaml")], options=QUICK,
                       cache=True)
    assert entries(cache_dir) == stored  # every verdict came from the cache
    log_det = next(v for v in moved.verdicts if v.rule_id == "log-det")
    # what the key leaves out is the rule's as it is now
    assert log_det.tags == ("determinant",) and log_det.position is not None
    assert log_det.position.file.endswith("other.yaml") and log_det.position.line == 3


def test_a_key_changes_with_the_claim_the_options_and_the_assumptions() -> None:
    def key_of(claim: str, options: Options = QUICK, **kw: Any) -> str:
        from gradcheck.catalog import rule_from_claim

        rule, _ = rule_from_claim(claim, **kw)
        assert rule is not None
        return key(rule, compile_rule(rule), options)

    base = key_of("∇_x (xᵀAx) = 2Ax")
    assert key_of("∇_x (xᵀ A x) = 2 A x") == base  # spacing is formatting
    assert key_of("∇_x (xᵀAx) = (A + Aᵀ)x") != base
    assert key_of("∇_x (xᵀAx) = 2Ax", assume={"A": ["symmetric"]}) != base
    assert key_of("∇_x (xᵀAx) = 2Ax", Options(examples=21)) != base
    assert key_of("∇_x (xᵀAx) = 2Ax", Options(examples=20, seed=1)) != base
    assert key_of("∇_x (xᵀAx) = 2Ax", Options(examples=20, jobs=2)) == base


def test_a_corrupt_entry_is_ignored_and_written_again(tmp_path: Path, cache_dir: Path) -> None:
    path = rules_file(tmp_path)
    first = api.verify([path], options=QUICK, cache=True)
    hostile = ["", "{not json", json.dumps({"key": "x", "verdict": 1}), "[" * 100_000,
               " " * (5 * 1024 * 1024)]
    for i, entry in enumerate(entries(cache_dir)):
        entry.write_text(hostile[i % len(hostile)])
    again = api.verify([path], options=QUICK, cache=True)
    assert as_json(again) == as_json(first)
    cache = Cache(cache_dir)
    for text in hostile:  # each one alone, whatever the number of rules
        entries(cache_dir)[0].write_text(text)
        assert cache.get(entries(cache_dir)[0].stem) is None
    api.verify([path], options=QUICK, cache=True)
    for entry in entries(cache_dir):
        assert cache.get(entry.stem) is not None  # rewritten whole


def test_an_unwritable_cache_is_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    report = api.verify([rules_file(tmp_path)], options=QUICK, cache=True)
    assert report.exit_code == 0


def test_a_verdict_a_time_limit_decided_is_not_stored() -> None:
    timed_out = Verdict("r", Status.HOLDS_NUMERIC, Expect.HOLDS, "",
                        symbolic=SymbolicEvidence(SymbolicStatus.TIMEOUT))
    assert not cacheable(timed_out)
    assert not cacheable(Verdict("r", Status.ERROR, Expect.HOLDS, ""))
    assert cacheable(Verdict("r", Status.HOLDS, Expect.HOLDS, "",
                             symbolic=SymbolicEvidence(SymbolicStatus.PROVED)))


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gradcheck", *args], capture_output=True,
                          text=True, env=env, timeout=600, check=False)


def test_concurrent_runs_share_the_cache_and_a_cached_run_imports_no_torch(
        tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg"), "NO_COLOR": "1"}
    path = str(rules_file(tmp_path))
    runs = [subprocess.Popen([sys.executable, "-m", "gradcheck", "verify", path, "-j", "2",
                              "--examples", "20", "--format", "json"],
                             stdout=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outputs = [json.loads(run.communicate(timeout=600)[0]) for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert without_timings(outputs[0]) == without_timings(outputs[1])
    probe = ("import sys; from gradcheck import api; from gradcheck.model import Options; "
             f"r = api.verify([{path!r}], options=Options(examples=20), cache=True); "
             "print(r.exit_code, sorted(m for m in ('torch', 'sympy', 'hypothesis') "
             "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env=env, timeout=600, check=True)
    assert result.stdout.split(maxsplit=1) == ["0", "[]\n"]


def test_no_cache_neither_reads_nor_writes_and_cache_clear_empties_it(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg"), "NO_COLOR": "1"}
    path = str(rules_file(tmp_path))
    folder = tmp_path / "xdg" / "gradcheck"
    assert _cli("verify", path, "--examples", "20", "--no-cache", env=env).returncode == 0
    assert entries(folder) == []
    assert _cli("verify", path, "--examples", "20", env=env).returncode == 0
    assert len(entries(folder)) == 3
    info = _cli("cache", "info", env=env)
    assert info.returncode == 0 and "3 verdicts" in info.stdout
    cleared = _cli("cache", "clear", env=env)
    assert cleared.returncode == 0 and "removed 3 verdicts" in cleared.stdout
    assert entries(folder) == []
