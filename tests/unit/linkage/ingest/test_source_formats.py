"""The registry of source formats: a format registered by one line in
``linkage.sources.SOURCE_FORMATS`` is detected, chosen with ``--format`` and ingested, with no
change to ``linkage/_ingest.py``. The format registered here (``persons_csv``) is a real,
minimal adapter."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from linkage import current_snapshot, ingest_extract, read_manifest
from linkage._ingest import detect_format
from linkage.sources import SOURCE_FORMATS, source_format, source_formats
from linkage.sources._adapter import SourceFormat
from medler.errors import InputFileError, UsageError
from tests.unit.linkage.ingest import persons_csv

PERSONS = (
    "person_id,national_id,birth_year\n"
    "p1,194608239986,2012\n"  # linked
    "p2,194608239987,2013\n"  # a wrong check digit: kept with a source-local pseudonym
    "p3,194608239986,twenty\n"  # set aside: the birth year is not a number
)


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SOURCE_FORMATS, "persons-csv", persons_csv.__name__)


@pytest.fixture
def persons(tmp_path: Path) -> Path:
    folder = tmp_path / "persons"
    folder.mkdir()
    (folder / "persons.csv").write_text(PERSONS, encoding="utf-8")
    return folder


def test_every_registered_format_loads_under_its_name() -> None:
    assert [f.name for f in source_formats()] == list(SOURCE_FORMATS) == ["ss12000", "oneroster"]


def test_a_format_cannot_be_called_auto() -> None:
    fmt = persons_csv.SOURCE_FORMAT
    with pytest.raises(ValueError, match=r"and not 'auto' .*, not 'auto'"):
        SourceFormat(
            "auto", fmt.kind, fmt.looks, fmt.label, fmt.updates, fmt.looks_like, fmt.ingest
        )


def test_a_format_registered_under_another_name_is_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SOURCE_FORMATS, "persons", persons_csv.__name__)
    with pytest.raises(RuntimeError, match="defines the format 'persons-csv' but is registered"):
        source_format("persons")


def test_an_unregistered_format_is_neither_detected_nor_chosen(
    persons: Path, tmp_path: Path, session_key: Path
) -> None:
    with pytest.raises(
        InputFileError, match=r"holds neither an SS 12000 extract .* nor a OneRoster"
    ):
        detect_format(persons)
    with pytest.raises(
        UsageError, match=r"^--format must be one of auto, ss12000, oneroster, not 'persons-csv'$"
    ):
        ingest_extract(
            persons, tmp_path / "data", key_file=session_key, source_format="persons-csv"
        )


@pytest.mark.usefixtures("registered")
def test_a_registered_format_is_detected_and_ingested(
    persons: Path, tmp_path: Path, session_key: Path
) -> None:
    assert detect_format(persons) is persons_csv.SOURCE_FORMAT
    data_dir = tmp_path / "data"
    report = ingest_extract(persons, data_dir, key_file=session_key)
    assert report.standard == "persons CSV 1"
    counts = report.counts["persons"]
    assert (counts.read, counts.accepted, counts.quarantined) == (3, 2, 1)
    assert (report.quarantine_entries, report.kept_local) == (2, 1)
    snapshot = current_snapshot(data_dir)
    assert read_manifest(snapshot)["source"]["format"] == "persons-csv"
    students = pq.read_table(snapshot / "students.parquet").to_pylist()
    assert sorted((s["birth_year"], s["id_status"]) for s in students) == [
        (2012, "linked"),
        (2013, "local"),
    ]
    assert sorted(s["student_pid"] < 0 for s in students) == [False, True]
    quarantine = pq.read_table(snapshot / "quarantine.parquet").to_pylist()
    assert [(q["position"], q["field"], q["reason"], q["outcome"]) for q in quarantine] == [
        (4, "birth_year", "not a whole number", "quarantined"),
        (3, "national_id", "national ID: check-digit", "kept-local"),
    ]


@pytest.mark.usefixtures("registered")
def test_a_registered_format_is_named_in_the_ingests_errors(
    persons: Path, tmp_path: Path, session_key: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputFileError) as caught:
        detect_format(empty)
    assert str(caught.value).endswith(
        " nor a persons CSV (persons.csv with the columns person_id, national_id, birth_year); "
        "point at the extract's folder, or pass --format"
    )
    with pytest.raises(InputFileError) as caught:
        ingest_extract(persons, tmp_path / "data", key_file=session_key, updates=[empty])
    assert str(caught.value) == (
        f"{empty} is not a persons CSV; the folders after the first are incremental extracts "
        "of the same format (for SS 12000: resources, and deletedEntities for what was "
        "removed; for OneRoster: a delta set; for persons CSV: another persons.csv)"
    )


def test_the_how_to_lists_the_registered_formats() -> None:
    page = Path(__file__).resolve().parents[4] / "docs" / "how-to" / "add-a-source-format.md"
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| `([\w/.]+)` \|", page.read_text("utf-8"), re.M)
    assert rows == [
        (name, module.replace(".", "/") + ".py") for name, module in SOURCE_FORMATS.items()
    ]


@pytest.mark.usefixtures("registered")
def test_a_format_without_delivery_rules_is_ingested_in_full_only(
    persons: Path, tmp_path: Path, session_key: Path
) -> None:
    data_dir = tmp_path / "data"
    ingest_extract(persons, data_dir, key_file=session_key, source_format="persons-csv")
    later = tmp_path / "week-02"
    later.mkdir()
    (later / "persons.csv").write_text(PERSONS, encoding="utf-8")
    before = current_snapshot(data_dir)
    with pytest.raises(
        UsageError,
        match=(
            r"^--delivery adds an SS 12000 incremental extract or a OneRoster delta set onto "
            r"the current snapshot; a persons-csv source is ingested in full \(without "
            r"--delivery\)$"
        ),
    ):
        ingest_extract(
            persons,
            data_dir,
            key_file=session_key,
            source_format="persons-csv",
            updates=[later],
            delivery=True,
        )
    assert current_snapshot(data_dir) == before
