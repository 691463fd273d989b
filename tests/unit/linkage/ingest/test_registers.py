"""Register files: linked by national ID, checked field by field, added as a new snapshot."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from linkage import current_snapshot, ingest_extract, ingest_register, read_manifest
from medler.errors import InputFileError, UsageError
from tests.unit.linkage.ingest.conftest import Ingested


@pytest.fixture
def data_dir(ingested: Ingested, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    ingest_extract(ingested.extract.out / "ss12000", target, key_file=ingested.key_file)
    return target


def test_both_registers_join_the_snapshot(ingested: Ingested, data_dir: Path) -> None:
    before = current_snapshot(data_dir)
    registers = ingested.extract.out / "registers"
    teachers = ingest_register(
        "teachers", registers / "teacher_register.csv", data_dir, key_file=ingested.key_file
    )
    students = ingest_register(
        "students", registers / "student_register.csv", data_dir, key_file=ingested.key_file
    )
    snap = current_snapshot(data_dir)
    assert snap != before and before.is_dir()
    counts = ingested.extract.truth["counts"]
    t = teachers.counts["teacher_register"]
    assert (t.read, t.accepted, t.quarantined) == (
        counts["teachers"] + counts["substitute_teachers"],
    ) * 2 + (0,)
    s = students.counts["student_register"]
    kinds = counts["identity_numbers"]
    unlinkable = kinds["wrong_check_digit"] + kinds["interim"]
    assert (s.read, s.quarantined) == (counts["pupils"] - 1, unlinkable)
    manifest = read_manifest(snap)
    assert manifest["previous_snapshot"] == teachers.snapshot_id
    assert manifest["registers"]["students"]["records"]["accepted"] == s.accepted
    # Register pupils link to the pupils of the extract.
    register = pl.read_parquet(snap / "student_register.parquet")
    pupils = pl.read_parquet(snap / "students.parquet").filter(pl.col("id_status") == "linked")
    assert register.join(pupils, on="student_pid").height == register.height
    teacher_register = pl.read_parquet(snap / "teacher_register.parquet")
    staff = pl.read_parquet(snap / "staff.parquet")
    assert teacher_register.join(staff, on="teacher_pid", how="semi").height == t.accepted
    # The extract's tables are carried over unchanged, and quarantines accumulate.
    assert (
        read_manifest(before)["tables"]["attendance"]["sha256"]
        == manifest["tables"]["attendance"]["sha256"]
    )
    q = pl.read_parquet(snap / "quarantine.parquet")
    assert set(q["resource"]) == {"persons", "student_register"}


def test_register_rows_with_bad_fields_are_quarantined(
    ingested: Ingested, data_dir: Path, tmp_path: Path
) -> None:
    source = ingested.extract.out / "registers" / "teacher_register.csv"
    lines = source.read_text(encoding="utf-8").splitlines()
    header, first, second, third = lines[0], lines[1], lines[2], lines[3]
    broken = [
        header,
        first.replace(",ja,", ",kanske,").replace(",nej,", ",kanske,"),
        second.rsplit(",", 2)[0] + ",-4," + second.rsplit(",", 1)[1],
        third,
        third,
    ]
    path = tmp_path / "teachers.csv"
    path.write_text("\n".join(broken) + "\n", encoding="utf-8")
    report = ingest_register("teachers", path, data_dir, key_file=ingested.key_file)
    count = report.counts["teacher_register"]
    assert (count.read, count.accepted, count.quarantined) == (4, 1, 3)
    q = pl.read_parquet(current_snapshot(data_dir) / "quarantine.parquet").filter(
        pl.col("resource") == "teacher_register"
    )
    assert sorted(zip(q["position"], q["field"], q["reason"], strict=True)) == [
        (2, "legitimated", "not ja/nej"),
        (3, "experience_years", "outside 0–60"),
        (5, "civic_no", "the same person twice (first row kept)"),
    ]


def test_register_errors_are_clear(ingested: Ingested, data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "wrong.csv"
    bad.write_text("personnummer,x\n1,2\n", encoding="utf-8")
    with pytest.raises(InputFileError) as error:
        ingest_register("teachers", bad, data_dir, key_file=ingested.key_file)
    assert str(error.value) == (
        "wrong.csv lacks the column(s) civic_no, school_unit_code, legitimated, certified_in, "
        "experience_years, arrival_year of a teachers register; the header must name civic_no, "
        "school_unit_code, legitimated, certified_in, experience_years, arrival_year"
    )
    with pytest.raises(UsageError, match=r"^the register must be one of teachers, students"):
        ingest_register("parents", bad, data_dir, key_file=ingested.key_file)
    empty = tmp_path / "empty-data"
    with pytest.raises(InputFileError, match="has no snapshot yet; run 'medler ingest' first"):
        ingest_register("teachers", bad, empty, key_file=ingested.key_file)
    shutil.rmtree(tmp_path / "empty-data", ignore_errors=True)
