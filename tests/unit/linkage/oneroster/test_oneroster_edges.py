"""One edge per test, on small hand-written sets: a linked student, tobedeleted rows, a delta
manifest, broken references, malformed files. Error messages are pinned."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from linkage import current_snapshot, ingest_extract, read_manifest
from linkage.sources.oneroster import NO_LESSONS, looks_like_oneroster
from medler.errors import InputFileError
from pseudonymise import Domain, Pseudonymiser
from tests.unit.linkage.oneroster.conftest import TEST_PERSONNUMMER, write_set


def _run(folder: Path, data_dir: Path, key: Path) -> tuple[Path, dict, pl.DataFrame]:
    report = ingest_extract(folder, data_dir, key_file=key, source_name="edge")
    snapshot = current_snapshot(data_dir)
    counts = read_manifest(snapshot)["records"]
    for stem, count in counts.items():
        assert count["read"] == count["accepted"] + count["quarantined"], stem
    assert report.standard == "OneRoster 1.1"
    return snapshot, counts, pl.read_parquet(snapshot / "quarantine.parquet")


def _table(snapshot: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(snapshot / f"{name}.parquet")


def test_format_is_detected(small_set: Path) -> None:
    assert looks_like_oneroster(small_set)
    assert not looks_like_oneroster(small_set / "nowhere")


def test_valid_personnummer_gives_a_linked_student(
    small_set: Path, tmp_path: Path, session_key: Path
) -> None:
    snapshot, counts, quarantine = _run(small_set, tmp_path / "data", session_key)
    students = _table(snapshot, "students")
    assert students["id_status"].to_list() == ["linked"]
    with Pseudonymiser.from_key_file(session_key) as p:
        expected = p.pseudonymise_one(Domain.STUDENT, TEST_PERSONNUMMER)
    assert students["student_pid"].to_list() == [expected]
    # The teacher has no identifier: a local (negative) pseudonym, and the reason recorded.
    staff = _table(snapshot, "staff")
    assert staff["id_status"].to_list() == ["local"]
    assert staff["teacher_pid"].to_list()[0] < 0
    assert staff["school_code"].to_list() == ["12345678"]
    assert staff["duty_role"].to_list() == ["teacher"]
    kept = quarantine.filter(pl.col("outcome") == "kept-local")
    assert kept.select("resource", "position", "field", "reason").rows() == [
        ("users", 2, "identifier", "national ID: missing")
    ]
    assert {s: (c["read"], c["accepted"]) for s, c in counts.items() if c["read"]} == {
        "orgs": (2, 2),
        "users": (2, 2),
        "classes": (1, 1),
        "enrollments": (2, 2),
    }
    # One class: a group, an activity teaching MA, its group and its teacher.
    groups, activities = _table(snapshot, "groups"), _table(snapshot, "activities")
    assert groups["group_type"].to_list() == ["Undervisning"]
    assert groups["group_pid"].to_list() != activities["activity_pid"].to_list()
    assert _table(snapshot, "syllabuses")["subject_code"].to_list() == ["MA"]
    links = _table(snapshot, "activity_groups")
    assert links.select("activity_pid", "group_pid").rows() == [
        (activities["activity_pid"][0], groups["group_pid"][0])
    ]
    teachers = _table(snapshot, "activity_teachers")
    assert teachers["duty_pid"].to_list() == staff["duty_pid"].to_list()
    assert teachers["primary_teacher"].to_list() == [True]  # enrollments.primary
    members = _table(snapshot, "group_memberships")
    assert members["student_pid"].to_list() == [expected]
    assert str(members["start_date"][0]) == "2024-08-19"
    enrolments = _table(snapshot, "enrolments")
    assert enrolments["school_code"].to_list() == ["12345678"]
    # Nothing of the input's names, e-mail, usernames or ids, and not the national ID.
    text = " ".join(
        str(v)
        for p in snapshot.glob("*.parquet")
        for c in pl.read_parquet(p).iter_columns()
        for v in c.to_list()
    )
    for raw in (
        "u-stu",
        "u-tea",
        "c-1",
        "e-1",
        "Onesson",
        "pupil.one",
        "@example.org",
        TEST_PERSONNUMMER,
        "Maths 7A",
        "Cherington",
    ):
        assert raw not in text
    manifest = read_manifest(snapshot)
    assert NO_LESSONS in manifest["warnings"]
    assert not [w for w in manifest["warnings"] if "primary" in w]


def test_tobedeleted_rows_in_a_bulk_set(tmp_path: Path, session_key: Path) -> None:
    folder = write_set(
        tmp_path / "set",
        {
            "users": "u-gone,tobedeleted,2024-06-01,true,org-1,student,gone,,Gone,Away,,\n",
            "enrollments": "e-3,active,,c-1,org-1,u-gone,student,false,,\n"
            "e-4,tobedeleted,,c-1,org-1,u-stu,student,false,,\n",
        },
    )
    snapshot, counts, quarantine = _run(folder, tmp_path / "data", session_key)
    assert (counts["users"]["read"], counts["users"]["accepted"]) == (3, 2)
    assert counts["users"]["quarantined"] == 1
    assert (counts["enrollments"]["read"], counts["enrollments"]["quarantined"]) == (4, 2)
    set_aside = quarantine.filter(pl.col("outcome") == "quarantined")
    assert set_aside.select("resource", "position", "field", "reason").rows() == [
        ("users", 3, "status", "tobedeleted"),
        ("enrollments", 3, "userSourcedId", "user is tobedeleted"),
        ("enrollments", 4, "status", "tobedeleted"),
    ]
    assert _table(snapshot, "students").height == 1
    assert _table(snapshot, "group_memberships").height == 1


def test_a_delta_manifest_is_refused(tmp_path: Path, session_key: Path) -> None:
    folder = write_set(tmp_path / "set", modes={"users": "delta"})
    with pytest.raises(InputFileError) as caught:
        ingest_extract(folder, tmp_path / "data", key_file=session_key)
    assert str(caught.value) == (
        "manifest.csv marks users.csv as delta: a delta set holds only the changes since an "
        "earlier export; ingest the bulk set first and the delta sets after it, oldest first "
        "('medler ingest BULK DELTA …')"
    )
    assert not (tmp_path / "data" / "CURRENT").exists()


def test_broken_references(tmp_path: Path, session_key: Path) -> None:
    folder = write_set(
        tmp_path / "set",
        {
            "classes": "c-2,active,,Art,,,scheduled,,org-nowhere,,Art,BL\n"
            "c-1,active,,Maths again,,,scheduled,,org-1,,,\n",
            "enrollments": "e-3,active,,c-nowhere,org-1,u-stu,student,false,,\n"
            "e-4,active,,c-1,org-1,u-nobody,student,false,,\n"
            "e-5,active,,c-1,org-1,u-stu,teacher,false,,\n"
            "e-6,active,,c-1,org-1,u-stu,guardian,false,,\n"
            "e-7,active,,c-1,org-1,u-stu,student,false,2024-13-01,\n",
        },
    )
    _, counts, quarantine = _run(folder, tmp_path / "data", session_key)
    set_aside = quarantine.filter(pl.col("outcome") == "quarantined")
    assert set_aside.select("resource", "position", "field", "reason", "shape").rows() == [
        ("classes", 2, "schoolSourcedId", "unknown school", "null"),
        ("classes", 3, "sourcedId", "duplicate sourcedId", "null"),
        ("enrollments", 3, "classSourcedId", "unknown class", "null"),
        ("enrollments", 4, "userSourcedId", "unknown user", "null"),
        ("enrollments", 5, "userSourcedId", "a student, not staff", "null"),
        ("enrollments", 6, "role", "not a student or staff role", "AAAAAAAA"),
        ("enrollments", 7, "beginDate", "not a date (YYYY-MM-DD)", "9999-99-99"),
    ]
    assert counts["classes"] == {
        "read": 3,
        "accepted": 1,
        "quarantined": 2,
        "pages": 1,
        "superseded": 0,
        "deleted": 0,
    }
    assert counts["enrollments"]["accepted"] == 2


def _write(folder: Path, name: str, data: bytes) -> None:
    (folder / name).write_bytes(data)


def test_undecodable_file_stops_the_ingest(
    small_set: Path, tmp_path: Path, session_key: Path
) -> None:
    _run(small_set, tmp_path / "data", session_key)
    before = (tmp_path / "data" / "CURRENT").read_text(encoding="utf-8")
    users = (small_set / "users.csv").read_bytes()
    _write(small_set, "users.csv", users + b"u-x,active,,true,org-1,student,\xff\xfe,,A,B,,\n")
    with pytest.raises(InputFileError) as caught:
        ingest_extract(small_set, tmp_path / "data", key_file=session_key)
    assert str(caught.value) == (
        "users.csv is not UTF-8 text (an undecodable byte on line 4); OneRoster CSV files are "
        "UTF-8: export the file again as UTF-8"
    )
    # No snapshot was written: the previous one is still the current one.
    assert (tmp_path / "data" / "CURRENT").read_text(encoding="utf-8") == before
    assert len(list((tmp_path / "data" / "snapshots").iterdir())) == 1


def test_missing_required_column(small_set: Path, tmp_path: Path, session_key: Path) -> None:
    text = (small_set / "enrollments.csv").read_text(encoding="utf-8")
    _write(small_set, "enrollments.csv", text.replace("classSourcedId", "klass").encode())
    with pytest.raises(InputFileError) as caught:
        ingest_extract(small_set, tmp_path / "data", key_file=session_key)
    assert str(caught.value) == (
        "enrollments.csv has no column classSourcedId in its header; a OneRoster file starts "
        "with a header row naming its columns: export the file again with its header"
    )
    assert not (tmp_path / "data" / "CURRENT").exists()


def test_file_listed_but_missing(small_set: Path, tmp_path: Path, session_key: Path) -> None:
    (small_set / "classes.csv").unlink()
    with pytest.raises(InputFileError) as caught:
        ingest_extract(small_set, tmp_path / "data", key_file=session_key)
    assert str(caught.value) == (
        "manifest.csv of set lists classes.csv but the set has no such file; export the "
        "whole set again, or mark the file absent"
    )


def test_bad_quoting_stops_the_ingest(small_set: Path, tmp_path: Path, session_key: Path) -> None:
    orgs = (small_set / "orgs.csv").read_bytes()
    _write(small_set, "orgs.csv", orgs + b'org-2,active,,"Bad "quote" school,school,1,\n')
    with pytest.raises(InputFileError) as caught:
        ingest_extract(small_set, tmp_path / "data", key_file=session_key)
    assert str(caught.value) == (
        "orgs.csv is not a well-formed CSV file (',' expected after '\"', after row 2); export "
        "the file again, or repair its quoting"
    )
