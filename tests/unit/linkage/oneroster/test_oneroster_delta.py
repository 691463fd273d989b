"""A bulk set followed by delta sets: newer rows supersede, tobedeleted rows delete."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from linkage import current_snapshot, ingest_extract
from medler.errors import InputFileError
from tests.conftest import shared_path
from tests.unit.linkage.oneroster.conftest import TEST_PERSONNUMMER, session_key, write_set

__all__ = ["session_key"]


def _delta(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    manifest = ["propertyName,value", "manifest.version,1.0", "oneroster.version,1.1"]
    for stem, text in files.items():
        (root / f"{stem}.csv").write_text(text, encoding="utf-8")
        manifest.append(f"file.{stem},delta")
    (root / "manifest.csv").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    return root


def test_a_delta_supersedes_and_deletes(tmp_path: Path, session_key: Path) -> None:
    bulk = write_set(tmp_path / "bulk")
    delta = _delta(
        tmp_path / "delta",
        {
            "users": (
                "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,"
                "givenName,familyName,identifier,email\n"
                f"u-stu,active,2025-01-10,true,org-1,student,pupil.one,,P,O,{TEST_PERSONNUMMER},\n"
            ),
            "enrollments": (
                "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,"
                "primary,beginDate,endDate\n"
                "e-1,tobedeleted,2025-01-10,c-1,org-1,u-stu,student,false,,\n"
            ),
        },
    )
    report = ingest_extract(bulk, tmp_path / "data", key_file=session_key, updates=[delta])
    users, enrollments = report.counts["users"], report.counts["enrollments"]
    assert (users.read, users.accepted, users.superseded, users.deleted) == (3, 2, 1, 0)
    assert (enrollments.read, enrollments.accepted, enrollments.deleted) == (3, 1, 2)
    for name, c in report.counts.items():
        assert c.read == c.accepted + c.quarantined + c.superseded + c.deleted, name
    snap = current_snapshot(tmp_path / "data")
    assert pl.read_parquet(snap / "group_memberships.parquet").height == 0  # e-1 deleted
    assert pl.read_parquet(snap / "activity_teachers.parquet").height == 1  # e-2 kept


def test_a_bulk_set_after_the_first_is_refused(tmp_path: Path, session_key: Path) -> None:
    bulk = write_set(tmp_path / "bulk")
    second = write_set(tmp_path / "second")
    with pytest.raises(InputFileError) as caught:
        ingest_extract(bulk, tmp_path / "data", key_file=session_key, updates=[second])
    assert str(caught.value).startswith(
        "second/manifest.csv marks orgs.csv, users.csv, classes.csv, enrollments.csv as bulk: a "
        "set given after the first must be a delta set"
    )


def test_the_real_delta_set_after_a_bulk_set(tmp_path: Path, session_key: Path) -> None:
    catalyst = "testdata/oneroster/catalyst-moodle-enrol_oneroster"
    bulk = shared_path(f"{catalyst}/Test_minimal_data_set")
    delta = shared_path(f"{catalyst}/oneroster_test_data")
    report = ingest_extract(bulk, tmp_path / "data", key_file=session_key, updates=[delta])
    for name, c in report.counts.items():
        assert c.read == c.accepted + c.quarantined + c.superseded + c.deleted, name
    assert report.counts["users"].read > 6
