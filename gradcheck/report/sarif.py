"""The SARIF 2.1.0 reporter: one result per rule that is not as expected (ruleId: the rule's
id; the region: the rule's line and column; the message: the reason and the verified correct
formula), and `tool.driver.rules` describing the verdict kinds. Valid against the official
schema (tests/test_ci_formats.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from rich.console import Console

from gradcheck.model import Diagnostic, Position, Report, Rule, Status, Verdict
from gradcheck.report import table
from gradcheck.report.ci import counterexample_text, explanation, in_a_file, relative_path
from gradcheck.report.common import print_diagnostics
from gradcheck.report.json_report import dumps

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/gradcheck/gradcheck"
UNREADABLE = "unreadable"  # the kind of a file-level error, beside the verdicts'
UNREAD = "unread"  # a formula of a note that could not be read

# The verdict kinds a result can have (tool.driver.rules), each with its help.
KINDS: dict[str, str] = {
    Status.FAILS.value: "The claim differs from the true derivative: a counterexample or an "
    "exact symbolic disproof shows it, and the diagnosis names the mistake.",
    "holds (expected to fail)": "The rule records a mistake (`expect: fails`), but the claim "
    "holds: either the record or the claim is wrong.",
    Status.ERROR.value: "gradcheck could not decide: the oracles disagree, no input could be "
    "drawn, or a tool failed.",
    Status.ILL_FORMED.value: "The rule cannot be read or typed (a syntax or shape error).",
    Status.HOLDS_NUMERIC.value: "The claim holds on every generated input, but sympy could not "
    "prove it.",
    UNREADABLE: "A rule file that cannot be read.",
    UNREAD: "A formula of a note that states a derivative but cannot be read (a warning; an "
    "error with --strict).",
}


def kind_of(verdict: Verdict) -> str:
    """The verdict kind of a result: the outcome, `holds (expected to fail)` for both holds."""
    if verdict.status in (Status.HOLDS, Status.HOLDS_NUMERIC) and not verdict.as_expected:
        return "holds (expected to fail)"
    return verdict.status.value


def _location(position: Position | None) -> list[dict[str, Any]]:
    if not in_a_file(position):
        return []
    assert position is not None
    return [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": quote(relative_path(position.file))},
                "region": {"startLine": position.line, "startColumn": position.column},
            }
        }
    ]


def _result(verdict: Verdict, kinds: list[str]) -> dict[str, Any]:
    kind = kind_of(verdict)
    text = "\n".join(t for t in (explanation(verdict), counterexample_text(verdict)) if t)
    result: dict[str, Any] = {
        "ruleId": verdict.rule_id,
        "kind": "fail",
        "level": "error",
        "message": {"text": text},
        "locations": _location(verdict.position),
        "properties": {"verdict": kind, "expected": verdict.expect.value},
    }
    if kind in kinds:
        result["properties"]["verdictIndex"] = kinds.index(kind)
    d = verdict.diagnosis
    if d is not None and d.suggestion and d.confirmed:
        result["properties"]["correct"] = d.suggestion
    return result


def _error(d: Diagnostic) -> dict[str, Any]:
    return {
        "ruleId": UNREADABLE,
        "kind": "fail",
        "level": "error",
        "message": {"text": d.message + (f" ({d.hint})" if d.hint else "")},
        "locations": _location(d.position),
        "properties": {"verdict": UNREADABLE},
    }


def _unread(d: Diagnostic, strict: bool) -> dict[str, Any]:
    return {
        "ruleId": UNREAD,
        "kind": "fail",
        "level": "error" if strict else "warning",
        "message": {"text": d.message + (f" ({d.hint})" if d.hint else "")},
        "locations": _location(d.position),
        "properties": {"verdict": UNREAD},
    }


def report_to_sarif(report: Report) -> dict[str, Any]:
    """The SARIF log of a run."""
    from gradcheck import __version__

    kinds = list(KINDS)
    needing = [v for v in report.verdicts if not v.as_expected]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "gradcheck",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [
                            {
                                "id": kind,
                                "shortDescription": {"text": f"gradcheck verdict: {kind}"},
                                "fullDescription": {"text": help_text},
                                "defaultConfiguration": {
                                    "level": "warning"
                                    if kind == Status.HOLDS_NUMERIC.value
                                    else "error"
                                },
                            }
                            for kind, help_text in KINDS.items()
                        ],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [_result(v, kinds) for v in needing]
                + [_error(d) for d in report.errors]
                + [_unread(d, report.strict) for d in report.unread],
                "properties": {"seed": report.seed, "examples": report.examples},
            }
        ],
    }


def render(report: Report, out: Console, err: Console, *, detail: bool = False) -> None:
    """The SARIF log on `out`; diagnostics to `err`."""
    out.out(dumps(report_to_sarif(report)), highlight=False)
    print_diagnostics(report, err)


def render_rules(
    rules: Sequence[Rule], diagnostics: Sequence[Diagnostic], out: Console, err: Console
) -> None:
    """A listing has no verdicts: the table."""
    table.render_rules(rules, diagnostics, out, err)
