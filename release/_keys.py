"""Public keys: the values a group-by column may take, from public sources, never from the
research rows. A differentially private release is computed over exactly these cells (a left
join from the key set), so which keys occur in the data is never revealed and costs nothing."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import polars as pl

from linkage import table_parts
from release._errors import QueryRefused
from release._policy import KeySource, Table


def _calendar(unit: str, period: dict[str, str | None]) -> list[str]:
    if not period.get("first_day") or not period.get("last_day"):
        return []
    first = dt.date.fromisoformat(str(period["first_day"]))
    last = dt.date.fromisoformat(str(period["last_day"]))
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if unit == "month":
        return [f"{y}-{m:02d}" for y, m in months]
    return list(dict.fromkeys(f"{y}{'HT' if m >= 7 else 'VT'}" for y, m in months))


def key_values(
    source: KeySource, *, canonical: Path, manifest: dict[str, Any], period: dict[str, Any]
) -> list[Any]:
    """The public values of one key source."""
    if source.source == "range":
        assert source.first is not None and source.last is not None
        return list(range(source.first, source.last + 1))
    if source.source == "list":
        return list(source.values or [])
    if source.source == "calendar":
        assert source.unit is not None
        return _calendar(source.unit, period)
    assert source.table is not None and source.column is not None
    entry = manifest["tables"].get(source.table)
    if entry is None:
        return []
    files = [canonical / part["file"] for part in table_parts(entry)]
    values = pl.read_parquet(files, columns=[source.column])[source.column]
    return sorted(values.drop_nulls().unique().to_list())


def key_frame(
    table: Table,
    by: tuple[str, ...],
    sources: dict[str, KeySource],
    schema: dict[str, pl.DataType],
    **where: Any,
) -> pl.DataFrame:
    """Every combination of the public values of ``by`` (flags take false and true)."""
    columns: list[list[Any]] = []
    for name in by:
        column = table.columns[name]
        if column.kind == "flag":
            columns.append([False, True])
        elif column.kind == "public_key":
            assert column.keys is not None
            columns.append(key_values(sources[column.keys], **where))
        else:
            raise QueryRefused(f"{name} has no public list of values")
    rows = list(itertools.product(*columns))
    frame = pl.DataFrame(rows, schema=list(by), orient="row")
    return frame.cast({name: schema[name] for name in by})
