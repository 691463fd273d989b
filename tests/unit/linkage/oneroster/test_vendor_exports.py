"""OneRoster sets in the shapes real vendors export, hand-made and small: every field quoted (a
Japanese/English set), a OneRoster 1.0 set without a manifest, rows cut short, a semicolon-
separated cp1252 file, and a set whose teacher links are all lost. Each is recognised and read
(counts adding up), or refused with an error that names the file and what to do."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest

from linkage import current_snapshot, ingest_extract, read_manifest
from linkage.sources.oneroster import looks_like_oneroster
from medler.errors import InputFileError
from tests.unit.linkage.oneroster.conftest import BASE, write_set


def _quote_all(text: str) -> str:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(
        csv.reader(io.StringIO(text))
    )
    return out.getvalue()


def _counts(data: Path) -> dict[str, dict[str, int]]:
    records = read_manifest(current_snapshot(data))["records"]
    for stem, c in records.items():
        assert c["read"] == c["accepted"] + c["quarantined"] + c["superseded"] + c["deleted"], stem
    return {s: c for s, c in records.items() if c["read"]}


def _quarantined(data: Path) -> list[tuple[str, int, str, str]]:
    q = pl.read_parquet(current_snapshot(data) / "quarantine.parquet")
    return (
        q.filter(pl.col("outcome") == "quarantined")
        .select("resource", "position", "field", "reason")
        .rows()
    )


def test_every_field_quoted_with_japanese_text(tmp_path: Path, session_key: Path) -> None:
    folder = write_set(
        tmp_path / "set",
        {
            "users": "u-jp,active,,true,org-1,student,hanako,,花子,山田,,hanako@example.jp\n",
            "enrollments": "e-3,active,,c-1,org-1,u-jp,student,false,2024-08-19,\n",
        },
    )
    for path in folder.glob("*.csv"):
        path.write_text(_quote_all(path.read_text(encoding="utf-8")), encoding="utf-8")
    assert (
        (folder / "manifest.csv").read_text(encoding="utf-8").startswith('"propertyName","value"')
    )
    assert looks_like_oneroster(folder)
    report = ingest_extract(folder, tmp_path / "data", key_file=session_key, source_name="jp")
    assert report.standard == "OneRoster 1.1"
    assert {s: c["accepted"] for s, c in _counts(tmp_path / "data").items()} == {
        "orgs": 2,
        "users": 3,
        "classes": 1,
        "enrollments": 3,
    }
    assert report.alerts == []


def test_a_quoted_delta_set_is_read_after_its_bulk_set(tmp_path: Path, session_key: Path) -> None:
    bulk = write_set(tmp_path / "bulk")
    delta = tmp_path / "delta"
    delta.mkdir()
    (delta / "users.csv").write_text(
        _quote_all(
            BASE["users"].splitlines()[0] + "\nu-new,active,,true,org-1,student,new,,New,Pupil,,\n"
        ),
        encoding="utf-8",
    )
    (delta / "manifest.csv").write_text(
        _quote_all(
            "propertyName,value\noneroster.version,1.1\nfile.users,delta\nfile.orgs,absent\n"
        ),
        encoding="utf-8",
    )
    report = ingest_extract(
        bulk, tmp_path / "data", key_file=session_key, source_format="oneroster", updates=[delta]
    )
    assert report.counts["users"].accepted == 3


def test_a_oneroster_1_0_set_without_manifest(tmp_path: Path, session_key: Path) -> None:
    folder = write_set(tmp_path / "set", version="1.0")
    (folder / "manifest.csv").unlink()
    assert looks_like_oneroster(folder)
    report = ingest_extract(folder, tmp_path / "data", key_file=session_key)
    assert report.standard == "OneRoster 1.0"
    assert (
        "the set has no manifest.csv: read as a OneRoster 1.0 bulk set (1.0 came without a "
        "manifest), every file in the folder as bulk"
    ) in report.warnings
    assert {s: c["accepted"] for s, c in _counts(tmp_path / "data").items()} == {
        "orgs": 2,
        "users": 2,
        "classes": 1,
        "enrollments": 2,
    }
    assert report.alerts == []


def test_a_1_0_set_without_enrollments_is_an_alert(tmp_path: Path, session_key: Path) -> None:
    folder = write_set(tmp_path / "set", version="1.0")
    (folder / "manifest.csv").unlink()
    (folder / "enrollments.csv").unlink()
    report = ingest_extract(folder, tmp_path / "data", key_file=session_key)
    assert report.alerts[0] == (
        "the set has no enrollments.csv (no such file): the research tables need it"
    )
    with pytest.raises(InputFileError, match=r"--strict: .* because the set has no enrollments"):
        ingest_extract(folder, tmp_path / "data", key_file=session_key, strict=True)


def test_a_folder_of_other_csv_files_is_not_a_set(tmp_path: Path) -> None:
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "users.csv").write_text("id,name\n1,A\n", encoding="utf-8")
    (folder / "orgs.csv").write_text("id,name\n1,B\n", encoding="utf-8")
    assert not looks_like_oneroster(folder)


def test_rows_cut_short_are_quarantined_with_their_line(tmp_path: Path, session_key: Path) -> None:
    folder = write_set(
        tmp_path / "set",
        {
            "users": "u-cut,active,,true,org-1,student,S\n",
            "enrollments": "e-3,active,,c-1,org-1,u-stu,student\n",
        },
    )
    report = ingest_extract(folder, tmp_path / "data", key_file=session_key)
    counts = _counts(tmp_path / "data")
    assert (counts["users"]["read"], counts["users"]["quarantined"]) == (3, 1)
    assert (counts["enrollments"]["read"], counts["enrollments"]["quarantined"]) == (3, 1)
    assert _quarantined(tmp_path / "data") == [
        ("users", 3, "(row)", "fewer cells than the header (7 of 12 cells, line 4)"),
        ("enrollments", 3, "(row)", "fewer cells than the header (7 of 10 cells, line 4)"),
    ]
    assert report.alerts == []


def test_trailing_blank_header_cells_may_be_left_out(tmp_path: Path, session_key: Path) -> None:
    folder = write_set(tmp_path / "set")
    orgs = (folder / "orgs.csv").read_text(encoding="utf-8").splitlines()
    (folder / "orgs.csv").write_text(
        "\n".join([orgs[0] + ",,", *orgs[1:]]) + "\n", encoding="utf-8"
    )
    ingest_extract(folder, tmp_path / "data", key_file=session_key)
    assert _counts(tmp_path / "data")["orgs"]["accepted"] == 2


def test_a_semicolon_separated_cp1252_manifest(tmp_path: Path, session_key: Path) -> None:
    folder = write_set(tmp_path / "set")
    text = (folder / "manifest.csv").read_text(encoding="utf-8").replace(",", ";")
    text += "source.systemName;Skolsystem Å\n"
    (folder / "manifest.csv").write_bytes(text.encode("cp1252"))
    with pytest.raises(InputFileError) as caught:
        ingest_extract(folder, tmp_path / "data", key_file=session_key, source_format="oneroster")
    assert str(caught.value) == (
        "manifest.csv separates its columns with ';', not commas (its header is one column); "
        "OneRoster CSV files are comma-separated UTF-8: export the file again as "
        "comma-separated UTF-8 (in a spreadsheet: 'CSV UTF-8 (comma delimited)')"
    )


def test_a_cp1252_file_names_its_line(tmp_path: Path, session_key: Path) -> None:
    folder = write_set(tmp_path / "set")
    text = (folder / "orgs.csv").read_text(encoding="utf-8") + "org-2,active,,Skola Å,school,2,\n"
    (folder / "orgs.csv").write_bytes(text.encode("cp1252"))
    with pytest.raises(InputFileError) as caught:
        ingest_extract(folder, tmp_path / "data", key_file=session_key)
    assert str(caught.value) == (
        "orgs.csv is not UTF-8 text (an undecodable byte on line 4); OneRoster CSV files are "
        "UTF-8: export the file again as UTF-8"
    )


def test_every_teacher_enrollment_lost_is_an_alert(tmp_path: Path, session_key: Path) -> None:
    folder = write_set(tmp_path / "set")
    text = (folder / "enrollments.csv").read_text(encoding="utf-8")
    (folder / "enrollments.csv").write_text(
        text.replace("u-tea,teacher", "u-tea,instructor"), encoding="utf-8"
    )
    report = ingest_extract(folder, tmp_path / "data", key_file=session_key)
    _counts(tmp_path / "data")
    assert report.alerts == [
        "no activity has a teacher (activity_teachers is empty, activities has 1 rows): "
        "exposure, student_teachers and teacher_terms will be empty; 1 entries of enrollments "
        "were set aside, most as 'role: not a student or staff role' (see the quarantine table)"
    ]
