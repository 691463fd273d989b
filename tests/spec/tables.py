"""Spec tables: canonical tables written as small text tables, typed by the canonical schemas.

    lessons = '''
        lesson_pid | activity_pid | local_date | minutes | cancelled
        1          | 10           | 2026-08-17 | 60      | F
    '''

A blank cell is null; ``T``/``F`` are booleans. Columns not written are null; tables not given
are empty.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from linkage._canonical import SCHEMAS
from linkage.research import research_tables


def _cell(text: str, kind: pa.DataType) -> object:
    if text == "":
        return None
    parsers: list[tuple[object, object]] = [
        (pa.types.is_boolean, {"T": True, "F": False}.__getitem__),
        (pa.types.is_integer, int),
        (pa.types.is_floating, float),
        (pa.types.is_date, dt.date.fromisoformat),
        (pa.types.is_timestamp, dt.datetime.fromisoformat),
    ]
    for test, parse in parsers:
        if test(kind):  # type: ignore[operator]
            return parse(text)  # type: ignore[operator]
    return text


def spec_tables(**texts: str) -> dict[str, ir.Table]:
    out = {}
    for name, schema in SCHEMAS.items():
        lines = [ln.strip() for ln in texts.get(name, "").strip().splitlines() if ln.strip()]
        header = [h.strip() for h in lines[0].split("|")] if lines else []
        rows = [[c.strip() for c in ln.split("|")] for ln in lines[1:]]
        columns = {
            f.name: [
                _cell(row[header.index(f.name)], f.type) if f.name in header else None
                for row in rows
            ]
            for f in schema
        }
        out[name] = ibis.memtable(pa.table(columns, schema=schema))
    return out


def rows(table: ir.Table) -> list[tuple[object, ...]]:
    """The rows of a result, sorted, as tuples."""
    return sorted(tuple(r.values()) for r in ibis.duckdb.connect().to_pyarrow(table).to_pylist())


def dicts(table: ir.Table) -> list[dict[str, object]]:
    """The rows of a result as dictionaries, in no particular order."""
    result: list[dict[str, object]] = ibis.duckdb.connect().to_pyarrow(table).to_pylist()
    return result


def research(t: dict[str, ir.Table]) -> dict[str, ir.Table]:
    """Every research table of the spec tables ``t`` (``student_lessons`` too), as the build
    makes them (``linkage.research.research_tables``), as expressions."""
    tables: dict[str, ir.Table] = {}

    def emit(name: str, expression: ir.Table) -> ir.Table:
        tables[name] = expression
        return expression

    research_tables(t, emit, with_student_lessons=True)
    return tables
