"""The ingest reads with Python's cyclic garbage collector paused (``medler._collector``),
which is safe only while reading makes no reference cycles: were it to make some per record or
per page, memory would grow with the extract until the ingest ends. These tests hold that
claim to account on a full read, a weekly delivery and an extract whose bad records are
quarantined, and check the pause itself."""

from __future__ import annotations

import gc
import shutil
import threading
from pathlib import Path

import pytest

from linkage._ingest import ingest_extract
from linkage.sources.synthetic import SynthConfig
from medler._collector import collector_paused
from tests.weekly_data import make_deliveries

# objects an ingest leaves in cycles, after a first one (the libraries' first uses make a
# few, once): 33 each here, whether it read 200 pupils or 20,000 (its worker pool's
# bookkeeping); a cycle per record or per page would leave thousands
AT_MOST = 100


def test_the_collector_is_paused_inside_and_as_it_was_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("the block fails")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # left off, as it was
    finally:
        gc.enable()


def test_overlapping_pauses_end_once_the_last_ends() -> None:
    """Two ingests in two threads of one process: the first to finish must not turn the
    collector on under the second, nor the second leave it off for good."""
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def first() -> None:
        with collector_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with collector_paused():
            second_in.set()
            first_out.wait(5)
            seen["after the first ended"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == {"after the first ended": False}
    assert gc.isenabled()
    with collector_paused(), collector_paused():  # nested
        assert not gc.isenabled()
    assert gc.isenabled()


def _spoil(extract: Path, into: Path) -> Path:
    """A copy of ``extract`` whose attendance and lesson records fail their checks (a flag
    written as text): every page goes record by record, and its records to the quarantine."""
    shutil.copytree(extract, into)
    for resource in ("attendances", "calendarEvents"):
        for page in (into / resource).glob("*.json"):
            text = page.read_text(encoding="utf-8")
            text = text.replace('"isReported":true', '"isReported":"yes"')
            page.write_text(text.replace('"cancelled":false', '"cancelled":"no"'), "utf-8")
    return into


def test_reading_an_extract_makes_no_cycles(tmp_path: Path) -> None:
    source = make_deliveries(SynthConfig(students=200, seed=3, weeks=6, deliveries=2), tmp_path)
    spoilt = _spoil(source.extract, tmp_path / "spoilt")
    # a first ingest: the libraries' first uses leave what they leave
    ingest_extract(source.extract, tmp_path / "first", key_file=source.key)
    data = tmp_path / "data"
    ingests = {
        "a full read": lambda: ingest_extract(source.extract, data, key_file=source.key),
        "a weekly delivery": lambda: ingest_extract(
            source.extract, data, key_file=source.key, updates=[source.week5], delivery=True
        ),
        "an extract of bad records": lambda: ingest_extract(
            spoilt, tmp_path / "spoilt-data", key_file=source.key
        ),
    }
    for what, ingest in ingests.items():
        gc.collect()
        gc.disable()  # nothing is collected until counted
        try:
            report = ingest()
            left = gc.collect()
        finally:
            gc.enable()
        assert left <= AT_MOST, f"{what}: {left} objects left in reference cycles"
        if what == "an extract of bad records":  # the case is the one named: all set aside
            attendance = report.counts["attendances"]
            assert attendance.read > 0 and attendance.quarantined == attendance.read
