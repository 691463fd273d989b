"""A release as a file: CSV, JSON or Parquet, one row per cell, with its status and, in dp
mode, each value's 95 % interval. Only released values are in it (a suppressed cell's values
are empty), so this is safe to hand to whoever may read the release."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from release._releaser import Release
from release._spec import QuerySpec

FORMATS = {
    "csv": "text/csv",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}


def release_rows(release: Release) -> list[dict[str, Any]]:
    """One flat row per cell: the keys (None in a margin: "all"), the status, each measure's
    value and, in dp mode, ``<measure>_lower`` and ``<measure>_upper``."""
    spec = QuerySpec.model_validate(release.spec)
    if spec.model is not None:  # one row per parameter, its values in the order they came
        return [
            {
                "parameter": c.keys.get("parameter"),
                "status": c.status,
                **c.values,
                **{
                    f"{n}_{side}": v
                    for n in c.lower
                    for side, v in (("lower", c.lower[n]), ("upper", c.upper.get(n)))
                },
            }
            for c in release.cells
        ]
    group_by = list(spec.keys)
    measures = [m.name for m in spec.measures]
    counts = {m.name for m in spec.measures if m.kind in ("count_students", "count_teachers")}
    rows = []
    for cell in release.cells:
        row: dict[str, Any] = {}
        for key in group_by:
            value = cell.keys.get(key)
            row[key] = "all" if value is None and cell.margin else value
        row["status"] = cell.status
        for name in measures:
            value = cell.values.get(name)
            row[name] = _count(value) if name in counts and release.mode != "dp" else value
            if release.mode == "dp":
                row[f"{name}_lower"] = cell.lower.get(name)
                row[f"{name}_upper"] = cell.upper.get(name)
        rows.append(row)
    return rows


def _count(value: float | None) -> int | float | None:
    """A disclosure-controlled count is a whole number: write it as one."""
    return int(value) if value is not None and float(value).is_integer() else value


def _one_type(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A Parquet column has one type: a key column with margins ("all" beside numbers) is
    written as text."""
    mixed = {
        name for name in rows[0] if len({type(r[name]) for r in rows if r[name] is not None}) > 1
    }
    return [
        {k: (str(v) if k in mixed and v is not None else v) for k, v in r.items()} for r in rows
    ]


def export_release(release: Release, fmt: str) -> bytes:
    """The release as ``fmt`` (csv, json or parquet)."""
    rows = release_rows(release)
    if fmt == "json":
        body = {
            "release_id": release.release_id,
            "mode": release.mode,
            "snapshot": release.snapshot,
            "policy_version": release.policy_version,
            "rho": release.rho,
            "spec": release.spec,
            "notes": release.notes,
            "rows": rows,
        }
        return json.dumps(body, indent=2, default=str).encode()
    if fmt == "csv":
        out = io.StringIO()
        columns = list(rows[0]) if rows else ["status"]
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().encode()
    if fmt == "parquet":
        table = (
            pa.Table.from_pylist(_one_type(rows))
            if rows
            else pa.table({"status": pa.array([], pa.string())})
        )
        metadata = {
            b"medler": json.dumps(
                {k: v for k, v in asdict(release).items() if k != "cells"}, default=str
            ).encode()
        }
        table = table.replace_schema_metadata(metadata)
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
