"""The query spec: a typed, data-free, JSON-serialisable description of one release.

The same spec drives both modes: ``sdc`` (exact aggregates, disclosure-controlled) and ``dp``
(differentially private, with its ``rho``). A spec names a research table, filters on allowed
columns, the columns to group by and the measures wanted::

    {"table": "exposure", "group_by": ["school_code"],
     "filters": [{"column": "term", "op": "in", "values": ["2026HT"]}],
     "measures": [{"kind": "count_students"}, {"kind": "mean", "column": "certified_share"}],
     "mode": "dp", "rho": 0.01}

Measures:

- ``count_students`` / ``count_teachers``: distinct pupils (teachers) in the cell.
- ``share``: the share of the cell's rows where a flag column is true.
- ``sum``, ``mean``: of a bounded measure column over the cell's rows, each value clamped to
  the catalogue's bounds.
- ``quantile``: of a bounded measure column (``q`` between 0 and 1).
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

MeasureKind = Literal["count_students", "count_teachers", "share", "sum", "mean", "quantile"]
MIN_RHO = 1e-9
"""The least ρ a dp query may ask: below it a release is pure noise, and OpenDP fails (a
subnormal ρ) or runs for minutes (below about 1e-18)."""


def _unicode(text: str) -> str:
    if any("\ud800" <= c <= "\udfff" for c in text):
        raise ValueError("text with a lone surrogate is not Unicode; give valid text")
    return text


Text = Annotated[str, AfterValidator(_unicode)]
Scalar = Text | int | float | bool


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Filter(_Spec):
    """Keep rows whose ``column`` is one of ``values`` (``in``), lies between two values
    (``between``, both inclusive), or is true / false (``is_true`` / ``is_false``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"column": "term", "op": "in", "values": ["2026HT"]},
        {"column": "grade", "op": "between", "values": [7, 9]},
        {"column": "persistent_absence", "op": "is_true"},
    ]})  # fmt: skip

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

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"kind": "count_students"}, {"kind": "mean", "column": "certified_share"},
        {"kind": "quantile", "column": "days_absent", "q": 0.5},
    ]})  # fmt: skip

    kind: MeasureKind = Field(
        description="count_students / count_teachers: distinct persons; share: of rows where "
        "a flag is true; sum, mean, quantile: of a bounded measure column."
    )
    column: Text | None = Field(default=None, description="The column (not for counts).")
    q: float | None = Field(default=None, gt=0, lt=1, description="The quantile, for quantile.")

    @model_validator(mode="after")
    def _arguments(self) -> Measure:
        counting = self.kind in ("count_students", "count_teachers")
        if counting and self.column is not None:
            raise ValueError(f"{self.kind} takes no column")
        if not counting and self.column is None:
            raise ValueError(f"{self.kind} needs a column")
        if (self.kind == "quantile") != (self.q is not None):
            raise ValueError("q is given with quantile, and only with quantile")
        return self

    @property
    def name(self) -> str:
        """The measure's column in the result: ``count_students``, ``mean_certified_share``,
        ``quantile_0.5_days_absent``."""
        if self.column is None:
            return self.kind
        if self.kind == "quantile":
            return f"quantile_{self.q:g}_{self.column}"
        return f"{self.kind}_{self.column}"


class QuerySpec(_Spec):
    """One release: a research table, filters, the columns to group by, the measures, and the
    mode (``sdc``: exact and disclosure-controlled; ``dp``: differentially private, spending
    ``rho``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "table": "exposure", "group_by": ["school_code"], "mode": "dp", "rho": 0.05,
        "filters": [{"column": "term", "op": "in", "values": ["2026HT"]}],
        "measures": [{"kind": "count_students"}, {"kind": "mean", "column": "certified_share"}],
    }]})  # fmt: skip

    table: Text = Field(description="A releasable research table (see the catalogue).")
    measures: tuple[Measure, ...] = Field(min_length=1, description="The statistics per cell.")
    group_by: tuple[Text, ...] = Field(default=(), description="Columns whose values make cells.")
    filters: tuple[Filter, ...] = Field(default=(), description="Rows kept (all must hold).")
    mode: Literal["sdc", "dp"] = Field(default="sdc", description="sdc or dp.")
    rho: float | None = Field(
        default=None, ge=MIN_RHO, description="dp only: the privacy loss to spend (zCDP ρ)."
    )
    margins: bool = Field(default=False, description="sdc only: add totals per group-by key.")

    @model_validator(mode="after")
    def _mode(self) -> QuerySpec:
        if self.mode == "dp" and self.rho is None:
            raise ValueError("a dp query needs rho, its privacy loss")
        if self.mode == "sdc" and self.rho is not None:
            raise ValueError("rho is for dp queries only")
        if self.margins and self.mode != "sdc":
            raise ValueError("margins are for sdc tables")
        names = [m.name for m in self.measures]
        if len(set(names)) != len(names):
            raise ValueError("a measure is asked for twice")
        if len(set(self.group_by)) != len(self.group_by):
            raise ValueError("a group-by column is named twice")
        return self

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        """Identical specs have identical digests: the key of the release cache."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()
