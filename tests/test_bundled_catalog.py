"""The bundled catalog (rules/): its size, its metadata, its verdicts, and docs/catalog.md."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gradcheck import api
from gradcheck.catalog import bundled_catalog, load_file, load_paths
from gradcheck.cli import app
from gradcheck.model import Expect, Options, Report, Rule, Status
from gradcheck.report.markdown import catalog_markdown, rule_latex

ROOT = Path(__file__).resolve().parents[1]
RULES = bundled_catalog()
DOC = ROOT / "docs" / "catalog.md"
TOPICS = (
    "seed",
    "linear",
    "quadratic",
    "trace",
    "determinant",
    "inverse",
    "norms",
    "elementwise",
    "ml",
    "hessians",
    "differentials",
    "jacobians",
    "mistakes",
)
STABLE_ID = re.compile(r"[a-z0-9][a-z0-9.-]*[a-z0-9]")
REGENERATE = "regenerate it: gradcheck list --verify --format markdown > docs/catalog.md"


@pytest.fixture(scope="session")
def catalog() -> list[Rule]:
    rules, diagnostics = load_paths([RULES])
    assert not diagnostics, "\n".join(map(str, diagnostics))
    return rules


@pytest.fixture(scope="session")
def report() -> Report:
    """The whole bundled catalog, verified once (with the defaults of `gradcheck verify`)."""
    return api.verify(options=Options(jobs=2))


def by_id(rules: list[Rule]) -> dict[str, Rule]:
    return {rule.id: rule for rule in rules}


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), prog_name="gradcheck", env={"COLUMNS": "200"})
    return result.exit_code, result.output


# ---- what the catalog holds ----


def test_one_file_per_topic() -> None:
    assert {path.stem for path in RULES.glob("*.yaml")} == set(TOPICS)
    assert (RULES / "UNSUPPORTED.md").is_file()


def test_at_least_150_rules(catalog: list[Rule]) -> None:
    assert len(catalog) >= 150


def test_every_rule_has_a_source(catalog: list[Rule]) -> None:
    missing = [rule.id for rule in catalog if not (rule.source and rule.source.strip())]
    assert not missing, f"rules without a source: {missing}"


def test_every_rule_has_tags_and_a_title(catalog: list[Rule]) -> None:
    assert not [rule.id for rule in catalog if not rule.tags]
    assert not [rule.id for rule in catalog if not rule.title]


def test_ids_are_unique_and_stable_looking(catalog: list[Rule]) -> None:
    counts = Counter(rule.id for rule in catalog)
    assert not [rule_id for rule_id, n in counts.items() if n > 1]
    assert not [rule.id for rule in catalog if not STABLE_ID.fullmatch(rule.id)]


def test_every_file_covers_its_topic(catalog: list[Rule]) -> None:
    per_file = Counter(Path(rule.position.file).stem for rule in catalog)
    assert all(per_file[topic] >= 8 for topic in TOPICS), per_file


def test_both_layouts_are_covered(catalog: list[Rule]) -> None:
    jacobians, _ = load_file(RULES / "jacobians.yaml")
    layouts = {rule.layout.value for rule in jacobians}
    assert layouts == {"numerator", "denominator"}
    assert sum(rule.layout.value == "numerator" for rule in catalog) >= 15


def test_mistakes_are_wrong_and_each_has_a_correct_twin(catalog: list[Rule]) -> None:
    mistakes, diagnostics = load_file(RULES / "mistakes.yaml")
    assert not diagnostics
    assert len(mistakes) >= 25
    rules = by_id(catalog)
    for rule in mistakes:
        assert rule.expect is Expect.FAILS, rule.id
        assert rule.correct, f"{rule.id} has no `correct:` twin"
        twin = rules.get(rule.correct)
        assert twin is not None, f"{rule.id}: correct twin {rule.correct!r} is not in the catalog"
        assert twin.expect is Expect.HOLDS, f"{rule.id}: its twin {twin.id} is expected to fail"
        assert Path(twin.position.file).name != "mistakes.yaml"


def test_errata_carry_a_note(catalog: list[Rule]) -> None:
    errata = [rule for rule in catalog if "erratum" in rule.tags]
    assert len(errata) >= 4
    assert all(rule.note and rule.expect is Expect.FAILS for rule in errata)
    symmetric = by_id(catalog)["cookbook-139-symmetric-trace"]
    assert symmetric.note and "Srinivasan" in symmetric.note


def test_every_rule_reads_and_prints_in_latex(catalog: list[Rule]) -> None:
    unreadable = [rule.id for rule in catalog if rule_latex(rule) is None]
    assert not unreadable
    assert not [rule.id for rule in catalog if "|" in (rule_latex(rule) or "")]


# ---- the verdicts (one verification of the whole catalog for the session) ----


def test_every_bundled_rule_is_as_expected(report: Report, catalog: list[Rule]) -> None:
    assert not report.errors
    wrong = [f"{v.rule_id}: {v.outcome} {v.message}" for v in report.verdicts if not v.as_expected]
    assert not wrong, "\n".join(wrong)
    assert int(report.exit_code) == 0
    assert [v.rule_id for v in report.verdicts] == [rule.id for rule in catalog]


def test_correct_twins_hold(report: Report) -> None:
    verdicts = {v.rule_id: v for v in report.verdicts}
    mistakes, _ = load_file(RULES / "mistakes.yaml")
    for rule in mistakes:
        assert verdicts[rule.id].status is Status.FAILS, rule.id
        assert rule.correct
        twin = verdicts[rule.correct]
        assert twin.status in (Status.HOLDS, Status.HOLDS_NUMERIC), (rule.id, twin.outcome)


def test_docs_catalog_is_current(report: Report, catalog: list[Rule]) -> None:
    verdicts = {v.rule_id: v for v in report.verdicts}
    expected = catalog_markdown(catalog, verdicts)
    assert DOC.is_file(), f"docs/catalog.md is missing; {REGENERATE}"
    current = DOC.read_text(encoding="utf-8")
    assert current == expected, f"docs/catalog.md is stale; {REGENERATE}"


# ---- browsing: gradcheck list ----


def test_list_counts_the_catalog_on_its_last_line(catalog: list[Rule]) -> None:
    code, output = run("list")
    assert code == 0
    assert output.rstrip().splitlines()[-1] == f"{len(catalog)} rules"


def test_list_markdown_renders_every_rule_in_latex(catalog: list[Rule]) -> None:
    code, output = run("list", "--format", "markdown")
    assert code == 0
    assert output.startswith("# gradcheck rule catalog\n")
    assert output.rstrip().splitlines()[-1] == f"{len(catalog)} rules"
    assert output.count('<a id="rule-') == len(catalog)
    assert "| id | rule | assumptions | expect | source |" in output
    assert r"$\nabla_{X} \operatorname{tr}\left(A X B\right) = {A}^\top {B}^\top$" in output
    assert "| verdict |" not in output
    assert str(ROOT) not in output  # no absolute paths: the output is the same everywhere
    for topic in TOPICS:
        assert f"\n## {topic}\n" in output
    assert output == catalog_markdown(catalog)


def test_list_markdown_links_each_mistake_to_its_twin() -> None:
    code, output = run("list", "--format", "markdown", "--tag", "erratum")
    assert code == 0
    line = next(row for row in output.splitlines() if "`cookbook-141-symmetric-logdet`" in row)
    assert "correct: [`logdet-spd`](#rule-logdet-spd)" in line


def test_list_by_keyword(catalog: list[Rule]) -> None:
    code, output = run("list", "-k", "cookbook-14", "--format", "json")
    assert code == 0
    data = json.loads(output)
    assert {rule["id"] for rule in data["rules"]} == {
        "cookbook-140-symmetric-det",
        "cookbook-141-symmetric-logdet",
        "cookbook-142-diagonal-trace",
    }


def test_list_by_tag(catalog: list[Rule]) -> None:
    code, output = run("list", "--tag", "numerator-layout", "--format", "json")
    assert code == 0
    data = json.loads(output)
    expected = [rule.id for rule in catalog if "numerator-layout" in rule.tags]
    assert [rule["id"] for rule in data["rules"]] == expected
    assert data["count"] == len(expected) >= 15
    code, output = run("list", "--tag", "erratum", "--tag", "layout")
    assert code == 0
    wanted = {"erratum", "layout"}
    assert output.rstrip().splitlines()[-1] == (
        f"{sum(bool(wanted & set(rule.tags)) for rule in catalog)} rules"
    )


def test_list_verify_markdown_adds_a_verdict_column() -> None:
    code, output = run(
        "list", str(RULES / "seed.yaml"), "--verify", "--format", "markdown", "-j", "1"
    )
    assert code == 0
    assert "| id | rule | assumptions | expect | verdict | source |" in output
    assert "10 rules in 1 file: 9 holds, 1 fails (expected)." in output
    row = next(line for line in output.splitlines() if "`linear-map-note-symmetrised`" in line)
    assert "| fails (expected) |" in row
