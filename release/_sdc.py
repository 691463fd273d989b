"""Statistical disclosure control for tables of aggregates: which cells of a released table are
shown, which are suppressed, and the proof that no suppressed cell can be worked out again.

The rules, in the order a release applies them:

1. ``add_margins`` adds totals over every group-key dimension and the grand total. A margin row
   holds null in each summed-out key column and ``margin = true``; interior rows may not hold a
   null key. A total therefore never wears a real key value, so a grade 0 or a year 2025 can
   never be mistaken for "all grades" or "all years".
2. ``primary_suppression`` suppresses every cell, margins included, that is unsafe by itself:
   too few pupils or teachers, a sum dominated by a few people, or a sum whose largest
   contribution the second largest contributor could estimate too closely.
3. ``secondary_suppression`` suppresses further (complementary) cells until no suppressed cell
   can be recovered or narrowed from the released cells and the rule that every margin is the
   sum of its cells; ``audit_intervals`` is the proof, by linear programming. Margins are
   part of the audited table: a total computed over all cells and shown beside a suppressed
   one gives it away by subtraction, a known failure of crosstab tools with margins.
4. ``round_counts`` rounds released counts, independently per value, after the audit.

Everything here is a pure function of the table: no I/O, and error messages name columns and
counts, never a cell's value.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy.sparse import csc_matrix

from medler.errors import MedlerInternalError, UsageError
from release._lp import Solver, sample
from release._policy import SdcPolicy

STUDENTS = "students"
TEACHERS = "teachers"
TEACHER_TOP = "teacher_minutes__top"  # the share of a cell's teacher minutes of its top teachers
LEVEL = "__level"  # from ``_frames.exact_table``: 0 for interior cells, else a margin
TOP1_SUFFIX = "__top1"
TOP2_SUFFIX = "__top2"
MARGIN = "margin"
STATUS = "status"
REASON = "reason"
RELEASED = "released"
SUPPRESSED = "suppressed"
STATUSES = (RELEASED, SUPPRESSED)

REASON_PUPILS = "fewer than {min_students} pupils"
"""Threshold rule: a cell of very few pupils describes those pupils, and a class or school of a
known size is small enough to tell them apart. Applies to every cell, margins included."""

REASON_TEACHERS = "fewer than {min_teachers} teachers"
"""Teacher threshold: in a table derived from teachers, a cell of very few teachers describes
colleagues whom everyone at the school can name."""

REASON_DOMINANCE = "dominance ({n}, {k})"
"""(n, k) dominance: when the n largest contributions make up more than k of a sum, the sum is
in effect those people's own figure."""

REASON_P_PERCENT = "p % rule"
"""p % rule: the second largest contributor can subtract its own contribution from the sum and
bound the largest one; the rest of the cell (sum - top1 - top2) must hide at least p of the
largest contribution."""

REASON_ZERO = "zero cell"
"""Zero cells: a zero can disclose that nobody in a group has some attribute. Policy ``zeros``
says whether zeros (structural or true) are released or suppressed; a released zero is exempt
from the thresholds, since there is nobody in it to identify."""

REASON_TEACHER_DOMINANCE = "teacher dominance ({n}, {k})"
"""Teacher dominance: in a cell that describes teachers (their certification, experience, …),
when the n teachers with most minutes give more than k of the cell's teacher minutes, the
figure is in effect those teachers' own, however many others stand behind the cell."""

REASON_QUANTILE = "quantile too close to an edge"
"""A quantile is one person's value (or between two persons' values). It is shown only where
at least ``quantile_min_side`` persons lie strictly below it and strictly above it, so that it
is never the largest or smallest few values of a cell."""

REASON_COMPLEMENTARY = "complementary suppression"
"""Secondary suppression: the cell is safe by itself but is hidden to protect another one."""

MAX_DOMINANCE_N = 2
"""Tables carry each person's two largest contributions (``m__top1``, ``m__top2``), so the
dominance rule can look at most at the two largest contributors."""

LP_TOLERANCE = 1e-6
SEED = 20261206  # the seeded weightings of the audit's sampled vertices: the same every time
"""Slack for the solver's floating point: an interval this much narrower than the protection
width still counts as wide enough (counts are integers, so nothing real hides in it)."""


@dataclass(frozen=True)
class Exposure:
    """A suppressed cell whose value the released cells pin to an interval narrower than the
    protection width. ``row`` is its position in the table; ``keys`` its group-key values (None
    where summed out). The interval is kept out of ``repr`` so it cannot reach a log."""

    row: int
    keys: tuple[object, ...]
    lower: float = field(repr=False)
    upper: float = field(repr=False)  # math.inf when unbounded


def add_margins(
    cells: pl.DataFrame, by: Sequence[str], count_columns: Sequence[str]
) -> pl.DataFrame:
    """The interior cells followed by every margin: for each non-empty set of group keys summed
    out, the sums of ``count_columns`` over the remaining keys (the last one is the grand total).

    Only additive columns get margins; every other column is null in margin rows (a distinct
    count or a largest contribution is not the sum of its cells). A margin of ``students`` is
    the sum of its cells, so pupils counted in several cells are counted several times.
    """
    _require(cells, [*by, *count_columns])
    if MARGIN in cells.columns:
        raise MedlerInternalError("the table already has margins; this is a bug in the release")
    if cells.select(pl.any_horizontal(pl.col(by).is_null()).any()).item():
        raise MedlerInternalError(
            "a group key is missing in some cells, and a missing key marks a margin; give missing "
            "values an explicit category before adding margins (this is a bug in the release)"
        )
    interior = cells.with_columns(pl.lit(False).alias(MARGIN))
    schema = interior.schema
    frames = [interior]
    for size in range(1, len(by) + 1):
        for summed_out in itertools.combinations(by, size):
            kept = [key for key in by if key not in summed_out]
            sums = [pl.col(column).sum() for column in count_columns]
            totals = interior.group_by(kept).agg(sums).sort(kept) if kept else interior.select(sums)
            nulls = [c for c in interior.columns if c not in {*kept, *count_columns, MARGIN}]
            frames.append(
                totals.with_columns(
                    *(pl.lit(None, dtype=schema[c]).alias(c) for c in nulls),
                    pl.lit(True).alias(MARGIN),
                ).select(interior.columns)
            )
    return pl.concat(frames, how="vertical")


def primary_suppression(
    cells: pl.DataFrame,
    by: Sequence[str],
    policy: SdcPolicy,
    *,
    sums: Sequence[str],
    quantiles: Sequence[str] = (),
) -> pl.DataFrame:
    """``cells`` with ``status`` and ``reason``: each cell is suppressed by the first rule it
    fails (zero cell, pupils, teachers, teacher dominance, then dominance and the p % rule for
    each of ``sums``, then the edge rule for each of ``quantiles``).

    Every row passes every rule, margins and totals included: the release computes each
    margin's teachers, top contributions and quantile sides from the margin's own persons
    (``_frames.exact_table``). A rule whose input column a table lacks is not applied (a
    table of ``add_margins`` carries none of them in its margins); a missing value in a
    present column fails the rule.
    """
    tops = [f"{m}{suffix}" for m in sums for suffix in (TOP1_SUFFIX, TOP2_SUFFIX)]
    _require(cells, [*by, STUDENTS, *sums, *tops])
    if cells[STUDENTS].null_count():
        raise MedlerInternalError("a cell has no pupil count; this is a bug in the release")
    if sums and policy.dominance_n > MAX_DOMINANCE_N:
        raise UsageError(
            f"dominance_n = {policy.dominance_n} cannot be checked: tables carry only the two "
            f"largest contributions per cell; set dominance_n to 1 or 2 in policies/release.toml"
        )
    students = pl.col(STUDENTS)
    rules: list[tuple[pl.Expr, str]] = [
        (students < policy.min_students, REASON_PUPILS.format(min_students=policy.min_students))
    ]
    if TEACHERS in cells.columns:
        rules.append(
            (
                pl.col(TEACHERS).fill_null(0) < policy.min_teachers,
                REASON_TEACHERS.format(min_teachers=policy.min_teachers),
            )
        )
    if TEACHER_TOP in cells.columns:
        rules.append(
            (
                pl.col(TEACHER_TOP).fill_null(1.0) > policy.teacher_dominance_k,
                REASON_TEACHER_DOMINANCE.format(
                    n=policy.teacher_dominance_n, k=policy.teacher_dominance_k
                ),
            )
        )
    dominance = REASON_DOMINANCE.format(n=policy.dominance_n, k=policy.dominance_k)
    for measure in sums:
        total, top1, top2 = (pl.col(f"{measure}{s}") for s in ("", TOP1_SUFFIX, TOP2_SUFFIX))
        largest = top1 if policy.dominance_n == 1 else top1 + top2
        # Ratios rather than products: a ratio of two integers rounds to the same double as the
        # decimal threshold when they are equal, so a cell exactly at the threshold passes.
        rules.append((pl.when(total > 0).then(largest / total > policy.dominance_k), dominance))
        rules.append(
            (
                pl.when(top1 > 0).then((total - top1 - top2) / top1 < policy.p_percent),
                REASON_P_PERCENT,
            )
        )
    for name in quantiles:
        below, above = pl.col(f"{name}__below"), pl.col(f"{name}__above")
        side = policy.quantile_min_side
        rules.append(((below.fill_null(0) < side) | (above.fill_null(0) < side), REASON_QUANTILE))
    zero = pl.lit(REASON_ZERO if policy.zeros == "suppress" else None, dtype=pl.String)
    first_failed = pl.coalesce(pl.when(failed).then(pl.lit(text)) for failed, text in rules)
    reason = pl.when(students == 0).then(zero).otherwise(first_failed)
    return (
        cells.with_columns(reason.alias(REASON))
        .with_columns(
            pl.when(pl.col(REASON).is_null())
            .then(pl.lit(RELEASED))
            .otherwise(pl.lit(SUPPRESSED))
            .alias(STATUS)
        )
        .select(*[c for c in cells.columns if c not in {STATUS, REASON}], STATUS, REASON)
    )


@dataclass(frozen=True)
class _Grid:
    """A table with margins as the audit sees it: values, statuses and the additivity lines
    (each margin equals the sum of the cells one level below it, along one summed-out key)."""

    values: np.ndarray
    suppressed: np.ndarray
    keys: tuple[tuple[object, ...], ...]
    level: np.ndarray  # how many keys a row sums out (0 = interior cell)
    rank: np.ndarray  # position in key order, nulls (totals) last: breaks ties
    lines: tuple[tuple[int, ...], ...]  # (total, *parts)
    lines_of: tuple[tuple[int, ...], ...]  # the lines each row belongs to


def audit_intervals(
    table: pl.DataFrame,
    by: Sequence[str],
    value_column: str,
    policy: SdcPolicy,
    *,
    proportional: bool = False,
) -> list[Exposure]:
    """The suppressed cells an attacker can pin down, or an empty list when the table is safe.

    For each suppressed cell, two linear programmes find the smallest and largest value it can
    take, with every suppressed cell a variable >= 0, every released cell a constant and every
    margin equal to the sum of its cells. A cell is exposed when that interval is narrower than
    its protection width: ``policy.min_students`` for a count of persons, and with
    ``proportional`` (sums of a measure, counts of a flag) ``policy.sum_protection`` times the
    cell's own value, so that the width is in proportion to the figure whatever its unit (an
    exactly determined cell is the extreme case).

    For one- and two-dimensional tables the constraints are totally unimodular, so these are
    also the bounds an attacker gets from knowing that counts are whole numbers. For three or
    more keys the integer bounds can be narrower than the linear ones, which this audit does
    not compute. Run it on true values, before rounding.
    """
    grid = _grid(table, by, value_column)
    return _exposures(grid, grid.suppressed, _widths(grid, policy, proportional))


def secondary_suppression(
    table: pl.DataFrame,
    by: Sequence[str],
    value_column: str,
    policy: SdcPolicy,
    *,
    proportional: bool = False,
) -> pl.DataFrame:
    """``table`` (with margins and primary statuses) with complementary suppressions added
    until ``audit_intervals`` finds nothing.

    Heuristic, deterministic: (1) while some line (a margin and its cells) holds exactly one
    suppressed cell, which the line's sum would give away, suppress one more cell of it;
    (2) audit; for every exposed cell suppress one more cell in one of its lines, and go back
    to (1). The cell chosen is, in order of preference: large enough to hide the protection
    width by itself, an interior cell rather than a total, one that also completes another
    line holding a single suppression (so suppressions form rectangles, not chains), the
    smallest value, then the first in key order. Each round suppresses at least one more
    cell, and a table whose lines are all suppressed cannot be narrowed, so this ends.
    """
    grid = _grid(table, by, value_column)
    _require(table, [REASON])
    widths = _widths(grid, policy, proportional)
    suppressed = grid.suppressed.copy()
    while True:
        _close_single_lines(grid, suppressed, widths)
        exposed = _exposures(grid, suppressed, widths, exact=False)
        if not exposed:
            break
        added = False
        for exposure in exposed:
            members = {m for line in grid.lines_of[exposure.row] for m in grid.lines[line]}
            if all(suppressed[m] for m in members):  # its lines are full: widen the search
                members = {m for line in grid.lines for m in line if suppressed[list(line)].any()}
            pick = _pick(grid, suppressed, sorted(members), float(widths[exposure.row]))
            if pick is not None:
                suppressed[pick] = added = True
        if not added:
            raise MedlerInternalError(
                f"secondary suppression cannot protect {len(exposed)} cells although no released "
                "cell is left in their lines; this is a bug in medler"
            )
    newly = pl.Series(suppressed & ~grid.suppressed)
    return table.with_columns(
        pl.when(newly).then(pl.lit(SUPPRESSED)).otherwise(pl.col(STATUS)).alias(STATUS),
        pl.when(newly).then(pl.lit(REASON_COMPLEMENTARY)).otherwise(pl.col(REASON)).alias(REASON),
    )


ALL_KEY = "__all"  # the key column of an ungrouped table


def protect(
    table: pl.DataFrame,
    by: Sequence[str],
    policy: SdcPolicy,
    *,
    margins: bool,
    sums: Sequence[str] = (),
    means: Sequence[str] = (),
    flags: Sequence[str] = (),
    quantiles: Sequence[str] = (),
) -> pl.DataFrame:
    """The disclosure-controlled form of an exact table (``_frames.exact_table``, margins
    included when asked): primary suppression of every row, then, with margins, secondary
    suppression and its proof for every additive figure (pupils; sums, means' totals and
    flags' counts in proportion to their values), then rounding. Returns the table with
    ``status``, ``reason`` and ``margin``."""

    cells = table.with_columns((pl.col(LEVEL) > 0).alias(MARGIN)).drop(LEVEL)
    keys = list(by)
    if not keys:
        cells = cells.with_columns(pl.lit("all").alias(ALL_KEY))
        keys = [ALL_KEY]
    interior = cells.filter(~pl.col(MARGIN)).sort(keys)
    cells = pl.concat([interior, cells.filter(pl.col(MARGIN))], how="vertical")
    cells = primary_suppression(
        cells, keys, policy, sums=[f"sum:{m}" for m in sums], quantiles=quantiles
    )
    if margins and by:
        additive = [
            (STUDENTS, False),
            *((f"sum:{m}", True) for m in sums),
            *((f"total:{m}", True) for m in means),
            *((f"count:{f}", True) for f in flags),
        ]
        cells = cells.with_columns(pl.col(c).fill_null(0) for c, _ in additive)
        # each column's suppression ends only when its audit finds nothing; suppressing more
        # for a later column only widens the earlier columns' intervals
        for column, proportional in additive:
            cells = secondary_suppression(cells, keys, column, policy, proportional=proportional)
    counts = [c for c in (STUDENTS, TEACHERS) if c in cells.columns]
    return round_counts(cells, counts, policy.rounding_base)


# what each primary rule's cells are called in ``risk``
RISK_REASONS = {
    REASON_ZERO: "suppressed_zero",
    REASON_P_PERCENT: "suppressed_p_percent",
    REASON_QUANTILE: "suppressed_quantile_edge",
    REASON_COMPLEMENTARY: "suppressed_complementary",
}


def risk(exact: pl.DataFrame, protected: pl.DataFrame, policy: SdcPolicy) -> dict[str, float]:
    """How close an exact table comes to the rules, for the DPO's review of a held request
    (never published): how many cells each rule suppressed, the smallest non-zero population
    of any cell (``exact``: the table before rounding) and, when teacher dominance suppressed
    a cell, the largest share of a cell's teacher minutes its top teachers give."""
    out: dict[str, float] = {
        "table_cells": float(protected.height),
        "min_students": float(policy.min_students),
    }
    reasons = protected[REASON].drop_nulls().to_list()
    pupils = REASON_PUPILS.format(min_students=policy.min_students)
    teachers = REASON_TEACHERS.format(min_teachers=policy.min_teachers)
    for reason in reasons:
        if reason == pupils:
            key = "suppressed_under_min_students"
        elif reason == teachers:
            key = "suppressed_under_min_teachers"
            out["min_teachers"] = float(policy.min_teachers)
        elif reason.startswith("teacher dominance"):
            key = "suppressed_teacher_dominance"
        elif reason.startswith("dominance"):
            key = "suppressed_dominance"
        else:
            key = RISK_REASONS.get(reason, "suppressed_other")
        out[key] = out.get(key, 0.0) + 1
    if reasons:
        out["suppressed_cells"] = float(len(reasons))
    populated = exact[STUDENTS].filter(exact[STUDENTS] > 0)
    if populated.len():
        out["smallest_population"] = float(populated.min())  # type: ignore[arg-type]
    if "suppressed_teacher_dominance" in out and TEACHER_TOP in protected.columns:
        dominated = protected.filter(pl.col(REASON).str.starts_with("teacher dominance"))
        share = dominated[TEACHER_TOP].fill_null(1.0).max()
        out["largest_teacher_share"] = round(float(share), 4)  # type: ignore[arg-type]
        out["teacher_dominance_k"] = float(policy.teacher_dominance_k)
    return out


def round_counts(cells: pl.DataFrame, columns: Sequence[str], base: int) -> pl.DataFrame:
    """Each value of ``columns`` rounded to the nearest multiple of ``base`` (halves upwards);
    ``base`` 0 leaves the table as it is.

    Every value is rounded on its own, margins included (no controlled rounding), so a
    rounded margin can differ from the sum of its rounded cells by up to ``base / 2`` times
    (the number of cells + 1): totals are consistent only within that. Rounding adds
    uncertainty; it is no substitute for suppression, and the audit runs on the unrounded
    table.
    """
    if base < 0:
        raise UsageError(f"rounding base {base} is negative; use 0 (no rounding), 3, 5 or 10")
    _require(cells, columns)
    if base == 0:
        return cells
    for column in columns:
        if not cells.schema[column].is_integer():
            raise MedlerInternalError(f"column {column} is not a count; only counts are rounded")
    return cells.with_columns(((pl.col(c) + base // 2) // base * base).alias(c) for c in columns)


def _require(cells: pl.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in cells.columns]
    if missing:
        raise MedlerInternalError(
            f"the table lacks columns {missing}; this is a bug in the release"
        )


def _grid(table: pl.DataFrame, by: Sequence[str], value_column: str) -> _Grid:
    _require(table, [*by, value_column, MARGIN, STATUS])
    if table[value_column].null_count() or table.select((pl.col(value_column) < 0).any()).item():
        raise MedlerInternalError(f"{value_column} must be present and >= 0 in every cell")
    statuses = table[STATUS]
    if statuses.dtype != pl.String or statuses.null_count() or not statuses.is_in(STATUSES).all():
        raise MedlerInternalError("every cell needs a status; run primary_suppression first")
    if table.select((pl.any_horizontal(pl.col(by).is_null()) != pl.col(MARGIN)).any()).item():
        raise MedlerInternalError("a row is a margin exactly when a group key is null")
    keys = tuple(table.select(by).iter_rows())
    position = {key: row for row, key in enumerate(keys)}
    if len(position) != len(keys):
        raise MedlerInternalError("two rows of the table have the same group keys")
    parts: dict[tuple[int, int], list[int]] = {}
    for row, key in enumerate(keys):
        for d, value in enumerate(key):
            parent = position.get((*key[:d], None, *key[d + 1 :])) if value is not None else None
            if parent is not None:
                parts.setdefault((parent, d), []).append(row)
    lines = tuple((total, *rows) for (total, _), rows in parts.items())
    values = table[value_column].cast(pl.Float64).to_numpy()
    for total, *rows in lines:
        if not np.isclose(values[total], values[rows].sum(), rtol=1e-9, atol=LP_TOLERANCE):
            raise MedlerInternalError(
                f"a margin of {value_column} is not the sum of its cells; build margins with "
                "add_margins and audit before rounding (this is a bug in the release)"
            )
    lines_of: list[list[int]] = [[] for _ in keys]
    for index, line in enumerate(lines):
        for row in line:
            lines_of[row].append(index)
    order = table.with_row_index("_row").sort(by, nulls_last=True, maintain_order=True)["_row"]
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order.to_numpy()] = np.arange(len(keys))
    return _Grid(
        values=values,
        suppressed=(table[STATUS] == SUPPRESSED).to_numpy(),
        keys=keys,
        level=np.array([sum(v is None for v in key) for key in keys], dtype=np.int64),
        rank=rank,
        lines=lines,
        lines_of=tuple(tuple(rows) for rows in lines_of),
    )


def _widths(grid: _Grid, policy: SdcPolicy, proportional: bool) -> np.ndarray:
    """Each cell's protection width (see ``audit_intervals``)."""
    if proportional:
        return policy.sum_protection * np.abs(grid.values)
    return np.full(len(grid.values), float(policy.min_students))


def _pick(grid: _Grid, suppressed: np.ndarray, members: Sequence[int], width: float) -> int | None:
    """The released member to suppress next (see ``secondary_suppression`` for the order)."""

    def closing(row: int) -> int:
        return sum(int(suppressed[list(grid.lines[i])].sum()) == 1 for i in grid.lines_of[row])

    candidates = [m for m in members if not suppressed[m]]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda m: (
            grid.values[m] < width,
            grid.level[m],
            -closing(m),
            grid.values[m],
            grid.rank[m],
        ),
    )


def _close_single_lines(grid: _Grid, suppressed: np.ndarray, widths: np.ndarray) -> None:
    changed = True
    while changed:
        changed = False
        for line in grid.lines:
            members = list(line)
            if int(suppressed[members].sum()) == 1:
                alone = members[int(np.flatnonzero(suppressed[members])[0])]
                pick = _pick(grid, suppressed, line, float(widths[alone]))
                if pick is not None:
                    suppressed[pick] = changed = True


def _quick_exposures(grid: _Grid, suppressed: np.ndarray, widths: np.ndarray) -> list[Exposure]:
    """Suppressed cells that one line alone pins too narrowly, found without a programme: in
    a line whose total is shown, each suppressed part lies between 0 and what the shown
    parts leave of the total. ``lower`` and ``upper`` are then bounds, not the exact interval."""
    upper = np.full(len(grid.values), np.inf)
    for line in grid.lines:
        total, parts = line[0], list(line[1:])
        if suppressed[total]:
            continue
        hidden = [p for p in parts if suppressed[p]]
        if hidden:
            rest = grid.values[total] - sum(grid.values[p] for p in parts if not suppressed[p])
            for p in hidden:
                upper[p] = min(upper[p], rest)
    found = [
        Exposure(row=int(r), keys=grid.keys[r], lower=0.0, upper=float(upper[r]))
        for r in np.flatnonzero(suppressed & (upper < widths - LP_TOLERANCE))
    ]
    return sorted(found, key=lambda e: int(grid.rank[e.row]))


def _exposures(
    grid: _Grid, suppressed: np.ndarray, widths: np.ndarray, *, exact: bool = True
) -> list[Exposure]:
    """The suppressed cells pinned narrower than their widths. ``exact=False`` (while
    secondary suppression is still adding cells) returns the cells one line pins, when there
    are any, before solving anything."""
    if not exact:
        quick = _quick_exposures(grid, suppressed, widths)
        if quick:
            return quick
    hidden = np.flatnonzero(suppressed)
    column = {int(row): j for j, row in enumerate(hidden)}
    rows: list[np.ndarray] = []
    constants: list[float] = []
    for line in grid.lines:  # total - sum(parts) = 0, released cells moved to the right
        signs = np.array([1.0] + [-1.0] * (len(line) - 1))
        mask = suppressed[list(line)]
        if mask.any():
            equation = np.zeros(len(hidden))
            for member, sign in zip(np.array(line)[mask], signs[mask], strict=True):
                equation[column[int(member)]] = sign
            rows.append(equation)
            constants.append(-float(signs[~mask] @ grid.values[list(line)][~mask]))
    if not rows:  # no line holds a suppressed cell: each is anywhere from 0 up
        return []
    a_eq = csc_matrix(np.array(rows).reshape(len(rows), len(hidden)))
    solver = Solver(a_eq, np.array(constants))
    # feasible points: the true values, and vertices that push every cell up and down at once
    # (and under seeded weightings); a cell they already spread wide enough needs no programme
    ones = np.ones(len(hidden))
    found = sample(solver, ones, ones, np.zeros(len(hidden), bool), seed=SEED, random=2)
    points = [grid.values[hidden], *found]
    high = np.max(points, axis=0)  # each cell's largest and least value over the points
    low = np.min(points, axis=0)
    exposed: list[Exposure] = []
    for j, row in enumerate(hidden):
        if high[j] - low[j] >= widths[row] - LP_TOLERANCE:
            continue
        unit = np.zeros(len(hidden))
        unit[j] = 1.0
        bottom, top = solver.vertex(unit), solver.vertex(-unit)
        lower = float(bottom[j]) if bottom is not None else 0.0
        upper = float(top[j]) if top is not None else float(np.inf)
        # each vertex found is a feasible point for the cells still to come
        for point in (p for p in (bottom, top) if p is not None):
            high, low = np.maximum(high, point), np.minimum(low, point)
        if upper - lower < widths[row] - LP_TOLERANCE:
            exposed.append(Exposure(row=int(row), keys=grid.keys[row], lower=lower, upper=upper))
    return sorted(exposed, key=lambda e: int(grid.rank[e.row]))


def margin_levels(by: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every proper subset of the group keys, largest first (the grand total last)."""
    out = []
    for size in range(1, len(by) + 1):
        for summed_out in itertools.combinations(by, size):
            out.append(tuple(k for k in by if k not in summed_out))
    return out
