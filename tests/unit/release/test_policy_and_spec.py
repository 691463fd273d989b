"""Policies are validated at start-up (unknown keys refused); query specs are typed and
data-free, with one digest per meaning."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from medler.errors import InputFileError
from release import QuerySpec, load_policies
from tests.conftest import REPO_ROOT

POLICIES = REPO_ROOT / "policies"


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    shutil.copytree(POLICIES, folder)
    return folder


def test_the_project_policies_load_and_carry_a_version() -> None:
    policies = load_policies(POLICIES)
    assert policies.release.sdc.min_students == 10
    assert policies.version.startswith("catalogue ")
    assert {"exposure", "student_terms", "student_months", "teacher_terms"} <= set(
        policies.catalogue.tables
    )
    for table in policies.catalogue.tables.values():
        assert table.columns[table.unit].kind == "identifier"
        assert not any(
            c.endswith("_pid") and k.kind != "identifier" for c, k in table.columns.items()
        )


def test_an_unknown_key_is_refused_with_its_place(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    release = folder / "release.toml"
    release.write_text(release.read_text().replace("min_students", "min_studnets"))
    with pytest.raises(InputFileError, match=r"release\.toml: sdc\.min_st"):
        load_policies(folder)


def test_a_measure_without_bounds_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    catalogue = folder / "catalogue.toml"
    bounded = 'lessons = { kind = "measure", bounds = [0, 400] }'
    catalogue.write_text(catalogue.read_text().replace(bounded, 'lessons = { kind = "measure" }'))
    with pytest.raises(InputFileError, match="a measure needs `bounds`"):
        load_policies(folder)


def test_changing_a_threshold_changes_the_recorded_version(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    release = folder / "release.toml"
    release.write_text(release.read_text().replace("min_students = 10", "min_students = 11"))
    assert load_policies(folder).version != load_policies(POLICIES).version


def test_specs_are_validated() -> None:
    with pytest.raises(ValidationError, match="needs rho"):
        QuerySpec.model_validate(
            {"table": "exposure", "mode": "dp", "measures": [{"kind": "count_students"}]}
        )
    with pytest.raises(ValidationError, match="needs a column"):
        QuerySpec.model_validate({"table": "exposure", "measures": [{"kind": "mean"}]})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        QuerySpec.model_validate(
            {"table": "exposure", "sql": "select *", "measures": [{"kind": "count_students"}]}
        )


def test_the_same_question_has_the_same_digest_whatever_its_spelling() -> None:
    a = QuerySpec.model_validate_json(
        '{"table": "exposure", "measures": [{"kind": "count_students"}], "group_by": ["term"]}'
    )
    b = QuerySpec.model_validate(
        {
            "group_by": ("term",),
            "measures": [{"kind": "count_students", "column": None}],
            "table": "exposure",
            "mode": "sdc",
        }
    )
    assert a.digest() == b.digest()
    assert QuerySpec.model_validate_json(a.canonical_json()) == a
