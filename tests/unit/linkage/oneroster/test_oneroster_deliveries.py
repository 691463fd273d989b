"""OneRoster delta sets as weekly deliveries (``medler ingest BULK … NEW --delivery``): the new
snapshot shares every unchanged file, its tables and counts are those of a full ingest of the
same sets, and a delta that does not fit, a bulk set or a changed earlier set is refused with
nothing switched in. The sets are hand-written (``delivery_sets``), but for one public delta set
read in place."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from linkage import current_snapshot, ingest_extract, read_manifest
from linkage._canonical import LINEAGE
from linkage._snapshot import table_parts
from linkage.sources.oneroster._delivery import FULL_BUILD
from medler.errors import InputFileError
from tests.conftest import shared_path
from tests.unit.linkage.oneroster.conftest import session_key
from tests.unit.linkage.oneroster.delivery_sets import BULK, ENROLLMENT, sets, write_set

__all__ = ["session_key", "sets"]


def _canonical(data: Path) -> dict[str, pl.DataFrame]:
    snapshot = current_snapshot(data)
    lineage = [name for name, _ in LINEAGE]
    out = {}
    for name, entry in read_manifest(snapshot)["tables"].items():
        parts = [pl.read_parquet(snapshot / p["file"]) for p in table_parts(entry)]
        frame = pl.concat(parts).drop(lineage, strict=False)
        out[name] = frame.sort(frame.columns, nulls_last=True)
    return out


def test_a_delta_delivery_shares_every_unchanged_file_and_equals_a_full_ingest(
    sets: tuple[Path, Path, Path], tmp_path: Path, session_key: Path
) -> None:
    bulk, week2, _ = sets
    data = tmp_path / "data"
    ingest_extract(bulk, data, key_file=session_key)
    before = current_snapshot(data)
    report = ingest_extract(bulk, data, key_file=session_key, updates=[week2], delivery=True)
    after = current_snapshot(data)
    manifest = read_manifest(after)
    delivery = manifest["delivery"]
    assert report.delivery == delivery
    assert (delivery["onto"], delivery["folder"], delivery["months"]) == (
        before.name,
        "week-02",
        [],
    )
    assert delivery["full_build"] == FULL_BUILD
    changed = ["students", "enrolments", "group_memberships", "activity_teachers"]
    assert delivery["changed"] == changed
    old = read_manifest(before)["tables"]
    for name, entry in manifest["tables"].items():
        if name in changed or name == "quarantine":
            continue
        (part,) = table_parts(entry)
        assert os.path.samefile(after / part["file"], before / table_parts(old[name])[0]["file"])
    for name in changed:  # written anew, not linked
        (part,) = table_parts(manifest["tables"][name])
        assert not os.path.samefile(
            after / part["file"], before / table_parts(old[name])[0]["file"]
        )
    # counts and tables are those of the two sets ingested in full
    ingest_extract(bulk, tmp_path / "full", key_file=session_key, updates=[week2])
    full = read_manifest(current_snapshot(tmp_path / "full"))
    assert manifest["records"] == full["records"]
    assert manifest["source"]["files"] == full["source"]["files"]
    for stem, c in manifest["records"].items():
        assert c["read"] == c["accepted"] + c["quarantined"] + c["superseded"] + c["deleted"], stem
    assert manifest["records"]["enrollments"]["deleted"] == 2  # e-sv-s4, in both sets
    delivered, reference = _canonical(data), _canonical(tmp_path / "full")
    assert delivered.keys() == reference.keys()
    for name in delivered:
        assert_frame_equal(delivered[name], reference[name], check_row_order=True)
    assert delivered["group_memberships"].height == 6  # 3 + 3 - s4 + s5


def test_the_primary_flag_is_kept(tmp_path: Path, session_key: Path) -> None:
    files = dict(BULK)
    files["enrollments"] = (
        ENROLLMENT
        + "e-1,active,,c-ma,o-1,t1,teacher,TRUE,,\n"
        + "e-2,active,,c-sv,o-1,t2,teacher,false,,\n"
        + "e-3,active,,c-sv,o-1,t3,teacher,,,\n"
        + "e-4,active,,c-ma,o-1,t3,teacher,yes,,\n"
    )
    data = tmp_path / "data"
    ingest_extract(write_set(tmp_path / "set", files, "bulk"), data, key_file=session_key)
    snapshot = current_snapshot(data)
    teachers = pl.read_parquet(snapshot / "activity_teachers.parquet")
    assert teachers["primary_teacher"].to_list() == [True, False, None, None]
    notes = pl.read_parquet(snapshot / "quarantine.parquet").filter(
        pl.col("resource") == "enrollments.primary"
    )
    assert notes.select("position", "field", "reason").rows() == [
        (4, "primary", "not true or false: taken as unknown")
    ]


def _refused(bulk: Path, data: Path, key: Path, updates: list[Path]) -> str:
    before = current_snapshot(data)
    with pytest.raises(InputFileError) as caught:
        ingest_extract(bulk, data, key_file=key, updates=updates, delivery=True)
    assert current_snapshot(data) == before  # nothing switched in
    return str(caught.value)


def test_a_delta_that_does_not_fit_the_snapshot_is_refused(
    sets: tuple[Path, Path, Path], tmp_path: Path, session_key: Path
) -> None:
    bulk, week2, _ = sets
    data = tmp_path / "data"
    ingest_extract(bulk, data, key_file=session_key)
    removal = write_set(
        tmp_path / "removal",
        {"enrollments": ENROLLMENT + "e-nowhere,tobedeleted,2025-01-20,c-ma,o-1,s1,student,,,\n"},
        "delta",
    )
    assert _refused(bulk, data, session_key, [removal]) == (
        "removal/enrollments.csv row 1: sourcedId is tobedeleted, but the snapshot holds no "
        "such record (1 such rows in the file): the delta does not fit the snapshot in use "
        "(was it made from another export?). Give the sets the delta follows, or ingest the "
        "bulk set and every delta set in full (without --delivery)"
    )
    reference = write_set(
        tmp_path / "reference",
        {"enrollments": ENROLLMENT + "e-x,active,2025-01-20,c-gone,o-1,s1,student,false,,\n"},
        "delta",
    )
    assert _refused(bulk, data, session_key, [reference]) == (
        "reference/enrollments.csv row 1: classSourcedId refers to class that neither the "
        "snapshot nor the delta holds (1 such references in the delta): the delta does not fit "
        "the snapshot in use (was it made from another export?). Give the sets the delta "
        "follows, or ingest the bulk set and every delta set in full (without --delivery)"
    )
    # the same sets ingested in full keep their usual rules: counted, or quarantined
    full = ingest_extract(
        bulk, tmp_path / "full", key_file=session_key, updates=[removal, reference]
    )
    enrollments = full.counts["enrollments"]
    assert (enrollments.deleted, enrollments.quarantined) == (1, 1)
    # a record deleted by a delivery already held is not held any more
    ingest_extract(bulk, data, key_file=session_key, updates=[week2], delivery=True)
    again = write_set(
        tmp_path / "again",
        {"enrollments": ENROLLMENT + "e-sv-s4,tobedeleted,2025-01-27,c-sv,o-1,s4,student,,,\n"},
        "delta",
    )
    assert _refused(bulk, data, session_key, [week2, again]).startswith(
        "again/enrollments.csv row 1: sourcedId is tobedeleted, but the snapshot holds no such "
        "record"
    )


def test_a_bulk_set_or_a_changed_set_as_a_delivery_is_refused(
    sets: tuple[Path, Path, Path], tmp_path: Path, session_key: Path
) -> None:
    bulk, week2, week3 = sets
    data = tmp_path / "data"
    ingest_extract(bulk, data, key_file=session_key)
    newer = write_set(tmp_path / "bulk-2025-02", BULK, "bulk")
    assert _refused(bulk, data, session_key, [newer]) == (
        "bulk-2025-02/manifest.csv marks orgs.csv, academicSessions.csv, users.csv, "
        "classes.csv, enrollments.csv as bulk: a bulk set replaces what the snapshot holds "
        "rather than adding to it, so it is no delivery; ingest it on its own, without "
        "--delivery (or ask for a delta set: files 'delta' or 'absent')"
    )
    old_style = tmp_path / "v1p0"
    shutil.copytree(newer, old_style)
    (old_style / "manifest.csv").unlink()
    assert _refused(bulk, data, session_key, [old_style]).startswith(
        "v1p0 has no manifest.csv: it is a OneRoster 1.0 set, which is always a bulk set"
    )
    ingest_extract(bulk, data, key_file=session_key, updates=[week2], delivery=True)
    with (week2 / "users.csv").open("a", encoding="utf-8") as out:
        out.write("s6,active,2025-01-20,true,o-1,student,,,,,,\n")
    assert _refused(bulk, data, session_key, [week2, week3]) == (
        "week-02/users.csv is not the file the current snapshot was ingested from (it is gone, "
        "or its SHA-256 differs): a delivery is added onto the very sets the snapshot holds; "
        "give them as they were, or ingest the bulk set and every delta set in full (without "
        "--delivery)"
    )


def test_a_public_delta_set_as_a_delivery_equals_its_full_ingest(
    tmp_path: Path, session_key: Path
) -> None:
    catalyst = "testdata/oneroster/catalyst-moodle-enrol_oneroster"
    bulk = shared_path(f"{catalyst}/Test_minimal_data_set")
    delta = shared_path(f"{catalyst}/oneroster_test_data")
    data = tmp_path / "data"
    ingest_extract(bulk, data, key_file=session_key)
    report = ingest_extract(bulk, data, key_file=session_key, updates=[delta], delivery=True)
    assert report.delivery is not None and "group_memberships" in report.delivery["changed"]
    ingest_extract(bulk, tmp_path / "full", key_file=session_key, updates=[delta])
    manifest = read_manifest(current_snapshot(data))
    assert manifest["records"] == read_manifest(current_snapshot(tmp_path / "full"))["records"]
    delivered, reference = _canonical(data), _canonical(tmp_path / "full")
    for name in delivered:
        assert_frame_equal(delivered[name], reference[name])
