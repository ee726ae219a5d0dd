"""The loader on hostile and broken rule files: non-regular and huge files, deep nesting,
billion laughs, one unreadable rule among good ones, huge numbers and dimensions; and a fuzzer
(grammar-aware YAML-ish text and raw bytes) asserting that nothing escapes, every diagnostic
has a position in the file, and each file is read quickly."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gradcheck import catalog, limits, yaml_source
from gradcheck.catalog import load_file, load_paths
from gradcheck.model import Diagnostic, Position, Rule

GOOD = "  - id: good\n    claim: '∇_x (aᵀx) = a'\n"
OTHER = "  - id: other\n    claim: '∇_x (xᵀx) = 2x'\n"


def write(folder: Path, text: str, name: str = "rules.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def only(diags: list[Diagnostic]) -> Diagnostic:
    assert len(diags) == 1, diags
    return diags[0]


def ids(rules: list[Rule]) -> list[str]:
    return [rule.id for rule in rules]


def finishes(call: Any, seconds: float = 20) -> Any:
    """`call()`, failing (instead of hanging the suite) when it takes longer than `seconds`."""
    box: list[Any] = []
    worker = threading.Thread(target=lambda: box.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert box, f"did not finish within {seconds} s"
    return box[0]


# ---- 1. non-regular and huge files ----


def test_a_symlink_to_dev_zero_is_refused(tmp_path: Path) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    rules, diags = finishes(lambda: load_file(link))
    diag = only(diags)
    assert rules == [] and diag.position == Position(str(link), 1, 1)
    assert diag.message == "not a regular file: it is a character device"


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    diag = only(finishes(lambda: load_file(fifo))[1])
    assert diag.position == Position(str(fifo), 1, 1)
    assert "not a regular file" in diag.message and "FIFO" in diag.message


def test_a_fifo_opened_after_the_check_does_not_block(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    monkeypatch.setattr(yaml_source, "file_kind", lambda _: "file")  # the race: swapped in
    diag = finishes(lambda: yaml_source.read_text(fifo))
    assert isinstance(diag, Diagnostic) and "not a regular file" in diag.message


def test_a_file_larger_than_the_limit_is_refused_with_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (limits.MAX_FILE_BYTES + 1))
    diag = only(load_file(path)[1])
    assert diag.position == Position(str(path), 1, 1)
    assert f"{limits.MAX_FILE_BYTES + 1:,} bytes" in diag.message
    assert f"at most {limits.MAX_FILE_BYTES:,} bytes" in diag.message


def test_a_file_at_the_limit_is_read(tmp_path: Path) -> None:
    text = "rules:\n" + GOOD
    path = tmp_path / "full.yaml"
    path.write_text(text + "#" * (limits.MAX_FILE_BYTES - len(text.encode()) - 1) + "\n")
    assert path.stat().st_size == limits.MAX_FILE_BYTES
    rules, diags = load_file(path)
    assert ids(rules) == ["good"] and diags == []


def test_a_folder_reports_its_non_regular_rule_files(tmp_path: Path) -> None:
    write(tmp_path, "rules:\n" + GOOD, "a.yaml")
    (tmp_path / "broken.yaml").symlink_to(tmp_path / "nowhere.yaml")
    (tmp_path / "dir.yaml").mkdir()
    write(tmp_path / "dir.yaml", "rules:\n" + OTHER, "inside.yaml")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.yml")
    (tmp_path / "notes.fifo").symlink_to(tmp_path / "nowhere")  # not a rule file: ignored
    rules, diags = finishes(lambda: load_paths([tmp_path]))
    assert ids(rules) == ["good", "other"]
    by_file = {Path(d.position.file).name: d for d in diags}
    assert "symbolic link to nothing" in by_file["broken.yaml"].hint
    if hasattr(os, "mkfifo"):
        assert "not a regular file" in by_file["pipe.yml"].message
    assert set(by_file) <= {"broken.yaml", "pipe.yml"}


def test_a_file_that_is_not_utf8_points_at_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"rules:\n  - id: caf\xe9\n")
    diag = only(load_file(path)[1])
    assert diag.message == "the file is not UTF-8 text"
    assert diag.position == Position(str(path), 2, 12)


# ---- 2. nesting ----

DEEP = 5_000


@pytest.mark.parametrize(("value", "where"), [
    ("[" * DEEP + "]" * DEEP, (4, 11 + limits.MAX_YAML_DEPTH - 3)),
    ("{a: " * DEEP + "1" + "}" * DEEP, (4, 11 + 4 * (limits.MAX_YAML_DEPTH - 3))),
], ids=["flow-list", "flow-map"])
def test_deep_nesting_in_a_rule_is_refused_and_the_others_are_read(
        tmp_path: Path, value: str, where: tuple[int, int]) -> None:
    path = write(tmp_path, f"rules:\n  - id: deep\n    claim: x\n    tags: {value}\n" + GOOD)
    rules, diags = finishes(lambda: load_file(path))
    assert ids(rules) == ["good"]
    diag = only(diags)
    assert f"more than {limits.MAX_YAML_DEPTH} levels deep" in diag.message
    assert (diag.position.line, diag.position.column) == where
    assert diag.rule_id == "deep"


def test_deep_block_nesting_is_refused(tmp_path: Path) -> None:
    block = "".join(" " * (6 + i) + "a:\n" for i in range(300))
    path = write(tmp_path, "rules:\n  - id: deep\n    claim: x\n    note:\n" + block + GOOD)
    rules, diags = finishes(lambda: load_file(path))
    assert ids(rules) == ["good"]
    diag = only(diags)
    assert "levels deep" in diag.message
    assert diag.position.line == limits.MAX_YAML_DEPTH + 2  # line k is level k - 1


def test_deep_nesting_at_the_top_level(tmp_path: Path) -> None:
    path = write(tmp_path, "[" * DEEP + "]" * DEEP + "\n")
    diag = only(finishes(lambda: load_file(path))[1])
    assert diag.message.startswith("the file could not be read as a whole, and rule-by-rule "
                                   "recovery needs a top-level `rules:` list")
    assert "levels deep" in diag.message
    assert diag.position == Position(str(path), 1, limits.MAX_YAML_DEPTH + 1)


def test_nesting_at_the_limit_is_read(tmp_path: Path) -> None:
    inner = limits.MAX_YAML_DEPTH - 3  # the document, `rules` and the rule are three levels
    note = "[" * inner + "]" * inner
    diags = load_file(write(tmp_path, f"rules:\n  - id: a\n    claim: x\n    note: {note}\n"))[1]
    assert diags[0].message == "`note` is a list, not a string"  # read, then a schema error


def test_nesting_through_aliases_counts(tmp_path: Path) -> None:
    half = limits.MAX_YAML_DEPTH // 2
    text = (f"x: &d {'[' * half}{']' * half}\n"
            f"rules:\n  - id: a\n    claim: x\n    note: {'[' * half}*d{']' * half}\n")
    unknown, diag = load_file(write(tmp_path, text))[1]
    assert unknown.message == "unknown top-level key 'x'"
    assert "the alias *d nests more than" in diag.message and diag.rule_id == "a"


def test_bad_tag_is_iterative_on_a_very_deep_value() -> None:
    value: Any = "leaf"
    for _ in range(100_000):
        value = [value]
    assert catalog._bad_tag(value) is None


# ---- 3. billion laughs ----


def laughs(anchor: str = "a", levels: int = 9, indent: str = "      ") -> str:
    lines = [f"{indent}- &{anchor}0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    lines += [f"{indent}- &{anchor}{i} [" + ", ".join([f"*{anchor}{i - 1}"] * 9) + "]\n"
              for i in range(1, levels + 1)]
    return "".join(lines)


@pytest.mark.parametrize("field", ["tags", "note", "symbols", "assume"])
def test_billion_laughs_in_a_field_is_refused(tmp_path: Path, field: str) -> None:
    body = f"    {field}:\n" + (laughs() if field in ("tags", "note") else
                                 "".join(f"      k{i}: {line.split('- ', 1)[1]}"
                                         for i, line in enumerate(laughs().splitlines(True))))
    path = write(tmp_path, "rules:\n  - id: lol\n    claim: '∇_x (aᵀx) = a'\n" + body + GOOD)
    start = time.perf_counter()
    rules, diags = finishes(lambda: load_file(path))
    assert time.perf_counter() - start < 5
    assert ids(rules) == ["good"]
    diag = only(diags)
    assert f"YAML aliases expand to more than {limits.MAX_YAML_ALIAS_NODES:,} nodes" in diag.message
    assert diag.rule_id == "lol" and diag.position.line > 4


def test_billion_laughs_through_merge_keys_is_refused(tmp_path: Path) -> None:
    merges = "".join(f"      m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: 1}}\n"
                     for i in range(1, 40))
    text = ("rules:\n  - id: lol\n    claim: '∇_x (aᵀx) = a'\n    symbols:\n"
            "      m0: &m0 {a: 1}\n" + merges + GOOD)
    rules, diags = finishes(lambda: load_file(write(tmp_path, text)))
    assert ids(rules) == ["good"]
    assert "YAML aliases expand" in only(diags).message


def test_laughs_outside_the_rules_and_an_alias_to_them(tmp_path: Path) -> None:
    text = "junk:\n" + laughs(indent="  ") + "rules:\n" + GOOD + (
        "  - id: uses\n    claim: '∇_x (aᵀx) = a'\n    tags: [*a9]\n")
    rules, diags = finishes(lambda: load_file(write(tmp_path, text)))
    assert ids(rules) == ["good"]
    junk, uses = diags
    assert "YAML aliases expand" in junk.message and junk.rule_id is None
    assert "undefined alias" in uses.message and uses.rule_id == "uses"
    assert "read on its own" in uses.hint


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    text = ("rules:\n  - id: a\n    claim: '∇_x (xᵀAx) = 2Ax'\n    symbols: &s {A: matrix(n, n)}\n"
            "    assume: &sym {A: [symmetric]}\n"
            "  - id: b\n    claim: '∇_x (xᵀAx) = 2Ax'\n    symbols: *s\n    assume:\n"
            "      <<: *sym\n")
    (a, b), diags = load_file(write(tmp_path, text))
    assert diags == []
    assert a.symbols == b.symbols and a.assume == b.assume == (("A", ("symmetric",)),)


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "rules:\n  - &r {id: a, claim: x, tags: [*r]}\n" + GOOD)
    rules, diags = finishes(lambda: load_file(path))
    assert ids(rules) == ["good"]
    diag = only(diags)
    assert diag.message == "the alias *r refers to a node that contains it"
    assert diag.position == Position(str(path), 2, 33)


def test_bad_tag_visits_each_node_once() -> None:
    value: Any = ["lol"]
    for _ in range(60):  # 2^60 leaves when expanded
        value = [value, value]
    start = time.perf_counter()
    assert catalog._bad_tag({"note": value}) is None
    assert time.perf_counter() - start < 1


# ---- 4. one bad rule never hides another ----

BROKEN = {
    "duplicate-key": ("    claim: '∇_x (aᵀx) = a'\n    claim: '∇_x (aᵀx) = a'\n",
                      (6, 5), "duplicate key", "each key once"),
    "tab-indent": ("\tclaim: '∇_x (aᵀx) = a'\n", (5, 1), "'\\t'", "indent with spaces"),
    "bad-merge-key": ("    <<: 3\n    claim: '∇_x (aᵀx) = a'\n", (5, 9), "merging", "`<<:`"),
    "unclosed-quote": ("    claim: \"∇_x (aᵀx) = a\n", (5, 12), "quoted scalar", "quote"),
    "control-character": ("    claim: '∇_x (aᵀx)\x07 = a'\n", (5, 22), "#x0007", "control"),
    "deep": ("    tags: " + "[" * 50 + "]" * 50 + "\n", (5, 11 + limits.MAX_YAML_DEPTH - 3),
             "levels deep", "flatten"),
    "huge-number": ("    f: " + "9" * 5000 + "\n", (5, 8), "5,000 digits", "shorter"),
    "bad-int-tag": ("    claim: !!int ''\n", (5, 12), "cannot read this value", "remove the tag"),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_one_unreadable_rule_is_reported_and_the_others_are_read(tmp_path: Path,
                                                                 case: str) -> None:
    body, where, message, hint = BROKEN[case]
    text = "rules:\n" + GOOD + "  - id: broken\n" + body + OTHER + (
        "  - id: block\n    claim: |\n      \\nabla_x x^\\top x = 2x\n")
    path = write(tmp_path, text)
    rules, diags = load_file(path)
    assert ids(rules) == ["good", "other", "block"]
    diag = only(diags)
    assert (diag.position.line, diag.position.column) == where, diag
    assert message in diag.message and hint in diag.hint
    assert diag.rule_id == "broken"
    lines = text.splitlines()
    block = rules[2]
    assert block.position == Position(str(path), lines.index("  - id: block") + 1, 5)
    assert block.position_of("claim").line == len(lines)  # the block scalar's text


def test_two_unreadable_rules_are_both_reported(tmp_path: Path) -> None:
    text = ("rules:\n  - id: one\n    claim: x\n    claim: y\n" + GOOD +
            "  - id: two\n\tclaim: x\n" + OTHER)
    rules, diags = load_file(write(tmp_path, text))
    assert ids(rules) == ["good", "other"]
    assert [(d.rule_id, d.position.line) for d in diags] == [("one", 4), ("two", 8)]


def test_an_unreadable_part_outside_the_rules(tmp_path: Path) -> None:
    text = "rules:\n" + GOOD + "extra: [unclosed\n"
    rules, diags = load_file(write(tmp_path, text))
    assert ids(rules) == ["good"]
    diag = only(diags)
    assert diag.rule_id is None and diag.position.line == 4


def test_rules_at_the_key_s_column_are_recovered(tmp_path: Path) -> None:
    text = "rules:\n- id: a\n  claim: x\n  claim: y\n- id: b\n  claim: x\n"
    rules, diags = load_file(write(tmp_path, text))
    assert ids(rules) == ["b"] and only(diags).rule_id == "a"


@pytest.mark.parametrize(("text", "why"), [
    ("\trules:\n  - id: a\n    claim: x\n", "(no `rules:` line was found)"),
    ("rules: [{id: a, claim: x, claim: y}]\n", "(`rules:` alone on its line"),
    ("rules:\n\t- id: a\n", "(its items `- ` indented with spaces"),
    ("rule: [\n", "(no `rules:` line was found)"),
])
def test_where_recovery_is_impossible_it_says_so(tmp_path: Path, text: str, why: str) -> None:
    diag = only(load_file(write(tmp_path, text))[1])
    assert diag.message.startswith("the file could not be read as a whole, and rule-by-rule "
                                   "recovery needs a top-level `rules:` list " + why)


def test_verify_reports_the_unreadable_rule_and_checks_the_others(tmp_path: Path) -> None:
    from gradcheck import cli

    text = "rules:\n" + GOOD + "  - id: dup\n    claim: x\n    claim: y\n" + OTHER
    path = write(tmp_path, text)
    result = CliRunner().invoke(cli.app, ["verify", str(path), "--format", "json"],
                                prog_name="gradcheck", env={"NO_COLOR": "1"})
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    verdicts = {rule["id"]: rule for rule in report["rules"]}
    assert verdicts["good"]["verdict"] == verdicts["other"]["verdict"] == "holds"
    assert verdicts["dup"]["verdict"] == "ill-formed"
    assert verdicts["dup"]["position"] == f"{path}:6:5"


# ---- 5. literals and dimensions ----


@pytest.mark.parametrize("dim", ["9" * 5000, str(limits.MAX_DIMENSION + 1), "0" * 3 + "100"])
def test_a_dimension_above_the_limit_is_refused(tmp_path: Path, dim: str) -> None:
    path = write(tmp_path, "rules:\n  - id: a\n    claim: x\n"
                           f"    symbols: {{x: vector({dim}), A: 'matrix(2, {dim})'}}\n" + GOOD)
    rules, diags = load_file(path)
    assert ids(rules) == ["good"]
    first, second = diags
    assert (f"symbol x: a dimension written as a number is at most {limits.MAX_DIMENSION}, "
            "not ") in first.message
    assert len(first.message) < 200 and first.position == Position(str(path), 4, 18)
    assert second.message.startswith("symbol A: a dimension")


def test_a_dimension_at_the_limit_is_read(tmp_path: Path) -> None:
    rules, diags = load_file(write(tmp_path, "rules:\n  - id: a\n    claim: x\n"
                                   f"    symbols: {{x: vector({limits.MAX_DIMENSION})}}\n"))
    assert diags == [] and rules[0].symbols[0].dims == (limits.MAX_DIMENSION,)


def test_numbers_keep_the_text_they_are_written_with(tmp_path: Path) -> None:
    text = ("rules:\n  - id: a\n    f: 'sum(x)'\n    wrt: x\n    gradient: 1e99999\n"
            "  - id: b\n    f: 1e-3\n    wrt: x\n    hessian: -.5\n"
            "  - id: c\n    f: {f: 0x1F}\n    wrt: x\n    gradient: 0\n")
    (a, b), diags = load_file(write(tmp_path, text))
    assert (a.rhs, b.f, b.rhs) == ("1e99999", "1e-3", "-.5")
    assert only(diags).message == "`f` is a mapping, not a string"


def test_a_number_with_too_many_digits_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "rules:\n  - id: a\n    f: " + "9" * 5000 + "\n    wrt: x\n"
                           "    gradient: 0\n  - id: b\n    claim: 1" + "0" * 60 + "\n" + GOOD)
    rules, diags = load_file(path)
    assert ids(rules) == ["good"]
    first, second = diags
    assert first.message == (f"a number of 5,000 digits: a number in a rule file has at most "
                             f"{limits.MAX_LITERAL_DIGITS} digits")
    assert first.position == Position(str(path), 3, 8) and first.rule_id == "a"
    assert "61 digits" in second.message and second.rule_id == "b"


def test_a_number_as_a_claim_is_shown_as_written(tmp_path: Path) -> None:
    diag = only(load_file(write(tmp_path, "rules:\n  - id: a\n    claim: 1e-3\n"))[1])
    assert diag.message == "`claim` is a number (1e-3), not a string"
    assert diag.hint == 'quote it: claim: "1e-3"'


def test_a_huge_int_from_code_does_not_crash() -> None:
    rule, diags = catalog.rule_from_fields({"id": "a", "f": 10 ** 5000, "wrt": "x",
                                            "gradient": "0"})
    assert rule is None and only(diags).message == "`f` is a number, not a string"


def test_long_names_are_cut_short_in_messages(tmp_path: Path) -> None:
    key = "k" * 100_000
    diag = only(load_file(write(tmp_path, f"rules:\n  - id: a\n    claim: x\n    {key}: 1\n"))[1])
    assert len(diag.message) < 200 and len(diag.hint) < 400


# ---- 6. the fuzzer ----

WORDS = ["id", "claim", "f", "wrt", "gradient", "jacobian", "hessian", "differential",
         "symbols", "assume", "tags", "note", "title", "layout", "expect", "<<", "rules", "x",
         "A", "matrix(m, n)", "vector(n)", "scalar", "symmetric", "∇_x (aᵀx) = a", "λ", "1e99999",
         "9" * 60, "0x1F", "-.inf", "~", "null", "true", "!!python/name:os.system", "!!int",
         "!!str", "!custom", "&a", "*a", "&b", "*b", "|", ">-", "- ", "? ", ": ", ",", "[", "]",
         "{", "}", "'", '"', "#", "\t", "\\", "\x00", "\x07", "\x85", "\u2028", "\ufeff",
         "\ue000", "\r", "\r\n", "---", "...", "%YAML 1.1"]

short = st.text(st.characters(codec="utf-8"), max_size=12)
scalars = st.one_of(
    st.sampled_from(WORDS),
    short,
    short.map(lambda t: "'" + t.replace("'", "''") + "'"),
    short.map(json.dumps),
    st.integers(-(10 ** 60), 10 ** 60).map(str),
    st.integers(0, 80).map(lambda k: "[" * k + "]" * k),
)


def _flow(children: Any) -> Any:
    return st.one_of(
        st.lists(children, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(st.tuples(st.sampled_from(WORDS[:20]), children), max_size=4).map(
            lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"),
    )


values = st.recursive(scalars, _flow, max_leaves=12)
decorated = st.tuples(st.sampled_from(["", "", "&a ", "&b ", "!!str ", "!t "]), values,
                      st.sampled_from(["", "", "*a", "*b"])).map(
    lambda t: t[2] or t[0] + t[1])


@st.composite
def rule_files(draw: st.DrawFn) -> str:
    """A file shaped like a rule file, with random keys, values, styles and mistakes."""
    lines = [draw(st.sampled_from(["rules:", "rules:", "rules:", "rules: ", "\trules:", "- x"]))]
    for _ in range(draw(st.integers(0, 4))):
        indent = draw(st.sampled_from(["  ", "  ", "", "   ", "\t"]))
        keys = draw(st.lists(st.sampled_from(WORDS[:20]), min_size=1, max_size=6))
        for index, key in enumerate(keys):
            more = draw(st.sampled_from(["  ", " ", "\t"]))
            lead = f"{indent}- " if index == 0 else indent + more
            value = draw(decorated)
            if draw(st.integers(0, 5)) == 0:  # a block value below the key
                block = draw(st.lists(decorated, min_size=1, max_size=3))
                lines.append(f"{lead}{key}:")
                lines += [f"{indent}      - {item}" for item in block]
            else:
                lines.append(f"{lead}{key}: {value}")
    for _ in range(draw(st.integers(0, 2))):  # a line copied, dropped, moved in or out
        at = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["copy", "drop", "in", "out", "tab"]))
        line = lines[at]
        lines[at:at + 1] = {"copy": [line, line], "drop": [], "in": [" " + line],
                            "out": [line[1:]], "tab": ["\t" + line.lstrip(" ")]}[edit]
        lines = lines or ["rules:"]
    if draw(st.booleans()):  # anchors and aliases around the rules
        lines = ["defs:", "  - &a [lol, lol, lol]", "  - &b [*a, *a, *a, *a]", *lines]
    text = "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n"]))
    for _ in range(draw(st.integers(0, 3))):  # a random edit
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(WORDS)) + text[at + draw(st.integers(0, 3)):]
    return text


def check_loads(folder: Path, data: bytes) -> None:
    path = folder / "fuzz.yaml"
    path.write_bytes(data)
    start = time.perf_counter()
    rules, diags = load_paths([path])
    assert time.perf_counter() - start < 3
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    lines = yaml_source.split_lines(text) if text is not None else []
    for diag in diags:
        assert diag.position.file == str(path), diag
        assert diag.position.line >= 1 and diag.position.column >= 1, diag
        if text is not None:
            assert diag.position.line <= len(lines), diag
            assert diag.position.column <= len(lines[diag.position.line - 1]) + 1, diag
        str(diag)
    for rule in rules:
        assert rule.position.file == str(path)
        assert rule.position.line <= len(lines)


FUZZ = settings(max_examples=300, deadline=3000, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


@FUZZ
@given(text=rule_files())
def test_fuzz_rule_shaped_text(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    check_loads(tmp_path_factory.mktemp("fuzz"), text.encode("utf-8", "surrogatepass"))


@settings(FUZZ, max_examples=150)
@given(data=st.binary(max_size=300))
def test_fuzz_raw_bytes(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    check_loads(tmp_path_factory.mktemp("bytes"), data)


@settings(FUZZ, max_examples=40)
@given(data=st.binary(max_size=200))
def test_fuzz_bytes_inside_a_rule(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    head = ("rules:\n" + GOOD + "  - id: x\n    note: ").encode()
    check_loads(tmp_path_factory.mktemp("inside"), head + data + b"\n" + OTHER.encode())


# ---- crashes the fuzzer found ----


def test_a_reused_anchor_prints_no_warning(tmp_path: Path, recwarn: pytest.WarningsRecorder,
                                           capfd: pytest.CaptureFixture[str]) -> None:
    text = "rules:\n  - id: a\n    claim: x\n    tags: &t [a]\n    note: &t b\n    title: *t\n"
    (rule,), diags = load_file(write(tmp_path, text))
    assert diags == [] and rule.title == "b"
    assert not [w for w in recwarn if "anchor" in str(w.message)]
    assert capfd.readouterr().err == ""


def test_many_rules_with_a_few_unreadable_ones(tmp_path: Path) -> None:
    items = [f"  - id: r{i}\n    claim: '∇_x (aᵀx) = a'\n"
             + ("    claim: y\n" if i % 97 == 5 else "") for i in range(300)]
    path = write(tmp_path, "rules:\n" + "".join(items))
    rules, diags = load_file(path)
    bad = [i for i in range(300) if i % 97 == 5]
    assert ids(rules) == [f"r{i}" for i in range(300) if i not in bad]
    assert [d.rule_id for d in diags] == [f"r{i}" for i in bad]
    lines = path.read_text().splitlines()
    assert all(lines[r.position.line - 1] == f"  - id: {r.id}" for r in rules)


def test_past_the_limit_of_unreadable_rules_the_rest_is_not_read(tmp_path: Path) -> None:
    bad = "  - id: b{0}\n    claim: x\n    claim: y\n"
    count = limits.MAX_UNREADABLE_RULES + 100
    path = write(tmp_path, "rules:\n" + "".join(bad.format(i) for i in range(count)) + GOOD)
    start = time.perf_counter()
    rules, diags = load_file(path)
    assert time.perf_counter() - start < 10
    assert rules == []
    assert len(diags) <= limits.MAX_UNREADABLE_RULES + 64 + 1
    assert diags[-1].message.startswith(f"more than {limits.MAX_UNREADABLE_RULES} rules of this "
                                        "file cannot be read")


GOOD_SHAPES = [
    "  - id: {id}\n    claim: '∇_x (aᵀx) = a'\n",
    "  - {{id: {id}, claim: '∇_x (aᵀx) = a', symbols: {{A: matrix(m, n)}}}}\n",
    "  - id: {id}\n    claim: |\n      \\nabla_x x^\\top x = 2x\n\n    tags: [a, b]\n",
    "  # a comment\n  - id: {id}\n    f: 3\n    wrt: x\n    hessian: 0\n",
    "  - id: {id}\n    claim: >-\n      ∇_x (aᵀx)\n      = a\n    note: |\n      - id: fake\n",
    "  -   id: {id}\n      claim: \"∇_x (aᵀx) = a\"  # trailing\n",
]


@settings(FUZZ, max_examples=40)
@given(shapes=st.lists(st.integers(0, len(GOOD_SHAPES) - 1), min_size=1, max_size=6),
       broken=st.sampled_from(sorted(BROKEN)), at=st.integers(0, 6))
def test_fuzz_one_broken_rule_among_good_ones(tmp_path_factory: pytest.TempPathFactory,
                                              shapes: list[int], broken: str, at: int) -> None:
    goods = [GOOD_SHAPES[shape].format(id=f"g{i}") for i, shape in enumerate(shapes)]
    at = min(at, len(goods))
    items = [*goods[:at], "  - id: broken\n" + BROKEN[broken][0], *goods[at:]]
    text = "# rules\nrules:\n" + "".join(items)
    path = write(tmp_path_factory.mktemp("one"), text)
    rules, diags = load_file(path)
    assert ids(rules) == [f"g{i}" for i in range(len(goods))]
    assert [d.rule_id for d in diags] == ["broken"], diags
    whole = load_file(write(tmp_path_factory.mktemp("whole"), "rules:\n" + "".join(goods)))[0]
    assert [r.claim or r.f for r in rules] == [r.claim or r.f for r in whole]


def test_a_long_word_is_not_taken_for_a_number(tmp_path: Path) -> None:
    word = "deadbeef" * 10
    path = write(tmp_path, f"rules:\n  - id: a\n    claim: x\n    title: {word}\n")
    (rule,), diags = load_file(path)
    assert diags == [] and rule.title == word


def test_a_complex_key_is_described(tmp_path: Path) -> None:
    diag = only(load_file(write(tmp_path, "rules:\n  - ? [a, b]\n    : 1\n    id: a\n"
                                          "    claim: x\n"))[1])
    assert diag.message == "unknown key (a list) in a rule"


def test_fuzz_found_a_lone_carriage_return_in_a_blanked_item(tmp_path: Path) -> None:
    """The file without its items blanked "  - i\\r" to "\\r", which joined the next "\\n"."""
    check_loads(tmp_path, b"rules:\n  - i\r        - id\n  - id: id\n- id:\n      - *a\n")


@pytest.mark.parametrize(("text", "hint"), [
    ("rules:\n  - id: a\n    claim: *nowhere\n", "define the anchor"),
    ("rules:\n  - id: a\n    claim: x\n---\nmore: 1\n", "one YAML document"),
])
def test_hints_for_aliases_and_documents(tmp_path: Path, text: str, hint: str) -> None:
    diags = load_file(write(tmp_path, text))[1]
    assert any(hint in d.hint for d in diags), diags
