"""The JUnit XML reporter: one `testcase` per rule (classname: its file, name: its id), a
`failure` for a rule not as expected (with the counterexample and the suggestion), an
`error` for an `error` verdict or an unreadable rule. CI systems (GitLab, Jenkins, Azure)
show it as a test report."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from rich.console import Console

from gradcheck.model import Diagnostic, Report, Rule, Status, Verdict
from gradcheck.report import table
from gradcheck.report.ci import counterexample_text, explanation, in_a_file, relative_path
from gradcheck.report.common import print_diagnostics

SUITE = "gradcheck"
# XML 1.0 cannot hold these (a control character in a typed claim would make the file
# unreadable): they are shown as U+FFFD.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """`text` with every character XML 1.0 cannot hold replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def _classname(verdict: Verdict) -> str:
    position = verdict.position
    return relative_path(position.file) if position and in_a_file(position) else SUITE


def _case(verdict: Verdict) -> ET.Element:
    case = ET.Element(
        "testcase",
        {
            "classname": _classname(verdict),
            "name": verdict.rule_id,
            "time": f"{verdict.seconds:.3f}",
        },
    )
    if verdict.position is not None and in_a_file(verdict.position):
        case.set("file", relative_path(verdict.position.file))
        case.set("line", str(verdict.position.line))
    body = "\n".join(t for t in (explanation(verdict), counterexample_text(verdict)) if t)
    d = verdict.diagnosis
    if d is not None and d.corrected:
        body += "\n\ncorrected rule:\n" + d.corrected
    if verdict.status in (Status.ERROR, Status.ILL_FORMED):
        child = ET.SubElement(
            case, "error", {"message": _one_line(verdict), "type": verdict.outcome}
        )
        child.text = body
    elif not verdict.as_expected:
        child = ET.SubElement(
            case, "failure", {"message": _one_line(verdict), "type": verdict.outcome}
        )
        child.text = body
    else:
        ET.SubElement(case, "system-out").text = body
    return case


def _one_line(verdict: Verdict) -> str:
    return f"{verdict.outcome}: {verdict.message}" if verdict.message else verdict.outcome


def report_to_junit(report: Report) -> str:
    """The JUnit XML document of a run."""
    cases = [_case(v) for v in report.verdicts]
    for i, d in enumerate(report.errors, 1):
        case = ET.Element(
            "testcase",
            {"classname": relative_path(d.position.file), "name": f"unreadable-{i}", "time": "0"},
        )
        ET.SubElement(case, "error", {"message": d.message, "type": "unreadable"}).text = str(d)
        cases.append(case)
    for i, d in enumerate(report.unread, 1):
        case = ET.Element(
            "testcase",
            {"classname": relative_path(d.position.file), "name": f"unread-{i}", "time": "0"},
        )
        if d.position.line:
            case.set("line", str(d.position.line))
        tag = "error" if report.strict else "skipped"
        ET.SubElement(case, tag, {"message": d.message, "type": "unread"}).text = str(d)
        cases.append(case)
    failures = sum(1 for c in cases if c.find("failure") is not None)
    errors = sum(1 for c in cases if c.find("error") is not None)
    counts = {
        "tests": str(len(cases)),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": str(sum(1 for c in cases if c.find("skipped") is not None)),
        "time": f"{report.seconds:.3f}",
    }
    root = ET.Element("testsuites", {"name": SUITE, **counts})
    suite = ET.SubElement(root, "testsuite", {"name": SUITE, **counts})
    properties = ET.SubElement(suite, "properties")
    for name, value in (("seed", report.seed), ("examples", report.examples)):
        ET.SubElement(properties, "property", {"name": name, "value": str(value)})
    suite.extend(cases)
    ET.indent(root)
    document = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + xml_text(document)


def render(report: Report, out: Console, err: Console, *, detail: bool = False) -> None:
    """The JUnit XML on `out`; diagnostics to `err`."""
    out.out(report_to_junit(report), highlight=False)
    print_diagnostics(report, err)


def render_rules(
    rules: Sequence[Rule], diagnostics: Sequence[Diagnostic], out: Console, err: Console
) -> None:
    """A listing has no verdicts: the table."""
    table.render_rules(rules, diagnostics, out, err)
