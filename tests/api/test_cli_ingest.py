"""``medler ingest`` and ``medler ingest-register`` from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.cli import run
from api.cli._errors import EXIT_INPUT
from tests.unit.linkage.ingest.conftest import Ingested, ingested, session_key

__all__ = ["ingested", "session_key"]


def test_ingest_and_registers_print_what_was_read(
    ingested: Ingested, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    key = ["--key-file", str(ingested.key_file), "--data-dir", str(data)]
    assert run(["ingest", str(ingested.extract.out / "ss12000"), *key]) == 0
    out = capsys.readouterr().out
    assert "attendances" in out and "quarantined" in out
    register = ingested.extract.out / "registers" / "student_register.csv"
    assert run(["ingest-register", "students", str(register), *key]) == 0
    assert "student_register" in capsys.readouterr().out


def test_ingest_of_a_broken_page_is_one_line_and_exit_65(
    ingested: Ingested, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extract = tmp_path / "extract" / "organisations"
    extract.mkdir(parents=True)
    (extract / "page-000001.json").write_bytes(b"\xff\xfe garbage")
    code = run(["ingest", str(extract.parent), "--key-file", str(ingested.key_file),
                "--data-dir", str(tmp_path / "data")])  # fmt: skip
    assert code == EXIT_INPUT
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: organisations/page-000001.json is not valid JSON (")
    assert "\n" not in err


def test_a_oneroster_set_is_detected_and_ingested(
    ingested: Ingested, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import shared_path

    source = shared_path("testdata/oneroster/catalyst-moodle-enrol_oneroster/Test_minimal_data_set")
    args = ["ingest", str(source), "--key-file", str(ingested.key_file),
            "--data-dir", str(tmp_path / "data")]  # fmt: skip
    assert run(args) == 0
    out = capsys.readouterr().out
    assert "OneRoster" in out and "enrollments" in out
    # The warning says what cannot be built (rich may wrap the line).
    assert "warning: OneRoster has no lesson times and no attendance" in " ".join(out.split())


def test_build_writes_a_research_snapshot(
    ingested: Ingested, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import polars as pl

    from linkage import current_snapshot, read_manifest

    data = tmp_path / "data"
    key = ["--key-file", str(ingested.key_file), "--data-dir", str(data)]
    assert run(["ingest", str(ingested.extract.out / "ss12000"), *key]) == 0
    assert run(["build", "--data-dir", str(data)]) == 0
    assert "student_lessons" in capsys.readouterr().out
    research = current_snapshot(data / "research")
    manifest = read_manifest(research)
    assert manifest["kind"] == "research"
    assert (
        manifest["built_from"]["snapshot_id"]
        == read_manifest(current_snapshot(data))["snapshot_id"]
    )
    table = pl.read_parquet(research / "student_lessons.parquet")
    assert table.height == ingested.extract.truth["counts"]["attendance_records"]
    assert not any(
        c.endswith("_pid") and c not in {"student_pid", "lesson_pid"} for c in table.columns
    )


def test_build_refuses_a_memory_limit_that_is_no_size(
    ingested: Ingested, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    key = ["--key-file", str(ingested.key_file), "--data-dir", str(data)]
    assert run(["ingest", str(ingested.extract.out / "ss12000"), *key]) == 0
    assert run(["build", "--data-dir", str(data), "--memory-limit", "lots"]) == 2
    assert "memory limit 'lots' is not a size" in capsys.readouterr().err
    assert not (data / "research" / "CURRENT").exists()
