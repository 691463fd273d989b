"""England's published absence statistics, reproduced by the project's own rate functions.

The Department for Education publishes, per school type and pupil characteristic, the session
counts behind each rate (``../shared/testdata/absence_dfe/``, 2012/13–2016/17). The overall,
authorised and unauthorised rates are the ratio of summed sessions, rounded half up to one
decimal; persistent-absence counts are rounded to the nearest 5, so the persistent rate is
reproduced within that rounding (each count ± 2).
"""

from __future__ import annotations

import math

import ibis
import pyarrow as pa
import pyarrow.csv as pv
import pytest

from linkage.research._rates import persistent, rate
from tests.conftest import shared_path

CSV = "testdata/absence_dfe/absence_natcharacteristics_201617.csv"
COUNTS = [
    "enrolments",
    "sess_possible",
    "sess_overall",
    "sess_authorised",
    "sess_unauthorised",
    "enrolments_PA_10_exact",
    "sess_possible_pa_10_exact",
    "sess_overall_pa_10_exact",
]
PERCENTS = [
    "sess_overall_percent",
    "sess_authorised_percent",
    "sess_unauthorised_percent",
    "enrolments_pa_10_exact_percent",
]


def _half_up(percent: float) -> float:
    """Round half up to one decimal, as the published tables do (tolerant of float error)."""
    return math.floor(percent * 10 + 0.5 + 1e-9) / 10


@pytest.fixture(scope="module")
def published() -> ibis.Table:
    as_text = {c: pa.string() for c in COUNTS + PERCENTS}
    options = pv.ConvertOptions(strings_can_be_null=False, column_types=as_text)
    table = pv.read_csv(shared_path(CSV), convert_options=options)
    keep = [i for i, v in enumerate(table["sess_possible"].to_pylist()) if v not in ("x", ".")]
    table = table.take(keep)
    columns = {c: pa.array([int(v) for v in table[c].to_pylist()], pa.int64()) for c in COUNTS}
    columns |= {c: pa.array([float(v) for v in table[c].to_pylist()]) for c in PERCENTS}
    columns["label"] = pa.array(
        [
            f"{a} {b} {c}"
            for a, b, c in zip(
                table["time_period"].to_pylist(),
                table["school_type"].to_pylist(),
                table["characteristic_breakdown"].to_pylist(),
                strict=True,
            )
        ]
    )
    return ibis.memtable(pa.table(columns))


def _run(expression: ibis.Table) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = ibis.duckdb.connect().to_pyarrow(expression).to_pylist()
    return rows


def test_session_rates_are_reproduced_exactly(published: ibis.Table) -> None:
    t = published
    rows = _run(
        t.select(
            "label",
            *PERCENTS,
            overall=rate(t.sess_overall, t.sess_possible) * 100,
            authorised=rate(t.sess_authorised, t.sess_possible) * 100,
            unauthorised=rate(t.sess_unauthorised, t.sess_possible) * 100,
            parts_add_up=t.sess_overall == t.sess_authorised + t.sess_unauthorised,
        )
    )
    assert len(rows) == 1308
    wrong = [
        (r["label"], measure)
        for r in rows
        for measure, published_column in [
            ("overall", "sess_overall_percent"),
            ("authorised", "sess_authorised_percent"),
            ("unauthorised", "sess_unauthorised_percent"),
        ]
        if _half_up(r[measure]) != r[published_column]  # type: ignore[arg-type]
    ]
    assert wrong == []
    assert all(r["parts_add_up"] for r in rows)


def test_the_headline_figures(published: ibis.Table) -> None:
    t = published
    (row,) = _run(
        t.filter(t.label == "201617 Total Total").select(
            overall=rate(t.sess_overall, t.sess_possible) * 100,
            pa=rate(t.enrolments_PA_10_exact, t.enrolments) * 100,
        )
    )
    assert (_half_up(row["overall"]), _half_up(row["pa"])) == (4.7, 10.8)  # type: ignore[arg-type]


def test_persistent_absence_rates_within_the_published_rounding(published: ibis.Table) -> None:
    """Counts are rounded to the nearest 5: the true counts lie within ± 2 of them. The lowest
    and highest rate they allow must bracket the published rate."""
    t = published
    rows = _run(
        t.select(
            "label",
            "enrolments_pa_10_exact_percent",
            low=rate(t.enrolments_PA_10_exact - 2, t.enrolments + 2) * 100,
            high=rate(t.enrolments_PA_10_exact + 2, t.enrolments - 2) * 100,
            exact=rate(t.enrolments_PA_10_exact, t.enrolments) * 100,
        )
    )
    outside = [
        r["label"]
        for r in rows
        if not _half_up(r["low"])
        <= r["enrolments_pa_10_exact_percent"]  # type: ignore[arg-type,operator]
        <= _half_up(r["high"])
    ]  # type: ignore[arg-type]
    assert outside == []
    exact = sum(_half_up(r["exact"]) == r["enrolments_pa_10_exact_percent"] for r in rows)  # type: ignore[arg-type]
    assert exact >= 1000  # most rows reproduce even from the rounded counts


def test_persistent_absentees_are_persistent_as_a_group(published: ibis.Table) -> None:
    """Every persistent absentee missed ≥ 10 % of their own sessions, so their pooled sessions
    must pass the same threshold."""
    t = published
    rows = _run(
        t.select(
            "label",
            pooled=persistent(t.sess_overall_pa_10_exact, t.sess_possible_pa_10_exact),
        )
    )
    assert [r["label"] for r in rows if r["pooled"] is not True] == []
