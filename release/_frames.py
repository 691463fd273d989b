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
from release._intervals import QUANTILE_BINS
from release._sdc import LEVEL, STUDENTS, TEACHER_TOP, TEACHERS

UNIT = "__unit"  # the privacy unit's column after collapsing (never in any output)
ROW = "__row"  # a constant column of the rows a measurement reads
NTH = "__nth"  # a row's position among its person's rows
RANK = "__rank:"  # the rank of a key's value among its person's values
BIN = "bin:"  # a person's bin of a measure, for a dp quantile (``Collapse.bins``)


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
    path: Path | list[Path], name: str, *, unit: str | None = None, ranked: Sequence[str] = ()
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
    derived: tuple[tuple[str, pl.Expr], ...] = ()
    bins: tuple[str, ...] = ()
    quantile_only: tuple[str, ...] = ()  # means kept for a dp quantile's bins alone

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
        rank = (
            pl.col(RANK + column)
            if RANK + column in names
            else pl.col(column).rank("dense").over(c.unit)
        )
        lf = lf.filter(rank <= limit)
    nth = pl.col(NTH) if NTH in names else pl.int_range(pl.len()).over(c.unit)
    return lf.filter(nth < c.max_rows)


def _collapsed(frame: PrivateFrame, c: Collapse) -> pl.LazyFrame:
    lf = _bounded(_filtered(frame, c), c)
    aggregates = [
        *(pl.col(m).clip(lo, hi).mean().alias(m) for m, (lo, hi) in c.means.items()),
        *(pl.col(m).clip(lo, hi).sum().alias(f"sum:{m}") for m, (lo, hi) in c.sums.items()),
        *(pl.col(f).fill_null(False).any().cast(pl.Float64).alias(f) for f in c.flags),
        pl.lit(True).alias(ROW),  # one per person and cell, so the frame is never empty
    ]
    schema = frame.schema()
    widened = [pl.col(k).cast(key_dtype(schema.get(k, pl.String()))) for k in c.by]
    bins = []
    for m in c.bins:
        lo, hi = c.means[m]
        at = ((pl.col(m) - lo) / (hi - lo) * QUANTILE_BINS).floor()
        bins.append(at.clip(0, QUANTILE_BINS - 1).cast(pl.Int64).alias(BIN + m))
    grouped = lf.group_by([c.unit, *c.by]).agg(aggregates).rename({c.unit: UNIT})
    return grouped.with_columns(*widened, *bins)


def key_dtype(dtype: pl.DataType) -> pl.DataType:
    """Group keys are carried as 64-bit integers (OpenDP groups by no smaller integer)."""
    return pl.Int64() if dtype.is_integer() else dtype


def population(frame: PrivateFrame, unit: str, filters: Sequence[pl.Expr]) -> int:
    """How many distinct persons the filters leave (for the minimum-population rule)."""
    lf = frame._lazy()
    for predicate in filters:
        lf = lf.filter(predicate)
    return int(lf.select(pl.col(unit).n_unique()).collect().item())


@dataclass(frozen=True)
class TeacherLink:
    """Where the teachers behind a pupil table's rows are: ``frame`` (one row per pupil, key
    and teacher, with the teacher's ``minutes``), joined on ``on``; ``column`` is the teacher."""

    frame: PrivateFrame
    on: tuple[str, ...]
    column: str
    minutes: str | None = "minutes"


def exact_table(
    frame: PrivateFrame,
    c: Collapse,
    *,
    levels: Sequence[tuple[str, ...]] | None = None,
    per_teacher: pl.DataFrame | None = None,
    teacher_top_n: int = 1,
    own_teachers: bool = False,
    quantiles: dict[str, tuple[str, float]] | None = None,
) -> pl.DataFrame:
    """Exact aggregates, one row per cell of every level: ``levels`` are the key sets to group
    by (the first is ``c.by``, the interior; each other a margin, whose summed-out keys are
    null). Every row carries every input a primary rule needs, margins included:

    - ``students``: persons in the cell (in a margin, the sum of its cells' counts, so that a
      margin is the sum of its cells);
    - per mean ``mean:m``, ``total:m`` and ``n:m``; per sum ``sum:m`` with the two largest
      personal contributions (``sum:m__top1``, ``__top2``); per flag ``share:f`` and ``count:f``;
    - per quantile its value and how many persons lie strictly below (``name__below``) and
      strictly above it (``name__above``);
    - with ``per_teacher`` (``teacher_minutes``: each teacher's minutes behind each interior
      cell), or ``own_teachers`` where the table's persons are teachers: ``teachers``, the
      distinct teachers behind the cell, and ``TEACHER_TOP``, the share of the cell's teacher
      minutes given by its ``teacher_top_n`` teachers with most.
    """
    people = _collapsed(frame, c).collect().lazy()
    quantiles = quantiles or {}
    levels = list(levels) if levels is not None else [c.by]
    # the minutes of each teacher in each interior cell, joined once; every level sums them
    frames = []
    for index, keys in enumerate(levels):
        part = _level(people, keys, c, quantiles)
        if own_teachers:
            part = part.with_columns(pl.col(STUDENTS).alias(TEACHERS))
        elif per_teacher is not None:
            part = _join(part, teacher_cells(per_teacher.lazy(), keys, teacher_top_n), keys)
        missing = [k for k in c.by if k not in keys]
        schema = people.collect_schema()
        frames.append(
            part.with_columns(
                *(pl.lit(None, dtype=schema[k]).alias(k) for k in missing),
                pl.lit(index).alias(LEVEL),
            )
        )
    columns = frames[0].collect_schema().names()
    ordered = [f.select([*c.by, *[n for n in columns if n not in c.by]]) for f in frames]
    return pl.concat(ordered, how="vertical").collect()


def _join(left: pl.LazyFrame, right: pl.LazyFrame, keys: Sequence[str]) -> pl.LazyFrame:
    if keys:
        return left.join(right, on=list(keys), how="left", nulls_equal=True)
    return left.join(right, how="cross")


def _grouped(lf: pl.LazyFrame, keys: Sequence[str], exprs: list[pl.Expr]) -> pl.LazyFrame:
    return lf.group_by(list(keys)).agg(exprs) if keys else lf.select(exprs)


def _level(
    people: pl.LazyFrame,
    keys: tuple[str, ...],
    c: Collapse,
    quantiles: dict[str, tuple[str, float]],
) -> pl.LazyFrame:
    aggregates: list[pl.Expr] = [pl.len().alias(STUDENTS)]
    for m in c.means:
        aggregates += [
            pl.col(m).mean().alias(f"mean:{m}"),
            pl.col(m).sum().alias(f"total:{m}"),
            pl.col(m).count().alias(f"n:{m}"),
        ]
    for m in c.sums:
        aggregates.append(pl.col(f"sum:{m}").sum().alias(f"sum:{m}"))
    for f in c.flags:
        aggregates += [pl.col(f).mean().alias(f"share:{f}"), pl.col(f).sum().alias(f"count:{f}")]
    for name, (m, q) in quantiles.items():
        aggregates.append(pl.col(m).quantile(q, interpolation="linear").alias(name))
    out = _grouped(people, keys, aggregates)
    if c.sums:
        # a person's contribution to a margin is their sum over the margin's cells
        per_person = people.group_by([UNIT, *keys]).agg(pl.col(f"sum:{m}").sum() for m in c.sums)
        tops: list[pl.Expr] = []
        for m in c.sums:
            top = pl.col(f"sum:{m}").abs().top_k(2).implode()
            tops += [
                top.list.get(0, null_on_oob=True).alias(f"sum:{m}__top1"),
                top.list.get(1, null_on_oob=True).alias(f"sum:{m}__top2"),
            ]
        out = _join(out, _grouped(per_person, keys, tops), keys)
    if quantiles:
        values = out.select([*keys, *quantiles])
        joined = _join(people, values.rename({n: f"{n}__q" for n in quantiles}), keys)
        sides: list[pl.Expr] = []
        for name, (m, _) in quantiles.items():
            sides += [
                (pl.col(m) < pl.col(f"{name}__q")).sum().alias(f"{name}__below"),
                (pl.col(m) > pl.col(f"{name}__q")).sum().alias(f"{name}__above"),
            ]
        out = _join(out, _grouped(joined, keys, sides), keys)
    return out


TEACHER = "__teacher"
MINUTES = "__minutes"


def teacher_minutes(frame: PrivateFrame, c: Collapse, link: TeacherLink) -> pl.DataFrame:
    """The minutes of each teacher behind each interior cell of ``c`` (their minutes with the
    cell's pupils; every row counts 1 without ``link.minutes``, and a row whose minutes are
    unknown counts 1: a class-level build links pupils and teachers per class, not per
    minute). Never released: the teacher rules read it."""
    rows = _bounded(_filtered(frame, c), c)
    wanted = [*link.on, link.column, *([link.minutes] if link.minutes else [])]
    pairs = rows.select(list(dict.fromkeys([*link.on, *c.by]))).join(
        link.frame._lazy().select(wanted), on=list(link.on)
    )
    minutes = pl.col(link.minutes).fill_null(1).sum() if link.minutes else pl.len()
    return (
        pairs.group_by([*c.by, link.column])
        .agg(minutes.cast(pl.Float64).alias(MINUTES))
        .rename({link.column: TEACHER})
        .collect()
    )


def teacher_cells(per_teacher: pl.LazyFrame, keys: Sequence[str], top_n: int) -> pl.LazyFrame:
    """Per cell of ``keys`` (the interior's or a margin's): the distinct teachers behind it,
    and the share of their minutes given by the ``top_n`` teachers with most."""
    summed = per_teacher.group_by([*keys, TEACHER]).agg(pl.col(MINUTES).sum())
    top = pl.col(MINUTES).top_k(top_n).sum() / pl.col(MINUTES).sum()
    return _grouped(summed, keys, [pl.len().alias(TEACHERS), top.alias(TEACHER_TOP)])


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


def person_cells(frame: PrivateFrame, c: Collapse) -> pl.DataFrame:
    """Which cells of a release each person falls in: one row per person (``UNIT``) with the
    sorted list of their cell ids (``cells``). Persons the filters leave out have no row. The
    linked audit builds the common refinement of a project's outputs from these."""
    lf = _bounded(_filtered(frame, c), c)
    key = (
        pl.concat_str([pl.col(k).cast(pl.String) for k in c.by], separator=SEPARATOR)
        if c.by
        else pl.lit(ALL)
    )
    cells = lf.select(pl.col(c.unit).alias(UNIT), key.alias("cell")).unique()
    return cells.group_by(UNIT).agg(pl.col("cell").sort().alias("cells")).collect()


def persons(frame: PrivateFrame, unit: str) -> pl.DataFrame:
    """Every person of the table (``UNIT``), whatever any filter says."""
    return frame._lazy().select(pl.col(unit).alias(UNIT)).unique().collect()


def _filtered(frame: PrivateFrame, c: Collapse) -> pl.LazyFrame:
    """The rows the filters keep, with the collapse's derived columns (a histogram's band;
    a row outside every band is left out)."""
    lf = frame._lazy()
    for predicate in c.filters:
        lf = lf.filter(predicate)
    for name, expr in c.derived:
        lf = lf.with_columns(expr.alias(name)).filter(pl.col(name).is_not_null())
    return lf


def cell_members(frame: PrivateFrame, c: Collapse) -> pl.DataFrame:
    """Each person's cells: the distinct (``UNIT``, keys…) pairs the filters keep, with the
    keys widened as in every release (the cell-key method sums its members' record keys)."""
    schema = frame.schema()
    lf = _bounded(_filtered(frame, c), c)
    widened = [pl.col(k).cast(key_dtype(schema.get(k, pl.String()))) for k in c.by]
    return lf.select(pl.col(c.unit).alias(UNIT), *widened).unique().collect()


def fit_rows(
    frame: PrivateFrame,
    c: Collapse,
    columns: Sequence[pl.Expr],
    fit: Callable[[Any], Any],
) -> Any:
    """A model fitted on the rows ``c`` keeps (each person's rows bounded as in every
    release): ``columns`` (the outcome, then the design's columns, as expressions over the
    row) are read into one float matrix that only ``fit`` sees. ``fit`` returns what the
    model publishes (coefficients, their errors, counts), never a row: ``release._models``
    passes its fitters (``release._regression``) alone."""
    selected = _bounded(_filtered(frame, c), c).select(
        [e.cast(pl.Float64).alias(f"__x{i}") for i, e in enumerate(columns)]
    )
    return fit(selected.collect().to_numpy())


def level_persons(frame: PrivateFrame, c: Collapse, column: str) -> dict[Any, int]:
    """The distinct persons in each level of ``column`` among the rows ``c`` keeps (a
    categorical predictor's levels; never released: the model's checks read them)."""
    rows = _bounded(_filtered(frame, c), c)
    counts = rows.group_by(column).agg(pl.col(c.unit).n_unique().alias("persons")).collect()
    return dict(zip(counts[column].to_list(), counts["persons"].to_list(), strict=True))


def run_model_measurement(
    frame: PrivateFrame,
    c: Collapse,
    columns: Sequence[pl.Expr],
    measurement: Callable[[pl.LazyFrame], Any],
) -> pl.DataFrame:
    """Run an OpenDP measurement of a model's sufficient statistics on the rows ``c`` keeps
    (each person's rows bounded to ``c.max_rows``), given as ``columns`` (expressions over the
    row, named), and return its noisy release."""
    rows = _bounded(_filtered(frame, c), c).select(*columns, pl.lit(True).alias(ROW))
    return _collected_release(measurement(rows.collect().lazy()))


def _collected_release(released: Any) -> pl.DataFrame:
    result = released.collect() if hasattr(released, "collect") else released
    assert isinstance(result, pl.DataFrame)
    return result
