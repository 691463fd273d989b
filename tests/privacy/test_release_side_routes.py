"""Side routes out of the release layer (issue 18), each written as the attack a hostile approved
researcher would mount through ``Releaser.preview`` and ``Releaser.release`` on the
synthetic municipality of ``tests/research_data.py``.

Every data-dependent answer is an output: a refusal, a free preview, a check's outcome. In dp
mode nothing may be decided on exact data; in sdc mode previews are recorded, metered and counted
like releases, and a measure is filtered only at its published band edges. The audit across
outputs works on all of a project's earlier outputs at once and on every additive measure;
margins, quantiles and teachers pass the primary rules like every other cell.

Where an attack needs ground truth the test reads it with Polars (``research_table``), and checks
that the attack instance is real before it checks the defence.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import release
from release import MemoryStore, QueryRefused, QuerySpec, Releaser, load_policies
from release._policy import Policies
from tests.privacy.test_release_attacks import (
    COUNT,
    MIN_STUDENTS,
    SDC,
    counts,
    is_in,
    research_table,
    spec,
    value,
)
from tests.research_data import engine, research_dir

__all__ = ["research_dir"]

FLOOR = SDC.min_population
TEACHER_K = getattr(SDC, "teacher_dominance_k", 0.85)  # the defence's policy (issue 18)
TEACHER_N = getattr(SDC, "teacher_dominance_n", 1)
QUANTILE_SIDE = getattr(SDC, "quantile_min_side", MIN_STUDENTS)
SUBTRACTION = "subtraction"
TEACHER_KEYS = ["student_pid", "term", "subject_code"]


def between(column: str, lo: float, hi: float) -> dict[str, Any]:
    return {"column": column, "op": "between", "values": [lo, hi]}


def dp(**fields: Any) -> QuerySpec:
    return spec(mode="dp", rho=0.1, **fields)


def outcome(call: Callable[[], Any]) -> str:
    """What the attacker sees of a call: "answered", or the refusal's text."""
    try:
        call()
    except QueryRefused as refusal:
        return f"refused: {refusal}"
    return "answered"


def band_edges(table: str, column: str) -> list[Any] | None:
    """The column's published band edges (None while the catalogue has none)."""
    bands = getattr(load_policies().catalogue.tables[table].columns[column], "bands", None)
    return None if bands is None else [int(b) if float(b).is_integer() else b for b in bands]


def teacher_minutes(
    data_dir: Path, by: list[str], where: pl.Expr | None = None
) -> dict[tuple[Any, ...], tuple[int, float]]:
    """Ground truth for every cell of ``by`` and every margin of it (None = summed out) over the
    exposure rows ``where`` keeps: the distinct teachers behind the cell's rows and the share of
    the cell's teacher minutes (``student_teachers.minutes``, summed over the cell's pupils)
    given by its ``teacher_dominance_n`` teachers with most."""
    exposure = research_table(data_dir, "exposure").filter(where if where is not None else True)
    exposure = exposure.select(*dict.fromkeys([*TEACHER_KEYS, *by]))
    behind = research_table(data_dir, "student_teachers").select(
        *TEACHER_KEYS, "teacher_pid", "minutes"
    )
    rows = exposure.join(behind, on=TEACHER_KEYS).with_columns(pl.lit(1).alias("__all"))
    out = {}
    for size in range(len(by) + 1):
        for kept in itertools.combinations(by, size):
            keys = list(kept) or ["__all"]
            per_teacher = rows.group_by(*keys, "teacher_pid").agg(pl.col("minutes").sum())
            cells = per_teacher.group_by(keys).agg(
                pl.len().alias("teachers"),
                (pl.col("minutes").top_k(TEACHER_N).sum() / pl.col("minutes").sum()).alias("top"),
            )
            for r in cells.iter_rows(named=True):
                out[tuple(r[k] if k in kept else None for k in by)] = (r["teachers"], r["top"])
    return out


def teacher_rule_breaches(
    data_dir: Path, by: list[str], cells: list[release.Cell], where: pl.Expr | None = None
) -> list[tuple[tuple[Any, ...], bool, int, float]]:
    """The shown cells (released or rounded) behind which fewer than ``min_teachers`` teachers
    stand or whose top teacher gives more than ``teacher_dominance_k`` of the minutes."""
    truth = teacher_minutes(data_dir, by, where)
    out = []
    for cell in cells:
        if cell.status not in ("released", "rounded"):
            continue
        key = tuple(cell.keys[k] for k in by)
        teachers, top = truth[key]
        if teachers < SDC.min_teachers or top > TEACHER_K + 1e-9:
            out.append((key, cell.margin, teachers, round(top, 3)))
    return out


# --- 1. checks as oracles -------------------------------------------------------------------

GRADE = 8


def grade_days(data_dir: Path) -> pl.Series:
    rows = research_table(data_dir, "student_terms")
    return rows.filter(pl.col("grade") == GRADE)["days_absent"]


def tail(lo: int) -> QuerySpec:
    return dp(
        table="student_terms",
        measures=COUNT,
        filters=[is_in("grade", GRADE), between("days_absent", lo, 100)],
    )


def test_dp_previews_do_not_binary_search_a_pupils_days_absent(research_dir: Path) -> None:
    """The attacker previews (free, unaudited) a dp count of grade 8 with days_absent in
    [lo, 100] for every lo: where the population floor refuses, fewer than 10 pupils have at
    least lo days, which binary-searches the 10th-largest value and then the maximum."""
    days = grade_days(research_dir)
    tails = {lo: int((days >= lo).sum()) for lo in range(101)}
    assert tails[0] >= FLOOR and any(0 < n < FLOOR for n in tails.values())  # a real instance
    e = engine(research_dir)
    seen: dict[int, str] = {}
    for lo in range(101):
        try:
            seen[lo] = repr(e.preview(tail(lo)).accuracy)
        except QueryRefused as refusal:
            seen[lo] = f"refused: {refusal}"
    refused = [lo for lo, answer in seen.items() if answer.startswith("refused")]
    assert not refused, (
        f"dp previews refused for lo in {refused[:3]}...{refused[-1:]} ({len(refused)} of 101): "
        f"fewer than {FLOOR} grade-{GRADE} pupils have {refused[0]}+ days absent (truth: "
        f"{tails[refused[0]]}), and {tails[refused[0] - 1]} have {refused[0] - 1}+"
    )
    assert len(set(seen.values())) == 1, f"the preview's accuracy depends on lo: {seen}"


def test_a_dp_release_of_a_small_population_is_noisy_not_refused(research_dir: Path) -> None:
    """The attacker submits the dp count of grade-8 pupils with 3+ days absent: a refusal tells
    them the population is below the floor; a noisy answer tells them nothing exact."""
    days = grade_days(research_dir)
    lo = min(lo for lo in range(101) if 0 < int((days >= lo).sum()) < FLOOR)
    e = engine(research_dir)
    try:
        released = e.release(tail(lo), "mallory")
    except QueryRefused as refusal:
        pytest.fail(f"refused on exact data ({int((days >= lo).sum())} pupils): {refusal}")
    assert released.cells and released.cells[0].values["count_students"] is not None


def small_teacher_filter(data_dir: Path) -> tuple[str, int, dict[str, Any], int, int]:
    """A subject and grade taught by at least 3 teachers where a pupil-level filter leaves at
    least ``min_population`` pupils behind fewer than 3 teachers (from ground truth)."""
    exposure = research_table(data_dir, "exposure")
    behind = research_table(data_dir, "student_teachers").select(*TEACHER_KEYS, "teacher_pid")
    rows = exposure.join(behind, on=TEACHER_KEYS)

    def cells(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.group_by("subject_code", "grade").agg(
            pl.col("teacher_pid").n_unique().alias("teachers"),
            pl.col("student_pid").n_unique().alias("pupils"),
        )

    for column, lo, hi in (("certified_share", 0.9, 1), ("absence_rate_reported", 0.3, 1)):
        narrowed = cells(rows.filter(pl.col(column).is_between(lo, hi)))
        found = (
            cells(rows)
            .join(narrowed, on=["subject_code", "grade"], suffix="_f")
            .filter(
                pl.col("teachers") >= SDC.min_teachers,
                pl.col("teachers_f") < SDC.min_teachers,
                pl.col("pupils_f") >= FLOOR,
            )
            .sort("subject_code", "grade")
        )
        if found.height:
            r = found.row(0, named=True)
            return (
                r["subject_code"],
                r["grade"],
                between(column, lo, hi),
                r["teachers"],
                r["teachers_f"],
            )
    pytest.skip("no subject and grade where a pupil-level filter leaves fewer than 3 teachers")


def test_the_dp_teacher_rule_is_no_oracle_on_pupil_filters(research_dir: Path) -> None:
    """The attacker asks a dp question of one subject and grade, then the same with a filter on
    a pupil's measure (certified_share 0.9-1): a refusal 'fewer than 3 teachers' for the second
    only tells them that those pupils are taught by one or two teachers."""
    subject, grade, narrowing, everyone, narrowed = small_teacher_filter(research_dir)
    assert everyone >= SDC.min_teachers > narrowed  # a real instance
    experience = {"kind": "mean", "column": "mean_experience"}
    base = {
        "table": "exposure",
        "measures": [*COUNT, experience],
        "filters": [is_in("subject_code", subject), is_in("grade", grade)],
    }
    wide = dp(**base)
    narrow = dp(**{**base, "filters": [*base["filters"], narrowing]})
    e = engine(research_dir)
    previews = outcome(lambda: e.preview(wide)), outcome(lambda: e.preview(narrow))
    assert previews[0] == previews[1], (
        f"{subject} grade {grade} ({everyone} teachers): without {narrowing} {previews[0]!r}, "
        f"with it {previews[1]!r} (truth: {narrowed} teacher(s))"
    )
    releases = (
        outcome(lambda: e.release(wide, "mallory")),
        outcome(lambda: e.release(narrow, "mallory")),
    )
    assert releases[0] == releases[1], f"released {releases[0]!r}, then {releases[1]!r}"


def test_a_refused_dp_preview_is_recorded(research_dir: Path) -> None:
    """The dp teacher rule reads the schedule, so a preview it refuses is an answer that
    depends on the data: it is kept in the release log (and audited) like any refusal."""
    e = engine(research_dir)
    few = QuerySpec.model_validate(
        {
            "table": "exposure",
            "group_by": ["school_code", "subject_code", "grade"],
            "mode": "dp",
            "rho": 0.1,
            "measures": [{"kind": "count_students"}, {"kind": "mean", "column": "certified_share"}],
        }
    )
    with pytest.raises(QueryRefused, match="fewer than 3 teachers"):
        e.preview(few, project="p", requester="mallory")
    (record,) = e.store.records  # type: ignore[attr-defined]
    assert (record["status"], record["preview"], record["mode"]) == ("refused", True, "dp")


def test_count_teachers_in_dp_on_exposure_is_refused(research_dir: Path) -> None:
    """The attacker asks for count_teachers on exposure in dp mode: what comes back is the
    number of pupils, mislabelled; the teachers are counted in teacher_terms."""
    exposure = research_table(research_dir, "exposure")
    behind = research_table(research_dir, "student_teachers")
    pupils = exposure["student_pid"].n_unique()
    teachers = exposure.join(behind, on=TEACHER_KEYS)["teacher_pid"].n_unique()
    assert pupils > 5 * teachers  # the two are far apart
    query = dp(table="exposure", measures=[{"kind": "count_teachers"}])
    e = engine(research_dir)
    try:
        released = e.release(query, "mallory")
    except QueryRefused as refusal:
        assert "teacher_terms" in str(refusal)
    else:
        pytest.fail(
            f"count_teachers released as {value(released.cells[0], 'count_teachers'):.0f}"
            f" (pupils {pupils}, teachers {teachers})"
        )
    with pytest.raises(QueryRefused, match="teacher_terms"):
        e.preview(query)


def test_an_sdc_preview_is_recorded(research_dir: Path) -> None:
    """The attacker previews an sdc table to see which cells would be suppressed: that status
    is an output, so the preview is kept in the project's history."""
    e = engine(research_dir)
    e.preview(counts(group_by=["school_code", "grade"]))
    statuses = [r["status"] for r in e.store.records]  # type: ignore[attr-defined]
    assert "previewed" in statuses, f"an sdc preview left records {statuses}"


def test_sdc_previews_are_metered_per_day(research_dir: Path) -> None:
    """The attacker previews sdc tables without end (each a free suppression oracle): past the
    policy's previews_per_day the next one is refused."""
    policies = load_policies()
    sdc = policies.release.sdc.model_copy(update={"previews_per_day": 3})
    limited = Policies(
        policies.catalogue, policies.release.model_copy(update={"sdc": sdc}), policies.digest
    )
    e = Releaser(research_dir, store=MemoryStore(), policies=limited)
    for grade in range(3):  # one large cell each, disjoint: nothing to difference
        e.preview(counts(filters=[is_in("grade", grade)]))
    with pytest.raises(QueryRefused, match="previews"):
        e.preview(counts(filters=[is_in("grade", 3)]))


def off_edge() -> int:
    edges = set(band_edges("student_terms", "days_absent") or [])
    return next(v for v in (7, *range(1, 100)) if v not in edges)


def test_an_sdc_filter_on_a_measure_off_its_band_edges_is_refused(research_dir: Path) -> None:
    """The attacker filters days_absent between 0 and a value that is not a band edge: in sdc
    mode a measure's threshold may only sit on a published band edge."""
    query = counts(filters=[between("days_absent", 0, off_edge())])
    e = engine(research_dir)
    with pytest.raises(QueryRefused, match="band"):
        e.preview(query)
    with pytest.raises(QueryRefused, match="band"):
        e.release(query, "mallory")


def test_sdc_previews_do_not_binary_search_the_tenth_largest_value(research_dir: Path) -> None:
    """The attacker binary-searches lo in sdc previews of grade 8 with days_absent in [lo, 100]:
    a population-floor refusal means fewer than 10 pupils have lo+ days, so the search ends on
    the 10th-largest value. Its first step off the band edges must be refused."""
    days = sorted(grade_days(research_dir).to_list(), reverse=True)
    tenth = days[FLOOR - 1]
    assert days[0] > tenth  # the search would narrow on a few pupils
    edges = set(band_edges("student_terms", "days_absent") or [])
    e = engine(research_dir)
    lo, hi, steps, first_off = 0, 101, [], None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        query = counts(filters=[is_in("grade", GRADE), between("days_absent", mid, 100)])
        seen = outcome(lambda q=query: e.preview(q))
        steps.append(f"[{mid}, 100] {seen[:40]}")
        if first_off is None and not {mid, 100} <= edges:
            if "band" in seen:
                return  # the search stops at its first step off the band edges
            first_off = steps[-1]
        lo, hi = (mid, hi) if seen == "answered" else (lo, mid)
    pytest.fail(
        f"first step off the band edges: {first_off}; {len(steps)} sdc previews found "
        f"the 10th-largest days absent in grade {GRADE}: {lo} (truth {tenth}); {steps}"
    )


# --- 2. differencing against a union of earlier cells ---------------------------------------


def left_out_group(data_dir: Path) -> tuple[list[dict[str, Any]], dict[str, Any], int]:
    """A base population (filters) and a filter that leaves out 1 to min_students - 1 of its
    pupils, from ground truth. Flags first, then days_absent at a band edge, then per grade."""
    rows = research_table(data_dir, "student_terms")
    edges = band_edges("student_terms", "days_absent") or list(range(101))
    flags = ["severe_absence", "persistent_absence", "any_month_over_20_percent"]
    leave_outs = [({"column": f, "op": "is_false"}, pl.col(f)) for f in flags] + [
        (between("days_absent", 0, e), pl.col("days_absent") > e) for e in edges if 0 < e < 100
    ]
    bases = [([], pl.lit(True))] + [
        ([is_in("grade", g)], pl.col("grade") == g) for g in sorted(rows["grade"].unique())
    ]
    for (base, where), (leave_out, left) in itertools.product(bases, leave_outs):
        population = rows.filter(where)
        out = population.filter(left).height
        if 0 < out < MIN_STUDENTS and population.height - out >= FLOOR:
            return base, leave_out, out
    pytest.skip("no filter leaves out between 1 and 9 pupils of a population")


@pytest.mark.parametrize("first", ["release", "preview"])
def test_the_sum_of_per_school_counts_minus_a_filtered_total_is_refused(
    research_dir: Path, first: str
) -> None:
    """The attacker gets the count per school (released, or only previewed), then the grand
    total with a filter that leaves out a few pupils spread over the schools: the sum of the
    schools minus the total is those pupils. No pair of cells differs by few, the union does."""
    base, leave_out, out = left_out_group(research_dir)
    assert 0 < out < MIN_STUDENTS  # a real instance
    e = engine(research_dir)
    per_school = counts(group_by=["school_code"], filters=base)
    if first == "release":
        schools = e.release(per_school, "mallory").cells
        assert all(c.status != "suppressed" for c in schools)
    else:
        e.preview(per_school)
    try:
        total = e.release(counts(filters=[*base, leave_out]), "mallory")
    except QueryRefused as refusal:
        assert SUBTRACTION in str(refusal), str(refusal)
        return
    shown = value(total.cells[0])
    pytest.fail(
        f"per-school counts ({first} first) then the total with {leave_out} (base filters "
        f"{base}): {shown:g} pupils, {out} fewer than the schools add up to"
    )


# --- 3. the count left out ------------------------------------------------------------------


def test_a_total_without_its_count_does_not_give_away_a_suppressed_sum(research_dir: Path) -> None:
    """The attacker releases grade x severe_absence with count_students and sum days_absent
    (one cell suppressed), then the total of the same pupils with the sum alone: the audit read
    only counts, so the total minus the released sums is the suppressed cell's sum."""
    rows = research_table(research_dir, "student_terms")
    truth = rows.group_by("grade", "severe_absence").agg(
        pl.len().alias("n"), pl.col("days_absent").sum().alias("days")
    )
    severe = dict(truth.filter(pl.col("severe_absence")).select("grade", "n").iter_rows())
    clean = sorted(set(rows["grade"].unique()) - set(severe))
    small = sorted(g for g, n in severe.items() if 0 < n < MIN_STUDENTS)
    assert small and clean, "the attack needs a grade with a few severely absent pupils"
    grades = [small[0], *clean]
    hidden = truth.filter(pl.col("grade") == small[0], pl.col("severe_absence")).row(0, named=True)
    assert 0 < hidden["n"] < MIN_STUDENTS  # a real instance
    e = engine(research_dir)
    days = {"kind": "sum", "column": "days_absent"}
    table = e.release(
        spec(
            table="student_terms",
            group_by=["grade", "severe_absence"],
            filters=[is_in("grade", *grades)],
            measures=[*COUNT, days],
        ),
        "mallory",
    ).cells
    suppressed = [c for c in table if c.status == "suppressed"]
    assert [c.keys for c in suppressed] == [{"grade": small[0], "severe_absence": True}]
    try:
        total = e.release(
            spec(table="student_terms", filters=[is_in("grade", *grades)], measures=[days]),
            "mallory",
        )
    except QueryRefused as refusal:
        assert SUBTRACTION in str(refusal), str(refusal)
        return
    recovered = value(total.cells[0], "sum_days_absent") - sum(
        value(c, "sum_days_absent") for c in table if c.status != "suppressed"
    )
    assert recovered != hidden["days"], (
        f"the suppressed cell (grade {small[0]}, {hidden['n']} severely absent pupil(s)) has "
        f"{recovered:g} days absent, by subtraction (truth {hidden['days']})"
    )


# --- 4. margins and 6. teachers: every shown cell passes the teacher rules ------------------


def test_margins_pass_the_teacher_rules(research_dir: Path) -> None:
    """The attacker asks subject x grade x school with margins and mean_experience: a margin
    row (all grades of a subject at one school, or all schools of a subject and grade) was shown
    whatever teachers stood behind it, so it gives the experience of one or two teachers who
    give nearly all its minutes."""
    by = ["subject_code", "grade", "school_code"]
    unsafe = {
        k[0]
        for k, (t, top) in teacher_minutes(research_dir, by).items()
        if k[1] is None and None not in (k[0], k[2]) and (t < SDC.min_teachers or top > TEACHER_K)
    }
    subjects = sorted(unsafe)[:2]
    assert subjects, "the attack needs a subject whose margin rows stand on one or two teachers"
    table = (
        engine(research_dir)
        .release(
            spec(
                table="exposure",
                group_by=by,
                margins=True,
                filters=[is_in("subject_code", *subjects)],
                measures=[*COUNT, {"kind": "mean", "column": "mean_experience"}],
            ),
            "mallory",
        )
        .cells
    )
    within = pl.col("subject_code").is_in(subjects)
    breaches = teacher_rule_breaches(research_dir, by, table, within)
    margins = [b for b in breaches if b[1]]
    assert not breaches, (
        f"{len(breaches)} shown cells ({len(margins)} margins) break the teacher rules "
        f"(>= {SDC.min_teachers} teachers, top {TEACHER_N} <= {TEACHER_K}); margins "
        f"(keys, margin, teachers, top share): {margins[:6]}"
    )


def test_a_cell_dominated_by_one_teacher_is_not_shown(research_dir: Path) -> None:
    """The attacker asks the mean certified share of one subject by school x grade: cells that
    pass the 3-teacher rule but where one teacher gives nearly all the minutes show that
    teacher's certification. (One subject, so that each pupil is in one cell.)"""
    by = ["school_code", "subject_code", "grade"]
    dominated = [
        k
        for k, (t, top) in teacher_minutes(research_dir, by).items()
        if None not in k and t >= SDC.min_teachers and top > TEACHER_K
    ]
    assert dominated, "the attack needs a cell of 3+ teachers dominated by one"  # a real instance
    per_subject = Counter(k[1] for k in dominated)
    subject = min(per_subject, key=lambda s: (-per_subject[s], s))
    table = (
        engine(research_dir)
        .release(
            spec(
                table="exposure",
                group_by=by,
                filters=[is_in("subject_code", subject)],
                measures=[{"kind": "mean", "column": "certified_share"}],
            ),
            "mallory",
        )
        .cells
    )
    breaches = teacher_rule_breaches(research_dir, by, table, pl.col("subject_code") == subject)
    shown = sum(c.status != "suppressed" for c in table)
    assert not breaches, (
        f"{len(breaches)} of {shown} shown {subject} cells break the teacher rules (keys, "
        f"margin, teachers, top share): {breaches[:5]}"
    )


# --- 5. extreme quantiles -------------------------------------------------------------------


def test_an_extreme_quantile_does_not_give_a_grades_maximum(research_dir: Path) -> None:
    """The attacker asks for the 0.999999 quantile of days_absent per grade in one term: it is
    each grade's maximum, one pupil's value. A quantile is shown only with at least min_students
    pupils strictly below and strictly above it."""
    rows = research_table(research_dir, "student_terms")
    term = sorted(rows["term"].unique())[0]
    rows = rows.filter(pl.col("term") == term)
    assert rows["student_pid"].is_unique().all()  # one row per pupil: its value is the pupil's
    top = rows.group_by("grade").agg(pl.col("days_absent").max().alias("max"))
    at_max = {
        g: int(rows.filter(pl.col("grade") == g, pl.col("days_absent") >= m).height)
        for g, m in top.iter_rows()
    }
    assert any(n < MIN_STUDENTS for n in at_max.values())  # a real instance
    q = {"kind": "quantile", "column": "days_absent", "q": 0.999999}
    try:
        table = (
            engine(research_dir)
            .release(
                spec(
                    table="student_terms",
                    group_by=["grade"],
                    filters=[is_in("term", term)],
                    measures=[q],
                ),
                "mallory",
            )
            .cells
        )
    except QueryRefused:
        return
    name = release.Measure.model_validate(q).name
    close = []
    for cell in table:
        shown = cell.values[name]
        if cell.status == "suppressed" or shown is None:
            continue
        days = rows.filter(pl.col("grade") == cell.keys["grade"])["days_absent"]
        below, above = int((days < shown).sum()), int((days > shown).sum())
        if min(below, above) < QUANTILE_SIDE:
            close.append((cell.keys["grade"], shown, below, above, at_max[cell.keys["grade"]]))
    assert not close, (
        f"quantiles shown with fewer than {QUANTILE_SIDE} pupils on a side "
        f"(grade, value, below, above, pupils at the grade's maximum): {close}"
    )
