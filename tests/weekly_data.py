"""A synthetic municipality's extract with two weekly deliveries after it, and the checks the
weekly-delivery tests share: the registers ingested, the research tables read back, and two sets
of research tables compared (``tests/unit/linkage/research``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from linkage import current_snapshot, table_files
from linkage._build import RESEARCH, STUDENT_LESSONS, TABLES
from linkage._registers import ingest_register
from linkage.sources.synthetic import DELIVERIES, SynthConfig, generate_municipality
from pseudonymise import create_key_file

ALL_TABLES = (*TABLES, STUDENT_LESSONS)


@dataclass(frozen=True)
class Deliveries:
    """The extract (the first weeks), the last two weeks as deliveries, registers and key."""

    extract: Path
    week5: Path
    week6: Path
    registers: Path
    key: Path


def make_deliveries(config: SynthConfig, root: Path) -> Deliveries:
    """``config``'s municipality (six weeks, two delivered weekly) generated in ``root``."""
    out = generate_municipality(config, root / "extract").out
    key = root / "key.json"
    create_key_file(key)
    return Deliveries(
        out / "ss12000",
        out / DELIVERIES / "week-05",
        out / DELIVERIES / "week-06",
        out / "registers",
        key,
    )


def ingest_registers(source: Deliveries, data: Path) -> None:
    for kind, name in (("teachers", "teacher"), ("students", "student")):
        ingest_register(kind, source.registers / f"{name}_register.csv", data, key_file=source.key)


def research_tables(data: Path) -> dict[str, pl.DataFrame]:
    """Every research table of the current research snapshot (``student_lessons`` too)."""
    snapshot = current_snapshot(data / RESEARCH)
    return {name: pl.read_parquet(table_files(snapshot, name)) for name in ALL_TABLES}


def assert_same_tables(left: dict[str, pl.DataFrame], right: dict[str, pl.DataFrame]) -> None:
    """The same rows in every table, none empty: integers, strings, flags and dates exactly,
    floats to 1e-12 relative (the last bits of a sum depend on the order the engine adds in,
    even between two full builds)."""
    for name in ALL_TABLES:
        one, other = left[name], right[name]
        assert one.schema == other.schema, name
        assert one.height == other.height > 0, name
        columns = one.columns
        assert_frame_equal(
            one.sort(columns, nulls_last=True),
            other.sort(columns, nulls_last=True),
            check_exact=False,
            rel_tol=1e-12,
            abs_tol=0,
        )
