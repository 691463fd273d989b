"""The snapshot writer appends batches in the background (one thread, in the order written):
every batch lands, in order; a batch that does not fit the table fails at once, in the caller;
a failure while writing surfaces at a later write or at the commit, and no snapshot is made."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linkage import _snapshot
from linkage._snapshot import SnapshotWriter, current_snapshot, read_manifest


def _batch(start: int, rows: int) -> pa.Table:
    return pa.table({"n": pa.array(range(start, start + rows), type=pa.int64())})


def test_every_batch_lands_in_the_order_written(tmp_path: Path) -> None:
    with SnapshotWriter(tmp_path) as writer:
        for i in range(50):  # more than the batches allowed under way at once
            writer.write("numbers", _batch(i * 100, 100))
            writer.write("other", _batch(i, 1))
        assert writer.rows("numbers") == 5_000
        writer.commit({})
    snapshot = current_snapshot(tmp_path)
    assert pq.read_table(snapshot / "numbers.parquet")["n"].to_pylist() == list(range(5_000))
    assert read_manifest(snapshot)["tables"]["other"]["rows"] == 50


def test_a_batch_that_does_not_fit_fails_in_the_caller(tmp_path: Path) -> None:
    with SnapshotWriter(tmp_path) as writer:
        writer.write("numbers", _batch(0, 3))
        with pytest.raises(pa.ArrowInvalid):
            writer.write("numbers", pa.table({"n": pa.array(["not a number"])}))


def test_a_failed_write_surfaces_and_no_snapshot_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[int] = []
    real = pq.ParquetWriter.write_table

    def failing(self: pq.ParquetWriter, table: pa.Table, *rest: object, **options: object) -> None:
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        written.append(table.num_rows)
        real(self, table, *rest, **options)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", failing)
    with pytest.raises(OSError, match="No space left"), SnapshotWriter(tmp_path) as writer:
        for i in range(_snapshot.WRITES_AHEAD * 3):
            writer.write("numbers", _batch(i, 1))
        writer.commit({})
    assert not (tmp_path / "CURRENT").exists()
    assert not list((tmp_path / "snapshots").glob(".staging-*"))  # cleaned up
