"""Tests for gradcheck.catalog: YAML rule files to Rules, with positions and diagnostics."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck import catalog, limits
from gradcheck.catalog import bundled_catalog, load_file, load_paths, rule_from_claim, select
from gradcheck.model import Expect, Kind, Layout, Position, Rule, SymbolDecl

PUBLIC = Path(__file__).resolve().parents[2] / "shared" / "acceptance" / "public.yaml"


def write(folder: Path, text: str, name: str = "rules.yaml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(folder: Path, text: str) -> tuple[list[Rule], list[catalog.Diagnostic]]:
    return load_file(write(folder, text))


def only(diags: list[catalog.Diagnostic]) -> catalog.Diagnostic:
    assert len(diags) == 1, diags
    return diags[0]


# ---- the acceptance file and both forms ----


def test_public_acceptance_file_loads_without_diagnostics() -> None:
    if not PUBLIC.exists():
        pytest.skip("shared/acceptance/public.yaml is not present")
    rules, diags = load_file(PUBLIC)
    assert diags == []
    expected = len(re.findall(r"^\s*- id:", PUBLIC.read_text(encoding="utf-8"), re.MULTILINE))
    assert len(rules) == expected >= 36
    ridge = next(r for r in rules if r.id == "ridge")
    assert SymbolDecl("X", "matrix", ("m", "n")) in ridge.symbols
    assert SymbolDecl("λ", "scalar", ()) in ridge.symbols
    assert {r.kind for r in rules if r.claim is None} == set(Kind)


def test_claim_form(tmp_path: Path) -> None:
    rules, diags = load(tmp_path, """
        rules:
          - id: linear-map
            title: Gradient of a linear map
            source: "d2l 2.4"
            note: the d2l convention
            claim: "∇_x (A x) = A^T"
            symbols: {A: matrix(m, n), x: vector(n)}
            tags: [linear, jacobian]
        """)
    assert diags == []
    (rule,) = rules
    assert rule.claim == "∇_x (A x) = A^T"
    assert (rule.f, rule.wrt, rule.kind, rule.rhs) == (None, None, None, None)
    assert rule.title == "Gradient of a linear map" and rule.source == "d2l 2.4"
    assert rule.tags == ("linear", "jacobian")
    assert rule.layout is Layout.DENOMINATOR and rule.expect is Expect.HOLDS
    assert rule.symbols == (SymbolDecl("A", "matrix", ("m", "n")),
                            SymbolDecl("x", "vector", ("n",)))


def test_structured_form(tmp_path: Path) -> None:
    rules, diags = load(tmp_path, """
        rules:
          - id: quadratic-form
            f: "x.T @ A @ x"
            wrt: x
            gradient: "(A + A.T) @ x"
            assume: {A: [symmetric]}
            layout: numerator
            expect: fails
            tags: quadratic
          - id: constant
            f: 3
            wrt: x
            hessian: 0
        """)
    assert diags == []
    quad, const = rules
    assert (quad.f, quad.wrt, quad.kind, quad.rhs) == ("x.T @ A @ x", "x", Kind.GRADIENT,
                                                        "(A + A.T) @ x")
    assert quad.assume == (("A", ("symmetric",)),)
    assert quad.layout is Layout.NUMERATOR and quad.expect is Expect.FAILS
    assert quad.tags == ("quadratic",)
    assert (const.f, const.kind, const.rhs) == ("3", Kind.HESSIAN, "0")


# ---- positions ----


def test_positions_and_quoted_fields(tmp_path: Path) -> None:
    path = write(tmp_path, """
        rules:
          - id: a
            claim: "∇_x (aᵀx) = a"
          - id: b
            claim: '\\nabla_x \\|x\\|^2 = 2 x'
          - id: c
            claim: ∇_x (aᵀx) = a
          - id: d
            f: sum(x)
            wrt: x
            gradient: "ones"
            symbols: {x: vector(n), W1: 'matrix(n, 3)'}
            assume:
              x: [positive]
        """)
    (a, b, c, d), diags = load_file(path)
    assert diags == []
    file = str(path)
    assert a.position == Position(file, 2, 5)
    assert a.position_of("id") == Position(file, 2, 9)
    assert a.position_of("claim") == Position(file, 3, 12)
    assert a.quoted == {"claim"} and b.quoted == {"claim"} and c.quoted == frozenset()
    assert b.claim == "\\nabla_x \\|x\\|^2 = 2 x"
    assert a.text_position("claim", 0) == Position(file, 3, 13)
    assert c.text_position("claim", 0) == Position(file, 7, 12)
    assert d.position_of("f") == Position(file, 9, 8)
    assert d.position_of("gradient") == d.position_of("rhs") == Position(file, 11, 15)
    assert d.quoted == {"gradient", "rhs", "symbols.W1"}
    assert d.position_of("symbols.x") == Position(file, 12, 18)
    assert d.position_of("symbols.W1") == Position(file, 12, 33)  # the quote
    assert d.position_of("assume.x") == Position(file, 14, 10)
    assert d.symbols[1] == SymbolDecl("W1", "matrix", ("n", 3))


def test_block_scalar_points_at_its_text(tmp_path: Path) -> None:
    path = write(tmp_path, """
        rules:
          - id: latex
            claim: |
              \\nabla_x x^\\top x = 2x
        """)
    (rule,), diags = load_file(path)
    assert diags == []
    assert rule.claim == "\\nabla_x x^\\top x = 2x"
    assert rule.position_of("claim") == Position(str(path), 4, 7)


# ---- schema errors ----


def test_unknown_key_with_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, """
        rules:
          - id: typo
            claimm: "∇_x (aᵀx) = a"
        """)
    rules, diags = load_file(path)
    assert rules == []
    unknown = next(d for d in diags if "claimm" in d.message)
    assert unknown.position == Position(str(path), 3, 5)
    assert unknown.hint == "did you mean 'claim'?"
    assert unknown.rule_id == "typo"


def test_unknown_key_without_suggestion_lists_the_allowed_keys(tmp_path: Path) -> None:
    _, diags = load(tmp_path, """
        rules:
          - id: a
            claim: "∇_x (aᵀx) = a"
            zzzz: 1
        """)
    assert "allowed: id, title" in only(diags).hint


def test_duplicate_key_is_one_diagnostic(tmp_path: Path) -> None:
    path = write(tmp_path, """
        rules:
          - id: a
            claim: "∇_x (aᵀx) = a"
            claim: "∇_x (xᵀa) = a"
        """)
    rules, diags = load_file(path)
    diag = only(diags)
    assert rules == []
    assert diag.position == Position(str(path), 4, 5)
    assert "duplicate key" in diag.message
    assert "each key once per rule" in diag.hint


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, """
        rules:
          - id: a
            claim: ∇_x f: x = y
        """)
    rules, diags = load_file(path)
    diag = only(diags)
    assert rules == []
    assert (diag.position.line, diag.position.column) == (3, 17)
    assert str(diag).startswith(f"{path}:3:17: invalid YAML")
    assert "single quotes" in diag.hint


def test_backslash_in_double_quotes_suggests_single_quotes(tmp_path: Path) -> None:
    diag = only(load(tmp_path, """
        rules:
          - id: a
            claim: "\\nabla_x \\|x\\| = x / \\|x\\|"
        """)[1])
    assert diag.position.line == 3
    assert "single quotes" in diag.hint


@pytest.mark.parametrize("shape", ["matrix(m)", "vector(0)", "tensor(n)", "3", "matrix(m, n, k)",
                                   "vector(n", "[n]", "vector(2n)"])
def test_bad_symbol_declaration(tmp_path: Path, shape: str) -> None:
    path = write(tmp_path, f"""
        rules:
          - id: a
            claim: "∇_x (Aᵀx) = A"
            symbols:
              A: {shape}
        """)
    rules, diags = load_file(path)
    diag = only(diags)
    assert rules == []
    assert diag.position == Position(str(path), 5, 10)
    assert diag.hint.startswith("write scalar, vector(n) or matrix(m, n)")
    assert diag.rule_id == "a"


def test_symbol_name_with_a_space_is_rejected(tmp_path: Path) -> None:
    diag = only(load(tmp_path, """
        rules:
          - id: a
            claim: "∇_x (aᵀx) = a"
            symbols: {"big A": "matrix(m, n)"}
        """)[1])
    assert "big A" in diag.message


def test_bad_assumption(tmp_path: Path) -> None:
    path = write(tmp_path, """
        rules:
          - id: a
            claim: "∇_x (xᵀAx) = 2Ax"
            assume: {A: [symetric], x: nonzero}
        """)
    rules, diags = load_file(path)
    diag = only(diags)
    assert rules == []
    assert "symetric" in diag.message
    assert diag.hint == "did you mean 'symmetric'?"
    assert diag.position == Position(str(path), 4, 17)


def test_single_assumption_as_a_string(tmp_path: Path) -> None:
    (rule,), diags = load(tmp_path, """
        rules:
          - id: a
            claim: "∇_x ‖x‖ = x / ‖x‖"
            assume: {x: nonzero, X: [spd, invertible, spd]}
        """)
    assert diags == []
    assert rule.assume == (("x", ("nonzero",)), ("X", ("spd", "invertible")))


def test_two_forms_mixed(tmp_path: Path) -> None:
    path = write(tmp_path, """
        rules:
          - id: a
            claim: "∇_x (aᵀx) = a"
            f: "a.T @ x"
            wrt: x
        """)
    rules, diags = load_file(path)
    diag = only(diags)
    assert rules == []
    assert "`claim` and `f`, `wrt`" in diag.message
    assert diag.position == Position(str(path), 4, 8)


def test_missing_rhs(tmp_path: Path) -> None:
    diag = only(load(tmp_path, """
        rules:
          - id: a
            f: "a.T @ x"
            wrt: x
        """)[1])
    assert diag.message == "no derivative is stated"
    assert "gradient|jacobian|hessian|differential" in diag.hint


def test_two_derivatives_and_missing_wrt(tmp_path: Path) -> None:
    _, diags = load(tmp_path, """
        rules:
          - id: a
            f: "a.T @ x"
            gradient: a
            hessian: "0"
        """)
    messages = sorted(d.message for d in diags)
    assert messages == ["`wrt` is missing", "both `gradient` and `hessian` in one rule"]


def test_rule_that_states_nothing(tmp_path: Path) -> None:
    diag = only(load(tmp_path, "rules:\n  - id: a\n    title: nothing\n")[1])
    assert "states nothing" in diag.message


def test_every_problem_of_a_rule_is_reported(tmp_path: Path) -> None:
    _, diags = load(tmp_path, """
        rules:
          - id: Bad id
            claim: 12
            title: [a, b]
            layout: numerater
            expect: pass
            tags: {a: 1}
            symbols: {x: vector()}
        """)
    assert len(diags) == 7
    assert all(d.rule_id == "Bad id" for d in diags)
    by_text = {d.message: d.hint for d in diags}
    assert by_text["id 'Bad id' is not a valid id"].endswith("e.g. 'Bad-id'")
    assert by_text["`claim` is a number (12), not a string"] == 'quote it: claim: "12"'
    assert by_text["`layout` is 'numerater', not denominator or numerator"] == (
        "did you mean 'numerator'?")


def test_missing_id_and_empty_claim(tmp_path: Path) -> None:
    _, diags = load(tmp_path, "rules:\n  - claim: ''\n")
    assert sorted(d.message for d in diags) == ["`claim` is empty", "the rule has no `id`"]
    assert all(d.rule_id is None for d in diags)


def test_one_bad_rule_does_not_hide_the_others(tmp_path: Path) -> None:
    rules, diags = load(tmp_path, """
        rules:
          - id: good-1
            claim: "∇_x (aᵀx) = a"
          - id: bad
            claim: "∇_x (aᵀx) = a"
            wrt: x
          - just a string
          - id: good-2
            f: "sum(x)"
            wrt: x
            gradient: "ones"
        """)
    assert [r.id for r in rules] == ["good-1", "good-2"]
    assert [d.rule_id for d in diags] == ["bad", None]
    assert diags[1].position.line == 7 and "not a mapping" in diags[1].message


@pytest.mark.parametrize(("text", "message"), [
    ("", "the file is empty"),
    ("- id: a\n", "the file is a list, not a mapping with the key `rules`"),
    ("rule:\n  - id: a\n", "unknown top-level key 'rule'"),
    ("rules: {id: a}\n", "`rules` is a mapping, not a list of rules"),
    ("rules:\n", "`rules` is empty, not a list of rules"),
])
def test_top_level_shape(tmp_path: Path, text: str, message: str) -> None:
    rules, diags = load(tmp_path, text)
    assert rules == []
    assert message in [d.message for d in diags]
    assert all("rules:" in d.hint for d in diags)


@pytest.mark.parametrize(("text", "where", "hint"), [
    ("rules:\n\t- id: a\n", (2, 1), "indent with spaces, not tabs"),
    ("rules:\n  - id: a\n    claim: x\n   f: y\n", (4, 4), "indent every key"),
    ("rules:\n  - id: a\n    claim: 'x\x01'\n", (3, 14), "remove the control character"),
])
def test_other_yaml_errors(tmp_path: Path, text: str, where: tuple[int, int], hint: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    diag = only(load_file(path)[1])
    assert (diag.position.line, diag.position.column) == where
    assert diag.hint.startswith(hint)


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"\xff\xfe\x00")
    assert only(load_file(path)[1]).message == "the file is not UTF-8 text"


def test_catalog_is_cheap_to_import() -> None:
    code = ("import sys, gradcheck.catalog; "
            "print(sorted({'torch', 'sympy', 'typer', 'rich'} & set(sys.modules)))")
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=root, env={**os.environ, "PYTHONPATH": root})
    assert out.stdout.strip() == "[]"


# ---- no code runs from a rule file ----


@pytest.mark.parametrize("tagged", [
    '!!python/object/apply:os.system ["touch {marker}"]',
    "!!python/object/new:os.system [touch {marker}]",
    "!!python/name:os.system",
    "!!python/object:pathlib.Path {{}}",
    "!custom 3",
])
def test_python_tags_are_rejected_not_executed(tmp_path: Path, tagged: str) -> None:
    marker = tmp_path / "executed"
    path = write(tmp_path, f"""
        rules:
          - id: evil
            claim: {tagged.format(marker=marker)}
          - id: fine
            claim: "∇_x (aᵀx) = a"
        """)
    rules, diags = load_file(path)
    assert not marker.exists()
    assert [r.id for r in rules] == ["fine"]
    diag = only(diags)
    assert "YAML tag" in diag.message and "not allowed" in diag.message
    assert diag.position == Position(str(path), 3, 12) and diag.rule_id == "evil"


def test_tagged_rule_is_rejected(tmp_path: Path) -> None:
    rules, diags = load(tmp_path, """
        rules:
          - !!python/object:os.system {id: a, claim: x}
          - {id: b, claim: x}
        """)
    assert [r.id for r in rules] == ["b"]
    assert "!!python/object:os.system is not allowed" in only(diags).message


def test_python_tag_at_the_top_level(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    rules, diags = load(tmp_path, f'!!python/object/apply:os.system ["touch {marker}"]\n')
    assert rules == [] and not marker.exists()
    assert "the file is" in only(diags).message


# ---- several files ----


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, "rules:\n  - id: a\n    claim: 'x'\n", "a.yaml")
    second = write(tmp_path, "rules:\n  - id: b\n    claim: 'x'\n  - id: a\n    claim: 'y'\n",
                   "sub/b.yml")
    rules, diags = load_paths([tmp_path])
    assert [r.id for r in rules] == ["a", "b"]
    assert rules[0].claim == "x"
    diag = only(diags)
    assert diag.position == Position(str(second), 4, 9)
    assert f"{first}:2:9" in diag.message and diag.rule_id == "a"


def test_duplicate_ids_in_one_file(tmp_path: Path) -> None:
    rules, diags = load(tmp_path, "rules:\n  - id: a\n    claim: 'x'\n  - id: a\n    claim: 'y'\n")
    assert [r.claim for r in rules] == ["x"]
    assert "duplicate rule id 'a'" in only(diags).message


def test_folders_are_read_recursively_and_sorted(tmp_path: Path) -> None:
    write(tmp_path, "rules:\n  - id: z\n    claim: 'x'\n", "b.yaml")
    write(tmp_path, "rules:\n  - id: y\n    claim: 'x'\n", "a/c.yml")
    write(tmp_path, "not: rules\n", "notes.txt")
    a_file = write(tmp_path, "rules:\n  - id: x\n    claim: 'x'\n", "a.yaml")
    rules, diags = load_paths([tmp_path, a_file])  # a file named twice is read once
    assert diags == []
    assert [r.id for r in rules] == ["y", "x", "z"]


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    write(tmp_path, "rules: []\n", "seed.yaml")
    (tmp_path / "empty").mkdir()
    rules, diags = load_paths([tmp_path / "seeds.yaml", tmp_path / "empty"])
    assert rules == []
    missing, empty = diags
    assert missing.position == Position(str(tmp_path / "seeds.yaml"), 1, 1)
    assert missing.message == "no such file or folder"
    assert missing.hint == "did you mean 'seed.yaml'?"
    assert "no *.yaml" in empty.message


def test_load_file_reports_a_missing_file(tmp_path: Path) -> None:
    assert only(load_file(tmp_path / "nope.yaml")[1]).message == "no such file or folder"


# ---- selection and claims ----


def make_rule(rule_id: str, title: str | None = None, tags: tuple[str, ...] = ()) -> Rule:
    return Rule(id=rule_id, position=Position("f", 1, 1), claim="x", title=title, tags=tags)


def test_select_by_keyword_and_tags() -> None:
    rules = [make_rule("trace-axb", "Trace of a product", ("trace",)),
             make_rule("log-det", "Log determinant", ("determinant", "spd")),
             make_rule("linear-map", None, ("jacobian",))]
    assert select(rules) == rules
    assert [r.id for r in select(rules, keyword="TRACE")] == ["trace-axb"]
    assert [r.id for r in select(rules, keyword="determinant")] == ["log-det"]
    assert [r.id for r in select(rules, keyword="map")] == ["linear-map"]
    assert [r.id for r in select(rules, tags=["spd", "jacobian"])] == ["log-det", "linear-map"]
    assert select(rules, keyword="log", tags=["trace"]) == []


def test_rule_from_claim() -> None:
    rule, diags = rule_from_claim("∇_x (xᵀAx) = 2Ax", assume={"A": ["symmetric"]},
                                  symbols={"A": "matrix(n, n)", "λ": "scalar"}, layout="numerator")
    assert diags == [] and rule is not None
    assert rule.id == "claim" and rule.claim == "∇_x (xᵀAx) = 2Ax"
    assert rule.layout is Layout.NUMERATOR
    assert rule.assume == (("A", ("symmetric",)),)
    assert rule.symbols == (SymbolDecl("A", "matrix", ("n", "n")), SymbolDecl("λ", "scalar", ()))
    assert rule.position_of("claim") == Position("<claim>", 1, 1)
    assert rule.text_position("claim", 4) == Position("<claim>", 1, 5)


def test_rule_from_claim_validates_like_the_loader() -> None:
    rule, diags = rule_from_claim("∇_x f = g", assume={"A": ["symetric"]},
                                  symbols={"x": "vec(n)"}, layout="numer", rule_id="my claim")
    assert rule is None
    assert len(diags) == 4
    assert all(d.position == Position("<claim>", 1, 1) for d in diags)
    assert "did you mean 'symmetric'?" in [d.hint for d in diags]


def test_rule_from_claim_rejects_an_empty_claim() -> None:
    rule, diags = rule_from_claim("  ")
    assert rule is None and only(diags).message == "`claim` is empty"


# ---- the bundled catalog ----


def test_bundled_catalog_in_a_checkout_is_the_top_level_rules_folder() -> None:
    assert bundled_catalog() == Path(catalog.__file__).resolve().parent.parent / "rules"


def test_bundled_catalog_is_a_folder() -> None:
    assert bundled_catalog().is_dir()


# ---- a property: any declared shape reads back ----

dims = st.one_of(
    st.integers(1, limits.MAX_DIMENSION),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,3}", fullmatch=True))
names = st.from_regex(r"[A-Za-zα-ω][A-Za-z0-9_]{0,3}", fullmatch=True)


@settings(max_examples=40, deadline=None)
@given(name=names, shape=st.one_of(st.just(()), st.tuples(dims), st.tuples(dims, dims)),
       flow=st.booleans())
def test_declared_shapes_read_back(tmp_path_factory: pytest.TempPathFactory, name: str,
                                   shape: tuple[str | int, ...], flow: bool) -> None:
    kind = ("scalar", "vector", "matrix")[len(shape)]
    text = kind + (f"({', '.join(map(str, shape))})" if shape else "")
    body = f"{{{name}: {text}}}" if flow else f"\n      {name}: {text}"
    folder = tmp_path_factory.mktemp("shapes")
    rules, diags = load(folder, f"rules:\n  - id: a\n    claim: 'x'\n    symbols: {body}\n")
    assert diags == []
    assert rules[0].symbols == (SymbolDecl(name, kind, shape),)
