"""Real, dirty OneRoster sets (GPL test data of two importers, read in place from ../shared):
each ingests, every row is accepted or quarantined, the broken references are quarantined
with their reasons, and no person's identifier, name or e-mail reaches the data directory."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from linkage import current_snapshot, ingest_extract, read_manifest
from linkage.sources.oneroster import NO_LESSONS
from medler.errors import InputFileError
from tests.conftest import shared_path

CATALYST = "testdata/oneroster/catalyst-moodle-enrol_oneroster"
OAT = "testdata/oneroster/oat-sa-oneroster-import/OneRosterv1p1BaseCSV"
# Columns that hold a person's identifier, name, contact or credentials.
_PERSONAL = (
    "sourcedId",
    "userSourcedId",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "password",
    "preferredGivenName",
    "preferredFamilyName",
    "prefferedGivenName",
    "prefferedMiddleName",
    "prefferedFamilyName",
    "userMasterIdentifier",
    "agentSourcedIds",
    "classSourcedId",
    "courseSourcedId",
)

# set → {file: (read, accepted, quarantined)}
EXPECTED_COUNTS = {
    f"{CATALYST}/Test_full_data_set": {
        "orgs": (1, 1, 0),
        "academicSessions": (5, 3, 2),
        "users": (6, 5, 1),
        "classes": (2, 1, 1),
        "enrollments": (6, 2, 4),
    },
    f"{CATALYST}/Test_minimal_data_set": {
        "orgs": (1, 1, 0),
        "academicSessions": (5, 5, 0),
        "users": (6, 5, 1),
        "classes": (2, 2, 0),
        "enrollments": (6, 4, 2),
    },
    f"{CATALYST}/v1p2_full_dataset": {
        "orgs": (1, 1, 0),
        "academicSessions": (5, 3, 2),
        "users": (6, 6, 0),
        "roles": (7, 7, 0),
        "classes": (2, 1, 1),
        "enrollments": (6, 2, 4),
    },
    OAT: {
        "orgs": (2, 2, 0),
        "academicSessions": (0, 0, 0),
        "courses": (0, 0, 0),
        "users": (2, 2, 0),
        "demographics": (0, 0, 0),
        "classes": (3, 3, 0),
        "enrollments": (3, 3, 0),
    },
}

# set → (resource, 1-based row, field, reason) that must be in the quarantine
EXPECTED_REASONS = {
    f"{CATALYST}/Test_full_data_set": {
        ("academicSessions", 1, "status", "tobedeleted"),
        ("academicSessions", 3, "status", "not active or tobedeleted"),  # 1.0's 'inactive'
        ("users", 3, "role", "not a student or staff role"),  # a parent
        ("classes", 2, "status", "tobedeleted"),
        ("classes.courseSourcedId", 1, "courseSourcedId", "unknown course"),
        ("enrollments", 2, "userSourcedId", "staff, not a student"),  # a teacher as student
        ("enrollments", 4, "classSourcedId", "class is tobedeleted"),
        ("enrollments", 5, "classSourcedId", "class is tobedeleted"),
        ("enrollments", 6, "classSourcedId", "class is tobedeleted"),
    },
    f"{CATALYST}/Test_minimal_data_set": {
        ("users", 3, "role", "not a student or staff role"),
        ("enrollments", 2, "userSourcedId", "staff, not a student"),
        ("enrollments", 5, "userSourcedId", "staff, not a student"),
    },
    f"{CATALYST}/v1p2_full_dataset": {
        ("classes", 2, "status", "tobedeleted"),
        ("enrollments", 2, "userSourcedId", "staff, not a student"),
        ("enrollments", 4, "classSourcedId", "class is tobedeleted"),
    },
    OAT: {
        ("classes.termSourcedIds", 1, "termSourcedIds[0]", "unknown academic session"),
    },
}


def _forbidden(folder: Path) -> set[str]:
    """Every person identifier, name, e-mail and object sourcedId of the set (organisations'
    ids are excluded: a school without an ``identifier`` keeps its sourcedId as its code)."""
    texts: set[str] = set()
    for path in folder.glob("*.csv"):
        if path.name.lower() in ("manifest.csv", "orgs.csv"):
            continue
        with path.open(encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                for column in _PERSONAL:
                    value = (row.get(column) or "").strip()
                    if value:
                        texts.add(value)
    return texts


def _leaks(data_dir: Path, texts: set[str]) -> tuple[list[str], int]:
    long = {t for t in texts if len(t) >= 5}
    found, checked = [], 0
    for path in sorted(data_dir.rglob("*.parquet")):
        for name, column in zip(
            pq.read_table(path).column_names, pq.read_table(path).columns, strict=True
        ):
            values = [v for v in column.to_pylist() if isinstance(v, str)]
            checked += len(column)
            if any(v in texts or any(t in v for t in long) for v in values):
                found.append(f"{path.name}:{name}")
    return found, checked


def _ingest(folder: Path, data_dir: Path, key: Path) -> tuple[dict, pl.DataFrame]:
    report = ingest_extract(folder, data_dir, key_file=key)
    assert report.standard.startswith("OneRoster")
    assert NO_LESSONS in report.warnings
    snapshot = current_snapshot(data_dir)
    counts = read_manifest(snapshot)["records"]
    for stem, count in counts.items():
        assert count["read"] == count["accepted"] + count["quarantined"], stem
    quarantine = pl.read_parquet(snapshot / "quarantine.parquet")
    for name in ("lessons", "attendance", "absence_notices"):
        assert pq.read_metadata(snapshot / f"{name}.parquet").num_rows == 0
    return counts, quarantine


@pytest.mark.parametrize("relative", sorted(EXPECTED_COUNTS), ids=lambda p: p.split("/")[-1])
def test_real_set(relative: str, tmp_path: Path, session_key: Path) -> None:
    folder = shared_path(relative)
    counts, quarantine = _ingest(folder, tmp_path / "data", session_key)
    got = {
        stem: (c["read"], c["accepted"], c["quarantined"])
        for stem, c in counts.items()
        if stem in EXPECTED_COUNTS[relative]
    }
    assert got == EXPECTED_COUNTS[relative]
    reasons = set(
        zip(
            quarantine["resource"],
            quarantine["position"],
            quarantine["field"],
            quarantine["reason"],
            strict=True,
        )
    )
    assert EXPECTED_REASONS[relative] <= reasons
    quarantined = quarantine.filter(pl.col("outcome") == "quarantined")
    for stem, count in counts.items():  # the quarantine holds exactly the rows counted
        assert quarantined.filter(pl.col("resource") == stem).height == count["quarantined"]
    found, checked = _leaks(tmp_path / "data", _forbidden(folder))
    assert found == []
    assert checked > 50


def test_the_scan_finds_a_planted_leak(tmp_path: Path, session_key: Path) -> None:
    folder = shared_path(f"{CATALYST}/Test_full_data_set")
    _ingest(folder, tmp_path / "data", session_key)
    pq.write_table(
        pl.DataFrame({"note": ["mail john.doe@myschool.com"]}).to_arrow(),
        tmp_path / "data" / "leak.parquet",
    )
    found, _ = _leaks(tmp_path / "data", _forbidden(folder))
    assert found == ["leak.parquet:note"]


def test_delta_set_is_refused(tmp_path: Path, session_key: Path) -> None:
    folder = shared_path(f"{CATALYST}/oneroster_test_data")
    with pytest.raises(InputFileError) as caught:
        ingest_extract(folder, tmp_path / "data", key_file=session_key)
    assert str(caught.value) == (
        "manifest.csv marks orgs.csv, academicSessions.csv, courses.csv, users.csv, roles.csv, "
        "userProfiles.csv, demographics.csv, classes.csv, enrollments.csv as delta: a delta "
        "set holds only the changes since an earlier export; ingest the bulk set first and "
        "the delta sets after it, oldest first ('medler ingest BULK DELTA …')"
    )
    assert not (tmp_path / "data" / "CURRENT").exists()


def test_delta_set_read_as_bulk(tmp_path: Path, session_key: Path) -> None:
    """The same 1.2 set with its manifest marked bulk (a copy): roles, user profiles,
    demographics and courses are read; the birth date becomes a year."""
    folder = tmp_path / "set"
    shutil.copytree(shared_path(f"{CATALYST}/oneroster_test_data"), folder)
    manifest = folder / "manifest.csv"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace(",delta", ",bulk"), encoding="utf-8"
    )
    counts, _ = _ingest(folder, tmp_path / "data", session_key)
    assert {s: c["accepted"] for s, c in counts.items() if c["read"]} == {
        "orgs": 1,
        "academicSessions": 1,
        "courses": 1,
        "users": 1,
        "roles": 1,
        "userProfiles": 1,
        "demographics": 1,
        "classes": 1,
        "enrollments": 1,
    }
    snapshot = current_snapshot(tmp_path / "data")
    students = pl.read_parquet(snapshot / "students.parquet")
    assert students["birth_year"].to_list() == [2010]
    assert students["id_status"].to_list() == ["local"]
    # No identifier: the school's code falls back to its sourcedId (a public key).
    assert pl.read_parquet(snapshot / "schools.parquet")["school_code"].to_list() == ["ORG_1"]
    assert pl.read_parquet(snapshot / "syllabuses.parquet")["subject_code"].to_list() == ["0101"]
    activities = pl.read_parquet(snapshot / "activities.parquet")
    assert activities["syllabus_pid"].null_count() == 0
    assert pl.read_parquet(snapshot / "group_memberships.parquet").height == 1
    found, _ = _leaks(tmp_path / "data", _forbidden(folder))
    assert found == []
