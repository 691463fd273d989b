"""The one module of medler that opens research rows.

Everything else in the release layer sees research tables only as ``PrivateFrame`` objects:
a wrapper around a Polars lazy frame whose ``repr`` shows no values, which refuses
``collect()``, and whose rows can only come out through the functions below — each of which
returns aggregates (cells of at least one person, never rows) or runs an OpenDP measurement.

Rows per person and cell are first *collapsed* to one value per person (the person's mean of a
measure over their rows in the cell, their sum for sums, whether any row carries a flag), so
that in both modes a person counts once per cell, and a differentially private release sees
each person at most once per cell.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from release._errors import RowAccessRefused

UNIT = "__unit"  # the privacy unit's column after collapsing (never in any output)
ROW = "__row"  # a constant column of the rows a measurement reads
NTH = "__nth"  # a row's position among its person's rows
RANK = "__rank:"  # the rank of a key's value among its person's values


class PrivateFrame:
    """Research rows, wrapped. Shows its columns, never its values; cannot be collected."""

    __slots__ = ("__frame", "name")

    def __init__(self, name: str, frame: pl.LazyFrame) -> None:
        self.name = name
        self.__frame = frame

    def __repr__(self) -> str:
        return f"PrivateFrame({self.name!r}, columns={self.columns})"

    @property
    def columns(self) -> list[str]:
        return [c for c in self.__frame.collect_schema().names() if not c.startswith("__")]

    def schema(self) -> dict[str, pl.DataType]:
        return {k: v for k, v in self.__frame.collect_schema().items() if not k.startswith("__")}

    def collect(self) -> None:
        raise RowAccessRefused(
            "a private frame is never collected; research rows leave only as aggregates "
            "through release.preview or release.release"
        )

    def __getstate__(self) -> None:
        raise RowAccessRefused("a private frame cannot be pickled")

    def _lazy(self) -> pl.LazyFrame:
        return self.__frame


def open_table(
    path: Path, name: str, *, unit: str | None = None, ranked: Sequence[str] = ()
) -> PrivateFrame:
    """A research table as a private frame, read into memory once. With ``unit``, each row's
    position among its person's rows (``NTH``) and, for each ``ranked`` column, the rank of its
    value among the person's values are computed once here, so that bounding a person's rows
    is a plain filter in every later query."""
    frame = pl.read_parquet(path)
    ranked = [c for c in ranked if c in frame.columns]
    if unit is not None:
        frame = frame.with_columns(
            pl.int_range(pl.len()).over(unit).alias(NTH),
            *(pl.col(c).rank("dense").over(unit).alias(RANK + c) for c in ranked),
        )
    return PrivateFrame(name, frame.lazy())


@dataclass(frozen=True)
class Collapse:
    """How to turn a table's rows into one row per person and cell.

    ``by``: the cell's key columns; ``unit``: the person's column; ``filters``: Polars
    predicates, already checked against the catalogue; ``means`` / ``sums``: measure columns
    with their clamping bounds; ``flags``: flag columns; ``max_rows``: the most rows one
    person may keep (beyond it, extra rows are dropped, deterministically, before anything is
    computed, so the bound the privacy analysis relies on always holds).
    """

    by: tuple[str, ...]
    unit: str
    filters: tuple[pl.Expr, ...]
    means: dict[str, tuple[float, float]]
    sums: dict[str, tuple[float, float]]
    flags: tuple[str, ...]
    max_rows: int
    key_limits: tuple[tuple[str, int], ...] = ()

    @property
    def reach(self) -> int:
        """The most cells one person's collapsed rows can fall in (before counting cells)."""
        limits = dict(self.key_limits)
        if self.by and all(k in limits for k in self.by):
            product = 1
            for k in self.by:
                product *= limits[k]
            return min(self.max_rows, product)
        return self.max_rows


def _bounded(lf: pl.LazyFrame, c: Collapse) -> pl.LazyFrame:
    """Keep at most ``max_rows`` rows per person, and of each limited key column at most its
    limit of distinct values per person. The frame's row order is fixed (it is read once), so
    the same rows are kept every time. Positions and ranks come from ``open_table`` when it
    computed them, else they are computed here."""
    names = set(lf.collect_schema().names())
    for column, limit in c.key_limits:
        rank = (pl.col(RANK + column) if RANK + column in names
                else pl.col(column).rank("dense").over(c.unit))  # fmt: skip
        lf = lf.filter(rank <= limit)
    nth = pl.col(NTH) if NTH in names else pl.int_range(pl.len()).over(c.unit)
    return lf.filter(nth < c.max_rows)


def _collapsed(frame: PrivateFrame, c: Collapse) -> pl.LazyFrame:
    lf = frame._lazy()
    for predicate in c.filters:
        lf = lf.filter(predicate)
    lf = _bounded(lf, c)
    aggregates = [
        *(pl.col(m).clip(lo, hi).mean().alias(m) for m, (lo, hi) in c.means.items()),
        *(pl.col(m).clip(lo, hi).sum().alias(f"sum:{m}") for m, (lo, hi) in c.sums.items()),
        *(pl.col(f).fill_null(False).any().cast(pl.Float64).alias(f) for f in c.flags),
        pl.lit(True).alias(ROW),  # one per person and cell, so the frame is never empty
    ]
    schema = frame.schema()
    widened = [pl.col(k).cast(key_dtype(schema[k])) for k in c.by]
    return lf.group_by([c.unit, *c.by]).agg(aggregates).rename({c.unit: UNIT}).with_columns(widened)


def key_dtype(dtype: pl.DataType) -> pl.DataType:
    """Group keys are carried as 64-bit integers (OpenDP groups by no smaller integer)."""
    return pl.Int64() if dtype.is_integer() else dtype


def population(frame: PrivateFrame, unit: str, filters: Sequence[pl.Expr]) -> int:
    """How many distinct persons the filters leave (for the minimum-population rule)."""
    lf = frame._lazy()
    for predicate in filters:
        lf = lf.filter(predicate)
    return int(lf.select(pl.col(unit).n_unique()).collect().item())


def exact_cells(
    frame: PrivateFrame,
    c: Collapse,
    teachers: PrivateFrame | None = None,
    teacher_join: Sequence[str] = (),
    teacher_column: str | None = None,
    quantiles: dict[str, tuple[str, float]] | None = None,
) -> pl.DataFrame:
    """Exact aggregates per cell: ``students`` (distinct persons), optionally ``teachers``
    (distinct teachers behind the cell), and per measure its mean, sum, share, with the two
    largest personal contributions to each sum (for the dominance rules)."""
    people = _collapsed(frame, c)
    aggregates: list[pl.Expr] = [pl.len().alias("students")]
    for m in c.means:
        aggregates += [pl.col(m).mean().alias(f"mean:{m}"), pl.col(m).sum().alias(f"total:{m}"),
                       pl.col(m).count().alias(f"n:{m}")]  # fmt: skip
    for m in c.sums:
        values = pl.col(f"sum:{m}")
        top = values.abs().top_k(2).implode()
        aggregates += [values.sum().alias(f"sum:{m}"),
                       top.list.get(0, null_on_oob=True).alias(f"sum:{m}__top1"),
                       top.list.get(1, null_on_oob=True).alias(f"sum:{m}__top2")]  # fmt: skip
    for f in c.flags:
        aggregates += [pl.col(f).mean().alias(f"share:{f}"), pl.col(f).sum().alias(f"count:{f}")]
    for name, (m, q) in (quantiles or {}).items():
        aggregates.append(pl.col(m).quantile(q, interpolation="linear").alias(name))

    def grouped(frame_: pl.LazyFrame, exprs: list[pl.Expr]) -> pl.LazyFrame:
        return frame_.group_by(list(c.by)).agg(exprs) if c.by else frame_.select(exprs)

    lf = grouped(people, aggregates)
    if teacher_column is not None:
        if teachers is None:  # the table's own teacher column: the unit is the teacher
            counted = grouped(people, [pl.col(UNIT).n_unique().alias("teachers")])
        else:
            rows = frame._lazy()
            for predicate in c.filters:
                rows = rows.filter(predicate)
            pairs = rows.select(list(dict.fromkeys([*teacher_join, *c.by]))).join(
                teachers._lazy().select([*teacher_join, teacher_column]), on=list(teacher_join)
            )
            counted = grouped(pairs, [pl.col(teacher_column).n_unique().alias("teachers")])
        lf = (lf.join(counted, on=list(c.by), how="left", nulls_equal=True) if c.by
              else lf.join(counted, how="cross"))  # fmt: skip
    return lf.collect()


def measure_input(frame: PrivateFrame, c: Collapse) -> pl.LazyFrame:
    """The collapsed rows a differentially private measurement reads (one per person and
    cell). Only ``run_measurement`` may use it."""
    return _collapsed(frame, c).drop(UNIT)


def run_measurement(
    frame: PrivateFrame, c: Collapse, measurement: Callable[[pl.LazyFrame], Any]
) -> pl.DataFrame:
    """Run an OpenDP measurement on the collapsed rows and return its (noisy) release."""
    # collected first: OpenDP serialises the frame it is given, and a lazy frame over the
    # whole table would carry every row of it across, not just the collapsed ones
    released = measurement(measure_input(frame, c).collect().lazy())
    result = released.collect() if hasattr(released, "collect") else released
    assert isinstance(result, pl.DataFrame)
    return result


ALL = "all"  # the cell id of an ungrouped release
MARGIN_KEY = "*"  # a summed-out key in a margin's cell id
SEPARATOR = "\x1f"


def _text(value: Any) -> str:
    """A key value as Polars writes it as text (booleans as true / false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cell_id(values: Sequence[Any]) -> str:
    """The id of a cell from its key values in group-by order (None = summed out)."""
    if not values:
        return ALL
    return SEPARATOR.join(MARGIN_KEY if v is None else _text(v) for v in values)


def atoms(
    frame: PrivateFrame, collapses: Sequence[Collapse]
) -> tuple[list[list[list[str]]], list[int]]:
    """The finest partition of persons that a set of releases on one table induces: persons
    who fall in exactly the same cells of every release form one *atom*. Returns, per atom, the
    cell ids it belongs to in each release, and how many persons it holds (used only to check
    that the audit's equations hold for the truth). Every cell of every release is a sum over
    atoms, which lets the audit see what releases reveal in combination."""
    signatures: pl.LazyFrame | None = None
    for i, c in enumerate(collapses):
        lf = _bounded(_filtered(frame, c), c)
        key = (
            pl.concat_str([pl.col(k).cast(pl.String) for k in c.by], separator=SEPARATOR)
            if c.by else pl.lit(ALL)
        )  # fmt: skip
        cells = lf.select(pl.col(c.unit).alias(UNIT), key.alias("cell")).unique()
        sig = cells.group_by(UNIT).agg(pl.col("cell").sort().alias(f"r{i}"))
        signatures = (
            sig if signatures is None
            else signatures.join(sig, on=UNIT, how="full", coalesce=True)
        )  # fmt: skip
    assert signatures is not None
    columns = [f"r{i}" for i in range(len(collapses))]
    empty = pl.lit([], dtype=pl.List(pl.String))
    grouped = (
        signatures.with_columns(pl.col(c).fill_null(empty) for c in columns)
        .group_by(columns)
        .agg(pl.len().alias("persons"))
        .collect()
    )
    members = [[list(row[c]) for c in columns] for row in grouped.iter_rows(named=True)]
    return members, [int(n) for n in grouped["persons"].to_list()]


def _filtered(frame: PrivateFrame, c: Collapse) -> pl.LazyFrame:
    lf = frame._lazy()
    for predicate in c.filters:
        lf = lf.filter(predicate)
    return lf
