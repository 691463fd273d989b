"""A OneRoster delta set as a weekly delivery on the command line: what ``medler ingest …
--delivery`` prints for a source without lessons, why ``medler build --incremental`` builds in
full, and a bulk set given as a delivery refused in one line with exit 65."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.cli import run
from api.cli._errors import EXIT_INPUT
from pseudonymise import create_key_file
from tests.unit.linkage.oneroster.delivery_sets import BULK, WEEK_2, write_set


def test_a_delta_set_delivered_and_built(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bulk = str(write_set(tmp_path / "bulk", BULK, "bulk"))
    week = str(write_set(tmp_path / "week-02", WEEK_2, "delta"))
    key = tmp_path / "key.json"
    create_key_file(key)
    where = ["--key-file", str(key), "--data-dir", str(tmp_path / "data")]
    assert run(["ingest", bulk, *where]) == 0
    assert run(["build", "--data-dir", str(tmp_path / "data")]) == 0
    capsys.readouterr()
    assert run(["ingest", bulk, week, "--delivery", *where]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert (
        "no lessons (months none); tables changed: students, enrolments, group_memberships, "
        "activity_teachers; every other file shared" in printed
    )
    assert run(["build", "--incremental", "--data-dir", str(tmp_path / "data")]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert (
        "Built in full: the delivery week-02: a OneRoster delivery changes classes and their "
        "members" in printed
    )
    again = str(write_set(tmp_path / "bulk-2", BULK, "bulk"))
    assert run(["ingest", bulk, week, again, "--delivery", *where]) == EXIT_INPUT
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: bulk-2/manifest.csv marks orgs.csv, academicSessions.csv,")
