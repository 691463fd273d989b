"""The query spec: a typed, data-free, JSON-serialisable description of one release.

The same spec drives three modes: ``sdc`` (exact aggregates, disclosure-controlled), ``dp``
(differentially private, with its ``rho``) and ``ckm`` (the cell-key method: counts of pupils,
each perturbed by the same small noise every time the same cell is asked for). A spec names
a research table, filters on allowed columns, the columns to group by and the measures
wanted::

    {"table": "exposure", "group_by": ["school_code"],
     "filters": [{"column": "term", "op": "in", "values": ["2026HT"]}],
     "measures": [{"kind": "count_students"}, {"kind": "mean", "column": "certified_share"}],
     "mode": "dp", "rho": 0.01}

Measures:

- ``count_students`` / ``count_teachers``: distinct pupils (teachers) in the cell.
- ``share``: the share of the cell's rows where a flag column is true.
- ``sum``, ``mean``: of a bounded measure column over the cell's rows, each value clamped to
  the catalogue's bounds.
- ``ratio``: the sum of one bounded measure column over the sum of another, over the cell's
  persons (``numerator``, ``denominator``): a share of minutes, weighted by minutes.
- ``quantile``: of a bounded measure column (``q`` between 0 and 1).

``bands`` names a measure column with published band edges: each cell is split by the band
its rows' values fall in, a key column ``<column>_band`` (a histogram; the edges are public,
so in dp mode the bands cost no budget to list).

A spec may fit a **model** instead of measuring cells: a linear or logistic regression of one
column on others, over the rows the filters keep (``release._models``)::

    {"table": "student_profiles", "mode": "sdc",
     "filters": [{"column": "term", "op": "in", "values": ["2026HT"]}],
     "model": {"kind": "linear", "outcome": "absence_rate_reported",
               "predictors": ["certified_share", "novice_share"], "categorical": ["grade"]}}

Its result is one row per parameter (key ``parameter``), never a fitted value or a residual.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

MeasureKind = Literal[
    "count_students", "count_teachers", "share", "sum", "mean", "ratio", "quantile"
]
LATER_MEASURE_FIELDS = ("numerator", "denominator")
LATER_SPEC_FIELDS = ("bands", "model")
MIN_RHO = 1e-9
"""The least ρ a dp query may ask: below it a release is pure noise, and OpenDP fails (a
subnormal ρ) or runs for minutes (below about 1e-18)."""


def _unicode(text: str) -> str:
    if any("\ud800" <= c <= "\udfff" for c in text):
        raise ValueError("text with a lone surrogate is not Unicode; give valid text")
    return text


Text = Annotated[str, AfterValidator(_unicode)]
Scalar = Text | int | float | bool


def band_column(column: str) -> str:
    """The key column of a histogram over ``column``'s bands."""
    return f"{column}_band"


def band_labels(edges: tuple[float, ...]) -> list[str]:
    """The bands' labels, in order: ``0-5``, ``5-10``, …; each band holds its lower edge, the
    last its upper edge too."""
    return [f"{lo:g}-{hi:g}" for lo, hi in itertools.pairwise(edges)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Filter(_Spec):
    """Keep rows whose ``column`` is one of ``values`` (``in``), lies between two values
    (``between``, both inclusive), or is true / false (``is_true`` / ``is_false``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"column": "term", "op": "in", "values": ["2026HT"]},
                {"column": "grade", "op": "between", "values": [7, 9]},
                {"column": "persistent_absence", "op": "is_true"},
            ]
        }
    )

    column: Text = Field(description="A column of the research table (not an identifier).")
    op: Literal["in", "between", "is_true", "is_false"] = Field(
        description="in: one of values; between: two values, inclusive; is_true / is_false: "
        "a flag column."
    )
    values: tuple[Scalar, ...] = Field(default=(), description="The values the op takes.")

    @model_validator(mode="after")
    def _arity(self) -> Filter:
        wanted = {"in": None, "between": 2, "is_true": 0, "is_false": 0}[self.op]
        if wanted is None and not self.values:
            raise ValueError("an `in` filter needs at least one value")
        if wanted is not None and len(self.values) != wanted:
            raise ValueError(f"a `{self.op}` filter takes {wanted} values")
        return self


class Measure(_Spec):
    """One statistic per cell. Its column in the result is ``name``: ``count_students``,
    ``mean_certified_share``, ``quantile_0.5_days_absent``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"kind": "count_students"},
                {"kind": "mean", "column": "certified_share"},
                {"kind": "quantile", "column": "days_absent", "q": 0.5},
                {"kind": "ratio", "numerator": "absent_minutes", "denominator": "planned_minutes"},
            ]
        }
    )

    kind: MeasureKind = Field(
        description="count_students / count_teachers: distinct persons; share: of rows where "
        "a flag is true; sum, mean, quantile: of a bounded measure column; ratio: the sum of "
        "numerator over the sum of denominator."
    )
    column: Text | None = Field(default=None, description="The column (not for counts).")
    numerator: Text | None = Field(default=None, description="ratio: the summed numerator.")
    denominator: Text | None = Field(default=None, description="ratio: the summed denominator.")
    q: float | None = Field(default=None, gt=0, lt=1, description="The quantile, for quantile.")

    @model_validator(mode="after")
    def _arguments(self) -> Measure:
        counting = self.kind in ("count_students", "count_teachers")
        ratio = self.kind == "ratio"
        if ratio != (self.numerator is not None and self.denominator is not None) or (
            not ratio and (self.numerator is not None or self.denominator is not None)
        ):
            raise ValueError("ratio takes a numerator and a denominator column, and only ratio")
        if ratio and self.column is not None:
            raise ValueError("ratio takes numerator and denominator, not column")
        if (self.kind == "quantile") != (self.q is not None):
            raise ValueError("q is given with quantile, and only with quantile")
        if ratio:
            return self
        if counting and self.column is not None:
            raise ValueError(f"{self.kind} takes no column")
        if not counting and self.column is None:
            raise ValueError(f"{self.kind} needs a column")
        return self

    @property
    def name(self) -> str:
        """The measure's column in the result: ``count_students``, ``mean_certified_share``,
        ``quantile_0.5_days_absent``, ``ratio_absent_minutes_planned_minutes``."""
        if self.kind == "ratio":
            return f"ratio_{self.numerator}_{self.denominator}"
        if self.column is None:
            return self.kind
        if self.kind == "quantile":
            return f"quantile_{self.q:g}_{self.column}"
        return f"{self.kind}_{self.column}"


class Regression(_Spec):
    """A regression of ``outcome`` on ``predictors`` (numbers: measures, flags as 0/1, whole-
    number public keys such as grade) and ``categorical`` columns (one indicator per level but
    the first, which is the reference), with an intercept. ``linear``: least squares;
    ``logistic``: a flag outcome, maximum likelihood."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "linear",
                    "outcome": "absence_rate_reported",
                    "predictors": ["certified_share", "novice_share"],
                    "categorical": ["grade"],
                }
            ]
        }
    )

    kind: Literal["linear", "logistic"] = Field(
        description="linear: least squares; logistic: a flag outcome, maximum likelihood."
    )
    outcome: Text = Field(description="The modelled column: a measure (linear) or a flag.")
    predictors: tuple[Text, ...] = Field(
        default=(), description="Numeric predictors: measures, flags (0/1), whole-number keys."
    )
    categorical: tuple[Text, ...] = Field(
        default=(), description="Categorical predictors: one indicator per level but the first."
    )

    @model_validator(mode="after")
    def _columns(self) -> Regression:
        named = [self.outcome, *self.predictors, *self.categorical]
        if not self.predictors and not self.categorical:
            raise ValueError("a model needs at least one predictor or categorical column")
        if len(set(named)) != len(named):
            raise ValueError("a model names a column twice (outcome, predictors, categorical)")
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.outcome, *self.predictors, *self.categorical)


class QuerySpec(_Spec):
    """One release: a research table, filters, the columns to group by, the measures, and the
    mode (``sdc``: exact and disclosure-controlled; ``dp``: differentially private, spending
    ``rho``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "table": "exposure",
                    "group_by": ["school_code"],
                    "mode": "dp",
                    "rho": 0.05,
                    "filters": [{"column": "term", "op": "in", "values": ["2026HT"]}],
                    "measures": [
                        {"kind": "count_students"},
                        {"kind": "mean", "column": "certified_share"},
                    ],
                }
            ]
        }
    )

    table: Text = Field(description="A releasable research table (see the catalogue).")
    measures: tuple[Measure, ...] = Field(
        default=(), description="The statistics per cell (at least one, unless a model)."
    )
    group_by: tuple[Text, ...] = Field(default=(), description="Columns whose values make cells.")
    filters: tuple[Filter, ...] = Field(default=(), description="Rows kept (all must hold).")
    mode: Literal["sdc", "dp", "ckm"] = Field(
        default="sdc", description="sdc, dp or ckm (the cell-key method; count_students only)."
    )
    rho: float | None = Field(
        default=None, ge=MIN_RHO, description="dp only: the privacy loss to spend (zCDP ρ)."
    )
    margins: bool = Field(
        default=False, description="sdc and ckm only: add totals per group-by key."
    )
    bands: Text | None = Field(
        default=None,
        description="A measure column with published band edges: each cell is split by the "
        "band of its rows' values, in a key column <column>_band (a histogram).",
    )
    model: Regression | None = Field(
        default=None,
        description="sdc and dp only: fit a regression over the filtered rows instead of "
        "measuring cells (no measures, group_by, margins or bands then).",
    )

    @model_validator(mode="after")
    def _mode(self) -> QuerySpec:
        if self.mode == "dp" and self.rho is None:
            raise ValueError("a dp query needs rho, its privacy loss")
        if self.mode != "dp" and self.rho is not None:
            raise ValueError("rho is for dp queries only")
        if self.margins and self.mode == "dp":
            raise ValueError("margins are for sdc and ckm tables")
        if self.model is not None:
            if self.measures or self.group_by or self.margins or self.bands:
                raise ValueError(
                    "a model takes filters only: no measures, group_by, margins or bands"
                )
            if self.mode == "ckm":
                raise ValueError("a model is fitted in sdc or dp mode, not ckm")
            return self
        if not self.measures:
            raise ValueError("a spec needs at least one measure (or a model)")
        if self.mode == "ckm" and any(m.kind != "count_students" for m in self.measures):
            raise ValueError("a ckm query counts pupils: its measure is count_students")
        names = [m.name for m in self.measures]
        if len(set(names)) != len(names):
            raise ValueError("a measure is asked for twice")
        if len(set(self.keys)) != len(self.keys):
            raise ValueError("a group-by column is named twice")
        return self

    @property
    def keys(self) -> tuple[str, ...]:
        """The result's key columns: ``group_by``, then ``<bands>_band`` with ``bands``."""
        return (*self.group_by, *((band_column(self.bands),) if self.bands else ()))

    @property
    def columns(self) -> tuple[str, ...]:
        """Every research-table column the spec names."""
        named = [*self.group_by, *(f.column for f in self.filters)]
        for m in self.measures:
            named += [c for c in (m.column, m.numerator, m.denominator) if c is not None]
        if self.model is not None:
            named += list(self.model.columns)
        return tuple(dict.fromkeys([*named, *((self.bands,) if self.bands else ())]))

    def canonical_json(self) -> str:
        """The spec as JSON, keys sorted; fields added later are left out while unset, so
        that a spec written before them keeps its digest."""
        body = self.model_dump(mode="json")
        for name in LATER_SPEC_FIELDS:
            if body.get(name) is None:
                body.pop(name, None)
        for m in body["measures"]:
            for name in LATER_MEASURE_FIELDS:
                if m.get(name) is None:
                    m.pop(name, None)
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        """Identical specs have identical digests: the key of the release cache."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()
