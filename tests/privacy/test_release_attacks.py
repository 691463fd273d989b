"""Attacks on the release layer, run against a built research snapshot of a synthetic
municipality. Every attack must fail: the engine refuses the query, suppresses the cells that
would disclose, or returns the cached release instead of drawing new noise.

The attacks are those a curious researcher with an ordinary project can mount through
``Releaser.release``: differencing two releases, reading small cells, a sum dominated by
one pupil, singling out a teacher, naming a pseudonym, solving the margins of a crosstab for
its suppressed cells, averaging repeated noisy releases, and reaching research rows through a
``PrivateFrame``. Where an attack needs to know something about the data (which cell is small),
it learns it from an earlier allowed release; the test checks the ground truth with Polars only
to make sure the attack is a real one.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from scipy.optimize import linprog

import release
from linkage import current_snapshot, table_files
from release import QueryRefused, QuerySpec, Releaser, load_policies
from release._frames import open_table
from release._sdc import primary_suppression
from tests.research_data import engine, research_dir

__all__ = ["research_dir"]

SDC = load_policies().release.sdc
MIN_STUDENTS = SDC.min_students
MIN_TEACHERS = SDC.min_teachers
COUNT = [{"kind": "count_students"}]
SUBTRACTION = r"subtraction|differ"
IDENTIFIES = "identifies a person"
FEWER_PUPILS = f"fewer than {MIN_STUDENTS} pupils"
FEWER_TEACHERS = f"fewer than {MIN_TEACHERS} teachers"


def spec(**fields: Any) -> QuerySpec:
    return QuerySpec.model_validate(fields)


def counts(table: str = "student_terms", **fields: Any) -> QuerySpec:
    return spec(table=table, measures=COUNT, **fields)


def is_in(column: str, *values: Any) -> dict[str, Any]:
    return {"column": column, "op": "in", "values": list(values)}


def research_table(data_dir: Path, name: str) -> pl.DataFrame:
    """A research table as the test (never the attacker) sees it: the ground truth."""
    snapshot = current_snapshot(data_dir / "research")
    return pl.read_parquet(table_files(snapshot, name))


def reason(e: Releaser, released: release.Release, cell: release.Cell) -> str | None:
    """Why ``cell`` was suppressed, from the release record the DPO sees (never published)."""
    (record,) = [
        r
        for r in e.store.records  # type: ignore[attr-defined]
        if r.get("release_id") == released.release_id
    ]
    for entry in record["suppression_reasons"]:
        if entry["keys"] == cell.keys and entry["margin"] == cell.margin:
            return str(entry["reason"])
    return None


def value(cell: release.Cell, measure: str = "count_students") -> float:
    shown = cell.values[measure]
    assert shown is not None, f"cell {cell.keys} has no value"
    return shown


# --- differencing ---------------------------------------------------------------------------


def small_schools_from_a_release(e: Releaser) -> list[str]:
    """Reconnaissance: an allowed release of severely absent pupils per school. Its suppressed
    cells tell the attacker which schools hold between 1 and 9 such pupils."""
    recon = e.release(
        counts(group_by=["school_code"], filters=[{"column": "severe_absence", "op": "is_true"}]),
        "mallory",
    )
    small = [c.keys["school_code"] for c in recon.cells if reason(e, recon, c) == FEWER_PUPILS]
    assert small, "the attack needs a school with a few severely absent pupils"
    return small


def severe_at(data_dir: Path, school: str) -> int:
    rows = research_table(data_dir, "student_terms")
    return rows.filter(pl.col("school_code") == school, pl.col("severe_absence")).height


def test_differencing_by_a_nested_filter_is_refused(research_dir: Path) -> None:
    """count(school X), then count(school X and not severely absent): the difference is the
    school's severely absent pupils, a cell the reconnaissance release suppressed."""
    e = engine(research_dir)
    school = small_schools_from_a_release(e)[0]
    assert 1 <= severe_at(research_dir, school) < MIN_STUDENTS  # the attack is a real one
    whole = e.release(counts(filters=[is_in("school_code", school)]), "mallory")
    assert whole.cells[0].status == "released"
    with pytest.raises(QueryRefused, match=SUBTRACTION):
        e.release(
            counts(
                filters=[
                    is_in("school_code", school),
                    {"column": "severe_absence", "op": "is_false"},
                ]
            ),
            "mallory",
        )


def test_differencing_by_a_complement_in_list_is_refused(research_dir: Path) -> None:
    """Per-school counts of all pupils, then per-school counts with ``severe_absence in
    [False]`` (the complement of the small group, written as an ``in`` list): each school's
    difference is its severely absent pupils."""
    e = engine(research_dir)
    schools = small_schools_from_a_release(e)
    assert any(1 <= severe_at(research_dir, s) < MIN_STUDENTS for s in schools)
    e.release(
        counts(group_by=["school_code"], filters=[is_in("severe_absence", True, False)]), "mallory"
    )
    with pytest.raises(QueryRefused, match=SUBTRACTION):
        e.release(
            counts(group_by=["school_code"], filters=[is_in("severe_absence", False)]), "mallory"
        )


def test_differencing_by_a_complement_in_list_of_schools_is_refused(research_dir: Path) -> None:
    """count(severely absent, all schools), then the same in every school but one: the
    difference is that one school's severely absent pupils."""
    e = engine(research_dir)
    small = small_schools_from_a_release(e)
    severe = [{"column": "severe_absence", "op": "is_true"}]
    everyone = e.release(counts(filters=severe), "mallory")
    all_schools = research_table(research_dir, "student_terms")["school_code"].unique().sort()
    attempted = 0
    for school in small:
        others = [s for s in all_schools if s != school]
        remaining = value(everyone.cells[0]) - severe_at(research_dir, school)
        if remaining < SDC.min_population:  # refused anyway, for the population rule
            continue
        attempted += 1
        with pytest.raises(QueryRefused, match=SUBTRACTION):
            e.release(counts(filters=[*severe, is_in("school_code", *others)]), "mallory")
    assert attempted, "no school leaves a large enough population to mount the attack"


def test_differencing_by_a_narrower_range_is_refused(research_dir: Path) -> None:
    """count(all pupils), then count(days_absent between 0 and k) for every k that leaves out
    between 1 and 9 pupils: refused by subtraction at a band edge, and off the band edges
    because sdc mode filters a measure only between band edges."""
    days = research_table(research_dir, "student_terms")["days_absent"]
    ks = [k for k in range(int(days.to_numpy().max())) if 1 <= int((days > k).sum()) < MIN_STUDENTS]
    assert ks, "the data has no small tail of absent days to attack"
    for k in ks:
        e = engine(research_dir)
        e.release(counts(), "mallory")
        with pytest.raises(QueryRefused, match=f"{SUBTRACTION}|band edges"):
            e.release(
                counts(filters=[{"column": "days_absent", "op": "between", "values": [0, k]}]),
                "mallory",
            )


CROSSTAB = counts(group_by=["school_code", "severe_absence"])
NOT_SEVERE = {"column": "severe_absence", "op": "is_false"}
PAIRS: dict[str, Callable[[str], tuple[QuerySpec, QuerySpec]]] = {
    "crosstab, then per-school totals": lambda _: (CROSSTAB, counts(group_by=["school_code"])),
    "per-school totals, then crosstab": lambda _: (counts(group_by=["school_code"]), CROSSTAB),
    "crosstab with margins, then without": lambda _: (
        counts(group_by=["school_code", "severe_absence"], margins=True),
        CROSSTAB,
    ),
    "not severely absent per school, then one school": lambda school: (
        counts(group_by=["school_code"], filters=[NOT_SEVERE]),
        counts(filters=[is_in("school_code", school)]),
    ),
}


@pytest.mark.parametrize("attack", list(PAIRS))
def test_a_second_table_does_not_give_away_a_suppressed_cell(
    research_dir: Path, attack: str
) -> None:
    """Per school, 'severely absent' is a small cell (suppressed) and 'not severely absent' a
    large one (shown). A second release that shows the school's total, as a coarser grouping,
    a margin or a filter, gives the small cell by subtraction. The second release must be
    refused, or what it shows must not complete the subtraction."""
    e = engine(research_dir)
    school = small_schools_from_a_release(engine(research_dir))[0]
    shown: list[tuple[QuerySpec, list[release.Cell]]] = []
    for query in PAIRS[attack](school):
        try:
            shown.append((query, e.release(query, "mallory").cells))
        except QueryRefused:
            return
    # What the two releases show together: per school, its total and its interior cells.
    totals: dict[str, float] = {}
    interior: dict[tuple[str, bool], float] = {}
    for query, cells in shown:
        not_severe = any(f.column == "severe_absence" and f.op == "is_false" for f in query.filters)
        for cell in cells:
            v, key = cell.values["count_students"], cell.keys.get("school_code", school)
            if v is None or key is None:
                continue
            if not_severe:
                interior[(key, False)] = v
            elif cell.keys.get("severe_absence") is None:
                totals[key] = v
            else:
                interior[(key, cell.keys["severe_absence"])] = v
    recovered = {}
    for key, total in totals.items():
        if (key, False) in interior and (key, True) not in interior:
            true = severe_at(research_dir, key)
            if 0 < true < MIN_STUDENTS:
                recovered[key] = (total - interior[(key, False)], f"true {true}")
    assert not recovered, (
        f"severely absent pupils per school, suppressed as fewer than {MIN_STUDENTS}, recovered "
        f"exactly by subtracting the two releases: {recovered}"
    )


# --- small cells ----------------------------------------------------------------------------


def test_small_cells_of_a_crosstab_are_suppressed(research_dir: Path) -> None:
    e = engine(research_dir)
    persistent = [{"column": "persistent_absence", "op": "is_true"}]
    table = e.release(counts(group_by=["school_code", "grade"], filters=persistent), "mallory")
    truth = {
        (r["school_code"], r["grade"]): r["len"]
        for r in research_table(research_dir, "student_terms")
        .filter(pl.col("persistent_absence"))
        .group_by("school_code", "grade")
        .len()
        .iter_rows(named=True)
    }
    assert any(n < MIN_STUDENTS for n in truth.values()), "the attack needs small cells"
    assert {(c.keys["school_code"], c.keys["grade"]) for c in table.cells} == set(truth)
    for cell in table.cells:
        true = truth[(cell.keys["school_code"], cell.keys["grade"])]
        if true < MIN_STUDENTS:
            assert cell.status == "suppressed" and reason(e, table, cell) == FEWER_PUPILS
            assert cell.values == {"count_students": None}
        else:
            assert cell.status == "released" and cell.values["count_students"] == true


# --- dominance ------------------------------------------------------------------------------


def test_a_sum_dominated_by_one_or_two_pupils_is_suppressed(research_dir: Path) -> None:
    """Among pupils without persistent absence, valid absence is rare: in some school × grade
    cells of at least 10 pupils one or two pupils hold nearly all of it, so the cell's sum is in
    effect their own figure."""
    e = engine(research_dir)
    sums = e.release(
        spec(
            table="student_terms",
            group_by=["school_code", "grade"],
            filters=[{"column": "persistent_absence", "op": "is_false"}],
            measures=[*COUNT, {"kind": "sum", "column": "valid_absence_minutes"}],
        ),
        "mallory",
    )
    column = pl.col("valid_absence_minutes")
    cells = (
        research_table(research_dir, "student_terms")
        .filter(~pl.col("persistent_absence"))
        .group_by("school_code", "grade")
        .agg(
            pl.len().alias("n"),
            column.sum().alias("total"),
            column.top_k(2).sum().alias("top2"),
            column.max().alias("top1"),
        )
    )
    dominated = {
        (r["school_code"], r["grade"])
        for r in cells.iter_rows(named=True)
        if r["n"] >= MIN_STUDENTS
        and r["total"] > 0
        and (
            r["top2"] / r["total"] > SDC.dominance_k
            or (r["total"] - r["top2"]) / r["top1"] < SDC.p_percent
        )
    }
    assert dominated, "the attack needs a dominated cell"
    by_key = {(c.keys["school_code"], c.keys["grade"]): c for c in sums.cells}
    for key in dominated:
        cell = by_key[key]
        assert cell.status == "suppressed", f"dominated cell {key} released"
        assert reason(e, sums, cell) in (
            f"dominance ({SDC.dominance_n}, {SDC.dominance_k})",
            "p % rule",
        )
        assert set(cell.values.values()) == {None}


def test_primary_suppression_catches_dominance_and_the_p_percent_rule() -> None:
    """A crafted table: one pupil holds 95 % of a sum; two pupils hold 90 %; the second largest
    contributor can estimate the largest within 8 % (caught by dominance with n = 2, by the
    p % rule with n = 1); a safe cell; and a cell too small to show."""
    table = pl.DataFrame(
        {
            "school": ["one", "two", "p", "safe", "small"],
            "students": [20, 20, 20, 20, 4],
            "sum:x": [100.0, 100.0, 99.0, 100.0, 100.0],
            "sum:x__top1": [95.0, 50.0, 50.0, 20.0, 40.0],
            "sum:x__top2": [1.0, 40.0, 45.0, 15.0, 30.0],
        }
    )
    dominance = f"dominance ({SDC.dominance_n}, {SDC.dominance_k})"
    out = primary_suppression(table, ["school"], SDC, sums=["sum:x"])
    assert out["reason"].to_list() == [dominance, dominance, dominance, None, FEWER_PUPILS]
    assert out["status"].to_list() == ["suppressed"] * 3 + ["released", "suppressed"]
    top_one = SDC.model_copy(update={"dominance_n": 1})
    out = primary_suppression(table, ["school"], top_one, sums=["sum:x"])
    one = f"dominance (1, {SDC.dominance_k})"
    assert out["reason"].to_list() == [one, None, "p % rule", None, FEWER_PUPILS]


# --- singling out a teacher -----------------------------------------------------------------

BY_CLASS = ["school_code", "subject_code", "grade"]
TEACHER_MEASURES = [*COUNT, {"kind": "mean", "column": "certified_share"}]


def teachers_per_cell(data_dir: Path, by: list[str]) -> pl.DataFrame:
    exposure = research_table(data_dir, "exposure")
    behind = research_table(data_dir, "student_teachers")
    keys = ["student_pid", "term", "subject_code"]
    return (
        exposure.select(*dict.fromkeys([*keys, *by]))
        .join(behind.select(*keys, "teacher_pid"), on=keys)
        .group_by(by)
        .agg(
            pl.col("teacher_pid").n_unique().alias("teachers"),
            pl.col("student_pid").n_unique().alias("pupils"),
        )
    )


def test_sdc_suppresses_cells_taught_by_fewer_than_3_teachers(research_dir: Path) -> None:
    e = engine(research_dir)
    table = e.release(
        spec(table="exposure", group_by=BY_CLASS, measures=TEACHER_MEASURES), "mallory"
    )
    truth = {
        tuple(r[:3]): (r[3], r[4])
        for r in teachers_per_cell(research_dir, BY_CLASS)
        .select(*BY_CLASS, "teachers", "pupils")
        .iter_rows()
    }
    few = [k for k, (t, p) in truth.items() if t < MIN_TEACHERS and p >= MIN_STUDENTS]
    assert few, "the attack needs cells taught by fewer than 3 teachers"
    by_key = {tuple(c.keys[k] for k in BY_CLASS): c for c in table.cells}
    for key in few:
        cell = by_key[key]
        assert cell.status == "suppressed" and reason(e, table, cell) == FEWER_TEACHERS
        assert set(cell.values.values()) == {None}
    for key, cell in by_key.items():
        if cell.status == "released":
            assert truth[key][0] >= MIN_TEACHERS


def test_dp_refuses_a_grouping_with_cells_of_fewer_than_3_teachers(research_dir: Path) -> None:
    e = engine(research_dir)
    with pytest.raises(QueryRefused, match=FEWER_TEACHERS):
        e.release(
            spec(
                table="exposure", group_by=BY_CLASS, measures=TEACHER_MEASURES, mode="dp", rho=0.1
            ),
            "mallory",
        )


@pytest.mark.parametrize("mode", ["sdc", "dp"])
def test_filters_narrowing_to_fewer_than_3_teachers_are_refused(
    research_dir: Path, mode: str
) -> None:
    cells = teachers_per_cell(research_dir, BY_CLASS)
    school, subject, grade = (
        cells.filter(pl.col("teachers") < MIN_TEACHERS, pl.col("pupils") >= SDC.min_population)
        .sort(BY_CLASS)
        .select(BY_CLASS)
        .row(0)
    )
    e = engine(research_dir)
    dp = {"rho": 0.1} if mode == "dp" else {}
    with pytest.raises(QueryRefused, match=FEWER_TEACHERS):
        e.release(
            spec(
                table="exposure",
                measures=TEACHER_MEASURES,
                mode=mode,
                **dp,
                filters=[
                    is_in("school_code", school),
                    is_in("subject_code", subject),
                    is_in("grade", grade),
                ],
            ),
            "mallory",
        )


def test_a_coarser_table_does_not_reveal_a_teacher_suppressed_cell(research_dir: Path) -> None:
    """school × subject × grade suppresses the cells taught by fewer than 3 teachers; the same
    measures by school × subject, from a second release, give such a cell's pupils and mean
    certified share (the certification of one or two named teachers) by subtraction wherever
    it is the only suppressed grade of its school and subject. The second release must be
    refused, or those school × subject cells suppressed."""
    e = engine(research_dir)
    fine = e.release(
        spec(table="exposure", group_by=BY_CLASS, measures=TEACHER_MEASURES), "mallory"
    )
    try:
        coarse = e.release(
            spec(table="exposure", group_by=BY_CLASS[:2], measures=TEACHER_MEASURES), "mallory"
        )
    except QueryRefused:
        return
    truth = {
        (r["school_code"], r["subject_code"], r["grade"]): (r["pupils"], r["mean"])
        for r in research_table(research_dir, "exposure")
        .group_by(*BY_CLASS, "student_pid")
        .agg(pl.col("certified_share").clip(0, 1).mean())
        .group_by(BY_CLASS)
        .agg(pl.len().alias("pupils"), pl.col("certified_share").mean().alias("mean"))
        .iter_rows(named=True)
    }
    groups: dict[tuple[str, str], list[release.Cell]] = defaultdict(list)
    for cell in fine.cells:
        groups[(cell.keys["school_code"], cell.keys["subject_code"])].append(cell)
    recovered = {}
    for cell in coarse.cells:
        key = (cell.keys["school_code"], cell.keys["subject_code"])
        hidden = [c for c in groups[key] if c.status == "suppressed"]
        if cell.status != "released" or len(hidden) != 1:
            continue
        shown = [c for c in groups[key] if c.status == "released"]
        pupils = value(cell) - sum(value(c) for c in shown)
        weighted = sum(value(c) * value(c, "mean_certified_share") for c in shown)
        mean = (value(cell) * value(cell, "mean_certified_share") - weighted) / pupils
        true = truth[(*key, hidden[0].keys["grade"])]
        recovered[(*key, hidden[0].keys["grade"])] = (
            f"{pupils:g} pupils, mean {mean:.4f}; true {true[0]}, {true[1]:.4f}"
        )
    assert not recovered, (
        f"cells suppressed for {FEWER_TEACHERS} recovered by subtraction: {recovered}"
    )


# --- pseudonyms -----------------------------------------------------------------------------

PSEUDONYM_SPECS = {
    "group exposure by student_pid": {
        "table": "exposure",
        "group_by": ["student_pid"],
        "measures": COUNT,
    },
    "group student_terms by student_pid": {
        "table": "student_terms",
        "group_by": ["student_pid"],
        "measures": COUNT,
    },
    "group teacher_terms by teacher_pid": {
        "table": "teacher_terms",
        "group_by": ["teacher_pid"],
        "measures": [{"kind": "count_teachers"}],
    },
    "filter on student_pid": {
        "table": "student_terms",
        "measures": COUNT,
        "filters": [{"column": "student_pid", "op": "between", "values": [0, 2**62]}],
    },
    "filter on teacher_pid": {
        "table": "teacher_terms",
        "measures": [{"kind": "count_teachers"}],
        "filters": [{"column": "teacher_pid", "op": "in", "values": [1, 2, 3]}],
    },
    "mean of student_pid": {
        "table": "student_terms",
        "measures": [{"kind": "mean", "column": "student_pid"}],
    },
    "sum of teacher_pid": {
        "table": "teacher_terms",
        "measures": [{"kind": "sum", "column": "teacher_pid"}],
    },
    "median of student_pid": {
        "table": "exposure",
        "measures": [{"kind": "quantile", "column": "student_pid", "q": 0.5}],
    },
}


@pytest.mark.parametrize("mode", ["sdc", "dp"])
@pytest.mark.parametrize("attack", sorted(PSEUDONYM_SPECS))
def test_a_pseudonym_cannot_be_grouped_filtered_or_measured(
    research_dir: Path, attack: str, mode: str
) -> None:
    e = engine(research_dir)
    dp = {"rho": 0.1} if mode == "dp" else {}
    query = spec(**PSEUDONYM_SPECS[attack], mode=mode, **dp)
    with pytest.raises(QueryRefused, match=IDENTIFIES):
        e.preview(query)
    with pytest.raises(QueryRefused, match=IDENTIFIES):
        e.release(query, "mallory")


@pytest.mark.parametrize("link", ["student_teachers", "student_term_teachers"])
def test_the_pupil_teacher_link_table_is_never_released(research_dir: Path, link: str) -> None:
    e = engine(research_dir)
    with pytest.raises(QueryRefused, match="no releasable research table"):
        e.release(counts(table=link), "mallory")


# --- margins --------------------------------------------------------------------------------


def interval_bounds(
    cells: list[release.Cell], by: list[str], bounds: list[tuple[float, float | None]] | None
) -> dict[int, tuple[float, float]]:
    """The attacker's linear programme: every suppressed cell a variable (within ``bounds``,
    default >= 0), every released cell a constant, every margin the sum of the cells one level
    below it along each summed-out key. Returns each suppressed cell's least and greatest
    value."""
    keys = [tuple(c.keys[k] for k in by) for c in cells]
    position = {key: row for row, key in enumerate(keys)}
    lines: dict[tuple[int, int], list[int]] = defaultdict(list)
    for row, key in enumerate(keys):
        for d, v in enumerate(key):
            parent = position.get((*key[:d], None, *key[d + 1 :])) if v is not None else None
            if parent is not None:
                lines[(parent, d)].append(row)
    hidden = [row for row, c in enumerate(cells) if c.values["count_students"] is None]
    column = {row: j for j, row in enumerate(hidden)}
    a_eq, b_eq = [], []
    for (total, _), parts in lines.items():
        equation, constant = np.zeros(len(hidden)), 0.0
        for member, sign in [(total, 1.0), *((p, -1.0) for p in parts)]:
            shown = cells[member].values["count_students"]
            if shown is None:
                equation[column[member]] += sign
            else:
                constant -= sign * shown
        if equation.any():
            a_eq.append(equation)
            b_eq.append(constant)
    out = {}
    for j, row in enumerate(hidden):
        objective = np.zeros(len(hidden))
        objective[j] = 1.0
        ends = []
        for sense in (1.0, -1.0):
            result = linprog(
                sense * objective,
                A_eq=np.array(a_eq),
                b_eq=np.array(b_eq),
                bounds=bounds or (0, None),
                method="highs",
            )
            ends.append(np.inf if result.status == 3 else sense * result.fun)
            assert result.status in (0, 3), result.message
        out[row] = (ends[0], ends[1])
    return out


def test_suppressed_cells_cannot_be_recovered_from_the_margins(research_dir: Path) -> None:
    """grade (integer, 0 to 9) × school for persistently absent pupils, with margins: many
    cells are small. From the released cells and margins alone, each suppressed cell must
    remain anywhere in an interval at least 10 pupils wide; and no margin can be read as a
    grade (grade 0 is a real grade, 'all grades' is None)."""
    by = ["grade", "school_code"]
    e = engine(research_dir)
    table = e.release(
        counts(
            group_by=by, margins=True, filters=[{"column": "persistent_absence", "op": "is_true"}]
        ),
        "mallory",
    )
    cells = table.cells
    hidden = [c for c in cells if c.status == "suppressed"]
    assert any(reason(e, table, c) == FEWER_PUPILS for c in hidden), "the attack needs small cells"
    for row, (lower, upper) in interval_bounds(cells, by, None).items():
        assert upper - lower >= MIN_STUDENTS - 1e-6, (
            f"suppressed cell {cells[row].keys} narrowed to fewer than {MIN_STUDENTS} values"
        )
    # Why a cell was suppressed is never published (it would say "fewer than 10" and narrow
    # the cell); all an attacker may add is that a suppressed interior cell is not empty
    # (empty cells are released as zeros). That must still leave every interval 10 wide.
    assert all(c.reason is None for c in cells)
    bounds: list[tuple[float, float | None]] = [
        (0 if c.margin else 1, None) for c in cells if c.values["count_students"] is None
    ]
    for row, (lower, upper) in interval_bounds(cells, by, bounds).items():
        assert upper - lower >= MIN_STUDENTS - 1 - 1e-6, (
            f"suppressed cell {cells[row].keys} narrowed by the non-empty rule"
        )

    interior = [c for c in cells if not c.margin]
    margins = [c for c in cells if c.margin]
    assert all(None not in c.keys.values() for c in interior)
    assert all(None in c.keys.values() for c in margins)
    assert {c.keys["grade"] for c in interior} <= set(range(10))
    assert any(c.keys["grade"] == 0 for c in interior)
    interior_keys = {tuple(c.keys.values()) for c in interior}
    assert not interior_keys & {tuple(c.keys.values()) for c in margins}
    (total,) = [c for c in margins if set(c.keys.values()) == {None}]
    grades = research_table(research_dir, "student_terms").filter(pl.col("persistent_absence"))
    assert total.values["count_students"] == grades.height
    for c in margins:
        if c.keys["grade"] is None and c.keys["school_code"] is not None:
            assert c.values["count_students"] in (
                None,
                grades.filter(pl.col("school_code") == c.keys["school_code"]).height,
            )


# --- averaging repeated dp releases ---------------------------------------------------------

DP_SPEC = {
    "table": "exposure",
    "group_by": ["school_code"],
    "mode": "dp",
    "rho": 0.05,
    "filters": [{"column": "grade", "op": "in", "values": [7, 8, 9]}],
    "measures": [{"kind": "count_students"}, {"kind": "mean", "column": "certified_share"}],
}


def test_repeating_a_dp_query_returns_the_same_noise(research_dir: Path) -> None:
    """Averaging 20 releases of the same dp query would shrink the noise by √20; each repeat
    returns the first release instead, so the average is the first release."""
    e = engine(research_dir)
    first = e.release(spec(**DP_SPEC), "mallory")
    repeats = [e.release(spec(**DP_SPEC), "mallory") for _ in range(19)]
    assert not first.cached and all(r.cached for r in repeats)
    assert {r.release_id for r in repeats} == {first.release_id}
    assert all(r.cells == first.cells and r.rho == first.rho for r in repeats)


def test_a_trivially_different_spelling_is_the_same_dp_query(research_dir: Path) -> None:
    """The same spec written differently (JSON keys in another order, defaults spelt out,
    tuples for lists, ``5e-2`` for ``0.05``) is the same query: same cache key, same release.

    Re-wording a question so that it is no longer identical (filters in another order, a
    no-op filter such as ``grade between 0 and 9``, measures in another order) is a new query:
    it draws new noise and spends new budget. That is by design; the privacy budget ledger
    caps what a project and a researcher can spend, so such re-wordings cannot be averaged
    without limit."""
    e = engine(research_dir)
    first = e.release(spec(**DP_SPEC), "mallory")
    respelt = QuerySpec.model_validate_json(
        '{"measures": [{"kind": "count_students", "column": null, "q": null},'
        ' {"column": "certified_share", "kind": "mean"}], "rho": 5e-2, "mode": "dp",'
        ' "margins": false, "filters": [{"values": [7, 8, 9], "op": "in", "column": "grade"}],'
        ' "group_by": ["school_code"], "table": "exposure"}'
    )
    built = QuerySpec(
        table="exposure",
        group_by=("school_code",),
        mode="dp",
        rho=0.05,
        filters=(release.Filter(column="grade", op="in", values=(7, 8, 9)),),
        measures=(
            release.Measure(kind="count_students"),
            release.Measure(kind="mean", column="certified_share"),
        ),
    )
    for same in (respelt, built):
        assert same.digest() == spec(**DP_SPEC).digest()
        again = e.release(same, "mallory")
        assert again.cached and again.release_id == first.release_id
        assert again.cells == first.cells


# --- no pseudonym in a release --------------------------------------------------------------

RELEASED_SPECS = [
    counts(
        group_by=["grade", "school_code"],
        margins=True,
        filters=[{"column": "persistent_absence", "op": "is_true"}],
    ),
    spec(
        table="student_terms",
        group_by=["school_code"],
        measures=[
            *COUNT,
            {"kind": "sum", "column": "absent_minutes"},
            {"kind": "mean", "column": "days_absent"},
            {"kind": "quantile", "column": "absence_rate_planned", "q": 0.9},
            {"kind": "share", "column": "severe_absence"},
        ],
    ),
    spec(
        table="exposure",
        group_by=["school_code", "subject_code"],
        measures=[
            *COUNT,
            {"kind": "count_teachers"},
            {"kind": "mean", "column": "mean_experience"},
        ],
    ),
    spec(
        table="teacher_terms",
        group_by=["school_code"],
        measures=[
            {"kind": "count_teachers"},
            {"kind": "mean", "column": "experience_years"},
            {"kind": "share", "column": "novice"},
        ],
    ),
    spec(**DP_SPEC),
    spec(
        table="student_terms",
        group_by=["school_code"],
        mode="dp",
        rho=0.1,
        measures=[
            *COUNT,
            {"kind": "sum", "column": "days_absent"},
            {"kind": "quantile", "column": "absence_rate_planned", "q": 0.5},
            {"kind": "share", "column": "persistent_absence"},
        ],
    ),
    spec(
        table="teacher_terms",
        mode="dp",
        rho=0.1,
        measures=[{"kind": "count_teachers"}, {"kind": "mean", "column": "lessons"}],
    ),
]


def walk(value_: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of a JSON document, keys as found (lists give key '')."""
    if isinstance(value_, dict):
        for k, v in value_.items():
            yield str(k), v
            yield from walk(v)
    elif isinstance(value_, list):
        for v in value_:
            yield "", v
            yield from walk(v)


def test_no_release_holds_a_pseudonym(research_dir: Path) -> None:
    pids: set[int] = set()
    for table, column in (
        ("student_terms", "student_pid"),
        ("exposure", "student_pid"),
        ("student_teachers", "student_pid"),
        ("student_teachers", "teacher_pid"),
        ("teacher_terms", "teacher_pid"),
    ):
        pids |= set(research_table(research_dir, table)[column].to_list())
    assert len(pids) > 1500
    as_floats = {float(p) for p in pids}
    e = engine(research_dir)
    documents = []
    for i, query in enumerate(RELEASED_SPECS):
        released = e.release(query, "alice", project=f"project-{i}")
        assert released.cells
        documents.append(dataclasses.asdict(released))
        documents.append(dataclasses.asdict(e.preview(query, project=f"project-{i}")))
    documents.extend(e.store.records)  # type: ignore[attr-defined]  # what is kept, too
    for document in documents:
        text = json.dumps(document, sort_keys=True, default=str)
        assert "_pid" not in text and "__unit" not in text
        for key, v in walk(json.loads(text)):
            assert "pid" not in key.lower()
            if isinstance(v, bool) or v is None:
                continue
            if isinstance(v, int | float):
                assert v not in pids and float(v) not in as_floats
            elif isinstance(v, str):
                assert not (v.lstrip("-").isdigit() and int(v) in pids)
        assert not any(str(p) in text for p in pids)


# --- the private frame ----------------------------------------------------------------------


def test_a_private_frame_gives_no_rows(research_dir: Path) -> None:
    snapshot = current_snapshot(research_dir / "research")
    frame = open_table(table_files(snapshot, "student_terms"), "student_terms")
    with pytest.raises(release.RowAccessRefused):
        frame.collect()
    rows = research_table(research_dir, "student_terms")
    shown = repr(frame) + str(frame)
    assert "student_pid" in shown  # columns, yes
    for column in ("student_pid", "school_code", "term"):
        for v in rows[column].unique().to_list():
            assert str(v) not in shown
    with pytest.raises(release.RowAccessRefused):
        pickle.dumps(frame)
    with pytest.raises(release.RowAccessRefused):
        copy.deepcopy(frame)
