"""The indicator set of ``medler publish``: the office's file validates against the catalogue,
and a mistake in a set is named by file, indicator and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from medler.errors import InputFileError
from release import load_indicators, load_policies
from release._publish import INDICATORS_FILE
from release._rules import known_table

ONE = """
version = "1"
title = "T"

[[indicators]]
name = "{name}"
title = "By grade"
{extra}
[indicators.spec]
table = "student_terms"
group_by = ["grade"]
measures = [{{ kind = "count_students" }}, {{ kind = "mean", column = "absence_rate_reported" }}]
"""


def _set(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "set.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_official_set_names_only_catalogue_columns_of_public_keys() -> None:
    """Every spec of the office's set names a releasable table and only its columns, groups by
    public keys alone (no key of an official table costs budget or depends on the data), and
    names each file once."""
    policies = load_policies()
    indicators = load_indicators()
    assert (Path(__file__).parents[3] / "policies" / INDICATORS_FILE).exists()
    assert len(indicators.indicators) >= 10
    assert "absence_by_organiser_type" in {i.name for i in indicators.indicators}
    for indicator in indicators.indicators:
        spec = indicator.spec
        table = known_table(spec, policies)
        assert set(spec.columns) <= set(table.columns), indicator.name
        kinds = {table.columns[k].kind for k in spec.group_by}
        assert kinds <= {"public_key"}, indicator.name
        assert indicator.plotted(), indicator.name


def test_the_plot_defaults_to_every_measure_but_the_counts(tmp_path: Path) -> None:
    (indicator,) = load_indicators(_set(tmp_path, ONE.format(name="a", extra=""))).indicators
    assert indicator.plotted() == ["mean_absence_rate_reported"]
    chosen = ONE.format(name="a", extra='plot = ["count_students"]')
    (indicator,) = load_indicators(_set(tmp_path, chosen)).indicators
    assert indicator.plotted() == ["count_students"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ONE.format(name="A b", extra=""), "indicator 1 (A b): name: a name is 1-63 characters"),
        (
            ONE.format(name="a", extra='plot = ["mean_days_absent"]'),
            "indicators: a: plot names mean_days_absent, which is not a measure of its spec",
        ),
        (
            ONE.format(name="a", extra="") + ONE.format(name="a", extra="").split('title = "T"')[1],
            "indicators: two indicators are named a; names name files",
        ),
        (
            ONE.format(name="a", extra="").replace('"mean", column', '"mean", col'),
            "indicator 1 (a): spec.measures.1.col: Extra inputs are not permitted",
        ),
        (ONE.format(name="a", extra="colour = 1"), "indicator 1 (a): colour: Extra inputs"),
        ('version = "1"\ntitle = "T"\n', "indicators: Field required"),
        ("version = ", "not valid TOML"),
    ],
)
def test_a_mistake_names_the_file_the_indicator_and_the_field(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _set(tmp_path, text)
    with pytest.raises(InputFileError) as error:
        load_indicators(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"nothing\.toml: cannot read the indicator set"):
        load_indicators(tmp_path / "nothing.toml")


def test_the_reference_lists_every_indicator_of_the_set() -> None:
    page = Path(__file__).parents[3] / "docs" / "reference" / "official-indicators.md"
    listed = {
        line.split("|")[1].strip().strip("`")
        for line in page.read_text("utf-8").splitlines()
        if line.startswith("| `") and line.count("|") == 5
    }
    assert listed == {i.name for i in load_indicators().indicators}
