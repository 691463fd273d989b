"""An interrupted ingest leaves the previous snapshot in use and intact; bad input makes no
snapshot at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from linkage import current_snapshot, ingest_extract, read_manifest
from linkage._snapshot import file_sha256
from linkage.sources.synthetic import SynthConfig, generate_municipality
from medler.errors import InputFileError
from tests.unit.linkage.ingest.conftest import Ingested


def _intact(snapshot: Path) -> bool:
    manifest = read_manifest(snapshot)
    return all(
        file_sha256(snapshot / entry["file"]) == entry["sha256"]
        for entry in manifest["tables"].values()
    )


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux: /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def _alive(pid: int) -> bool:
    """Whether process ``pid`` is still running (not gone, nor a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="lists processes through /proc")
def test_killing_an_ingest_half_way_keeps_the_previous_snapshot(
    ingested: Ingested, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    small = ingested.extract.out / "ss12000"
    ingest_extract(small, data_dir, key_file=ingested.key_file)
    before = current_snapshot(data_dir)
    big = generate_municipality(SynthConfig(students=3000, seed=2, weeks=6), tmp_path / "big")
    env = {**os.environ, "MEDLER_KEY_FILE": str(ingested.key_file)}
    command = [
        sys.executable,
        "-m",
        "api.cli",
        "ingest",
        str(big.out / "ss12000"),
        "--data-dir",
        str(data_dir),
    ]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    staging: list[Path] = []
    while time.monotonic() < deadline and process.poll() is None:
        staging = [
            p for p in (data_dir / "snapshots").glob(".staging-*") if any(p.glob("*.parquet"))
        ]
        if staging and any((s / "attendance.parquet").exists() for s in staging):
            break
        time.sleep(0.05)
    assert process.poll() is None, "the ingest ended before it could be interrupted"
    assert staging, "the ingest never started writing"
    workers = _children(process.pid)
    assert workers, "the ingest had no worker processes to leave behind"
    process.send_signal(signal.SIGKILL)
    process.wait()
    # its page and hashing workers end with it, instead of waiting on their queues for ever
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)]
    assert current_snapshot(data_dir) == before
    assert _intact(before)
    # The next ingest clears the half-written staging folder and succeeds.
    ingest_extract(small, data_dir, key_file=ingested.key_file)
    assert not list((data_dir / "snapshots").glob(".staging-*"))
    assert current_snapshot(data_dir) != before


def test_a_page_that_is_not_json_stops_the_ingest_and_makes_no_snapshot(
    ingested: Ingested, tmp_path: Path
) -> None:
    extract = tmp_path / "extract"
    (extract / "persons").mkdir(parents=True)
    (extract / "persons" / "page-000001.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputFileError) as error:
        ingest_extract(extract, tmp_path / "data", key_file=ingested.key_file)
    assert str(error.value).startswith("persons/page-000001.json is not valid JSON (")
    assert not (tmp_path / "data" / "CURRENT").exists()
    assert not list((tmp_path / "data" / "snapshots").glob("*"))


def test_a_folder_that_is_no_extract_is_refused(ingested: Ingested, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(InputFileError, match="holds neither an SS 12000 extract"):
        ingest_extract(tmp_path, tmp_path / "data", key_file=ingested.key_file)


def test_a_pseudonym_collision_across_pages_stops_the_ingest(ingested: Ingested) -> None:
    """Ids are deduplicated first, so a pseudonym met again must belong to another id."""
    from linkage.sources._quarantine import Quarantine
    from linkage.sources.ss12000._sink import PageSink
    from medler.errors import InputFileError
    from pseudonymise import Domain

    sink = PageSink(None, Quarantine(), None, "test", None)  # type: ignore[arg-type]
    sink.refuse_collisions(Domain.LESSON, [1, 2, 3])
    with pytest.raises(InputFileError, match=r"^1 pseudonym is shared by different identifiers"):
        sink.refuse_collisions(Domain.LESSON, [4, 2])
