"""A OneRoster set has classes but no lessons: the build links pupils and teachers per class
and term, with shares of classes (minutes unknown), on both engines, and says which tables are
empty and why. Every expected value below is worked out by hand from the set."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from linkage import (
    build_research_tables,
    current_snapshot,
    ingest_extract,
    ingest_register,
    read_manifest,
    table_files,
)
from linkage._basis import BASIS_NOTE, EMPTY_WITHOUT_LESSONS
from linkage._build import RESEARCH, TABLES
from tests.conftest import shared_path
from tests.research_data import research_dir
from tests.spark import on_spark

__all__ = ["research_dir"]

# Skatteverket's reserved test personnummer: valid, and no real person's.
PINS = {
    "a": "189001019802",
    "b": "189001029819",
    "x": "189001039800",
    "y": "189001049817",
    "z": "189001059808",
    "w": "189001069815",
}
SCHOOL = "11111111"

# Two pupils (a, b, both in grade 8) at one school, three teachers and an aide.
# - c-ma, maths, both terms: x teaches it until 31 October, y from 1 November on.
# - c-ma2, maths, autumn only: b alone, taught by z (not in the teacher register).
# - c-en, English, autumn only: a alone, taught by x; an aide is enrolled too.
# Register: x is certified in maths for 7-9, licensed, 10 years, at the school since 2015;
# y is not certified, not licensed, 1 year (a novice), arrived in 2024.
SET = {
    "orgs": (
        "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
        "org-d,active,,Municipality,district,,\n"
        f"org-s,active,,School,school,{SCHOOL},org-d\n"
    ),
    "academicSessions": (
        "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,"
        "schoolYear\n"
        "ht,active,,Autumn,term,2024-08-19,2024-12-20,,2025\n"
        "vt,active,,Spring,term,2025-01-08,2025-06-13,,2025\n"
    ),
    "courses": (
        "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,"
        "orgSourcedId,subjects,subjectCodes\n"
        "crs-ma,active,,,Maths,,,org-s,Mathematics,MA\n"
        "crs-en,active,,,English,,,org-s,English,EN\n"
    ),
    "users": (
        "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,"
        "givenName,familyName,identifier,email,grades\n"
        f"u-a,active,,true,org-s,student,a,,A,A,{PINS['a']},,08\n"
        f"u-b,active,,true,org-s,student,b,,B,B,{PINS['b']},,08\n"
        f"u-x,active,,true,org-s,teacher,x,,X,X,{PINS['x']},,\n"
        f"u-y,active,,true,org-s,teacher,y,,Y,Y,{PINS['y']},,\n"
        f"u-z,active,,true,org-s,teacher,z,,Z,Z,{PINS['z']},,\n"
        f"u-w,active,,true,org-s,aide,w,,W,W,{PINS['w']},,\n"
    ),
    "classes": (
        "sourcedId,status,dateLastModified,title,courseSourcedId,classCode,classType,location,"
        "schoolSourcedId,termSourcedIds,subjects,subjectCodes\n"
        'c-ma,active,,Maths 8,crs-ma,,scheduled,,org-s,"ht,vt",,\n'
        "c-ma2,active,,Maths workshop,crs-ma,,scheduled,,org-s,ht,,\n"
        "c-en,active,,English 8,crs-en,,scheduled,,org-s,ht,,\n"
    ),
    "enrollments": (
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,"
        "primary,beginDate,endDate\n"
        "e1,active,,c-ma,org-s,u-a,student,false,,\n"
        "e2,active,,c-ma,org-s,u-b,student,false,,\n"
        "e3,active,,c-ma,org-s,u-x,teacher,true,2024-08-19,2024-10-31\n"
        "e4,active,,c-ma,org-s,u-y,teacher,true,2024-11-01,\n"
        "e5,active,,c-ma2,org-s,u-b,student,false,,\n"
        "e6,active,,c-ma2,org-s,u-z,teacher,true,,\n"
        "e7,active,,c-en,org-s,u-a,student,false,,\n"
        "e8,active,,c-en,org-s,u-x,teacher,true,,\n"
        "e9,active,,c-en,org-s,u-w,aide,false,,\n"
    ),
}
REGISTER = (
    "civic_no,school_unit_code,legitimated,certified_in,experience_years,arrival_year\n"
    f"{PINS['x']},{SCHOOL},ja,MA:7-9,10,2015\n"
    f"{PINS['y']},{SCHOOL},nej,,1,2024\n"
)

EXPOSURE_COLUMNS = [
    "pupil",
    "term",
    "subject_code",
    "teachers",
    "main_teacher_share",
    "teacher_switches",
    "turnover_hit",
    "certified_share",
    "legitimated_share",
    "mean_experience",
    "novice_share",
    "new_teacher_share",
]
# By hand. b's autumn maths is two classes: c-ma (x then y: certified, licensed, novice and
# new teacher, experience (10 + 1) / 2) and c-ma2 (z: none of these), so each share is 1/2
# and the main teacher share too (each of x, y, z in one of two classes). x handing over to y
# in October is a replacement within the autumn and one switch (y began after the pupil's
# first day); in spring x teaches no class at the school any more: a teacher who left.
EXPOSURE = [
    ("a", "2024HT", "EN", 1, 1.0, 0, False, 0.0, 1.0, 10.0, 0.0, 0.0),
    ("a", "2024HT", "MA", 2, 1.0, 1, True, 1.0, 1.0, 5.5, 1.0, 1.0),
    ("a", "2025VT", "MA", 1, 1.0, 0, True, 0.0, 0.0, 1.0, 1.0, 1.0),
    ("b", "2024HT", "MA", 3, 0.5, 1, True, 0.5, 0.5, 5.5, 0.5, 0.5),
    ("b", "2025VT", "MA", 1, 1.0, 0, True, 0.0, 0.0, 1.0, 1.0, 1.0),
]
STUDENT_TEACHERS = [
    ("a", "2024HT", "EN", "x"),
    ("a", "2024HT", "MA", "x"),
    ("a", "2024HT", "MA", "y"),
    ("a", "2025VT", "MA", "y"),
    ("b", "2024HT", "MA", "x"),
    ("b", "2024HT", "MA", "y"),
    ("b", "2024HT", "MA", "z"),
    ("b", "2025VT", "MA", "y"),
]
TEACHER_COLUMNS = [
    "teacher",
    "term",
    "certified_share",
    "legitimated",
    "experience_years",
    "experience_band",
    "novice",
    "new_to_school",
    "leaves",
    "school_turnover",
]
# x's autumn: c-ma (maths to grade 8: certified) and c-en (English: not) → 1/2.
TEACHER_TERMS = [
    ("x", "2024HT", 0.5, True, 10, "10-19", False, False, False, 0.0),
    ("y", "2024HT", 0.0, False, 1, "0-2", True, True, False, 0.0),
    ("y", "2025VT", 0.0, False, 1, "0-2", True, True, False, 0.0),
    ("z", "2024HT", 0.0, None, None, None, None, None, False, 0.0),
]
UNKNOWN = [
    "lessons",
    "minutes",
    "two_teacher_share",
    "substitute_share",
    "certified_minutes",
    "substitute_minutes",
    "reported_share",
    "absence_rate_reported",
]


def _write(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    manifest = ["propertyName,value", "manifest.version,1.0", "oneroster.version,1.1"]
    for stem, text in files.items():
        (root / f"{stem}.csv").write_text(text, encoding="utf-8")
        manifest.append(f"file.{stem},bulk")
    (root / "manifest.csv").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    return root


def _tables(data: Path) -> dict[str, pl.DataFrame]:
    snapshot = current_snapshot(data / RESEARCH)
    return {name: pl.read_parquet(table_files(snapshot, name)) for name in TABLES}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory, session_key: Path) -> Path:
    """The set and the teacher register, ingested (not yet built)."""
    root = tmp_path_factory.mktemp("classes")
    report = ingest_extract(_write(root / "set", SET), root / "data", key_file=session_key)
    assert report.alerts == []
    assert any("1 staff enrollments with a role other than teacher" in w for w in report.warnings)
    (root / "register.csv").write_text(REGISTER, encoding="utf-8")
    ingest_register("teachers", root / "register.csv", root / "data", key_file=session_key)
    return root / "data"


@pytest.fixture(scope="module")
def built(ingested: Path) -> dict[str, pl.DataFrame]:
    report = build_research_tables(ingested)
    assert report.basis == "classes"
    assert report.compiled_plan is None  # a plan is of a build from lessons
    assert report.notes[0] == BASIS_NOTE
    return _tables(ingested)


def _names(data: Path, session_key: Path) -> dict[int, str]:
    """Each person's pseudonym → their letter (the test, not the service, knows both)."""
    snapshot = current_snapshot(data)
    students = pl.read_parquet(snapshot / "students.parquet")["student_pid"].to_list()
    teachers = pl.read_parquet(snapshot / "staff.parquet")["teacher_pid"].to_list()
    from pseudonymise import Domain, Pseudonymiser, load_key_file

    out = {}
    with Pseudonymiser(load_key_file(session_key), workers=1) as hasher:
        pids = {
            letter: int(
                hasher.pseudonymise(
                    Domain.STUDENT if letter in "ab" else Domain.TEACHER, pl.Series([pin])
                )[0]
            )
            for letter, pin in PINS.items()
        }
    for letter, pid in pids.items():
        assert pid in (students if letter in "ab" else teachers), letter
        out[pid] = letter
    return out


def test_exposure_is_built_per_class(
    built: dict[str, pl.DataFrame], ingested: Path, session_key: Path
) -> None:
    names = _names(ingested, session_key)
    exposure = built["exposure"].with_columns(pupil=pl.col("student_pid").replace_strict(names))
    assert exposure["school_code"].unique().to_list() == [SCHOOL]
    assert exposure["grade"].unique().to_list() == [8]
    assert exposure["grade_band"].unique().to_list() == ["7-9"]
    rows = exposure.select(EXPOSURE_COLUMNS).sort(["pupil", "term", "subject_code"]).rows()
    assert rows == EXPOSURE
    # lessons and minutes are unknown: null, never zero
    for column in UNKNOWN:
        assert exposure[column].null_count() == exposure.height, column


def test_student_teachers_link_every_pupil_with_every_teacher_of_the_class(
    built: dict[str, pl.DataFrame], ingested: Path, session_key: Path
) -> None:
    names = _names(ingested, session_key)
    st = built["student_teachers"]
    rows = sorted(
        (names[s], term, subject, names[t])
        for s, term, subject, t in st.select(
            "student_pid", "term", "subject_code", "teacher_pid"
        ).rows()
    )
    assert rows == STUDENT_TEACHERS  # the aide w is nobody's teacher
    assert st["minutes"].null_count() == st.height
    # a pupil's teachers that term, over the subjects: a 3 (x, y; then y), b 3 (x, y, z; y)
    per_term = built["student_term_teachers"].group_by("student_pid", "term").len()
    assert sorted(per_term["len"].to_list()) == [1, 1, 2, 3]


def test_teacher_terms_are_built_per_class(
    built: dict[str, pl.DataFrame], ingested: Path, session_key: Path
) -> None:
    names = _names(ingested, session_key)
    tt = built["teacher_terms"].with_columns(teacher=pl.col("teacher_pid").replace_strict(names))
    assert tt["school_code"].unique().to_list() == [SCHOOL]
    assert tt["regular"].all()
    for column in ("lessons", "minutes", "substitute_lessons"):
        assert tt[column].null_count() == tt.height, column
    assert tt.select(TEACHER_COLUMNS).sort(["teacher", "term"]).rows() == TEACHER_TERMS


def test_the_tables_without_lessons_are_empty_and_the_build_says_why(
    ingested: Path, built: dict[str, pl.DataFrame]
) -> None:
    manifest = read_manifest(current_snapshot(ingested / RESEARCH))
    assert manifest["basis"] == "classes"
    assert manifest["empty_tables"] == EMPTY_WITHOUT_LESSONS
    for name in EMPTY_WITHOUT_LESSONS:
        assert built[name].height == 0, name
    for name in set(TABLES) - set(EMPTY_WITHOUT_LESSONS):
        assert built[name].height > 0, name
    # the classes' dated terms are the period: a release's term and month keys come from it
    assert manifest["period"] == {"first_day": "2024-08-19", "last_day": "2025-06-13"}


def test_a_release_reads_the_class_level_exposure_and_counts_its_teachers(
    ingested: Path, built: dict[str, pl.DataFrame]
) -> None:
    """The release layer reads a class-level snapshot, and the teacher rules count the
    teachers linked per class: x, y and z over the whole set, only y in the spring term."""
    from release import QueryRefused, QuerySpec
    from tests.research_data import engine

    def spec(group_by: list[str]) -> QuerySpec:
        return QuerySpec.model_validate(
            {
                "table": "exposure",
                "group_by": group_by,
                "mode": "dp",
                "rho": 0.1,
                "measures": [
                    {"kind": "count_students"},
                    {"kind": "mean", "column": "certified_share"},
                ],
            }
        )

    e = engine(ingested)
    release = e.release(spec([]), "alice")
    assert [c.status for c in release.cells] == ["released"]
    with pytest.raises(QueryRefused, match="would describe fewer than 3 teachers"):
        e.release(spec(["term"]), "alice")


def test_the_class_tables_have_the_lesson_tables_columns(
    built: dict[str, pl.DataFrame], research_dir: Path
) -> None:
    """The same files whatever the basis: the release layer reads one schema."""
    lessons = _tables(research_dir)
    for name in TABLES:
        assert built[name].schema == lessons[name].schema, name


def test_a_class_without_dated_terms_is_in_no_term_and_the_build_says_so(
    tmp_path: Path, session_key: Path
) -> None:
    files = dict(SET)
    files["classes"] = files["classes"].replace("org-s,ht,,\nc-en", "org-s,,,\nc-en")
    data = tmp_path / "data"
    ingest_extract(_write(tmp_path / "set", files), data, key_file=session_key)
    report = build_research_tables(data)
    assert report.notes[1] == (
        "1 of 3 classes have no dated term (no known academic session with start and end "
        "dates): they are in no term and no table"
    )
    exposure = _tables(data)["exposure"]
    # b's workshop is gone: one class of maths a term; a's English is still there
    assert exposure.height == 5
    assert sorted(exposure["teachers"].to_list()) == [1, 1, 1, 2, 2]


def test_cli_build_prints_the_basis_and_every_empty_table(
    tmp_path: Path, session_key: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import run

    data = tmp_path / "data"
    ingest_extract(_write(tmp_path / "set", SET), data, key_file=session_key)
    assert run(["build", "--data-dir", str(data)]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich may wrap the lines
    assert "on classes" in out
    assert f"note: {BASIS_NOTE}" in out
    for name, why in EMPTY_WITHOUT_LESSONS.items():
        assert f"WARNING: {name} is empty: {why}" in out


CATALYST = "testdata/oneroster/catalyst-moodle-enrol_oneroster"


def test_a_real_set_builds_class_level_tables(tmp_path: Path, session_key: Path) -> None:
    """A real set (read in place from ../shared; skipped without it): two classes of one
    autumn term (1 September to 24 December 2022) under a department that is no school, one
    pupil and one teacher in both, no subject: one exposure row, school and subject null."""
    data = tmp_path / "data"
    ingest_extract(shared_path(f"{CATALYST}/Test_minimal_data_set"), data, key_file=session_key)
    report = build_research_tables(data)
    assert report.basis == "classes"
    assert report.notes[1:] == (
        "2 of 2 dated classes are at no known school (their organisation is not a school and "
        "has none above it): their rows have no school_code",
    )
    tables = _tables(data)
    assert tables["exposure"].select(
        "term", "school_code", "subject_code", "teachers", "main_teacher_share"
    ).rows() == [("2022HT", None, None, 1, 1.0)]
    for table in ("student_teachers", "teacher_terms", "student_term_teachers"):
        assert tables[table].height == 1, table
    assert report.empty == EMPTY_WITHOUT_LESSONS


def test_a_real_set_whose_enrollments_miss_the_class_term_says_so(
    tmp_path: Path, session_key: Path
) -> None:
    """The 1.2 set enrolls its pupil and teacher from March to June 2022 in a class of the
    autumn term 2022: they never meet in it, and the build says so for each empty table."""
    data = tmp_path / "data"
    ingest_extract(shared_path(f"{CATALYST}/v1p2_full_dataset"), data, key_file=session_key)
    report = build_research_tables(data)
    assert report.basis == "classes"
    no_links = "no class with a dated term has both a pupil and a teacher"
    assert report.empty == EMPTY_WITHOUT_LESSONS | {
        name: no_links
        for name in ("student_teachers", "exposure", "student_term_teachers", "teacher_terms")
    }


# --- both engines ---------------------------------------------------------------------------


@on_spark
def test_spark_builds_the_same_class_tables(
    built: dict[str, pl.DataFrame], ingested: Path, tmp_path: Path
) -> None:
    from tests.unit.linkage.test_spark_backend import _same

    data = tmp_path / "data"
    shutil.copytree(ingested, data, ignore=shutil.ignore_patterns(RESEARCH))
    report = build_research_tables(data, engine="spark", spark_master="local[1]")
    assert report.basis == "classes"
    spark = _tables(data)
    for name in TABLES:
        if built[name].height:
            _same(name, built[name], spark[name])
        else:
            assert spark[name].height == 0 and spark[name].schema == built[name].schema, name
