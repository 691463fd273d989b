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
table), so every other row is taken from the earlier research snapshot; a full rebuild gives
the same tables (tested on both engines). A research snapshot built before the table was kept
lacks it, and the build after it is a full one.

How the other rows are taken: a research table is held in parts, each with the months or terms
it holds in its manifest entry (``periods``; a DuckDB build writes a file per month or term).
A part that holds none of the periods recomputed is shared with the new snapshot, the same file
(``previous_parts``); a part that holds only recomputed ones is left behind; a part that holds
both (written by Spark, one file per table, or before parts were kept by period) has its rows
of the other periods written again, once, as parts of their own. So a week in the spring term
writes the spring's rows, not the autumn's again: the cost of an incremental build follows the
periods it recomputes, not the data directory's length.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linkage._backends import sql_quoted
from linkage._snapshot import MANIFEST, POINTER, SNAPSHOTS, read_manifest, table_parts
from linkage.research._names import PERIOD

if TYPE_CHECKING:
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


@dataclass(frozen=True)
class Parts:
    """What an incremental build does with the parts of one table of the research snapshot it
    adds to: ``shared``, the parts that hold none of the periods it recomputes (their manifest
    entries, ``table_parts``), as they are; ``split``, the parts that hold some of them
    besides others (or whose periods were not recorded), whose rows of the other periods it
    writes again, once. A part that holds only recomputed periods is left behind."""

    shared: tuple[dict[str, Any], ...]
    split: tuple[Path, ...]
    any_part: Path  # a file of the table: its schema, when no part is split


def previous_parts(plan: Plan, names: Iterable[str]) -> dict[str, Parts]:
    """The ``Parts`` of each table ``names`` of the research snapshot the plan adds to, by the
    periods (``PERIOD``: months or terms) each part holds."""
    tables = read_manifest(plan.previous)["tables"]
    planned = {}
    for name in names:
        recomputed = set(plan.months if PERIOD[name] == "month" else plan.terms)
        shared, split = [], []
        parts = table_parts(tables[name])
        for part in parts:
            held = part.get("periods")
            if held is None or None in held or not recomputed.issuperset(held):
                if held is not None and None not in held and recomputed.isdisjoint(held):
                    shared.append(part)
                else:
                    split.append(plan.previous / part["file"])
        planned[name] = Parts(tuple(shared), tuple(split), plan.previous / parts[0]["file"])
    return planned
