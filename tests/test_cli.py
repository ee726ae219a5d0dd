"""End-to-end tests of the `gradcheck` command: the acceptance commands, in subprocesses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
PUBLIC = SHARED / "acceptance" / "public.yaml"
CATALOG = ROOT / "rules"
SEED = CATALOG / "seed.yaml"
ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
# The bundled catalog has grown to hundreds of rules: verifying all of it takes minutes, so
# that acceptance run is opt-in; by default it is checked on the seed file and a selection.
FULL_CATALOG = os.environ.get("GRADCHECK_FULL_CATALOG") == "1"


def gradcheck(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`gradcheck ARGS` as `python -m gradcheck ARGS`, with plain 200-column output."""
    return subprocess.run([sys.executable, "-m", "gradcheck", *map(str, args)],
                          capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=timeout,
                          check=False)


def ids_in(path: Path) -> list[str]:
    """The rule ids of a file, or of every *.yaml below a folder (sorted, as loaded)."""
    files = sorted(path.rglob("*.yaml")) if path.is_dir() else [path]
    return [rule_id for file in files for rule_id in
            re.findall(r"^\s*- id:\s*(\S+)", file.read_text(encoding="utf-8"), re.MULTILINE)]


def expected_failures(path: Path) -> int:
    return len(re.findall(r"^\s*expect:\s*fails\b", path.read_text(encoding="utf-8"),
                          re.MULTILINE))


def row(output: str, rule_id: str) -> str:
    """The table row of `rule_id` with its continuation lines (message, evidence)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"│ {re.escape(rule_id)} ", line))
    end = start + 1
    while end < len(lines) and re.match(r"│\s+│", lines[end]):
        end += 1
    return "\n".join(lines[start:end])


class Run:
    """`gradcheck ARGS` started in the background; its output goes to files, not pipes."""

    def __init__(self, args: tuple[str | Path, ...], folder: Path) -> None:
        self.args = args
        self.out, self.err = folder / "stdout", folder / "stderr"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gradcheck", *map(str, args)], stdout=out, stderr=err,
                text=True, env=ENV, cwd=ROOT)

    def result(self, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        code = self.process.wait(timeout)
        return subprocess.CompletedProcess(self.process.args, code,
                                           self.out.read_text(encoding="utf-8"),
                                           self.err.read_text(encoding="utf-8"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


# The slow acceptance runs (the test functions that read them, and the commands) start in
# the background as the module starts, so that they share the cores with the quick tests
# instead of running one after another.
JSON = ("verify", SEED, "--format", "json", "--examples", "20", "--no-cache")  # computed, twice
SLOW: dict[str, tuple[tuple[str, ...], tuple[str | Path, ...]]] = {
    "verify-selection": (("test_verify_bundled_catalog_selection",),
                         ("verify", "-k", "note-symmetrised")),
    "verify-seed": (("test_verify_seed_file",), ("verify", SEED)),
    "verify-public": (("test_verify_public_acceptance_file",),
                      ("verify", PUBLIC, "--examples", "20")),
    "json-seed-5": (("test_json_report", "test_json_seed_is_reflected_and_reproducible"),
                    (*JSON, "--seed", "5")),
    "json-seed-5-again": (("test_json_seed_is_reflected_and_reproducible",),
                          (*JSON, "--seed", "5")),
}
if FULL_CATALOG:
    SLOW["verify"] = (("test_verify_bundled_catalog",), ("verify",))


@pytest.fixture(scope="module", autouse=True)
def slow(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    """The background runs that the selected tests of this module need."""
    selected = {getattr(item, "originalname", item.name) for item in request.session.items
                if item.module is request.module}
    runs = {name: Run(args, tmp_path_factory.mktemp(name))
            for name, (users, args) in SLOW.items()
            if selected & set(users) and (name != "verify-public" or PUBLIC.exists())}
    yield runs
    for run in runs.values():
        run.stop()


# ---- gradcheck check ----


QUICK = ("--examples", "20")  # the verdicts, not the thoroughness, are under test


def test_check_wrong_linear_map_shows_a_counterexample() -> None:
    done = gradcheck("check", "∇_x (A x) = (A + A^T) x", *QUICK)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "counterexample" in done.stdout
    assert "fails" in done.stdout and "defined only when m = n" in done.stdout


def test_check_quadratic_form_needs_symmetry() -> None:
    done = gradcheck("check", "∇_x (x^T A x) = 2 A x", *QUICK)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "counterexample" in done.stdout
    done = gradcheck("check", "∇_x (x^T A x) = 2 A x", "--assume", "A:symmetric", *QUICK)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "holds" in done.stdout and "counterexample" not in done.stdout


def test_check_log_determinant_in_latex() -> None:
    done = gradcheck("check", r"\nabla_X \log\det X = X^{-T}", *QUICK)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "holds" in done.stdout


def test_check_log_determinant_without_transpose() -> None:
    done = gradcheck("check", "∇_X log det X = X^{-1}", *QUICK)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "counterexample" in done.stdout


def test_check_unreadable_claim_exits_2() -> None:
    done = gradcheck("check", "∇_x (A x = A^T", "--examples", "5")
    assert done.returncode == 2
    assert re.search(r"<claim>:1:\d+: expected '\)'", done.stderr)


def test_check_bad_assumption_is_a_usage_error() -> None:
    done = gradcheck("check", "∇_x (A x) = A^T", "--assume", "A:symetric")
    assert done.returncode == 2
    assert "symetric" in done.stderr


def test_a_run_leaves_no_hypothesis_folder_in_the_working_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    work = tmp_path / "notes"
    work.mkdir()
    done = subprocess.run([sys.executable, "-m", "gradcheck", "check", "∇_x (aᵀx) = a", *QUICK],
                          capture_output=True, text=True, env=env, cwd=work, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(work.iterdir()) == []
    # whatever hypothesis stores goes to gradcheck's cache folder, next to the verdicts
    assert {p.name for p in (tmp_path / "cache" / "gradcheck").iterdir()} <= {"hypothesis",
                                                                             "verdicts"}


# ---- unreadable rule files ----


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def diagnostic(path: Path, snippet: str, line_no: int | None = None) -> str:
    """`file:line:col` of the first occurrence of `snippet` in `path`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines, 1):
        if snippet in line and (line_no is None or i == line_no):
            return f"{path}:{i}:{line.index(snippet) + 1}: "
    raise AssertionError(f"{snippet!r} not in {path}")


def assert_reported(done: subprocess.CompletedProcess[str], where: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith(where)]
    assert lines, f"{where!r} not in stderr:\n{done.stderr}"
    # message (hint): what is wrong and what to write instead
    assert re.search(r": .+ \(.+\)$", lines[0]), lines[0]


def test_yaml_error(tmp_path: Path) -> None:
    path = write(tmp_path, "yaml-error.yaml", """
        rules:
          - id: a
            claim: ∇_x (aᵀx) = a: oops
        """)
    done = gradcheck("verify", path, "--examples", "5")
    assert_reported(done, diagnostic(path, ": oops"))
    assert "YAML" in done.stderr


def test_unknown_key(tmp_path: Path) -> None:
    path = write(tmp_path, "unknown-key.yaml", """
        rules:
          - id: a
            claim: "∇_x (aᵀx) = a"
            expct: fails
        """)
    done = gradcheck("verify", path, "--examples", "5")
    assert_reported(done, diagnostic(path, "expct"))
    assert "expect" in done.stderr  # the suggestion


def test_shape_conflict(tmp_path: Path) -> None:
    path = write(tmp_path, "shape-conflict.yaml", """
        rules:
          - id: a
            claim: "∇_x (A x + x) = Aᵀ"
            symbols: {A: matrix(m, n)}
        """)
    done = gradcheck("verify", path, "--examples", "5")
    assert_reported(done, diagnostic(path, "+ x)"))
    assert "vector(m) + vector(n)" in done.stderr
    assert "ill-formed" in done.stdout


def test_parse_error(tmp_path: Path) -> None:
    path = write(tmp_path, "parse-error.yaml", """
        rules:
          - id: a
            claim: "∇_x (A x = Aᵀ"
        """)
    done = gradcheck("verify", path, "--examples", "5")
    assert_reported(done, diagnostic(path, "= Aᵀ"))
    assert "ill-formed" in done.stdout


def test_one_bad_rule_hides_no_other(tmp_path: Path) -> None:
    path = write(tmp_path, "mixed.yaml", """
        rules:
          - id: broken
            claim: "∇_x (A x = Aᵀ"
          - id: linear-form
            claim: "∇_x (aᵀx) = a"
        """)
    done = gradcheck("verify", path, "--examples", "5")
    assert_reported(done, diagnostic(path, "= Aᵀ"))
    assert "ill-formed" in row(done.stdout, "broken")
    good = row(done.stdout, "linear-form")
    assert "holds" in good and "proved" in good


def test_one_bad_file_hides_no_other(tmp_path: Path) -> None:
    bad = write(tmp_path, "a-bad.yaml", """
        rules:
          - id: a
            claim: ∇_x (aᵀx) = a: oops
        """)
    write(tmp_path, "b-good.yaml", """
        rules:
          - id: linear-form
            claim: "∇_x (aᵀx) = a"
        """)
    done = gradcheck("verify", tmp_path, "--examples", "5")
    assert_reported(done, diagnostic(bad, ": oops"))
    assert "holds" in row(done.stdout, "linear-form")


# ---- gradcheck list and --help ----


def test_list_ends_with_the_count() -> None:
    done = gradcheck("list")
    assert done.returncode == 0
    last = done.stdout.rstrip("\n").splitlines()[-1]
    assert last.strip() == f"{len(ids_in(CATALOG))} rules"


def test_list_of_a_file_counts_its_rules() -> None:
    if not PUBLIC.exists():
        pytest.skip("shared/acceptance/public.yaml is not present")
    done = gradcheck("list", PUBLIC)
    assert done.returncode == 0
    assert done.stdout.rstrip("\n").splitlines()[-1].strip() == f"{len(ids_in(PUBLIC))} rules"


HELP_PROBE = """
import json, sys
sys.argv = ["gradcheck", "--help"]
from gradcheck.cli import main
try:
    main()
except SystemExit as stop:
    code = stop.code
loaded = sorted(m for m in ("torch", "sympy") if m in sys.modules)
print(json.dumps({"code": code, "loaded": loaded}))
"""


def test_help_does_not_import_torch_or_sympy() -> None:
    done = subprocess.run([sys.executable, "-c", HELP_PROBE], capture_output=True, text=True,
                          env=ENV, cwd=ROOT, timeout=60, check=True)
    result = json.loads(done.stdout.splitlines()[-1])
    assert result == {"code": 0, "loaded": []}
    assert "verify" in done.stdout and "check" in done.stdout and "list" in done.stdout


def test_python_m_gradcheck_help_imports_neither() -> None:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "gradcheck", "--help"],
                          capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=60,
                          check=False)
    assert done.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert "gradcheck.cli" in imported
    assert not {m for m in imported if m.split(".")[0] in ("torch", "sympy")}


# ---- gradcheck verify ----


@pytest.mark.skipif(not FULL_CATALOG, reason="minutes long; set GRADCHECK_FULL_CATALOG=1")
def test_verify_bundled_catalog(slow: dict[str, Run]) -> None:
    done = slow["verify"].result(timeout=3600)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr
    note = row(done.stdout, "linear-map-note-symmetrised")
    assert "fails (expected)" in note and "defined only when m = n" in note
    assert f"{len(ids_in(CATALOG))} rules" in done.stdout


def test_verify_bundled_catalog_selection(slow: dict[str, Run]) -> None:
    # `gradcheck verify` with no path reads the bundled catalog; -k picks the note rule
    done = slow["verify-selection"].result()
    assert done.returncode == 0, done.stdout + done.stderr
    note = row(done.stdout, "linear-map-note-symmetrised")
    assert "fails (expected)" in note
    assert "defined only when m = n" in note
    assert "1 rule: 1 fails as expected" in done.stdout


def test_verify_seed_file(slow: dict[str, Run]) -> None:
    done = slow["verify-seed"].result()
    assert done.returncode == 0, done.stdout + done.stderr
    note = row(done.stdout, "linear-map-note-symmetrised")
    assert "fails (expected)" in note and "defined only when m = n" in note
    for rule_id in ids_in(SEED):
        assert row(done.stdout, rule_id)
    failing = expected_failures(SEED)
    holding = len(ids_in(SEED)) - failing
    summary = rf"{len(ids_in(SEED))} rules: {holding} holds?, {failing} fails? as expected"
    assert re.search(summary, done.stdout), done.stdout[-500:]
    assert "seed 0" in done.stdout


def test_verify_public_acceptance_file(
        slow: dict[str, Run]) -> None:
    if not PUBLIC.exists():
        pytest.skip("shared/acceptance/public.yaml is not present")
    done = slow["verify-public"].result()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    for rule_id in ids_in(PUBLIC):
        assert row(done.stdout, rule_id)
    assert "fails (expected)" in row(done.stdout, "trace-AX-no-transpose")
    assert "holds" in row(done.stdout, "log-determinant")


# ---- JSON ----

TIMING = {"seconds"}


def without_timing(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: without_timing(v) for k, v in data.items() if k not in TIMING}
    if isinstance(data, list):
        return [without_timing(v) for v in data]
    return data


def test_json_report(slow: dict[str, Run]) -> None:
    done = slow["json-seed-5"].result()
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["seed"] == 5 and data["examples"] == 20 and data["exit_code"] == 0
    rules = data["rules"]
    assert [r["id"] for r in rules] == ids_in(SEED)
    for r in rules:
        assert {"id", "verdict", "symbolic", "numeric", "crosscheck", "counterexample"} <= set(r)
        assert r["symbolic"]["status"] in ("proved", "disproved")
        assert r["numeric"]["examples"] >= 1
    by_id = {r["id"]: r for r in rules}
    note = by_id["linear-map-note-symmetrised"]
    assert note["verdict"] == "fails" and note["outcome"] == "fails (expected)"
    assert note["counterexample"] is not None
    assert {"sizes", "inputs", "true", "claimed"} <= set(note["counterexample"])
    assert by_id["linear-map"]["verdict"] == "holds"
    assert by_id["linear-map"]["counterexample"] is None
    failing = expected_failures(SEED)
    assert data["counts"] == {"holds": len(rules) - failing, "fails (expected)": failing}


def test_json_seed_is_reflected_and_reproducible(
        slow: dict[str, Run]) -> None:
    first, again = slow["json-seed-5"].result(), slow["json-seed-5-again"].result()
    assert first.returncode == again.returncode == 0
    one, two = json.loads(first.stdout), json.loads(again.stdout)
    assert one["seed"] == two["seed"] == 5
    assert without_timing(one) == without_timing(two)
