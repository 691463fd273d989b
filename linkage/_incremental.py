"""The incremental build: after weekly deliveries, recompute only the months and terms they
touched, and take every other row from the research snapshot built before them.

Whether it may: the current canonical snapshot must descend, by deliveries alone
(``linkage._deliveries``), from the snapshot the current research snapshot was built from, and
no delivery may have changed a table other than the bulk ones (a pupil's enrolment or a group's
members changed reaches back into every month; a register ingested likewise). Otherwise the
build is a full one, and says why.

What is recomputed, by the same function as a full build (``linkage.research.research_tables``,
given a ``Scope`` of the plan's months and terms as one-column tables, ``scope_files``, so that
the statements do not depend on them and a compiled plan serves every week,
``linkage._plans``): ``student_lessons`` (when built), ``student_months`` and
``quality`` for the months of the deliveries' lessons; every other table for the terms of those
months, from the terms' lessons alone: what teacher turnover reads of the term before (the
pupils' regular teachers) is kept in the research snapshot (``TURNOVER_BASIS``), so a data
directory of many terms costs an incremental build one term's lessons, not two. Every row of
these tables depends only on its own month's or term's lessons (and, for turnover, that kept
table), so ``merge`` takes every other row from the earlier research snapshot; a full rebuild
gives the same tables (tested on both engines). A research snapshot built before the table
was kept lacks it, and the build after it is a full one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from linkage._backends import sql_quoted
from linkage._snapshot import MANIFEST, POINTER, SNAPSHOTS, read_manifest

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from linkage._backends import ComputeBackend
    from linkage.research import Scope


@dataclass(frozen=True)
class Plan:
    """What an incremental build recomputes, and the research snapshot it takes the rest from."""

    previous: Path
    months: tuple[str, ...]
    terms: tuple[str, ...]

    def record(self) -> dict[str, object]:
        return {"onto": self.previous.name, "months": list(self.months), "terms": list(self.terms)}


SCOPE_TABLES = ("month", "term")  # views ``scope_<name>`` (``scope_files``)


def scope_files(plan: Plan, folder: Path) -> dict[str, Path]:
    """The plan's months and terms as one-column Parquet files in ``folder``, read as the
    views ``scope_<name>`` (``scope_tables``). Written by DuckDB (pyarrow's conversion of
    Python lists would load pandas)."""
    import duckdb

    values = {"month": ("month", plan.months), "term": ("term", plan.terms)}
    files = {}
    with duckdb.connect() as con:
        for name in SCOPE_TABLES:
            column, listed = values[name]
            files[name] = folder / f"scope_{name}.parquet"
            con.execute(
                f'CREATE TABLE "{name}" AS SELECT unnest(?::VARCHAR[]) AS "{column}"',
                [list(listed)],
            )
            con.execute(f"COPY \"{name}\" TO '{sql_quoted(str(files[name]))}' (FORMAT parquet)")
    return files


def scope_tables(e: ComputeBackend, files: dict[str, Path]) -> Scope:
    """The ``Scope`` of the tables of ``scope_files``, on the backend."""
    from linkage.research import Scope

    tables = {name: e.read_parquet(files[name], f"scope_{name}") for name in SCOPE_TABLES}
    return Scope(tables["month"], tables["term"])


def plan_incremental(
    data_dir: Path, research: Path, canonical: Path, tables: tuple[str, ...]
) -> Plan | str:
    """The plan, or why the build must be a full one."""
    previous = _research_in_use(research, tables)
    if isinstance(previous, str):
        return previous
    built_from = (read_manifest(previous).get("built_from") or {}).get("snapshot_id")
    months: set[str] = set()
    here = canonical
    while True:
        manifest = read_manifest(here)
        if manifest["snapshot_id"] == built_from:
            break
        delivery = manifest.get("delivery")
        if not isinstance(delivery, dict) or "previous_snapshot" in manifest:
            return (
                f"the canonical snapshot {manifest['snapshot_id']} is not a weekly delivery onto "
                f"the snapshot the research tables were built from ({built_from})"
            )
        if delivery.get("full_build"):  # the delivery says why (``DeliveryRules.full_build``)
            return f"the delivery {delivery['folder']}: {delivery['full_build']}"
        if delivery["changed"]:
            return (
                f"the delivery {delivery['folder']} changed {', '.join(delivery['changed'])}, "
                "which every month depends on"
            )
        months.update(delivery["months"])
        here = data_dir / SNAPSHOTS / str(delivery["onto"])
        if not (here / MANIFEST).is_file():
            return f"the snapshot {delivery['onto']} a delivery was added onto is gone"
    terms = sorted({f"{m[:4]}{'HT' if int(m[5:7]) >= 7 else 'VT'}" for m in months})
    return Plan(previous, tuple(sorted(months)), tuple(terms))


def _research_in_use(research: Path, tables: tuple[str, ...]) -> Path | str:
    """The research snapshot in use, or why there is none to add to."""
    pointer = research / POINTER
    if not pointer.is_file():
        return "there is no research snapshot to add to yet"
    previous = research / SNAPSHOTS / pointer.read_text(encoding="utf-8").strip()
    if not (previous / MANIFEST).is_file():
        return "the research snapshot in use is missing"
    if any(name not in read_manifest(previous)["tables"] for name in tables):
        return "the research snapshot in use lacks some of the tables"
    return previous


def previous_files(plan: Plan) -> dict[str, Path]:
    """The files of the research snapshot the plan adds to, by table."""
    manifest = read_manifest(plan.previous)["tables"]
    return {name: plan.previous / entry["file"] for name, entry in manifest.items()}


def merge(earlier: ir.Table, new: ir.Table, column: str, recomputed: ir.Column) -> ir.Table:
    """``earlier``'s rows whose ``column`` is none of ``recomputed`` (a column of months or
    terms), and ``new`` (those rows recomputed), in ``earlier``'s columns and types."""
    kept = earlier.filter(~earlier[column].isin(recomputed))
    return kept.union(new.select(*earlier.columns).cast(earlier.schema()))
