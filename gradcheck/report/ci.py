"""What the CI reporters (SARIF, JUnit, GitHub annotations) share: which verdicts need
attention, how serious each is, and the one-paragraph explanation of a rule's verdict."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path, PurePath

from gradcheck.model import Position, Status, Verdict
from gradcheck.report.common import format_matrix


class Level(StrEnum):
    """How a CI system should show a verdict (SARIF's `level`, GitHub's command)."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


def level(verdict: Verdict) -> Level | None:
    """ERROR for a rule not as expected (a failing rule, a rule expected to fail that holds,
    an unreadable rule, an `error`); WARNING for one that holds numerically only; else None."""
    if not verdict.as_expected:
        return Level.ERROR
    if verdict.status is Status.HOLDS_NUMERIC:
        return Level.WARNING
    return None


def explanation(verdict: Verdict) -> str:
    """The verdict, its reason, the diagnosis and the verified correct formula, in sentences."""
    parts = [f"{verdict.display}: {verdict.outcome}"]
    if verdict.message:
        parts[0] += f": {verdict.message}"
    d = verdict.diagnosis
    if d is not None:
        parts.append(f"Diagnosis ({d.category.value}): {d.detail}.")
        if d.suggestion and d.confirmed:
            parts.append(f"Verified correct formula: {d.suggestion}")
    return " ".join(p if p.endswith((".", ":")) else p + "." for p in parts)


def counterexample_text(verdict: Verdict) -> str:
    """The counterexample, one line per input, then the true and the claimed derivative."""
    cx = verdict.numeric.counterexample if verdict.numeric else None
    if cx is None:
        return ""
    sizes = ", ".join(f"{k}={v}" for k, v in cx.sizes)
    lines = [f"counterexample at {sizes}" + (f" ({cx.note})" if cx.note else "")]
    lines += [f"  {name} = {format_matrix(m)}" for name, m in cx.inputs]
    lines += [f"  true    {format_matrix(cx.true)}", f"  claimed {format_matrix(cx.claimed)}"]
    return "\n".join(lines)


def in_a_file(position: Position | None) -> bool:
    """Whether a position is in a real file (not a claim typed on the command line)."""
    return position is not None and not position.file.startswith("<")


def relative_path(file: str) -> str:
    """The file as a path relative to the working directory when it lies below it, in POSIX
    form: what CI systems match against the repository."""
    path = Path(file)
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            return path.as_posix()
    return PurePath(path).as_posix()
