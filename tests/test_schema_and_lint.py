"""The JSON Schema of rule files, `gradcheck lint`, the pre-commit hooks and the Action."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from gradcheck.catalog import FIELDS, bundled_catalog, read_data
from gradcheck.schema import HELP, rule_file_schema

ROOT = Path(__file__).resolve().parent.parent
VALIDATOR = jsonschema.Draft7Validator(rule_file_schema())


def gradcheck(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gradcheck", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300, check=False,
                          env={**os.environ, "NO_COLOR": "1"})


def test_the_schema_is_a_valid_draft_7_schema_and_the_command_prints_it() -> None:
    jsonschema.Draft7Validator.check_schema(rule_file_schema())
    assert json.loads(gradcheck("schema").stdout) == rule_file_schema()
    assert set(HELP) == set(FIELDS)  # every key the reader accepts is described


@pytest.mark.parametrize("path", sorted(bundled_catalog().glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_rule_file_validates(path: Path) -> None:
    errors = [e.message for e in VALIDATOR.iter_errors(read_data(path))]
    assert errors == []


@pytest.mark.parametrize("rule", [
    {"id": "x", "claim": "∇_x (aᵀx) = a", "colour": "red"},  # unknown key
    {"id": "x y", "claim": "∇_x (aᵀx) = a"},  # not an id
    {"id": "x", "claim": "∇_x (aᵀx) = a", "layout": "sideways"},
    {"id": "x", "claim": "∇_x (aᵀx) = a", "expect": "maybe"},
    {"id": "x", "claim": "∇_x (aᵀx) = a", "assume": {"A": ["sparkly"]}},
    {"id": "x", "claim": "∇_x (aᵀx) = a", "symbols": {"A": "tensor(3)"}},
    {"id": "x", "claim": "∇_x (aᵀx) = a", "f": "aᵀx"},  # both forms
    {"id": "x", "f": "aᵀx", "wrt": "x"},  # no kind
    {"id": "x", "f": "aᵀx", "wrt": "x", "gradient": "a", "hessian": "0"},  # two kinds
    {"claim": "∇_x (aᵀx) = a"},  # no id
])
def test_a_wrong_rule_does_not_validate(rule: dict[str, object]) -> None:
    assert list(VALIDATOR.iter_errors({"rules": [rule]}))


def test_lint_reads_and_types_without_torch(tmp_path: Path) -> None:
    good = gradcheck("lint")
    assert good.returncode == 0 and "287 rules in 13 files; well-formed" in good.stdout
    (tmp_path / "r.gradcheck.yaml").write_text(
        'rules:\n  - id: ok\n    claim: "∇_x (aᵀx) = a"\n'
        '  - id: shapes\n    claim: "∇_x (A x) = A"\n'
        "    symbols: {A: matrix(m, n), x: vector(k)}\n", encoding="utf-8")
    bad = gradcheck("lint", "r.gradcheck.yaml", cwd=tmp_path)
    assert bad.returncode == 2
    assert "r.gradcheck.yaml:5:20: Ax: A has n columns but x has k rows" in bad.stderr
    assert "1 problem" in bad.stdout
    probe = ("import sys; from gradcheck.cli import main; sys.argv = ['gradcheck', 'lint']\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in ('torch', 'sympy', 'hypothesis') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, check=False)
    assert done.stdout.strip().endswith("[]"), done.stdout + done.stderr


def test_the_pre_commit_hooks_and_the_action_run_real_commands() -> None:
    hooks = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert {h["id"]: h["entry"] for h in hooks} == {
        "gradcheck": "gradcheck verify --quiet", "gradcheck-lint": "gradcheck lint"}
    for hook in hooks:  # what pre-commit would run on a changed rule file
        command = hook["entry"].split()[1:]
        done = gradcheck(*command, str(ROOT / "rules" / "seed.yaml"))
        assert done.returncode == 0, done.stdout + done.stderr
    action = YAML(typ="safe").load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    script = action["runs"]["steps"][-1]["run"]
    assert "--format sarif -o" in script and "--format github" in script
