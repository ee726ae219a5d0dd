"""Notes: Markdown, LaTeX, text and notebooks read as rules (gradcheck/notes), chains and
math delimiters in `check`, and the seed note of issue 13 end to end with the real checker."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck import limits
from gradcheck.catalog import load_paths
from gradcheck.model import Diagnostic, Position, Report, Rule
from gradcheck.notes import chains, declarations
from gradcheck.notes.claims import claim_rules
from gradcheck.notes.reader import read_note, read_text
from gradcheck.notes.spans import Delimiter, Document, Syntax, clean, find_spans, rows

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "notes"
SEED_NOTE = ROOT.parent / "shared" / "notes" / "000_5d69e8a24a6ea3de.txt"
SEED_COPY = DATA / "seed-d2l.md"  # the seed note as Markdown (a byte-for-byte copy)
ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}


def gradcheck(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gradcheck", *map(str, args)],
                          capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=600,
                          check=False)


def by_id(rules: list[Rule]) -> dict[str, Rule]:
    return {rule.id: rule for rule in rules}


def seed_text() -> str:
    source = SEED_NOTE if SEED_NOTE.is_file() else SEED_COPY
    return source.read_text(encoding="utf-8")


# ---- math spans


def test_every_delimiter_is_found_with_its_text_and_place() -> None:
    text = (
        "a $x$ b $$y = 1$$\n"
        "\\(z\\) and \\[w\\]\n"
        "\\begin{align}\n  u &= v \\\\\n  &= t\n\\end{align}\n"
    )
    spans = find_spans(text)
    assert [(s.text, s.delimiter) for s in spans] == [
        ("x", Delimiter.INLINE),
        ("y = 1", Delimiter.DISPLAY),
        ("z", Delimiter.PAREN),
        ("w", Delimiter.BRACKET),
        ("\n  u &= v \\\\\n  &= t\n", Delimiter.ENVIRONMENT),
    ]
    for span in spans:
        assert text[span.start : span.start + len(span.text)] == span.text
    align = spans[-1]
    (formula,) = rows(align)  # `&=` continues the row before: one chain
    assert formula.text.split() == ["u", "=", "v", "=", "t"]
    doc = Document(text)
    assert doc.line_col(formula.at(formula.text.index("t"))) == (5, 6)


def test_code_comments_escapes_and_prose_dollars_hold_no_math() -> None:
    text = (
        "costs $5 and $6 today; \\$x\\$ is escaped; `$a$` is code\n"
        "```python\ny = \"$\\nabla_x x = 1$\"\n```\n"
        "$real$\n"
    )
    assert [s.text for s in find_spans(text)] == ["real"]
    tex = "% $\\nabla_x x = 1$ a comment\n50\\% and $ok$\n"
    assert [s.text for s in find_spans(tex, Syntax.LATEX)] == ["ok"]


def test_unclosed_delimiters_are_text() -> None:
    for text in ("$x", "$$x = 1", "\\(x", "\\[x", "\\begin{align} x", "``` unclosed\n$x$"):
        assert find_spans(text) == []
    assert [s.text for s in find_spans("$a$ $b")] == ["a"]


def test_tags_labels_and_breaks_are_cleaned_keeping_origins() -> None:
    text = "\\nabla_x (a^T x) &= a \\tag{1}\\label{eq:a}"
    formula = clean(text, 10)
    assert formula.text.split() == ["\\nabla_x", "(a^T", "x)", "=", "a"]
    assert formula.at(formula.text.index("a ")) - 10 == text.index("a ")


_FRAGMENTS = st.sampled_from(
    ["text ", "中文 ", "\n", "\n\n", "# heading\n", "- item ", "`code` ", "\\$ ", "50% ", "é "]
)
_MATH = st.text(alphabet="abxyzAX+-^_{}()= 0123\\", min_size=1, max_size=20).filter(
    lambda s: "$" not in s and not s.endswith("\\") and s.strip() == s and "\\\\" not in s
    and not any(f"\\{c}" in s for c in "()[]")  # no delimiter inside the formula
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=12), _MATH, st.lists(_FRAGMENTS, max_size=12),
       st.sampled_from(["$", "$$", "\\(", "\\["]))
def test_a_span_maps_back_to_the_exact_text(
    before: list[str], math: str, after: list[str], opener: str
) -> None:
    """A formula put anywhere in prose is found at exactly its offset, line and column."""
    closer = {"$": "$", "$$": "$$", "\\(": "\\)", "\\[": "\\]"}[opener]
    head = "".join(before)
    text = head + opener + math + closer + " " + "".join(after)
    spans = [s for s in find_spans(text) if s.text == math]
    assert spans, (text, find_spans(text))
    span = spans[0]
    assert span.start == len(head) + len(opener)
    doc = Document(text)
    line, column = doc.line_col(span.start)
    assert doc.line_text(line - 1)[column - 1 :].startswith(math.split("\n")[0])
    formula = clean(span.text, span.start)
    for i, char in enumerate(formula.text):
        if not char.isspace():
            assert text[formula.at(i)] == char


# ---- chains


def test_members_split_at_top_level_equals_only() -> None:
    formula = clean("\\nabla_x f(x = 1) = a := b = \\{c = d\\} == e", 0)
    assert [m.text for m in chains.members(formula)] == [
        "\\nabla_x f(x = 1)", "a := b", "\\{c", "d\\} == e"
    ]


def test_a_chain_gives_one_claim_per_member_against_the_first_derivative() -> None:
    formula = clean("\\nabla_x \\|x\\|^2 = \\nabla_x (x^T x) = 2x", 0)
    first, second = chains.links(formula)
    assert first.display == "∇_x (‖x‖²) = ∇_x (xᵀx)"
    assert first.claim.text.endswith("= 0")  # ∇_x (f − g) = 0
    assert second.claim.text == "\\nabla_x \\|x\\|^2 = 2x"
    assert second.member.at(0) == formula.text.index("2x")
    assert chains.links(clean("a = b = c", 0)) == []  # no derivative: not a claim
    assert chains.links(clean("\\nabla_x f(x)", 0)) == []  # a derivative, no claim


def test_delimiters_around_a_typed_claim_are_stripped() -> None:
    for claim in ("$$\\nabla_x (x^T x) = 2x.$$", "$\\nabla_x (x^T x) = 2x$",
                  "\\(\\nabla_x (x^T x) = 2x\\)", "\\[\\nabla_x (x^T x) = 2x\\]"):
        rules, problems = claim_rules(claim)
        assert [r.claim for r in rules] == ["\\nabla_x (x^T x) = 2x"] and not problems
    rules, _ = claim_rules("$$\\nabla_x \\|x\\|^2 = \\nabla_x (x^T x) = 2x$$")
    assert [r.id for r in rules] == ["claim", "claim.2"]
    assert [r.position.column for r in rules] == [3, 41]


# ---- declarations


@pytest.mark.parametrize(
    ("text", "shapes"),
    [
        ("对于所有 $A \\in \\mathbb{R}^{m \\times n}$，都有", {"A": ("matrix", ("m", "n"))}),
        ("假设 $x$ 为 $n$ 维向量", {"x": ("vector", ("n",))}),
        ("$x ∈ ℝⁿ$ and $B ∈ ℝ³ˣ³$", {"x": ("vector", ("n",)), "B": ("matrix", (3, 3))}),
        ("Let $A, B \\in \\R^{n \\times n}$", {"A": ("matrix", ("n", "n")),
                                               "B": ("matrix", ("n", "n"))}),
        ("$A$ is an $m \\times n$ matrix", {"A": ("matrix", ("m", "n"))}),
        ("$x$ is an $n$-dimensional vector", {"x": ("vector", ("n",))}),
        ("$s \\in \\mathbb{R}$", {"s": ("scalar", ())}),
        ("$A \\in \\mathbb{R}^{99 \\times 2}$", {}),  # beyond limits.MAX_DIMENSION: ignored
    ],
)
def test_shapes_are_read_from_prose_and_math(
    text: str, shapes: dict[str, tuple[str, tuple[str | int, ...]]]
) -> None:
    assert {d.name: (d.kind, d.dims) for d in declarations.shapes(text)} == shapes


def test_assumptions_and_conditions() -> None:
    assert declarations.declared_assumptions("where $X$ is symmetric") == [("X", "symmetric")]
    assert declarations.declared_assumptions("for a symmetric $S$") == [("S", "symmetric")]
    assert declarations.declared_assumptions("X 为正定矩阵") == [("X", "spd")]
    assert declarations.declared_assumptions("a symmetric one, this is symmetric") == []
    # "when …" / "当 … 时" is a condition, which only an alternative result takes
    assert declarations.declared_assumptions("（当 $A$ 对称时退化为 $2Ax$）") == []
    assert declarations.conditions("（当 $A$ 对称时退化为") == [("A", "symmetric")]
    assert declarations.conditions("when $A$ is invertible") == [("A", "invertible")]


# ---- the reader on the seed note, and on the fixtures


def test_the_seed_note_reads_as_rules_at_their_lines() -> None:
    rules, problems = read_text(seed_text(), "seed.txt")
    assert problems == []
    found = by_id(rules)
    assert list(found) == ["line-11", "line-12", "line-12.2", "line-14", "line-16", "line-18",
                           "line-18.2", "line-21"]
    assert {i: (r.position.line, r.position.column) for i, r in found.items()} == {
        "line-11": (11, 6), "line-12": (12, 26), "line-12.2": (12, 52), "line-14": (14, 6),
        "line-16": (16, 6), "line-18": (18, 6), "line-18.2": (18, 44), "line-21": (21, 3),
    }
    shapes = {i: {d.name: d.dims for d in r.symbols} for i, r in found.items()}
    assert shapes["line-11"] == {"x": ("n",), "A": ("m", "n")}  # line 10 and line 8
    assert shapes["line-14"] == {"x": ("n",), "A": ("n", "m")}
    assert shapes["line-16"] == {"x": ("n",), "A": ("n", "n")}
    assert found["line-12"].claim == "\\nabla_x (A x) = (A + A^T)x"  # the note's "correction"
    assert found["line-12"].assume == ()
    # "当 A 对称时退化为 2Ax": the condition is an assumption, and makes A square
    assert found["line-12.2"].claim == "\\nabla_x (A x) = 2Ax"
    assert found["line-12.2"].assume == (("A", ("symmetric",)),)
    assert shapes["line-12.2"] == {"x": ("n",)}
    assert found["line-18"].display == "∇_x (‖x‖²) = ∇_x (xᵀx)"
    assert found["line-18.2"].claim == "\\nabla_x \\|x\\|^2 = 2x"
    assert found["line-21"].claim == "\\nabla_X \\|X\\|_F^2 = 2X"


def test_the_markdown_copy_reads_as_the_seed() -> None:
    assert SEED_COPY.read_text(encoding="utf-8") == seed_text()
    rules, problems = read_note(SEED_COPY)
    assert [r.id for r in rules] == [r.id for r in read_text(seed_text(), "x")[0]]
    assert problems == []


def test_a_latex_note() -> None:
    rules, problems = read_note(DATA / "identities.tex")
    assert problems == []
    found = by_id(rules)
    assert list(found) == ["line-7", "line-8", "line-11", "line-12", "line-14"]
    assert found["line-7"].claim.split() == ["\\nabla_x", "(x^T", "A", "x)", "=", "(A", "+",
                                             "A^T)", "x"]
    assert found["line-11"].assume == (("S", ("symmetric",)),)  # "for a symmetric $S$"
    assert found["line-12"].tags == ("note", "alternative")  # "the correct result is $2 S x$"
    assert found["line-12"].claim == "\\nabla_x (x^T S x) = 2 S x"


def test_a_notebook_maps_positions_into_the_json_file() -> None:
    path = DATA / "gradients.ipynb"
    rules, problems = read_note(path)
    assert problems == []
    lines = path.read_text(encoding="utf-8").split("\n")
    found = by_id(rules)
    assert list(found) == ["line-11", "line-28", "line-29"]  # the code cell is not read
    for rule in rules:
        at = lines[rule.position.line - 1][rule.position.column - 1 :]
        assert at.startswith("\\\\nabla_x"), (rule.id, at)  # `\nabla` as JSON writes it


def test_unreadable_formulas_are_unread_with_the_reason_and_place() -> None:
    text = (
        "Let $x \\in \\mathbb{R}^n$.\n\n"
        "$$\\nabla_x (x^T x = 2x$$\n\n"  # an unclosed bracket
        "$$\\nabla_x (A x) = A + x$$\n\n"  # a shape conflict
        "$$\\nabla_x (x^T x) = \\nabla_y (y^T y)$$\n\n"  # different variables
        "$$\\nabla_x (a^T x) = a$$ and $5 for $6\n"
    )
    rules, problems = read_text(text, "n.md")
    assert [r.id for r in rules] == ["line-9"]
    assert all(p.unread and p.message.startswith("unread: ") for p in problems)
    # at the bracket's `=`, the `+` of the conflict, the second variable's derivative
    assert [(p.position.line, p.position.column) for p in problems] == [(3, 19), (5, 22), (7, 22)]
    assert "vector" in problems[1].message


def test_a_condition_after_a_claim_is_assumed_by_it() -> None:
    text = ("$$\\nabla_x (x^T A x) = 2Ax$$ when $A$ is symmetric.\n\n"
            "And $\\nabla_x (x^T B x) = 2Bx$ 当 $B$ 对称时; $\\nabla_x (x^T C x) = 2Cx$.\n")
    rules, _ = read_text(text, "c.md")
    assert [r.assume for r in rules] == [(("A", ("symmetric",)),), (("B", ("symmetric",)),), ()]


@pytest.mark.parametrize(("tail", "stated"), [
    ("\\quad (A \\text{ invertible})", [("A", "invertible")]),
    ("\\ (A \\text{ symmetric})", [("A", "symmetric")]),
    ("\\qquad (\\text{for symmetric } A).", [("A", "symmetric")]),
    ("\\quad (\\text{when } A \\text{ is positive definite})", [("A", "spd")]),
])
def test_a_bracketed_condition_in_prose_is_an_assumption_not_a_factor(
    tail: str, stated: list[tuple[str, str]]
) -> None:
    """Read as math, `(A \\text{ invertible})` would be the factor (A): the claim times A,
    a silent misreading (the printed-claims corpus had one)."""
    formula = "\\nabla_A \\log |A| = (A^{-1})^\\top " + tail
    found = declarations.prose_condition(formula)
    assert found is not None and found[1] == stated
    assert formula[: found[0]].rstrip() == "\\nabla_A \\log |A| = (A^{-1})^\\top"
    rules, problems = claim_rules(formula)
    assert problems == [] and [r.assume for r in rules] == [
        tuple((name, (assumption,)) for name, assumption in stated)
    ]
    assert rules[0].claim is not None and "text" not in rules[0].claim


def test_a_bracketed_condition_gradcheck_cannot_read_is_refused_at_its_column() -> None:
    rules, problems = claim_rules("\\nabla_x (x^T A x) = 2Ax \\quad (A \\text{ lovely})")
    assert rules == [] and len(problems) == 1
    assert "condition in prose" in problems[0].message and "(A lovely)" in problems[0].message
    assert problems[0].position.column == 1 + len("\\nabla_x (x^T A x) = 2Ax \\quad (")
    assert declarations.prose_condition("\\nabla_x (x^T A x) = (A + A^T) x") is None


def test_a_subscript_in_text_is_no_condition_and_a_label_is_no_factor() -> None:
    ridge = "\\nabla_W \\lambda |W - W_{\\text{old}}|_F^2 = 2 \\lambda (W - W_{\\text{old}})"
    assert declarations.prose_condition(ridge) is None
    labelled = "\\text{Tanh}': \\quad \\frac{d}{dx}\\tanh(x) = 1 - \\tanh^2(x)"
    start = declarations.label_end(labelled)
    assert labelled[start:].startswith("\\frac{d}{dx}")
    assert declarations.label_end("\\nabla_x (x^T x) = 2x") == 0
    rules, problems = claim_rules(labelled, symbols={"x": "scalar"})
    assert problems == [] and len(rules) == 1 and rules[0].claim is not None
    assert "Tanh" not in rules[0].claim


def test_the_condition_decides_the_verdict_end_to_end() -> None:
    """Invertible: log|A| has the gradient A⁻ᵀ; the misreading (a factor A) failed this."""
    done = gradcheck("check", "\\nabla_A \\log |A| = (A^{-1})^\\top \\quad (A \\text{ invertible})",
                     "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    rule = json.loads(done.stdout)["rules"][0]
    assert rule["verdict"] == "holds" and rule["display"] == "∇_A log(|A|) = A⁻ᵀ"
    done = gradcheck("check", "\\nabla_x (x^T A x) = 2Ax \\quad (A \\text{ invertible})")
    assert done.returncode == 1, done.stdout  # invertible is not symmetric: still wrong


def test_math_without_a_derivative_is_ignored() -> None:
    text = ("$a = b$, $x^2 + y^2 = 1$, $\\nabla_x f(x)$ and $$E = mc^2$$; the distance\n"
            "$d(x, y) = \\|x - y\\|$ is no differential, but $d(X^{-1}) = -X^{-1} dX X^{-1}$ is\n")
    rules, problems = read_text(text, "n.md")
    assert [r.claim for r in rules] == ["d(X^{-1}) = -X^{-1} dX X^{-1}"] and problems == []


# ---- hostile notes: no traceback, no hang


@pytest.mark.parametrize(
    "text",
    [
        "$" * 1_000_000,
        "\\(" * 300_000 + "\\)",
        "\\begin{align}" * 60_000,
        "`" * 1_000_000,
        "```\n" * 200_000,
        "$a$ " * 200_000,
        "$\\nabla_x " + "{" * 50_000 + "x" + "}" * 50_000 + " = x$",
        "$\\nabla_x " + "(" * 300 + "x" + ")" * 300 + " = x$",
        "$\\nabla_x " + "= " * 200_000 + "$",
        "$$\\nabla_x (x^T x) = 2x" + "x" * 900_000,
        "$\\nabla_x (x \x00 x) = 2x$ \udcff",
        # a long list of letters before each formula: the ∈ pattern was quadratic in it (25 s)
        ("a, " * 660 + " $\\nabla_x (x^T x) = 2x$\n\n") * 300,
        "a, " * 6_600 + " $$\\nabla_x (x^T A x) = 2Ax$$\n",
        ("a, " * 60 + "\\in ") * 300 + " $$\\nabla_x (x^T A x) = 2Ax$$\n",
        "$$\\nabla_x (x^T x) = 2x" + " " * 200_000 + "(A \\text{ symmetric})$$",
        "$$\\nabla_x (x^T x) " + "= 2x " * 1_000 + "$$",
    ],
)
def test_hostile_notes_are_read_quickly(text: str) -> None:
    start = time.perf_counter()
    _, problems = read_text(text, "h.md")
    assert time.perf_counter() - start < 10
    assert all(isinstance(p, Diagnostic) and p.unread for p in problems)
    assert len(problems) <= limits.MAX_UNREADABLE_RULES + 1


def test_a_note_beyond_the_file_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    big.write_text("$\\nabla_x (a^T x) = a$\n" * (limits.MAX_FILE_BYTES // 20))
    rules, problems = read_note(big)
    assert rules == [] and "too large" in problems[0].message


def test_too_many_unread_formulas_are_cut_short() -> None:
    _, problems = read_text("$\\nabla_x (x = 1$\n" * 500, "many.md")
    assert len(problems) == limits.MAX_UNREADABLE_RULES + 1
    assert "the rest are not listed" in problems[-1].message


def test_a_broken_notebook_is_one_diagnostic(tmp_path: Path) -> None:
    for body in ("{not json", "[1, 2]", '{"cells": 3}', "[" * 100_000):
        path = tmp_path / "n.ipynb"
        path.write_text(body)
        rules, problems = read_note(path)
        assert rules == [] and len(problems) == 1 and "notebook" in problems[0].message


# ---- folders: notes only when asked


def test_a_readme_in_a_folder_of_rules_is_not_read_without_notes(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - id: linear\n    claim: '∇_x (aᵀx) = a'\n", encoding="utf-8"
    )
    (tmp_path / "README.md").write_text("$$\\nabla_x (x^T x) = 3x$$\n", encoding="utf-8")
    rules, problems = load_paths([tmp_path])
    assert [r.id for r in rules] == ["linear"] and problems == []
    rules, problems = load_paths([tmp_path], notes=True)
    assert sorted(r.id for r in rules) == ["line-1", "linear"]
    # two notes with the same lines: the second one's ids are qualified by its file name
    shutil.copy(tmp_path / "README.md", tmp_path / "other.md")
    rules, _ = load_paths([tmp_path], notes=True)
    assert sorted(r.id for r in rules) == ["line-1", "linear", "other.md.line-1"]


# ---- end to end, with the real checker


@pytest.fixture(scope="module")
def seed_json() -> dict[str, object]:
    done = gradcheck("verify", SEED_NOTE if SEED_NOTE.is_file() else SEED_COPY, "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    return dict(json.loads(done.stdout))


def _verdicts(report: dict[str, object]) -> dict[str, tuple[str, str]]:
    rules = report["rules"]
    assert isinstance(rules, list)
    return {r["id"]: (r["verdict"], r["position"].split(":", 1)[1]) for r in rules}


SEED_VERDICTS = {
    "line-11": ("holds", "11:6"),
    "line-12": ("fails", "12:26"),
    "line-12.2": ("fails", "12:52"),
    "line-14": ("holds", "14:6"),
    "line-16": ("holds", "16:6"),
    "line-18": ("holds", "18:6"),
    "line-18.2": ("holds", "18:44"),
    "line-21": ("holds", "21:3"),
}


def test_the_seed_note_verifies_as_issue_13_says(seed_json: dict[str, object]) -> None:
    assert _verdicts(seed_json) == SEED_VERDICTS
    assert seed_json["exit_code"] == 1 and seed_json["unread"] == []
    rules = seed_json["rules"]
    assert isinstance(rules, list)
    wrong = next(r for r in rules if r["id"] == "line-12")
    detail = wrong["diagnosis"]["detail"]
    assert "(A + Aᵀ)x is the gradient of xᵀAx;" in detail
    assert detail.endswith("the derivative is Aᵀ")
    assert wrong["diagnosis"]["suggestion"] == "Aᵀ" and wrong["diagnosis"]["confirmed"]


def test_the_markdown_copy_verifies_the_same(seed_json: dict[str, object]) -> None:
    done = gradcheck("verify", SEED_COPY, "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    assert _verdicts(json.loads(done.stdout)) == _verdicts(seed_json)


def test_the_table_sarif_and_github_formats_carry_the_same_lines(
    seed_json: dict[str, object],
) -> None:
    table = gradcheck("verify", SEED_COPY)
    assert table.returncode == 1
    for rule_id, (verdict, where) in SEED_VERDICTS.items():
        assert any(line.startswith(f"│ {rule_id} ") and verdict in line and where in line
                   for line in table.stdout.splitlines()), rule_id
    markdown = gradcheck("verify", SEED_COPY, "--format", "markdown")
    for rule_id, (_, where) in SEED_VERDICTS.items():
        assert f"| `{rule_id}` |" in markdown.stdout and f"seed-d2l.md:{where} |" in markdown.stdout
    sarif = gradcheck("verify", SEED_COPY, "--format", "sarif")
    assert sarif.returncode == 1
    results = json.loads(sarif.stdout)["runs"][0]["results"]
    regions = {r["ruleId"]: r["locations"][0]["physicalLocation"]["region"] for r in results}
    assert regions == {"line-12": {"startLine": 12, "startColumn": 26},
                       "line-12.2": {"startLine": 12, "startColumn": 52}}
    github = gradcheck("verify", SEED_COPY, "--format", "github")
    assert github.returncode == 1
    errors = [line for line in github.stdout.splitlines() if line.startswith("::error")]
    assert [e.split(",title=")[0].split("line=")[1] for e in errors] == ["12,col=26", "12,col=52"]
    assert "is the gradient of xᵀAx" in errors[0]


def test_the_diff_format_patches_the_wrong_formulas_in_latex() -> None:
    done = gradcheck("verify", SEED_COPY, "--format", "diff")
    assert done.returncode == 1, done.stdout + done.stderr
    removed = [line for line in done.stdout.splitlines() if line.startswith("-   ")]
    added = [line for line in done.stdout.splitlines() if line.startswith("+   ")]
    note = "   **注**: 此处存在笔误，正确结果应为 "
    assert removed == [f"-{note}$(A + A^T)x$（当 $A$ 对称时退化为 $2Ax$）。"]
    assert added == [f"+{note}${{A}}^\\top$（当 $A$ 对称时退化为 $A$）。"]
    tex = gradcheck("verify", DATA / "identities.tex", "--format", "diff")
    assert "+\\[ \\nabla_x (x^T S x) = 2 S x \\]" in tex.stdout.splitlines()


def test_the_chain_of_line_18_holds_in_check() -> None:
    chain = "$$\\nabla_x \\|x\\|^2 = \\nabla_x (x^T x) = 2x$$"
    done = gradcheck("check", chain, "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    rules = json.loads(done.stdout)["rules"]
    assert [(r["id"], r["verdict"]) for r in rules] == [("claim", "holds"), ("claim.2", "holds")]


def test_a_wrong_link_fails_the_chain() -> None:
    done = gradcheck("check", "\\nabla_x (x^T x) = \\nabla_x (x^T A x) = 2x", "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    rules = json.loads(done.stdout)["rules"]
    assert [(r["id"], r["verdict"]) for r in rules] == [("claim", "fails"), ("claim.2", "holds")]


def test_the_latex_and_notebook_fixtures_verify() -> None:
    done = gradcheck("verify", DATA / "identities.tex", DATA / "gradients.ipynb",
                     "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    verdicts = {r["id"]: r["verdict"] for r in json.loads(done.stdout)["rules"]}
    assert verdicts == {
        "line-7": "holds", "line-8": "holds", "line-11": "fails", "line-12": "holds",
        "line-14": "holds",
        # the notebook's ids are taken by the .tex note: qualified by its file name
        "gradients.ipynb.line-11": "fails", "line-28": "holds", "line-29": "holds",
    }


def test_unread_formulas_fail_the_run_only_when_strict(tmp_path: Path) -> None:
    note = tmp_path / "note.md"
    note.write_text("$$\\nabla_x (a^T x) = a$$\n\n$$\\nabla_x (x^T x = 2x$$\n", encoding="utf-8")
    done = gradcheck("verify", note, "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert [u["position"].split(":", 1)[1] for u in report["unread"]] == ["3:19"]
    assert "note.md:3:19: unread:" in done.stderr
    strict = gradcheck("verify", note, "--strict", "--format", "github")
    assert strict.returncode == 2
    assert "::error file=" in strict.stdout and "unread formula" in strict.stdout


# ---- unread formulas in every format (hand-built reports: no checking needed)


def _unread_report(*, strict: bool) -> Report:
    where = Position("notes/a.md", 3, 19)
    unread = Diagnostic(where, "unread: \\nabla_x (x^T x = 2x: expected ')'", "close it",
                        unread=True)
    return Report(verdicts=(), seed=0, seconds=0.0, unread=(unread,), strict=strict)


def test_unread_formulas_in_the_ci_formats_and_the_exit_code() -> None:
    import jsonschema

    from gradcheck.model import ExitCode
    from gradcheck.report import github, json_report, junit, sarif

    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
    for strict, level, code in ((False, "warning", ExitCode.OK),
                                (True, "error", ExitCode.UNREADABLE)):
        report = _unread_report(strict=strict)
        assert report.exit_code is code
        log = sarif.report_to_sarif(report)
        jsonschema.Draft7Validator(schema).validate(log)
        (result,) = log["runs"][0]["results"]
        assert (result["ruleId"], result["level"]) == ("unread", level)
        assert result["locations"][0]["physicalLocation"]["region"] == {
            "startLine": 3, "startColumn": 19}
        (line,) = github.lines(report)
        assert line.startswith(f"::{level} file=notes/a.md,line=3,col=19,")
        assert json_report.report_to_dict(report)["unread"][0]["position"] == "notes/a.md:3:19"
        xml = junit.report_to_junit(report)
        assert ('skipped="0"' in xml) is strict and ("<error" in xml) is strict


def test_lint_lists_unread_formulas_without_failing(tmp_path: Path) -> None:
    note = tmp_path / "note.md"
    note.write_text("$$\\nabla_x (a^T x) = a$$\n\n$$\\nabla_x (x^T x = 2x$$\n", encoding="utf-8")
    done = gradcheck("lint", note)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 rule in 1 file; well-formed (1 unread formula)" in done.stdout
    assert "note.md:3:19: unread:" in done.stderr


_PROSE = st.text(alphabet='ab 中"\\\\é\t', max_size=12).filter(lambda s: "\\$" not in s)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_PROSE, st.booleans(), _PROSE), min_size=1, max_size=6),
       st.booleans())
def test_notebook_positions_point_at_the_formula_in_the_json(
    lines: list[tuple[str, bool, str]], ascii_only: bool
) -> None:
    """Whatever the prose around them and however the JSON escapes it, every claim of a
    notebook's Markdown cell is placed at its formula's first character in the file."""
    from gradcheck.notes.notebook import markdown_cells

    formula = " $\\nabla_x (a^T x) = a$ "
    source = [before + (formula if claim else "") + after + "\n" for before, claim, after in lines]
    notebook = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": source}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    raw = json.dumps(notebook, indent=1, ensure_ascii=ascii_only)
    cells = markdown_cells(raw, "n.ipynb")
    assert not isinstance(cells, Diagnostic)
    text, place = cells
    rules, _ = read_text(text, "n.ipynb", Syntax.MARKDOWN, place)
    assert len(rules) == sum(claim for _, claim, _ in lines)
    file_lines = raw.split("\n")
    for rule in rules:
        at = file_lines[rule.position.line - 1][rule.position.column - 1 :]
        assert at.startswith("\\\\nabla_x (a^T x) = a$"), (rule.position, at)


def test_otimes_is_read_as_the_text_declares_it() -> None:
    """⊗ is refused when undeclared (naming both readings), read as ⊙ where the text declares
    the Hadamard product, and refused as the Kronecker product where it declares that."""
    claim = "\\frac{\\partial (\\mathbf{w \\otimes x})}{\\partial \\mathbf{w}} = diag(\\mathbf{x})"
    assert declarations.otimes_declared("where ⊗ denotes the element-wise product") is (
        declarations.Otimes.HADAMARD)
    assert declarations.otimes_declared("the Kronecker product \\otimes of A and B") is (
        declarations.Otimes.KRONECKER)
    assert declarations.otimes_declared("⊗ is elementwise here; elsewhere Kronecker ⊗") is None
    undeclared = gradcheck("check", claim)
    assert undeclared.returncode == 2, undeclared.stdout + undeclared.stderr
    assert "Kronecker" in undeclared.stderr and "Hadamard" in undeclared.stderr
    rules, problems = claim_rules(claim, layout="numerator", otimes=declarations.Otimes.HADAMARD)
    assert problems == [] and rules[0].claim is not None and "⊙" not in claim
    rules, problems = claim_rules(claim, otimes=declarations.Otimes.KRONECKER)
    assert rules == [] and "is the Kronecker product here" in problems[0].message
    assert problems[0].position.column == 1 + claim.index("\\otimes")
    note = ("Here $\\otimes$ denotes the element-wise product.\n\n$$" + claim + "$$\n"
            "And $$\\nabla_x (x \\otimes x)^T 1 = 3x$$\n")
    rules, diagnostics = read_text(note, "parr.md")
    assert [r.id for r in rules] == ["line-3", "line-4"] and diagnostics == []
    done = gradcheck("check", claim, "--otimes", "hadamard", "--layout", "numerator")
    assert done.returncode == 0, done.stdout + done.stderr
    done = gradcheck("check", "\\nabla_x \\sum (x \\otimes x) = 3x", "--otimes", "hadamard")
    assert done.returncode == 1, done.stdout + done.stderr  # 2x: still checked, not waved by


@pytest.mark.parametrize(
    ("formula", "reads"),
    [
        (
            r"f(x)=x^TAx \implies \frac{\partial f}{\partial x} = (A^T+A)x",
            ["∇_{x} (x^TAx) = (A^T+A)x"],
        ),
        (r"f = a^T x \Rightarrow \nabla_x f = a", ["∇_{x} (a^T x) = a"]),
        (r"g(x, y) = x^T x ⟹ \nabla^2_x g = 2I", ["∇²_{x} (x^T x) = 2I"]),
        # the derivative of another name is read as written (and refused at compile)
        (r"g(x) = x^T x \implies \nabla_x f = 2x", [r"\nabla_x f = 2x"]),
    ],
)
def test_a_definition_before_an_arrow_is_the_f_of_the_derivative(
    formula: str, reads: list[str]
) -> None:
    found = chains.links(clean(formula, 0))
    assert [" ".join(link.claim.text.split()) for link in found] == [
        " ".join(r.split()) for r in reads
    ]


def test_a_definition_before_an_arrow_is_checked_both_ways() -> None:
    claim = r"f(x)=x^TAx \implies \frac{\partial f}{\partial x} = "
    right = gradcheck("check", claim + "(A^T+A)x", "--format", "json")
    wrong = gradcheck("check", claim + "2Ax", "--format", "json")
    assert (right.returncode, wrong.returncode) == (0, 1), right.stdout + wrong.stdout
    with pytest.raises(Exception, match="no definition"):
        chains.links(clean(r"x^TAx + 1 \implies \nabla_x f = 0 = 1", 0))
