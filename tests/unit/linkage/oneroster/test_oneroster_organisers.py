"""OneRoster does not say who runs a school (``orgs.csv`` has no organisation number): every
school's organiser type is ``unknown``, and the ingest says how many schools that is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from linkage import current_snapshot, ingest_extract


def _organiser_types(folder: Path, data: Path, key: Path) -> tuple[pl.DataFrame, list[str]]:
    report = ingest_extract(folder, data, key_file=key, source_name="set")
    schools = pl.read_parquet(current_snapshot(data) / "schools.parquet")
    return schools, [w for w in report.warnings if "organiser type" in w]


def test_every_school_of_a_set_is_of_unknown_organiser_type(
    small_set: Path, tmp_path: Path, session_key: Path
) -> None:
    schools, warnings = _organiser_types(small_set, tmp_path / "data", session_key)
    assert schools.select("school_code", "organiser_type").rows() == [("12345678", "unknown")]
    assert warnings == [
        "1 school units have no organiser type (they are counted as 'unknown'): OneRoster's "
        "orgs.csv does not say who runs a school"
    ]


def test_a_published_set_is_of_unknown_organiser_type(
    shared: Callable[[str], Path], tmp_path: Path, session_key: Path
) -> None:
    folder = shared("testdata/oneroster/oat-sa-oneroster-import/OneRosterv1p1BaseCSV")
    schools, warnings = _organiser_types(folder, tmp_path / "data", session_key)
    assert schools.height > 0
    assert set(schools["organiser_type"]) == {"unknown"}
    assert warnings == [
        f"{schools.height:,} school units have no organiser type (they are counted as "
        "'unknown'): OneRoster's orgs.csv does not say who runs a school"
    ]
