"""Duplicate attendance records: one (lesson, pupil) pair registered more than once.

Rule: the latest registration (``reportedTimestamp``) wins; among equals, the record read
first (with incremental extracts, the newest extract is read first). The others are removed
from the ``attendance`` table and quarantined with their file and position.

The pass runs once the whole table is written, in DuckDB, which spills to disk rather than
holding tens of millions of pairs in memory; when nothing is duplicated (the usual case, found
by grouping the pairs before ranking them) the table is left as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from linkage._canonical import SCHEMAS

if TYPE_CHECKING:
    from linkage.sources._adapter import ResourceCount
    from linkage.sources._quarantine import Quarantine

REASON = "the same lesson and pupil again (the latest registration is kept)"
MEMORY_LIMIT = "1GB"


def deduplicate_attendance(
    old: Path, new: Path, quarantine: Quarantine, count: ResourceCount
) -> int | None:
    """A ``SnapshotWriter.rewrite`` pass over the attendance table."""
    with duckdb.connect() as con:
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute("SET temp_directory = ?", [str(old.parent / ".duckdb-spill")])
        con.execute("SET preserve_insertion_order = true")
        # the usual case first: no pair twice, found by a grouping (a third of the window's
        # time), and the table left as it is
        (twice,) = con.execute(
            "SELECT count(*) FROM (SELECT 1 FROM read_parquet(?) "
            "GROUP BY lesson_pid, student_pid HAVING count(*) > 1)",
            [str(old)],
        ).fetchone() or (0,)
        if not twice:
            return None
        source = "read_parquet(?, file_row_number = true)"
        con.execute(
            f"""
            CREATE TEMP TABLE losers AS
            SELECT file_row_number, source_file, source_position FROM (
                SELECT file_row_number, source_file, source_position,
                       count(*) OVER pair AS n,
                       row_number() OVER (pair ORDER BY reported_at DESC NULLS LAST,
                                          file_row_number) AS rank
                FROM {source}
                WINDOW pair AS (PARTITION BY lesson_pid, student_pid)
            ) WHERE n > 1 AND rank > 1
        """,
            [str(old)],
        )
        losers = con.execute(
            "SELECT source_file, source_position FROM losers ORDER BY file_row_number"
        ).fetchall()
        for source_file, position in losers:
            quarantine.add("attendances", source_file, position, "(calendarEvent, student)", REASON)
        count.accepted -= len(losers)
        count.quarantined += len(losers)
        schema = SCHEMAS["attendance"]
        quoted = str(old).replace("'", "''")  # the staging file's own path, not user input
        survivors: pa.RecordBatchReader = con.sql(f"""
            SELECT {", ".join(schema.names)}
            FROM read_parquet('{quoted}', file_row_number = true)
            WHERE file_row_number NOT IN (SELECT file_row_number FROM losers)
            ORDER BY file_row_number
        """).to_arrow_reader(200_000)
        rows = 0
        with pq.ParquetWriter(new, schema, compression="zstd") as writer:
            for batch in survivors:
                writer.write_table(pa.Table.from_batches([batch]).cast(schema))
                rows += batch.num_rows
        return rows
