"""Models: a linear or logistic regression as a kind of release (a spec with a ``model``).

A model is fitted over the rows its filters keep that hold a value in every model column,
each person's rows bounded as in every release, each measure clamped to its catalogue
bounds. Its design: an intercept, each numeric predictor (a measure, a flag as 0/1, a
whole-number public key such as grade) and, per categorical predictor, one indicator per
level but the first (the reference). What leaves is one row per parameter (``intercept``,
``certified_share``, ``grade[8]``), never a fitted value, a residual or a row.

``sdc``: the exact fit (``_regression``, as statsmodels fits it), released only if it passes
output checks of the kind ACRO applies to regressions, each a final refusal whose reason never
states a count:

- the population floor and the teacher rules, as for a table (the releaser applies them);
- every level of a categorical predictor, each side of a flag predictor, and each outcome of
  a logistic model holds at least ``min_students`` persons (no single-person category);
- the residual degrees of freedom are at least ``models.min_residual_df``;
- the model is not saturated (a design of categories alone with as many parameters as
  covariate patterns reproduces its cells' means exactly), its predictors not collinear, and
  a logistic fit converges (no separation);
- at most ``models.max_parameters`` parameters.

The model's population joins the project's history as one published count (the linked audit):
two models, or a model and a table, whose populations differ by a few persons are refused, so
neither its ``n`` nor its coefficients can be differenced down to a few persons. ``n`` and the
residual degrees of freedom are rounded like every count.

``dp``: sufficient-statistics perturbation with OpenDP (zero-concentrated DP, Gaussian noise):
noisy sums of the products of the design's columns and the outcome, each bounded by the
catalogue (a categorical's levels are the public key's, so nothing is spent on which exist),
post-processed into estimates (``_regression``). A logistic model takes a fixed number of
noisy Newton steps (``models.dp_newton_steps``), each spending an equal share of ρ. Each
estimate carries a 95 % interval for the exact estimate on the same rows (a parametric
bootstrap over the noise) and a standard error computed from the noisy statistics. Nothing
is decided on exact data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import opendp.prelude as dp
import polars as pl
from opendp.accuracy import summarize_polars_measurement
from opendp.extras.polars import DPExpr

from release._errors import Finding, PrivacyInvariantBroken
from release._frames import ROW, PrivateFrame, fit_rows, level_persons, run_model_measurement
from release._intervals import ALPHA, Noise
from release._policy import Policies
from release._regression import (
    Fit,
    Statistics,
    bootstrap_interval,
    fit_linear,
    fit_logistic,
    linear_std_error,
    newton_step,
    positive_definite,
    solve_linear,
)
from release._results import Cell
from release._rules import Resolved, numeric_key

PARAMETER = "parameter"  # the key column of a model's result
INTERCEPT = "intercept"
CALIBRATION_TRIES = 8
Factor = tuple[str, Any]  # (column, level); level None for a number


@dataclass(frozen=True)
class Term:
    """One column of the design (or the outcome): its parameter name, its value as an
    expression over a row, its bounds, and its factors (a product's columns; a 0/1 factor
    squared is itself)."""

    name: str
    expr: pl.Expr
    bounds: tuple[float, float]
    factors: tuple[Factor, ...]
    binary: bool


@dataclass(frozen=True)
class Design:
    kind: str
    outcome: Term
    terms: tuple[Term, ...]

    @property
    def columns(self) -> list[pl.Expr]:
        return [self.outcome.expr, *(t.expr for t in self.terms)]

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.terms]


def _number(resolved: Resolved, name: str, policies: Policies) -> Term:
    column = resolved.table.columns[name]
    if column.kind == "flag":
        return Term(name, pl.col(name).cast(pl.Float64), (0.0, 1.0), ((name, True),), True)
    bounds = column.bounds if column.kind == "measure" else numeric_key(column, policies)
    assert bounds is not None
    lo, hi = float(bounds[0]), float(bounds[1])
    expr = pl.col(name).cast(pl.Float64).clip(lo, hi)
    return Term(name, expr, (lo, hi), ((name, None),), False)


def _level(column: str, level: Any) -> Term:
    shown = str(level).lower() if isinstance(level, bool) else str(level)
    return Term(
        f"{column}[{shown}]",
        (pl.col(column) == level).cast(pl.Float64),
        (0.0, 1.0),
        ((column, level),),
        True,
    )


def design_of(resolved: Resolved, policies: Policies, levels: dict[str, list[Any]]) -> Design:
    """The design of a model spec, with each categorical's ``levels`` in order (the first
    is the reference and gets no indicator)."""
    model = resolved.spec.model
    assert model is not None
    terms = [Term(INTERCEPT, pl.lit(1.0, dtype=pl.Float64), (1.0, 1.0), (), False)]
    terms += [_number(resolved, name, policies) for name in model.predictors]
    for name in model.categorical:
        terms += [_level(name, level) for level in levels[name][1:]]
    return Design(model.kind, _number(resolved, model.outcome, policies), tuple(terms))


def _too_many(design: Design, policies: Policies) -> list[Finding]:
    most = policies.release.models.max_parameters
    if len(design.terms) <= most:
        return []
    return [
        Finding(
            None,
            (
                f"the model has {len(design.terms)} parameters, more than the {most} the policy "
                "allows; use fewer predictors or categorical columns with fewer levels"
            ),
        )
    ]


# --- sdc ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelOutcome:
    """An assessed sdc request (a model's, or a table's): what it failed, its cells, its
    notes, and the risk figures kept for the DPO."""

    findings: tuple[Finding, ...]
    cells: tuple[Cell, ...] = ()
    notes: tuple[str, ...] = ()
    risk: dict[str, float] = field(default_factory=dict)


def _small(column: str, what: str, minimum: int) -> Finding:
    return Finding(
        None,
        (
            f"{what} {column} holds fewer than {minimum} persons, so its coefficient would "
            f"describe a few persons (a single-person or saturated category). Merge or leave out "
            f"small levels with a filter; count persons by {column} (sdc) to see which are small"
        ),
    )


def assess_sdc(resolved: Resolved, frame: PrivateFrame, policies: Policies) -> ModelOutcome:
    """Fit an sdc model exactly and check its output (see the module's docstring)."""
    model = resolved.spec.model
    assert model is not None
    sdc, rules = policies.release.sdc, policies.release.models
    minimum = sdc.min_students
    c = resolved.collapse
    findings: list[Finding] = []
    levels: dict[str, list[Any]] = {}
    columns = resolved.table.columns
    binary = [n for n in model.predictors if columns[n].kind == "flag"]
    if model.kind == "logistic":
        binary.insert(0, model.outcome)
    for name in [*model.categorical, *binary]:
        persons = level_persons(frame, c, name)
        small = [v for v, n in persons.items() if n < minimum]
        expected = 2 if name in binary else 1  # a flag has two sides, each of them shown
        if small or len(persons) < expected:
            what = (
                "the outcome"
                if name == model.outcome and model.kind == "logistic"
                else "a side of the flag"
                if name in binary
                else "a level of"
            )
            findings.append(_small(name, what, minimum))
        levels[name] = sorted(persons)
    if findings:
        return ModelOutcome(tuple(findings[:1]))
    design = design_of(resolved, policies, levels)
    findings += _too_many(design, policies)
    if findings:
        return ModelOutcome(tuple(findings))
    discrete = all(t.binary or not t.factors for t in design.terms)
    fitter = fit_logistic if model.kind == "logistic" else fit_linear
    fit, patterns = fit_rows(frame, c, design.columns, _with_patterns(fitter, discrete))
    p = len(design.terms)
    if fit.rank < p:
        findings.append(
            Finding(
                None,
                (
                    "the predictors are collinear (one is a combination of others over these "
                    "rows), so the coefficients are not determined; leave one out"
                ),
            )
        )
    elif discrete and patterns <= p:
        findings.append(
            Finding(
                None,
                (
                    "the model is saturated: it has as many parameters as covariate patterns, so "
                    "its coefficients are its cells' means; ask for a table of means instead"
                ),
            )
        )
    elif fit.residual_df < rules.min_residual_df:
        findings.append(
            Finding(
                None,
                (
                    f"the model leaves fewer than {rules.min_residual_df} residual degrees of "
                    "freedom; widen the filters or use fewer predictors"
                ),
            )
        )
    elif not fit.converged:
        findings.append(
            Finding(
                None,
                (
                    "the logistic model does not converge: some level or range of a predictor "
                    "has the same outcome for every person (separation), which would disclose "
                    "it. Merge levels or leave the predictor out"
                ),
            )
        )
    if findings:
        return ModelOutcome(tuple(findings))
    note = _sdc_note(design, fit, sdc.rounding_base)
    return ModelOutcome((), tuple(_exact_cells(design, fit)), (note,))


def _with_patterns(
    fitter: Callable[[np.ndarray], Fit], discrete: bool
) -> Callable[[np.ndarray], tuple[Fit, int]]:
    """The fitter, and how many distinct covariate patterns the design holds (only for a
    design of categories alone, where saturation is possible; else 0)."""

    def fit(data: np.ndarray) -> tuple[Fit, int]:
        patterns = len(np.unique(data[:, 1:], axis=0)) if discrete and len(data) else 0
        return fitter(data), patterns

    return fit


def _exact_cells(design: Design, fit: Fit) -> list[Cell]:
    statistic = "z" if design.kind == "logistic" else "t"
    out = []
    for i, term in enumerate(design.terms):
        values = {
            "estimate": float(fit.estimate[i]),
            "std_error": float(fit.std_error[i]),
            statistic: float(fit.statistic[i]),
            "p_value": float(fit.p_value[i]),
        }
        out.append(Cell({PARAMETER: term.name}, "released", values))  # type: ignore[arg-type]
    return out


def _rounded(value: int, base: int) -> int:
    return value if base <= 0 else (value + base // 2) // base * base


def _sdc_note(design: Design, fit: Fit, base: int) -> str:
    rounded = f" (rounded to {base})" if base > 0 else ""
    return (
        f"{design.kind} regression of {design.outcome.name}: n = "
        f"{_rounded(fit.nobs, base)} rows, residual df = "
        f"{_rounded(fit.residual_df, base)}{rounded}"
    )


# --- dp -------------------------------------------------------------------------------------


def _product(a: Term, b: Term) -> tuple[Factor, ...] | None:
    """The factors of ``a · b`` (a 0/1 factor squared is itself), or None where the product is
    0 on every row (two levels of one categorical)."""
    factors = list(a.factors)
    for f in b.factors:
        if f in factors and (a.binary or b.binary) and f[1] is not None:
            continue
        if any(g[0] == f[0] and g[1] is not None and f[1] is not None and g != f for g in factors):
            return None
        factors.append(f)
    return tuple(sorted(factors, key=repr))


def _hull(*bounds: tuple[float, float]) -> tuple[float, float]:
    """The bounds of a product of values with these bounds."""
    lo, hi = 1.0, 1.0
    for b_lo, b_hi in bounds:
        corners = [lo * b_lo, lo * b_hi, hi * b_lo, hi * b_hi]
        lo, hi = min(corners), max(corners)
    return lo, hi


@dataclass(frozen=True)
class Sums:
    """The sums one measurement releases: per entry of the matrix and vector it fills, the
    statistic's column (or None: 0 on every row) and the bounds of its per-row value."""

    matrix: tuple[tuple[str | None, ...], ...]
    vector: tuple[str | None, ...]
    columns: dict[str, tuple[float, float]]
    extra: str | None = None  # linear: the outcome's sum of squares


def _sums(design: Design) -> tuple[Sums, dict[str, tuple[Term, ...]]]:
    """The statistics of a design: ``XᵀX`` (linear) or ``XᵀWX`` (logistic: the weight has
    bounds [0, 1/4]) and ``Xᵀy`` or ``Xᵀ(y − p)`` (bounds [−1, 1] times the term's), each
    distinct product once. Returns them and each statistic's factors as terms."""
    logistic = design.kind == "logistic"
    by_key: dict[tuple[Any, ...], str] = {}
    parts: dict[str, tuple[Term, ...]] = {}
    bounds: dict[str, tuple[float, float]] = {}

    def column(key: tuple[Any, ...], terms: tuple[Term, ...], b: tuple[float, float]) -> str:
        if key not in by_key:
            by_key[key] = name = f"s{len(by_key)}"
            parts[name], bounds[name] = terms, b
        return by_key[key]

    terms = design.terms
    matrix: list[list[str | None]] = [[None] * len(terms) for _ in terms]
    for i, a in enumerate(terms):
        for j in range(i, len(terms)):
            factors = _product(a, terms[j])
            if factors is None:
                continue
            b = _hull(a.bounds, terms[j].bounds) if a.factors or terms[j].factors else (1.0, 1.0)
            if logistic:
                b = _hull(b, (0.0, 0.25))
            matrix[i][j] = matrix[j][i] = column(("m", factors), (a, terms[j]), _with_zero(b))
    vector = []
    for a in terms:
        factors = _product(a, design.outcome)
        if logistic:
            m = max(abs(a.bounds[0]), abs(a.bounds[1]))
            vector.append(column(("v", a.name), (a,), (-m, m)))
        else:
            assert factors is not None
            vector.append(
                column(
                    ("v", factors),
                    (a, design.outcome),
                    _with_zero(_hull(a.bounds, design.outcome.bounds)),
                )
            )
    extra = None
    if not logistic:
        y = design.outcome
        extra = column(("yy",), (y, y), _with_zero(_hull(y.bounds, y.bounds)))
    return Sums(tuple(tuple(r) for r in matrix), tuple(vector), bounds, extra), parts


def _with_zero(b: tuple[float, float]) -> tuple[float, float]:
    return min(b[0], 0.0), max(b[1], 0.0)


@dataclass(frozen=True)
class ModelPlan:
    """A dp model's calibrated measurement (one per Newton step for a logistic model, all
    alike), its cost, its sums, and the noise each released sum carries."""

    design: Design
    sums: Sums
    parts: dict[str, tuple[Term, ...]]
    measurement: Any
    steps: int
    rho: float
    noise: dict[str, Noise]

    @property
    def accuracy(self) -> dict[str, dict[str, float | None]]:
        """The preview: each released sum's 95 % half-width (data-free); the coefficients'
        intervals depend on the data and come with the release."""
        first = self.sums.matrix[0][0]
        assert first is not None
        n_noise = self.noise[first].half_width(ALPHA) * (4 if self.design.kind == "logistic" else 1)
        return {
            "n": {"half_width": n_noise},
            **{t.name: {"half_width": None} for t in self.design.terms},
        }


def dp_levels(resolved: Resolved, public: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Each categorical's levels in dp mode: the public key's values (a flag: false, true),
    narrowed by the spec's own filters on that column; never from the data."""
    model = resolved.spec.model
    assert model is not None
    out = {}
    for name in model.categorical:
        column = resolved.table.columns[name]
        values = [False, True] if column.kind == "flag" else list(public[column.keys or ""])
        for f in resolved.spec.filters:
            if f.column != name:
                continue
            if f.op == "in":
                values = [v for v in values if v in f.values]
            elif f.op == "between":
                values = [v for v in values if f.values[0] <= v <= f.values[1]]  # type: ignore[operator]
            else:
                values = [f.op == "is_true"]
        out[name] = sorted(values)
    return out


def plan_dp(
    resolved: Resolved, policies: Policies, levels: dict[str, list[Any]]
) -> ModelPlan | list[Finding]:
    """The calibrated measurement of a dp model (from the spec, the catalogue and the public
    keys alone), or the findings that refuse it."""
    design = design_of(resolved, policies, levels)
    findings = _too_many(design, policies)
    if len(design.terms) < 2:
        findings.append(
            Finding(
                None,
                (
                    "a categorical predictor has a single level within the filters, so the model "
                    "has nothing to estimate; widen the filters"
                ),
            )
        )
    if findings:
        return findings
    sums, parts = _sums(design)
    rho = resolved.spec.rho
    assert rho is not None
    steps = policies.release.models.dp_newton_steps if design.kind == "logistic" else 1
    max_rows = resolved.collapse.max_rows
    schema = {name: pl.Float64() for name in sums.columns} | {ROW: pl.Boolean()}
    empty = pl.LazyFrame(schema=schema)
    domain = dp.with_margin(
        dp.domain_of(empty, infer=True),
        dp.polars.Margin(by=[], max_length=policies.release.dp.max_persons * max_rows),
    )
    metric, d_in = dp.unit_of(contributions=max_rows)
    exprs = [DPExpr(pl.col(n).fill_null(0.0)).sum(b).alias(n) for n, b in sums.columns.items()]
    plan = empty.select(exprs)
    measure = dp.zero_concentrated_divergence()

    def make(scale: float) -> Any:
        return dp.m.make_private_lazyframe(domain, metric, measure, plan, global_scale=scale)

    share = rho / steps
    scale = math.sqrt(float(make(1.0).map(d_in)) / share)
    for _ in range(CALIBRATION_TRIES):
        measurement = make(scale)
        spent = float(measurement.map(d_in))
        if spent <= share:
            break
        scale *= 1 + 1e-9 + (spent - share) / share
    else:
        raise PrivacyInvariantBroken(
            "the calibrated model measurement costs more than its budget; this is a bug in "
            "medler, and nothing was released"
        )
    noise = {}
    for row in summarize_polars_measurement(measurement, ALPHA).iter_rows(named=True):
        if "Gaussian" not in str(row["distribution"]):
            raise PrivacyInvariantBroken(
                f"column {row['column']} carries {row['distribution']} noise; this is a bug"
            )
        integer = "Integer" in str(row["distribution"])
        noise[str(row["column"])] = Noise(float(row["scale"]), integer)
    return ModelPlan(design, sums, parts, measurement, steps, spent * steps, noise)


def _product_expr(terms: Sequence[Term], weight: pl.Expr | None) -> pl.Expr:
    expr = weight if weight is not None else pl.lit(1.0, dtype=pl.Float64)
    for t in terms:
        expr = expr * t.expr
    return expr


def _step_columns(plan: ModelPlan, beta: np.ndarray | None) -> list[pl.Expr]:
    """The per-row values of every sum: at ``beta`` for a logistic step (``w = p(1 − p)``,
    ``r = y − p``), plain products for a linear model."""
    weight = residual = None
    if beta is not None:
        eta = pl.lit(0.0, dtype=pl.Float64)
        for b, t in zip(beta, plan.design.terms, strict=True):
            eta = eta + float(b) * t.expr
        p = 1.0 / (1.0 + (-eta.clip(-700, 700)).exp())
        weight, residual = p * (1.0 - p), plan.design.outcome.expr - p
    out = []
    vector = set(plan.sums.vector)
    for name, terms in plan.parts.items():
        if beta is not None and name in vector:
            out.append(_product_expr(terms, residual).alias(name))
        else:
            out.append(_product_expr(terms, weight).alias(name))
    return out


def _assemble(plan: ModelPlan, released: pl.DataFrame) -> Statistics:
    row = released.row(0, named=True)
    k = len(plan.design.terms)
    matrix, matrix_scale = np.zeros((k, k)), np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            name = plan.sums.matrix[i][j]
            if name is not None:
                matrix[i, j], matrix_scale[i, j] = float(row[name]), plan.noise[name].scale
    vector = np.array([float(row[n]) if n else 0.0 for n in plan.sums.vector])
    vector_scale = np.array([plan.noise[n].scale if n else 0.0 for n in plan.sums.vector])
    return Statistics(matrix, vector, matrix_scale, vector_scale)


def release_dp(
    plan: ModelPlan, frame: PrivateFrame, resolved: Resolved
) -> tuple[list[Cell], list[str]]:
    """Run a dp model's measurement (its ρ already charged) and post-process it into one
    cell per parameter: the estimate with its 95 % interval and its standard error."""
    c = resolved.collapse
    logistic = plan.design.kind == "logistic"
    beta = start = np.zeros(len(plan.design.terms))
    n: float | None = None
    for _ in range(plan.steps):
        columns = _step_columns(plan, beta if logistic else None)
        released = run_model_measurement(frame, c, columns, plan.measurement)
        statistics = _assemble(plan, released)
        if n is None:  # the intercept's entry: n, or at the first logistic step n / 4
            n = float(statistics.matrix[0, 0]) * (4 if logistic else 1)
        start = beta
        if logistic:
            beta = newton_step(start, statistics.matrix, statistics.vector)
        else:
            beta = solve_linear(statistics.matrix, statistics.vector)
    solve: Callable[[np.ndarray, np.ndarray], np.ndarray]
    if logistic:
        solve = partial(newton_step, start)
        std_error = np.sqrt(np.diag(np.linalg.inv(positive_definite(statistics.matrix))))
    else:
        solve = solve_linear
        extra = plan.sums.extra
        assert extra is not None and n is not None
        std_error = linear_std_error(
            statistics.matrix, statistics.vector, float(released[extra][0]), n, beta
        )
    lower, upper = bootstrap_interval(statistics, solve, beta)
    cells = []
    for i, term in enumerate(plan.design.terms):
        b, lo, hi = float(beta[i]), float(lower[i]), float(upper[i])
        cells.append(
            Cell(
                {PARAMETER: term.name},
                "released",
                {"estimate": b, "std_error": _finite(std_error[i])},
                {"estimate": (hi - lo) / 2},
                lower={"estimate": lo},
                upper={"estimate": hi},
            )
        )
    return cells, [_dp_note(plan, n)]


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _dp_note(plan: ModelPlan, n: float | None) -> str:
    rows = f"about {max(n, 0.0):.0f} rows (noisy), " if n is not None else ""
    steps = f" in {plan.steps} noisy Newton steps" if plan.steps > 1 else ""
    return (
        f"{plan.design.kind} regression of {plan.design.outcome.name} on {rows}by "
        f"sufficient-statistics perturbation{steps}: each estimate's interval is where the "
        "exact estimate on the same rows lies (95 %, a bootstrap over the noise); "
        "std_error is the model's sampling error, computed from the noisy statistics"
    )
