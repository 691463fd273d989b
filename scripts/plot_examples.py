"""Write the researcher tutorial's pictures of ``Result.plot()`` to ``docs/images/plot-*.png``.

The results are made by hand, labelled dummy, and turned into ``Result`` objects by the client's
own reader of the service's answer, so the pictures show exactly what ``plot()`` draws for a
release, without a service or any data. The figures are invented (and fixed, so the pictures
change only when the drawing does)::

    .venv/bin/python scripts/plot_examples.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from api.client import Result
from api.client._results import release_result

ROOT = Path(__file__).resolve().parents[1]
COUNT = {"kind": "count_students"}
MEAN = {"kind": "mean", "column": "days_absent"}


def _cell(
    keys: Mapping[str, Any],
    values: Mapping[str, float | None],
    half: Mapping[str, float] | None = None,
    status: str = "released",
) -> dict[str, Any]:
    """A cell as the service sends it; ``half`` gives each measure's interval half-width."""
    lower, upper = {}, {}
    for measure, width in (half or {}).items():
        value = values[measure]
        if value is not None:
            lower[measure], upper[measure] = max(value - width, 0.0), value + width
    return {
        "keys": dict(keys),
        "margin": False,
        "status": status,
        "values": dict(values),
        "lower": lower,
        "upper": upper,
    }


def _result(
    spec: Mapping[str, Any],
    measures: Sequence[Mapping[str, Any]],
    cells: Sequence[Mapping[str, Any]],
    mode: str,
    rho: float = 0.0,
) -> Result:
    body = {
        "release_id": "r-20270114T101500-1a2b3c4d",
        "mode": mode,
        "rho": rho,
        "snapshot": "20270110T020000-abcdef",
        "policy_version": "example",
        "cached": False,
        "notes": [],
        "spec": {**spec, "measures": list(measures), "mode": mode},
        "cells": list(cells),
    }
    return release_result(body, "dummy")


def dp_by_grade() -> Result:
    """Pupils and mean days absent by grade, dp at ρ = 0.05."""
    counts = [118, 124, 131, 109, 122, 127, 115, 119, 133, 112]
    means = [4.1, 4.6, 4.3, 5.2, 5.0, 5.9, 6.4, 7.1, 7.8, 8.3]
    cells = [
        _cell(
            {"grade": g},
            {"count_students": c, "mean_days_absent": m},
            {"count_students": 9.0, "mean_days_absent": 0.9 + 0.01 * (130 - c)},
        )
        for g, (c, m) in enumerate(zip(counts, means, strict=True))
    ]
    spec = {"table": "student_terms", "group_by": ["grade"], "rho": 0.05}
    return _result(spec, [COUNT, MEAN], cells, "dp", rho=0.05)


def sdc_by_school_and_band() -> Result:
    """Pupils by school and grade band, exact, with the small cells suppressed."""
    counts = {
        ("S01", "F-3"): 212,
        ("S01", "4-6"): 164,
        ("S01", "7-9"): None,
        ("S02", "F-3"): 96,
        ("S02", "4-6"): 88,
        ("S02", "7-9"): 141,
        ("S03", "F-3"): None,
        ("S03", "4-6"): 57,
        ("S03", "7-9"): 203,
    }
    cells = [
        _cell(
            {"school_code": s, "grade_band": b},
            {"count_students": c},
            status="released" if c is not None else "suppressed",
        )
        for (s, b), c in counts.items()
    ]
    spec = {"table": "exposure", "group_by": ["school_code", "grade_band"]}
    return _result(spec, [COUNT], cells, "sdc")


def histogram_of_absence() -> Result:
    """Pupils per absence band: a histogram over a public band key, dp at ρ = 0.02."""
    counts = {"<5%": 642.0, "5-10%": 301.0, "10-20%": 188.0, "20-50%": 71.0, ">=50%": 12.0}
    cells = [
        _cell({"absence_band": b}, {"count_students": c}, {"count_students": 14.0})
        for b, c in counts.items()
    ]
    spec = {"table": "student_terms", "group_by": ["absence_band"], "rho": 0.02}
    return _result(spec, [COUNT], cells, "dp", rho=0.02)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "docs" / "images",
        help="where the PNGs go (default: docs/images)",
    )
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    charts = {
        "plot-dp-by-grade.png": dp_by_grade().plot(),
        "plot-sdc-suppressed.png": sdc_by_school_and_band().plot(),
        "plot-histogram.png": histogram_of_absence().plot(),
    }
    for name, chart in charts.items():
        figure = chart if isinstance(chart, Figure) else chart.figure
        figure.savefig(out / name, dpi=90, metadata={"Software": None})
        plt.close(figure)
        path = (out / name).resolve()
        sys.stdout.write(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
