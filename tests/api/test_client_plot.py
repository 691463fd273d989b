"""``Result.plot()``: the chart's artists say what the release says, no more.

Results are built as the client builds them (``release_result`` on the service's cells, made by
hand here), plus one real release from the served snapshot. Each test reads the artists back:
bars and points per released cell, error bars spanning exactly the 95 % intervals, no bar for a
suppressed cell, no margin unless asked, labels naming the measure and the grouping."""

from __future__ import annotations

import io
import os
import runpy
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure

from api.client import Client, Result, Spec
from api.client._results import held_result, release_result
from tests.api.test_client import client, research_dir, service

__all__ = ["client", "research_dir", "service"]

ROOT = Path(__file__).resolve().parents[2]
BY_GRADE = {"table": "student_terms", "group_by": ["grade"]}
COUNT = [{"kind": "count_students"}]
MEAN = [{"kind": "mean", "column": "days_absent"}]


@pytest.fixture(autouse=True)
def _off_screen() -> Iterator[None]:
    """Draw with Agg (no window, even with a display), and close every figure afterwards."""
    plt.switch_backend("Agg")
    yield
    plt.close("all")


# --- results as the client makes them --------------------------------------------------------


def cell(
    keys: Mapping[str, Any],
    values: Mapping[str, float | None],
    *,
    interval: Mapping[str, tuple[float, float]] | None = None,
    status: str = "released",
    margin: bool = False,
) -> dict[str, Any]:
    """One cell on the wire; ``interval`` gives each measure's (lower, upper) in dp mode."""
    interval = interval or {}
    return {
        "keys": dict(keys),
        "margin": margin,
        "status": status,
        "values": dict(values),
        "lower": {m: lo for m, (lo, _) in interval.items()},
        "upper": {m: hi for m, (_, hi) in interval.items()},
    }


def released(
    spec: Mapping[str, Any],
    measures: Sequence[Mapping[str, Any]],
    cells: Sequence[Mapping[str, Any]],
    *,
    mode: str = "dp",
    rho: float = 0.05,
    label: str = "real",
    margins: bool = False,
) -> Result:
    body = {
        "release_id": "r-20270114T101500-1a2b3c4d",
        "mode": mode,
        "rho": rho if mode == "dp" else 0.0,
        "snapshot": "20270110T020000-abcdef",
        "policy_version": "v1",
        "cached": False,
        "notes": [],
        "spec": {
            **spec,
            "measures": list(measures),
            "mode": mode,
            "margins": margins,
            "rho": rho if mode == "dp" else None,
        },
        "cells": list(cells),
    }
    return release_result(body, label)  # type: ignore[arg-type]


def dp_counts() -> Result:
    """count_students by grade 0-3 in dp, grade 2 without a value (suppressed)."""
    cells = [
        cell({"grade": g}, {"count_students": v}, interval={"count_students": (v - 5, v + 4)})
        for g, v in ((0, 110.0), (1, 95.0), (3, 120.0))
    ]
    cells.insert(2, cell({"grade": 2}, {"count_students": None}, status="suppressed"))
    return released(BY_GRADE, COUNT, cells)


def sdc_with_margins() -> Result:
    cells = [cell({"grade": g}, {"count_students": v}) for g, v in ((0, 40), (1, 0), (2, 35))]
    cells.append(cell({"grade": None}, {"count_students": 75}, margin=True))
    return released(BY_GRADE, COUNT, cells, mode="sdc", margins=True)


def bars(ax: Axes) -> list[Any]:
    return [p for c in ax.containers if isinstance(c, BarContainer) for p in c.patches]


def points(ax: Axes) -> list[tuple[float, float]]:
    lines = [ln for ln in ax.lines if ln.get_gid() == "values"]
    return [(float(x), float(y)) for ln in lines for x, y in ln.get_xydata()]


def error_bars(ax: Axes) -> list[tuple[float, float, float]]:
    """Every error bar as (x, low, high)."""
    out = []
    for c in ax.containers:
        if isinstance(c, ErrorbarContainer):
            for segment in c.lines[2][0].get_segments():
                (x, low), (_, high) = segment
                out.append((float(x), float(low), float(high)))
    return sorted(out)


def gap_marks(ax: Axes, note: str = "suppressed") -> list[float]:
    return [float(x) for ln in ax.lines if ln.get_gid() == f"gaps:{note}" for x in ln.get_xdata()]


def legend_texts(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


def ticks(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.get_xticklabels()]


# --- bars, intervals and gaps ----------------------------------------------------------------


def test_a_dp_count_is_a_bar_per_released_cell_with_its_interval_as_the_error_bar() -> None:
    result = dp_counts()
    ax = result.plot()
    assert isinstance(ax, Axes)
    table = result.table
    assert table is not None
    shown = table[table["status"] == "released"]
    assert len(bars(ax)) == len(shown) == 3
    assert sorted((b.get_x() + b.get_width() / 2, b.get_height()) for b in bars(ax)) == [
        (0.0, 110.0),
        (1.0, 95.0),
        (3.0, 120.0),
    ]
    assert error_bars(ax) == [(0.0, 105.0, 114.0), (1.0, 90.0, 99.0), (3.0, 115.0, 124.0)]
    assert ticks(ax) == ["0", "1", "2", "3"]


def test_a_suppressed_cell_is_a_marked_gap_never_a_zero() -> None:
    ax = dp_counts().plot()
    assert [b.get_x() + b.get_width() / 2 for b in bars(ax)] == [0.0, 1.0, 3.0]  # none at 2
    assert all(b.get_height() > 0 for b in bars(ax))
    assert gap_marks(ax) == [2.0]
    assert "suppressed" in legend_texts(ax)
    assert not [x for x, _, _ in error_bars(ax) if x == 2.0]


def test_an_exact_release_has_no_error_bars_and_a_true_zero_is_a_bar() -> None:
    ax = sdc_with_margins().plot()
    assert error_bars(ax) == []
    assert "95 % interval" not in legend_texts(ax)
    assert [b.get_height() for b in bars(ax)] == [40, 0, 35]  # released zero: a bar of height 0
    assert gap_marks(ax) == []


def test_margins_are_left_out_unless_asked_for() -> None:
    result = sdc_with_margins()
    ax = result.plot()
    assert ticks(ax) == ["0", "1", "2"] and len(bars(ax)) == 3
    with_totals = result.plot(margins=True)
    assert isinstance(with_totals, Axes)
    assert ticks(with_totals) == ["0", "1", "2", "all"]
    assert [b.get_height() for b in bars(with_totals)] == [40, 0, 35, 75]


def test_a_mean_is_points_with_intervals_and_kind_chooses() -> None:
    cells = [
        cell({"grade": g}, {"mean_days_absent": m}, interval={"mean_days_absent": (lo, hi)})
        for g, m, lo, hi in ((7, 4.5, 3.0, 6.25), (8, 6.0, 5.5, 7.0))
    ]
    result = released(BY_GRADE, MEAN, cells)
    ax = result.plot()
    assert bars(ax) == [] and points(ax) == [(0.0, 4.5), (1.0, 6.0)]
    assert error_bars(ax) == [(0.0, 3.0, 6.25), (1.0, 5.5, 7.0)]
    as_bars = result.plot(kind="bar")
    assert isinstance(as_bars, Axes)
    assert [b.get_height() for b in bars(as_bars)] == [4.5, 6.0] and points(as_bars) == []
    with pytest.raises(ValueError, match="kind is 'bar' or 'point', not 'pie'"):
        result.plot(kind="pie")  # type: ignore[arg-type]


def test_a_dp_value_without_an_interval_gets_no_error_bar() -> None:
    quantile = [{"kind": "quantile", "column": "days_absent", "q": 0.5}]
    cells = [
        cell({"grade": 1}, {"quantile_0.5_days_absent": 3.0}),
        cell({"grade": 2}, {"quantile_0.5_days_absent": 4.0}),
    ]
    ax = released(BY_GRADE, quantile, cells).plot()
    assert points(ax) == [(0.0, 3.0), (1.0, 4.0)] and error_bars(ax) == []


# --- two keys, several measures --------------------------------------------------------------


def test_the_second_key_is_the_series_with_its_values_in_the_legend() -> None:
    spec = {"table": "student_terms", "group_by": ["grade", "term"]}
    cells = []
    for g in (1, 2, 3):
        for t, extra in (("2027VT", 0.0), ("2026HT", 10.0)):
            v = 100.0 + g + extra
            cells.append(
                cell(
                    {"grade": g, "term": t},
                    {"count_students": v},
                    interval={"count_students": (v - 2, v + 2)},
                )
            )
    cells[5] = cell({"grade": 3, "term": "2026HT"}, {"count_students": None}, status="suppressed")
    ax = released(spec, COUNT, cells).plot()
    containers = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [len(c.patches) for c in containers] == [2, 3]  # 2026HT (grade 3 suppressed), 2027VT
    assert len(bars(ax)) == 5 == len(error_bars(ax))
    legend = ax.get_legend()
    assert legend is not None and legend.get_title().get_text() == "term"
    assert legend_texts(ax) == ["2026HT", "2027VT", "95 % interval", "suppressed"]
    first = [b.get_x() + b.get_width() / 2 for b in containers[0].patches]
    assert first == pytest.approx([-0.2, 0.8])  # 2026HT left of each grade's centre
    assert gap_marks(ax) == pytest.approx([1.8])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("grade", "count_students")
    assert "count_students by grade and term" in ax.get_title()


def test_several_measures_are_one_panel_each_and_measure_chooses() -> None:
    measures = [*COUNT, *MEAN]
    cells = [
        cell(
            {"grade": g},
            {"count_students": 50.0 + g, "mean_days_absent": 4.0},
            interval={"count_students": (45.0, 60.0), "mean_days_absent": (3.0, 5.0)},
        )
        for g in range(4)
    ]
    result = released(BY_GRADE, measures, cells)
    figure = result.plot()
    assert isinstance(figure, Figure)
    assert [a.get_ylabel() for a in figure.axes] == ["count_students", "mean_days_absent"]
    one = result.plot("mean_days_absent")
    assert isinstance(one, Axes) and one.get_ylabel() == "mean_days_absent"
    both = result.plot(["mean_days_absent", "count_students"])
    assert isinstance(both, Figure)
    assert [a.get_ylabel() for a in both.axes] == ["mean_days_absent", "count_students"]
    with pytest.raises(
        ValueError,
        match="no measure 'sum_lessons' in this result; its "
        "measures: count_students, mean_days_absent",
    ):
        result.plot("sum_lessons")


def test_a_result_made_by_hand_without_a_spec_takes_its_keys_from_the_table() -> None:
    table = pd.DataFrame(
        {
            "grade": [2, 1],
            "status": ["released", "suppressed"],
            "count_students": pd.array([12, None], dtype="Int64"),
        }
    )
    result = Result("released", "r-1", "sdc", 0.0, "s", "p", False, (), "real", table)
    ax = result.plot()
    assert isinstance(ax, Axes) and ax.get_xlabel() == "grade"
    assert ticks(ax) == ["1", "2"] and [b.get_height() for b in bars(ax)] == [12]
    assert gap_marks(ax) == [0.0]


def test_it_draws_into_the_axes_it_is_given() -> None:
    figure, (left, right) = plt.subplots(1, 2)
    returned = dp_counts().plot(ax=right)
    assert returned is right and len(bars(right)) == 3 and bars(left) == []
    two = released(
        BY_GRADE,
        [*COUNT, *MEAN],
        [cell({"grade": 1}, {"count_students": 5.0, "mean_days_absent": 1.0})],
    )
    with pytest.raises(ValueError, match="ax= draws one measure; choose it with measure="):
        two.plot(ax=left)
    assert isinstance(figure, Figure)


# --- titles and labels -----------------------------------------------------------------------


def test_the_title_names_table_measure_grouping_mode_and_rho() -> None:
    ax = dp_counts().plot()
    assert ax.get_title() == (
        "student_terms: count_students by grade\ndp, ρ = 0.05, 95 % intervals"
    )
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("grade", "count_students")
    exact = sdc_with_margins().plot()
    assert exact.get_title() == "student_terms: count_students by grade\nsdc, exact values"


def test_a_dummy_result_says_so_in_the_title() -> None:
    cells = [cell({"grade": 1}, {"count_students": 12})]
    ax = released(BY_GRADE, COUNT, cells, mode="sdc", label="dummy").plot()
    assert ax.get_title().endswith("sdc, exact values, DUMMY DATA (synthetic)")


# --- key order: bands (a histogram), terms, order= --------------------------------------------


def test_a_histogram_over_a_band_is_bars_in_band_order() -> None:
    spec = {"table": "student_terms", "group_by": ["absence_band"]}
    # as the client's table orders them: by string, which is not the bands' order
    counts = {"10-20%": 60.0, "20-50%": 25.0, "5-10%": 80.0, "<5%": 300.0, ">=50%": 7.0}
    cells = [
        cell(
            {"absence_band": b}, {"count_students": v}, interval={"count_students": (v - 3, v + 3)}
        )
        for b, v in counts.items()
    ]
    result = released(spec, COUNT, cells)
    ax = result.plot()
    bands = ["<5%", "5-10%", "10-20%", "20-50%", ">=50%"]
    assert ticks(ax) == bands
    assert [b.get_height() for b in bars(ax)] == [counts[b] for b in bands]
    assert [low for _, low, _ in error_bars(ax)] == [counts[b] - 3 for b in bands]
    given = result.plot(order=[">=50%", "20-50%", "10-20%", "5-10%", "<5%"])
    assert isinstance(given, Axes) and ticks(given) == bands[::-1]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (["2027HT", "2026HT", "2027VT"], ["2026HT", "2027VT", "2027HT"]),
        (["100-160", ">=280", "<100"], ["<100", "100-160", ">=280"]),
        (["7-9", "F-3", "4-6"], ["F-3", "4-6", "7-9"]),
        (["10-19", "20+", "0-2", "3-9"], ["0-2", "3-9", "10-19", "20+"]),
        (["MA", "EN", "SV"], ["MA", "EN", "SV"]),  # no known shape: the table's order
    ],
)
def test_keys_run_in_key_order(keys: list[str], expected: list[str]) -> None:
    spec = {"table": "exposure", "group_by": ["k"]}
    cells = [cell({"k": k}, {"count_students": 10}) for k in keys]
    result = released(spec, COUNT, cells, mode="sdc")
    table = result.table
    assert table is not None
    ax = result.plot()
    if expected == keys:  # the table's own order
        expected = list(table["k"])
    assert ticks(ax) == expected


# --- what it refuses, and what it needs ------------------------------------------------------


def test_it_refuses_a_held_request_and_more_than_two_keys() -> None:
    held = held_result(
        {"id": 4, "snapshot": "s", "spec": {"table": "t", "mode": "sdc"}, "checks": []}, "real"
    )
    with pytest.raises(ValueError, match="request 4 is held: nothing is released to plot yet"):
        held.plot()
    spec = {"table": "exposure", "group_by": ["school_code", "subject_code", "grade"]}
    three = released(
        spec,
        COUNT,
        [cell({"school_code": "A", "subject_code": "MA", "grade": 1}, {"count_students": 10})],
        mode="sdc",
    )
    with pytest.raises(
        ValueError, match=r"at most two grouping keys .* has 3: school_code, subject_code, grade"
    ):
        three.plot()


def test_without_matplotlib_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError) as error:
        dp_counts().plot()
    assert str(error.value) == (
        "plotting needs matplotlib: pip install 'medler[plot]' "
        "(from a clone: pip install -c requirements/constraints.txt -e '.[plot]')"
    )


def test_importing_the_client_does_not_import_matplotlib() -> None:
    code = "import sys, api.client\nprint('matplotlib' in sys.modules)\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "False"


def test_it_draws_headless_and_saves_a_png(tmp_path: Path) -> None:
    """In a fresh interpreter with no display and no backend chosen: matplotlib falls back to
    Agg, and the chart is saved."""
    code = (
        "import sys\n"
        "from tests.api.test_client_plot import dp_counts\n"
        "import matplotlib\n"
        "ax = dp_counts().plot()\n"
        "ax.figure.savefig(sys.argv[1])\n"
        "print(matplotlib.get_backend())\n"
    )
    env = {
        k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")
    }
    out_png = tmp_path / "headless.png"
    out = subprocess.run(
        [sys.executable, "-c", code, str(out_png)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    assert out.stdout.strip().lower() == "agg", out.stderr
    assert out_png.read_bytes().startswith(b"\x89PNG")


def test_the_png_is_not_blank() -> None:
    ax = dp_counts().plot()
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png", dpi=80)
    assert buffer.getvalue().startswith(b"\x89PNG")
    buffer.seek(0)
    pixels = matplotlib.image.imread(buffer, format="png")[..., :3]
    inked = np.any(pixels < 0.9, axis=-1).mean()  # not white: text, axes, bars
    coloured = (np.ptp(pixels, axis=-1) > 0.3).mean()  # the bars' colour, not just grey
    assert inked > 0.05 and coloured > 0.02, (inked, coloured)


# --- a real release, and the docs' pictures --------------------------------------------------


def test_a_served_dp_release_plots_every_cell_with_its_interval(client: Client) -> None:
    spec = (
        Spec("student_terms").by("grade").where_in("term", "2026HT").count_students().dp(rho=0.05)
    )
    result = client.submit(spec)
    table = result.table
    assert table is not None
    ax = result.plot()
    assert isinstance(ax, Axes)
    shown = table[table["count_students"].notna()]
    assert len(bars(ax)) == len(shown) == len(table)
    drawn = error_bars(ax)
    assert [x for x, _, _ in drawn] == list(range(len(table)))
    assert [low for _, low, _ in drawn] == pytest.approx(list(table["count_students_lower"]))
    assert [high for _, _, high in drawn] == pytest.approx(list(table["count_students_upper"]))
    assert ticks(ax) == [str(g) for g in table["grade"]]


def test_the_docs_example_script_writes_its_pictures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["plot_examples.py", "--out", str(tmp_path)])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(ROOT / "scripts" / "plot_examples.py"), run_name="__main__")
    assert done.value.code == 0
    written = sorted(p.name for p in tmp_path.glob("plot-*.png"))
    assert written == sorted(p.name for p in (ROOT / "docs" / "images").glob("plot-*.png"))
    assert written


def test_a_dp_value_with_an_unbounded_interval_is_marked_not_shown_as_exact() -> None:
    """A ratio whose denominator's noise could reach zero has no interval end: the chart says
    so (a dotted line across the panel), rather than a bare point that looks exact."""
    spec = {
        "table": "student_profiles",
        "group_by": ["grade_band"],
        "mode": "dp",
        "rho": 0.5,
        "measures": [{"kind": "ratio", "numerator": "certified_minutes", "denominator": "minutes"}],
    }
    name = "ratio_certified_minutes_minutes"
    cells = [
        {
            "keys": {"grade_band": "F-3"},
            "status": "released",
            "values": {name: 0.7},
            "lower": {name: 0.6},
            "upper": {name: 0.8},
        },
        {
            "keys": {"grade_band": "4-6"},
            "status": "released",
            "values": {name: 1.4},
            "lower": {name: None},
            "upper": {name: None},
        },
    ]
    body = {
        "release_id": "r-1",
        "spec": spec,
        "mode": "dp",
        "snapshot": "s",
        "policy_version": "p",
        "rho": 0.5,
        "cells": cells,
        "notes": [],
        "cached": False,
        "data": "dummy",
    }
    ax = release_result(body, "dummy").plot()
    unbounded = [a for a in ax.get_lines() if a.get_gid() == "unbounded"]
    assert len(unbounded) == 1
    assert "interval unbounded" in [t.get_text() for t in ax.get_legend().get_texts()]
