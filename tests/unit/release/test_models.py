"""Models: a linear or logistic regression as a release. In sdc mode it is the exact fit on the
rows the spec keeps, as statsmodels fits it, released only past output checks of the ACRO kind;
in dp mode its estimates come from noisy sufficient statistics, each with an interval that
holds the exact estimate at its stated rate. Either way it is charged, audited and joins the
project's history like any release, and never shows a row or a pseudonym."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from linkage import current_snapshot, table_files
from release import QueryRefused, QuerySpec, Releaser, load_policies
from release._frames import PrivateFrame
from release._models import assess_sdc, plan_dp, release_dp
from release._regression import fit_linear
from release._rules import resolve
from release.governance import DATASET, BudgetScope, Ledger, connect_control_plane, verify_audit
from release.governance._db import default_url
from tests.research_data import engine, research_dir

sm = pytest.importorskip("statsmodels.api", reason="the reference fits need statsmodels")

__all__ = ["research_dir"]

AUTUMN = {"column": "term", "op": "in", "values": ["2026HT"]}
PREDICTORS = ["certified_share", "novice_share"]


def _spec(
    kind: str,
    outcome: str,
    *,
    categorical: tuple[str, ...] = ("grade_band",),
    predictors: list[str] = PREDICTORS,
    **more: Any,
) -> QuerySpec:
    return QuerySpec.model_validate(
        {
            "table": "student_profiles",
            "filters": [AUTUMN, *more.pop("filters", [])],
            "model": {
                "kind": kind,
                "outcome": outcome,
                "predictors": predictors,
                "categorical": list(categorical),
            },
            **more,
        }
    )


def _profiles(data_dir: Path) -> pl.DataFrame:
    snapshot = current_snapshot(data_dir / "research")
    return pl.read_parquet(table_files(snapshot, "student_profiles"))


def _reference(rows: pl.DataFrame, kind: str, outcome: str) -> Any:
    """statsmodels on the same rows: the autumn term, rows with every model column."""
    kept = rows.filter(pl.col("term") == "2026HT").drop_nulls([outcome, *PREDICTORS, "grade_band"])
    frame = kept.to_pandas()
    import pandas as pd

    bands = pd.get_dummies(frame["grade_band"], prefix="grade_band", drop_first=True)
    x = sm.add_constant(pd.concat([frame[PREDICTORS], bands.astype(float)], axis=1))
    y = frame[outcome].astype(float)
    return (sm.OLS(y, x) if kind == "linear" else sm.Logit(y, x)).fit(
        **({} if kind == "linear" else {"disp": 0, "tol": 1e-12})
    )


@pytest.mark.parametrize(
    ("kind", "outcome", "statistic"),
    [
        ("linear", "absence_rate_reported", "t"),
        ("logistic", "turnover_hit", "z"),
    ],
)
def test_an_sdc_model_is_statsmodels_fit_on_the_same_rows(
    research_dir: Path, kind: str, outcome: str, statistic: str
) -> None:
    released = engine(research_dir).release(_spec(kind, outcome), "eva", project="p")
    reference = _reference(_profiles(research_dir), kind, outcome)
    names = [c.keys["parameter"] for c in released.cells]
    assert names == ["intercept", *PREDICTORS, "grade_band[7-9]", "grade_band[F-3]"]
    for name, column in (
        ("estimate", "params"),
        ("std_error", "bse"),
        (statistic, "tvalues"),
        ("p_value", "pvalues"),
    ):
        mine = np.array([c.values[name] for c in released.cells])
        np.testing.assert_allclose(
            mine, getattr(reference, column).to_numpy(), rtol=1e-8, atol=1e-10
        )
    n = int(reference.nobs)
    assert released.notes == [
        f"{kind} regression of {outcome}: n = {n} rows, residual df = {n - len(names)}"
    ]
    assert released.rho == 0.0
    # coefficients and their errors only: no fitted value, residual, row or pseudonym
    assert {n for c in released.cells for n in c.values} == {
        "estimate",
        "std_error",
        statistic,
        "p_value",
    }
    text = json.dumps(asdict(released), default=str)
    assert "student_pid" not in text
    pseudonyms = set(_profiles(research_dir)["student_pid"].to_list())
    assert not any(str(p) in text for p in pseudonyms)


def test_a_logistic_model_with_separation_is_refused(research_dir: Path) -> None:
    # no pupil of grade 0 or grade 9 met turnover in the synthetic municipality: the
    # likelihood has no maximum, and the coefficient would disclose the outcome of all of them
    spec = _spec("logistic", "turnover_hit", categorical=("grade",))
    with pytest.raises(QueryRefused, match=r"does not converge: .* \(separation\)"):
        engine(research_dir).release(spec, "eva", project="p")


def _frame(levels: dict[str, int], seed: int = 1) -> PrivateFrame:
    """Pupils of one autumn term: ``levels`` gives the pupils per grade band; absence rises
    with novice share and falls with certified share."""
    rng = np.random.default_rng(seed)
    bands = [b for b, n in levels.items() for _ in range(n)]
    n = len(bands)
    certified, novice = rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    absence = np.clip(0.08 - 0.04 * certified + 0.06 * novice + rng.normal(0, 0.03, n), 0, 1)
    return PrivateFrame(
        "student_profiles",
        pl.LazyFrame(
            {
                "student_pid": [f"s{i:06d}" for i in range(n)],
                "term": ["2026HT"] * n,
                "grade_band": bands,
                "grade": [8] * n,
                "certified_share": certified,
                "novice_share": novice,
                "absence_rate_reported": absence,
                "turnover_hit": rng.uniform(0, 1, n) < 0.2 + 0.5 * novice,
            }
        ),
    )


def _assessed(spec: QuerySpec, frame: PrivateFrame) -> list[str]:
    policies = load_policies()
    resolved = resolve(spec, policies, frame.schema())
    return [f.reason for f in assess_sdc(resolved, frame, policies).findings]


def test_a_model_with_a_single_person_category_is_refused() -> None:
    frame = _frame({"F-3": 200, "4-6": 200, "7-9": 1})
    (reason,) = _assessed(_spec("linear", "absence_rate_reported"), frame)
    assert reason == (
        "a level of grade_band holds fewer than 10 persons, so its coefficient would describe "
        "a few persons (a single-person or saturated category). Merge or leave out small "
        "levels with a filter; count persons by grade_band (sdc) to see which are small"
    )
    # the same data without the lone pupil's level is released
    young = {"column": "grade_band", "op": "in", "values": ["F-3", "4-6"]}
    kept = _spec("linear", "absence_rate_reported", filters=[young])
    assert _assessed(kept, frame) == []


def test_too_few_residual_degrees_of_freedom_or_a_saturated_model_is_refused() -> None:
    few = _frame({"F-3": 12})  # 12 rows, 3 parameters: 9 residual degrees of freedom
    spec = _spec("linear", "absence_rate_reported", categorical=())
    assert _assessed(spec, few) == [
        "the model leaves fewer than 10 residual degrees of freedom; widen the filters or use "
        "fewer predictors"
    ]
    assert _assessed(spec, _frame({"F-3": 13})) == []
    saturated = _spec("linear", "absence_rate_reported", predictors=[])
    (reason,) = _assessed(saturated, _frame({"F-3": 50, "4-6": 50, "7-9": 50}))
    assert reason.startswith("the model is saturated")


def test_a_dp_model_lands_within_its_stated_error() -> None:
    """Over repeated releases of one model on fixed rows, each estimate's 95 % interval holds
    the exact estimate about 95 % of the time, and is not wider than the noise needs."""
    frame = _frame({"F-3": 1500, "4-6": 1500, "7-9": 1500})
    spec = _spec("linear", "absence_rate_reported", mode="dp", rho=0.5)
    policies = load_policies()
    resolved = resolve(spec, policies, frame.schema())
    plan = plan_dp(resolved, policies, {"grade_band": ["4-6", "7-9", "F-3"]})
    assert not isinstance(plan, list)
    assert plan.rho == pytest.approx(0.5, rel=1e-6)
    rows = (
        frame._lazy()
        .with_columns(
            *((pl.col("grade_band") == b).cast(pl.Float64).alias(b) for b in ("7-9", "F-3"))
        )
        .collect()
    )
    exact = fit_linear(
        np.column_stack(
            [
                rows["absence_rate_reported"],
                np.ones(rows.height),
                rows["certified_share"],
                rows["novice_share"],
                rows["7-9"],
                rows["F-3"],
            ]
        )
    ).estimate
    trials, inside, widths, estimates = 60, np.zeros(5), [], []
    for _ in range(trials):
        cells, _notes = release_dp(plan, frame, resolved)
        low = np.array([c.lower["estimate"] for c in cells])
        high = np.array([c.upper["estimate"] for c in cells])
        inside += (low <= exact) & (exact <= high)
        widths.append((high - low) / 2)
        estimates.append([c.values["estimate"] for c in cells])
    # 95 % nominal: 60 trials miss more than 9 times with probability below 0.2 %
    assert (inside >= trials - 9).all(), inside
    spread = 1.96 * np.std(np.array(estimates), axis=0)
    ratio = np.mean(widths, axis=0) / spread
    assert ((ratio > 0.6) & (ratio < 1.6)).all(), ratio


def test_a_model_is_charged_and_audited_like_any_release(
    research_dir: Path, tmp_path: Path
) -> None:
    control = connect_control_plane(default_url(tmp_path))
    ledger = Ledger(control)
    for scope in (DATASET, BudgetScope.of_project("p"), BudgetScope.of_researcher("p", "eva")):
        ledger.set_cap(scope, 1.0, actor="office")
    e = Releaser(research_dir, store=engine(research_dir).store, control=control)
    noisy = e.release(
        _spec("linear", "absence_rate_reported", mode="dp", rho=0.25), "eva", project="p"
    )
    assert noisy.rho == pytest.approx(0.25)
    assert all(c.lower["estimate"] is not None for c in noisy.cells)
    spent = {t.scope: t.spent for t in ledger.totals()}
    assert spent[BudgetScope.of_project("p")] == pytest.approx(0.25)
    exact = e.release(_spec("linear", "absence_rate_reported"), "eva", project="q")
    assert exact.rho == 0.0
    verify_audit(control)
    assert _actions(control)[3:] == ["budget charged", "charge released", "released", "released"]
    # the same model again: the earlier release, no new noise and no new charge
    again = e.release(
        _spec("linear", "absence_rate_reported", mode="dp", rho=0.25), "eva", project="p"
    )
    assert again.cached and again.cells == noisy.cells
    assert {t.scope: t.spent for t in ledger.totals()} == spent


def test_models_whose_populations_differ_by_a_few_pupils_are_refused(research_dir: Path) -> None:
    """Two models, over a school's grade and over the same but one absence band, would give
    the few pupils between them by subtraction (their number, and their effect on the
    coefficients): a model's population is a published count, audited with the project's
    history like a table's cells."""
    rows = _profiles(research_dir).filter(pl.col("term") == "2026HT")
    cells = rows.group_by("school_code", "grade", "absence_band").len()
    small = cells.filter(pl.col("len") < 10).sort("len", "school_code", "grade", "absence_band")
    if small.is_empty():
        pytest.skip("no school, grade and absence band holds fewer than 10 pupils here")
    school, grade, band, _ = small.row(0)
    where = [
        {"column": "school_code", "op": "in", "values": [school]},
        {"column": "grade", "op": "in", "values": [grade]},
    ]
    e = engine(research_dir)
    e.release(
        _spec("linear", "absence_rate_reported", categorical=(), filters=where),
        "mallory",
        project="p",
    )
    others = [b for b in rows["absence_band"].unique().to_list() if b != band]
    narrower = _spec(
        "linear",
        "absence_rate_reported",
        categorical=(),
        filters=[
            *where,
            {"column": "absence_band", "op": "in", "values": others},
        ],
    )
    with pytest.raises(QueryRefused, match="pin down a group of 1 to 9 persons"):
        e.release(narrower, "mallory", project="p")
    # another project, which has no such earlier output, gets it
    assert e.release(narrower, "eve", project="q").cells


def _actions(control: Any) -> list[str]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from release.governance._models import AuditRecord

    with Session(control) as session:
        return list(session.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)))


def test_a_logistic_fit_with_separated_rows_does_not_converge() -> None:
    from release._regression import fit_logistic

    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, 200)
    level = (np.arange(200) < 30).astype(float)  # a level in which nobody has the outcome
    y = np.where(level == 1, 0.0, (rng.uniform(0, 1, 200) < 0.5).astype(float))
    design = np.column_stack([y, np.ones(200), x, level])
    assert not fit_logistic(design).converged
    complete = np.column_stack([(x > 0.5).astype(float), np.ones(200), x])
    assert not fit_logistic(complete).converged
    mixed = np.column_stack(
        [(rng.uniform(0, 1, 200) < 0.3 + 0.4 * x).astype(float), np.ones(200), x]
    )
    assert fit_logistic(mixed).converged


def test_a_model_exports_one_row_per_parameter(research_dir: Path) -> None:
    from release import export_release, release_rows

    released = engine(research_dir).release(
        _spec("linear", "absence_rate_reported"), "eva", project="p"
    )
    rows = release_rows(released)
    assert [r["parameter"] for r in rows][:3] == ["intercept", *PREDICTORS]
    assert list(rows[0]) == ["parameter", "status", "estimate", "std_error", "t", "p_value"]
    assert (
        export_release(released, "csv")
        .decode()
        .startswith("parameter,status,estimate,std_error,t,p_value")
    )
