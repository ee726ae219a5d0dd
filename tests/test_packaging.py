"""The wheel: what `pip install .` (not editable) installs, and that the tool runs from it.

The wheel is built from a copy of the checkout (so that the build leaves no build/ or
*.egg-info behind in it, and so that decoy folders can be planted), installed with
`pip install --target`, and run from a folder outside the checkout.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What a build reads: the project's metadata, the package and the bundled catalog.
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "gradcheck", "rules")
# Folders a checkout may hold that must never become packages of the wheel.
DECOYS = ("tests", "bench", "build/decoy", "gradcheck.egg-info", "dist/decoy")


def _copy_sources(dest: Path) -> None:
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, dest / name)
    for decoy in DECOYS:
        (dest / decoy).mkdir(parents=True, exist_ok=True)
        (dest / decoy / "__init__.py").write_text("raise ImportError('a decoy')\n")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout's build inputs, with decoy packages beside them."""
    src = tmp_path_factory.mktemp("src")
    _copy_sources(src)
    return src


def _pip(cwd: Path, command: str, *args: str) -> None:
    """`pip COMMAND --quiet --no-deps ARGS...`, which must succeed."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", command, "--quiet", "--no-deps", *args],
        capture_output=True, text=True, cwd=cwd, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("wheelhouse")
    _pip(source, "wheel", "--no-build-isolation", "-w", str(dist), str(source))
    (built,) = dist.glob("gradcheck-*.whl")
    return built


@pytest.fixture(scope="module")
def names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@pytest.fixture(scope="module")
def target(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed, not editable, into a folder of its own."""
    folder = tmp_path_factory.mktemp("site")
    _pip(folder, "install", "--no-compile", "--target", str(folder), str(wheel))
    return folder


def _environment(target: Path) -> dict[str, str]:
    """`python -S` with the install first on the path, then this interpreter's site-packages
    for the dependencies. -S skips the .pth files: the editable install of the checkout in
    this venv would otherwise find any subpackage the wheel lacks in the checkout."""
    path = [str(target), *site.getsitepackages()]
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return {**env, "PYTHONPATH": os.pathsep.join(path), "NO_COLOR": "1", "COLUMNS": "120",
            "HYPOTHESIS_STORAGE_DIRECTORY": str(target.parent / "hypothesis")}


@pytest.fixture(scope="module")
def runs(target: Path, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[dict[str, subprocess.CompletedProcess[str]]]:
    """`python -m gradcheck ...` from the install, in a folder outside the checkout; the
    commands run side by side, as most of their time is importing torch and sympy."""
    cwd = tmp_path_factory.mktemp("elsewhere")
    commands = {
        "version": ("--version",),
        "check": ("check", "∇_x (A x) = A^T", "--examples", "20"),
        "derive": ("derive", "xᵀAx", "--wrt", "x"),
        "verify": ("verify", "-k", "linear-map", "--examples", "20", "--jobs", "1"),
        "where": (),
    }
    where = ("import gradcheck, gradcheck.calculus, gradcheck.lang.parser, gradcheck.report; "
             "from gradcheck.catalog import bundled_catalog; "
             "print(gradcheck.__file__); print(gradcheck.calculus.__file__); "
             "print(gradcheck.lang.parser.__file__); print(bundled_catalog())")
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-S", *(("-c", where) if name == "where" else ("-m", "gradcheck")),
             *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
            env=_environment(target))
        for name, args in commands.items()
    }
    results = {}
    try:
        for name, process in processes.items():
            out, err = process.communicate(timeout=300)
            results[name] = subprocess.CompletedProcess(process.args, process.returncode,
                                                        out, err)
        yield results
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


# ---- what the wheel holds ----


def test_every_module_of_the_package_is_in_the_wheel(source: Path, names: set[str]) -> None:
    package = source / "gradcheck"
    modules = {f"gradcheck/{p.relative_to(package).as_posix()}" for p in package.rglob("*.py")}
    folders = {m.rsplit("/", 1)[0] for m in modules}
    assert {"gradcheck", "gradcheck/calculus", "gradcheck/lang", "gradcheck/report"} <= folders
    assert modules - names == set()
    assert "gradcheck/__init__.py" in names  # a regular package, not a namespace


def test_the_wheel_holds_the_catalog_the_license_and_py_typed(names: set[str]) -> None:
    catalog = {f"gradcheck/rules/{p.name}" for p in (ROOT / "rules").glob("*.yaml")}
    assert catalog and catalog <= names
    assert "gradcheck/rules/seed.yaml" in names
    assert "gradcheck/py.typed" in names
    assert any(n.startswith("gradcheck-") and n.endswith(".dist-info/licenses/LICENSE")
               for n in names)


def test_the_wheel_holds_nothing_else(names: set[str]) -> None:
    tops = {name.split("/", 1)[0] for name in names}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"gradcheck"}
    assert not [n for n in names if "decoy" in n or "__pycache__" in n or "/tests/" in n]


# ---- the installed tool ----


def test_the_install_is_what_runs(runs: dict[str, subprocess.CompletedProcess[str]],
                                  target: Path) -> None:
    done = runs["where"]
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 4
    for line in lines:
        assert Path(line).is_relative_to(target), line
    assert (Path(lines[-1]) / "seed.yaml").is_file()


def test_version(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    done = runs["version"]
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"gradcheck {project['version']}\n"


def test_check(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    done = runs["check"]
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 rule: 1 holds" in done.stdout
    assert "Traceback" not in done.stderr


def test_derive(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    done = runs["derive"]
    assert done.returncode == 0, done.stdout + done.stderr
    formula = done.stdout.strip()
    assert formula and "\n" not in formula and "A" in formula  # (A + Aᵀ)x, in some spelling
    assert "verified" in done.stderr


def test_verify_uses_the_installed_catalog(
        runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    done = runs["verify"]
    assert done.returncode == 0, done.stdout + done.stderr
    assert "linear-map" in done.stdout
    assert "Traceback" not in done.stderr
