"""The result cache: a rule's verdict, stored under a key of everything the verdict depends on,
so that a re-run in CI or pre-commit costs the imports and not the checks.

The key is a SHA-256 of the typed rule without its formatting (the ASTs of f and the claim
without positions, the variable, kind, layout, shapes and assumptions, the id, which seeds the
inputs, and the spelling the diagnosis answers in), the options (all but `jobs`), the versions of
torch, sympy and hypothesis, and a digest of gradcheck's own source. Moving a rule, re-quoting
or re-spacing it, or editing its title, note or tags keeps the key; the fields those edits
change are filled in from the rule as it is now.

Entries live in `$XDG_CACHE_HOME/gradcheck/verdicts/` (default `~/.cache`), one JSON file
each, written to a temporary file and renamed into place: a reader sees a whole entry or none,
and any number of processes may share the cache. An entry that cannot be read is ignored and
written again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .codec import DecodeError, decode, encode
from .model import Options, Rule, Status, SymbolicStatus, Verdict

if TYPE_CHECKING:
    from .problem import Problem

FORMAT = 1  # of an entry; bump when the encoding of a verdict changes
_TOOLS = ("torch", "sympy", "hypothesis", "numpy")
MAX_ENTRY_BYTES = 4 * 1024 * 1024  # a verdict is a few KiB: a bigger file is not one of ours
# What reading a damaged or foreign entry can raise (RecursionError: JSON nested too deep).
_UNREADABLE = (
    OSError,
    ValueError,
    ArithmeticError,
    KeyError,
    TypeError,
    AttributeError,
    RecursionError,
)


def directory() -> Path:
    """Where the cache lives: $XDG_CACHE_HOME/gradcheck, else ~/.cache/gradcheck."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gradcheck"


@functools.cache
def _environment() -> str:
    """gradcheck's version and source digest and the tools' versions, read without importing
    the tools (a run whose rules are all cached imports neither torch nor sympy)."""
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    versions = {}
    for name in ("gradcheck", *_TOOLS):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = ""
    return json.dumps({"source": digest.hexdigest(), "versions": versions}, sort_keys=True)


def key(rule: Rule, problem: Problem, options: Options) -> str:
    """The key of `rule`'s verdict, compiled to `problem`, under `options`."""
    from .diagnose import answers_in_ascii

    typed = {
        "id": rule.id,
        "kind": problem.kind,
        "layout": problem.layout,
        "wrt": problem.wrt,
        "f": problem.f,
        "claim": problem.claim,
        "shapes": problem.shapes,
        "dims": problem.dims,
        "assumptions": {k: problem.assumptions[k] for k in sorted(problem.assumptions)},
        "structured": rule.claim is None,  # the corrected YAML's form
        "ascii": answers_in_ascii(rule),
    }
    chosen = {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}
    del chosen["jobs"]  # results do not depend on it
    text = json.dumps(
        {
            "format": FORMAT,
            "rule": encode(typed, positions=False),
            "options": chosen,
            "environment": _environment(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def cacheable(verdict: Verdict) -> bool:
    """Whether a verdict is what a re-run would give: not one a time limit or a failing tool
    decided (another machine, or a quieter moment, may finish in time)."""
    if verdict.status in (Status.ERROR, Status.ILL_FORMED):
        return False
    symbolic = verdict.symbolic
    if symbolic is not None and symbolic.status is SymbolicStatus.TIMEOUT:
        return False
    return not (symbolic is not None and "time limit" in symbolic.matrix_detail)


@dataclass
class Cache:
    """Verdicts on disk under `root`; `hits` and `misses` count this run's lookups."""

    root: Path
    hits: int = 0
    misses: int = 0

    def _path(self, entry: str) -> Path:
        return self.root / "verdicts" / entry[:2] / f"{entry}.json"

    def get(self, entry: str) -> Verdict | None:
        """The stored verdict, or None (absent, unreadable, or written by another format)."""
        try:
            path = self._path(entry)
            if path.stat().st_size > MAX_ENTRY_BYTES:
                raise DecodeError("an entry larger than any verdict")
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("key") != entry:
                raise DecodeError("an entry stored under another key")
            verdict = decode(data["verdict"])
            if not isinstance(verdict, Verdict):
                raise DecodeError("not a verdict")
        except _UNREADABLE:
            self.misses += 1
            return None
        self.hits += 1
        return verdict

    def put(self, entry: str, verdict: Verdict) -> None:
        """Store `verdict` atomically; a cache that cannot be written is no cache, not an error."""
        path = self._path(entry)
        text = json.dumps({"key": entry, "verdict": encode(verdict)}, ensure_ascii=False)
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(text)
                os.replace(temporary, path)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)

    def size(self) -> tuple[int, int]:
        """The number of entries and their bytes."""
        files = list((self.root / "verdicts").glob("*/*.json"))
        return len(files), sum(f.stat().st_size for f in files if f.exists())

    def clear(self) -> int:
        """Remove every entry; the number removed."""
        count, _ = self.size()
        shutil.rmtree(self.root / "verdicts", ignore_errors=True)
        return count


def refreshed(cached: Verdict, rule: Rule, problem: Problem) -> Verdict:
    """A cached verdict with what the key leaves out taken from the rule as it is now: its
    expectation, position, citation, tags, the statement's positions and the corrected YAML."""
    from .diagnose import corrected_yaml

    diagnosis = cached.diagnosis
    if diagnosis is not None:
        formula = diagnosis.suggestion
        corrected = corrected_yaml(rule, problem, formula, None) if formula else ""
        diagnosis = dataclasses.replace(diagnosis, corrected=corrected)
    return dataclasses.replace(
        cached,
        expect=rule.expect,
        display=rule.display or cached.display,
        position=rule.position,
        source=rule.source,
        tags=rule.tags,
        statement=problem.statement(),
        diagnosis=diagnosis,
    )
