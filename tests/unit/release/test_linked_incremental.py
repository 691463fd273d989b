"""The linked audit of a long history is incremental (``release._linked``): it reuses the last
audit's feasible points and remembered widths. It must decide every request exactly as an
audit from scratch would, refusals included, and be cheaper."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import release._releaser
from release import QueryRefused, QuerySpec
from release._frames import Collapse, PrivateFrame
from release._linked import Audit, History, Output, _pool, _System, audit
from tests.research_data import engine, research_dir

__all__ = ["research_dir"]

FLAGS = ["persistent_absence", "severe_absence", "many_days_absent"]
GROUPINGS = [["school_code"], ["grade"], ["school_code", "grade"], ["term"], ["grade", "term"]]


def _mix() -> Iterator[dict[str, Any]]:
    """A working researcher's questions, with differencing attempts among them: the same
    groupings again under narrower filters, which the audit must refuse or let through
    exactly as it would without a history of evidence."""
    for i in itertools.count():
        by = GROUPINGS[i % len(GROUPINGS)]
        filters: list[dict[str, Any]] = []
        if i % 3 == 1:
            filters.append({"column": FLAGS[(i // 3) % len(FLAGS)], "op": "is_true"})
        if i % 4 == 2:
            filters.append({"column": "grade", "op": "between", "values": [i % 5, 9]})
        if i % 5 == 4:
            filters.append({"column": "grade", "op": "in", "values": [7, 8, 9]})
        yield {
            "table": "student_terms",
            "group_by": by,
            "filters": filters,
            "measures": [{"kind": "count_students"}],
            "margins": len(by) == 2 and i % 2 == 0,
        }


def _cold(history: History) -> History:
    return replace(history, prior=None, parent=None, evidence=None)


def test_the_incremental_audit_decides_every_request_as_an_audit_from_scratch(
    research_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audits: list[tuple[Audit, Audit]] = []

    def both(history: History, *, min_students: int) -> Audit:
        kept = audit(history, min_students=min_students)
        fresh = audit(_cold(history), min_students=min_students)
        audits.append((kept, fresh))
        return kept

    monkeypatch.setattr(release._releaser, "audit", both)
    e = engine(research_dir)
    outcomes = []
    for spec in itertools.islice(_mix(), 40):
        try:
            e.release(QuerySpec.model_validate(spec), "mallory")
            outcomes.append("released")
        except QueryRefused as refusal:
            outcomes.append("refused: linked" if "by subtraction" in str(refusal) else "other")
    differing = [
        (i, kept.finding, fresh.finding)
        for i, (kept, fresh) in enumerate(audits)
        if (kept.finding is None) != (fresh.finding is None)
    ]
    assert differing == []
    # the mix is a real test: the audit refused some requests and let most through
    assert outcomes.count("refused: linked") >= 2, outcomes
    assert outcomes.count("released") >= 20, outcomes
    # and the history's evidence did work: targets settled without programmes
    assert sum(k.by_points + k.by_memory for k, _ in audits) > 0
    assert sum(k.programmes for k, _ in audits) < sum(f.programmes for _, f in audits)


def _frame() -> PrivateFrame:
    """40 pupils only at school A, 40 only at B, 3 at both (they moved), all in grade 9."""
    rows = (
        [(f"a{i}", "A") for i in range(40)]
        + [(f"b{i}", "B") for i in range(40)]
        + [(f"m{i}", s) for i in range(3) for s in ("A", "B")]
    )
    frame = pl.DataFrame(rows, schema=["pupil", "school"], orient="row")
    return PrivateFrame("student_terms", frame.with_columns(grade=pl.lit(9)).lazy())


def _collapse(*by: str) -> Collapse:
    return Collapse(by=by, unit="pupil", filters=(), means={}, sums={}, flags=(), max_rows=10)


def test_a_remembered_width_settles_a_target_the_new_output_leaves_alone() -> None:
    """Counts by school (43 and 43, the 3 movers in both), then the count of grade 9 (83):
    together they pin the movers down (43 + 43 − 83), which the audit finds; say the data
    protection officer approves it anyway. A later table that adds nothing about the movers
    leaves their width as it was: remembered from the last audit, not solved again."""
    frame = _frame()
    by_school = Output("r1", _collapse("school"), (("A",), ("B",)))
    by_grade = Output("r2", _collapse("grade"), ((9,),))
    total = Output("r3", _collapse(), ((),))
    history = History.start(frame, "pupil")
    audits = []
    for output in (by_school, by_grade, total):
        audits.append(audit(history.extend(frame, output), min_students=10))
        history = audits[-1].history  # the finding approved: the output is published
    assert sorted(history.sizes) == [3, 40, 40]
    found = audits[1].finding
    assert found is not None and found.outputs == ("r1", "r2") and found.width == 0
    third = audits[2]
    assert third.finding is None  # the earlier outputs pinned the movers already
    assert (third.targets, third.by_points, third.by_memory, third.programmes) == (1, 0, 1, 0)
    # without the evidence, the same audit solves the width again, and decides the same
    cold = audit(replace(third.history, prior=None, parent=None, evidence=None), min_students=10)
    assert cold.finding is None and cold.by_memory == 0 and cold.programmes > 0


def test_a_kept_point_that_no_longer_fits_the_figures_is_dropped(research_dir: Path) -> None:
    """The evidence carries points over only if they reproduce the new output's figures: a
    point that does not is not a possible state of the data, and would make a narrow target
    look wide."""
    e = engine(research_dir)
    count = [{"kind": "count_students"}]
    for by in (["grade"], ["school_code"]):
        spec = {"table": "student_terms", "group_by": by, "measures": count}
        e.release(QuerySpec.model_validate(spec), "mallory")
    history = e._histories[("default", "student_terms")]
    assert history.evidence is not None
    bogus = history.evidence.shares.copy()
    bogus[:, 1:] = np.linspace(0.0, 3.0, bogus.shape[0])[:, None]  # far from every figure
    spoiled = replace(history, evidence=replace(history.evidence, shares=bogus))
    blocks = [f @ m for f, m in zip(spoiled.figures, spoiled.incidence, strict=True)]
    system = _System(blocks, spoiled.sizes)
    system.seed(
        _pool(replace(spoiled, prior=spoiled.evidence, parent=np.arange(len(spoiled.sizes))))
    )
    assert system.points.shape[1] == 1 + 1  # the truth, and the one true point it carried
