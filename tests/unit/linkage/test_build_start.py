"""A build writes its tables with the engine and never needs pyarrow: the row counts of the
files it writes and reads come from their Parquet footers through DuckDB
(``linkage._snapshot.parquet_rows``), the canonical tables' names from a module without
pyarrow (``linkage._canonical_names``). pyarrow's import was a tenth to a fifth of a second of
every build's start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from linkage._canonical import SCHEMAS
from linkage._canonical_names import CANONICAL_TABLES
from linkage._snapshot import parquet_rows


def test_the_canonical_names_are_the_schemas_names_in_order() -> None:
    assert tuple(SCHEMAS) == CANONICAL_TABLES


def test_parquet_rows_counts_a_file_and_the_parts_of_a_table(tmp_path: Path) -> None:
    sizes = [0, 1, 70_000, 3]
    paths = []
    for i, rows in enumerate(sizes):
        path = tmp_path / f"part {i} 'quoted'.parquet"  # a name SQL would have to quote
        table = pa.table({"n": pa.array(range(rows), type=pa.int64())})
        pq.write_table(table, path, row_group_size=20_000)  # several row groups
        paths.append(path)
        assert parquet_rows(path) == rows == pq.ParquetFile(path).metadata.num_rows
    assert parquet_rows(paths) == sum(sizes)
    assert parquet_rows([]) == 0


def test_the_build_command_loads_neither_pyarrow_nor_ibis() -> None:
    # what ``medler build`` imports before it opens the engine (a compiled plan is replayed
    # without Ibis: ``linkage._plans``)
    code = (
        "import sys, api.cli._build, linkage._build, linkage._basis, linkage._snapshot; "
        "print(sorted(m for m in ('pyarrow', 'ibis', 'polars', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
