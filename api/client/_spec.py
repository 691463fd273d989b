"""The spec builder: a query spec (docs/reference/query-spec.md) written as a sentence.

::

    spec = (Spec("student_terms").by("grade").where_in("term", "2026HT")
            .count_students().mean("days_absent").dp(rho=0.05))

``Spec`` is a frozen dataclass: every method returns a new ``Spec`` and leaves the one it was
called on as it was, so a base spec can be shared and varied safely. The builder refuses what it
can know is wrong without the catalogue (a dp spec without ``rho``, margins in dp mode, a measure
or group-by column named twice, a quantile outside (0, 1)); the service checks everything else.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

Scalar = str | int | float | bool
Mode = Literal["sdc", "dp", "ckm"]
MEASURE_KINDS = ("count_students", "count_teachers", "share", "sum", "mean", "ratio", "quantile")
COUNTS = ("count_students", "count_teachers")
FILTER_OPS = ("in", "between", "is_true", "is_false")
_SPEC_FIELDS = (
    "table",
    "measures",
    "group_by",
    "filters",
    "mode",
    "rho",
    "margins",
    "bands",
    "model",
)
MODEL_KINDS = ("linear", "logistic")
_MEASURE_FIELDS = {"kind", "column", "q", "numerator", "denominator"}


def _scalar(value: Any, where: str) -> Scalar:
    """A JSON scalar; numpy and pandas scalars become Python ones."""
    if not isinstance(value, str | int | float | bool) and hasattr(value, "item"):
        value = value.item()
    if not isinstance(value, str | int | float | bool):
        raise ValueError(f"{where}: {value!r} is not a string, number or true/false")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: {value!r} is not a finite number")
    return value


def _column(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{what} needs a column name, not {name!r}")
    return name


def measure_name(
    kind: str,
    column: str | None = None,
    q: float | None = None,
    numerator: str | None = None,
    denominator: str | None = None,
) -> str:
    """A measure's column in a result, as the service names it."""
    if kind == "ratio":
        return f"ratio_{numerator}_{denominator}"
    if column is None:
        return kind
    if kind == "quantile" and q is not None:
        return f"quantile_{q:g}_{column}"
    return f"{kind}_{column}"


@dataclass(frozen=True)
class Measure:
    """One statistic per cell. ``name`` is its column in the result: ``count_students``,
    ``mean_certified_share``, ``quantile_0.5_days_absent``."""

    kind: str
    column: str | None = None
    q: float | None = None
    numerator: str | None = None
    denominator: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in MEASURE_KINDS:
            raise ValueError(f"unknown measure {self.kind!r}; one of {', '.join(MEASURE_KINDS)}")
        if (self.kind == "ratio") != (self.numerator is not None or self.denominator is not None):
            raise ValueError("numerator and denominator are for ratio, and ratio needs both")
        if self.kind == "ratio":
            _column(self.numerator, "ratio's numerator")
            _column(self.denominator, "ratio's denominator")
            if self.column is not None or self.q is not None:
                raise ValueError("ratio takes a numerator and a denominator, not column or q")
            return
        if self.kind in COUNTS:
            if self.column is not None:
                raise ValueError(f"{self.kind} takes no column")
        else:
            _column(self.column, self.kind)
        if self.kind == "quantile":
            q = self.q
            if isinstance(q, bool) or not isinstance(q, int | float) or not 0 < q < 1:
                raise ValueError(f"a quantile's q is strictly between 0 and 1, not {q!r}")
        elif self.q is not None:
            raise ValueError(f"q is for quantile only, not {self.kind}")

    @property
    def name(self) -> str:
        return measure_name(self.kind, self.column, self.q, self.numerator, self.denominator)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.numerator is not None:
            out["numerator"] = self.numerator
            out["denominator"] = self.denominator
        if self.column is not None:
            out["column"] = self.column
        if self.q is not None:
            out["q"] = self.q
        return out


@dataclass(frozen=True)
class Filter:
    """Keep rows whose ``column`` is one of ``values`` (``in``), lies between two values, both
    inclusive (``between``), or is true or false (``is_true``, ``is_false``)."""

    column: str
    op: str
    values: tuple[Scalar, ...] = ()

    def __post_init__(self) -> None:
        _column(self.column, f"a `{self.op}` filter")
        if self.op not in FILTER_OPS:
            raise ValueError(f"unknown filter op {self.op!r}; one of {', '.join(FILTER_OPS)}")
        if isinstance(self.values, str) or not isinstance(self.values, Iterable):
            raise ValueError(f"a filter's values are a list, not {self.values!r}")
        values = tuple(_scalar(v, f"filter on {self.column}") for v in self.values)
        object.__setattr__(self, "values", values)  # a list given becomes a tuple
        if self.op == "in" and not values:
            raise ValueError(f"where_in({self.column!r}) needs at least one value")
        if self.op == "between":
            if len(values) != 2:
                raise ValueError(f"a between filter on {self.column} takes two values")
            low, high = values
            try:
                wrong_way = low > high  # type: ignore[operator]
            except TypeError:
                raise ValueError(f"between {low!r} and {high!r}: not comparable") from None
            if wrong_way:
                raise ValueError(f"between {low!r} and {high!r}: the first is the lower bound")
        if self.op in ("is_true", "is_false") and values:
            raise ValueError(f"an {self.op} filter takes no values")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"column": self.column, "op": self.op}
        if self.values:
            out["values"] = list(self.values)
        return out


@dataclass(frozen=True)
class Model:
    """A regression of ``outcome`` on ``predictors`` (numbers) and ``categorical`` columns (one
    indicator per level but the first), with an intercept: ``linear`` or ``logistic``."""

    kind: str
    outcome: str
    predictors: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"unknown model {self.kind!r}; one of {', '.join(MODEL_KINDS)}")
        _column(self.outcome, f"a {self.kind} model's outcome")
        for name in ("predictors", "categorical"):
            given = getattr(self, name)
            if isinstance(given, str):
                raise ValueError(f"{name} is a list of columns, not {given!r}")
            object.__setattr__(self, name, tuple(_column(c, name) for c in given))
        if not self.predictors and not self.categorical:
            raise ValueError("a model needs at least one predictor or categorical column")
        named = [self.outcome, *self.predictors, *self.categorical]
        if len(set(named)) != len(named):
            raise ValueError("a model names a column twice")

    @property
    def value_names(self) -> tuple[str, ...]:
        """The values per parameter in a result (sdc; dp has estimate and std_error)."""
        return ("estimate", "std_error", "z" if self.kind == "logistic" else "t", "p_value")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "outcome": self.outcome,
            "predictors": list(self.predictors),
            "categorical": list(self.categorical),
        }


@dataclass(frozen=True)
class Spec:
    """A query spec, built one clause at a time. Each method returns a new ``Spec``."""

    table: str
    measures: tuple[Measure, ...] = ()
    group_by: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    mode: Mode = "sdc"
    rho: float | None = None
    margins: bool = False
    bands: str | None = None
    model: Model | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.table, str) or not self.table.strip():
            raise ValueError(f"a spec names a research table, not {self.table!r}")
        # lists given to the constructor become tuples: a Spec never changes after it is made
        object.__setattr__(self, "measures", tuple(self.measures))
        object.__setattr__(self, "group_by", tuple(self.group_by))
        object.__setattr__(self, "filters", tuple(self.filters))
        for m in self.measures:
            if not isinstance(m, Measure):
                raise ValueError(f"a measure is a Measure, not {m!r}")
        for f in self.filters:
            if not isinstance(f, Filter):
                raise ValueError(f"a filter is a Filter, not {f!r}")
        for column in self.group_by:
            _column(column, "by()")
        self._check_mode()
        if self.model is not None:
            if not isinstance(self.model, Model):
                raise ValueError(f"a model is a Model, not {self.model!r}")
            if self.measures or self.group_by or self.margins or self.bands:
                raise ValueError(
                    "a model takes filters only: no measures, by(), margins or histogram()"
                )
            if self.mode == "ckm":
                raise ValueError("a model is fitted in sdc or dp mode, not ckm")
        names = [m.name for m in self.measures]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"a measure is asked for twice: {', '.join(twice)}")
        twice = sorted({c for c in self.group_by if self.group_by.count(c) > 1})
        if twice:
            raise ValueError(f"a group-by column is named twice: {', '.join(twice)}")

    def _check_mode(self) -> None:
        if not isinstance(self.margins, bool):
            raise ValueError(f"margins is true or false, not {self.margins!r}")
        if self.mode in ("sdc", "ckm"):
            if self.rho is not None:
                raise ValueError("rho is for dp specs only; call dp(rho=...) for a dp spec")
            return
        if self.mode != "dp":
            raise ValueError(f"mode is sdc, dp or ckm, not {self.mode!r}")
        rho = self.rho
        if (
            isinstance(rho, bool)
            or not isinstance(rho, int | float)
            or not (math.isfinite(rho) and rho > 0)
        ):
            raise ValueError(f"a dp spec needs rho, its privacy loss, above 0, not {rho!r}")
        if self.margins:
            raise ValueError("margins are for sdc tables; drop with_margins() for dp")

    # --- cells and rows ---------------------------------------------------------------------

    def by(self, *columns: str) -> Spec:
        """Group by these columns (added to any already named)."""
        if not columns:
            raise ValueError("by() needs at least one column")
        return replace(self, group_by=(*self.group_by, *columns))

    def where_in(self, column: str, *values: Scalar | Iterable[Scalar]) -> Spec:
        """Keep rows whose ``column`` is one of ``values``: ``where_in("grade", 7, 8)`` or
        ``where_in("grade", [7, 8])``."""
        flat: list[Any] = []
        for v in values:
            if isinstance(v, str) or not isinstance(v, Iterable):
                flat.append(v)
            else:
                flat.extend(v)
        return self._filter(Filter(column, "in", tuple(flat)))

    def where_between(self, column: str, low: Scalar, high: Scalar) -> Spec:
        """Keep rows whose ``column`` lies between ``low`` and ``high``, both inclusive."""
        return self._filter(Filter(column, "between", (low, high)))

    def where_true(self, column: str) -> Spec:
        """Keep rows where the flag ``column`` is true."""
        return self._filter(Filter(column, "is_true"))

    def where_false(self, column: str) -> Spec:
        """Keep rows where the flag ``column`` is false."""
        return self._filter(Filter(column, "is_false"))

    def _filter(self, f: Filter) -> Spec:
        return replace(self, filters=(*self.filters, f))

    # --- measures ---------------------------------------------------------------------------

    def count_students(self) -> Spec:
        """Distinct pupils per cell."""
        return self._measure(Measure("count_students"))

    def count_teachers(self) -> Spec:
        """Distinct teachers behind each cell."""
        return self._measure(Measure("count_teachers"))

    def share(self, column: str) -> Spec:
        """The share of persons for whom the flag ``column`` is true."""
        return self._measure(Measure("share", column))

    def sum(self, column: str) -> Spec:
        """The sum of a bounded measure column."""
        return self._measure(Measure("sum", column))

    def mean(self, column: str) -> Spec:
        """The mean of a bounded measure column over persons."""
        return self._measure(Measure("mean", column))

    def quantile(self, column: str, q: float) -> Spec:
        """The ``q``-quantile (0 < q < 1) of a bounded measure column over persons."""
        return self._measure(Measure("quantile", column, q))

    def ratio(self, numerator: str, denominator: str) -> Spec:
        """The sum of ``numerator`` over the sum of ``denominator`` per cell."""
        return self._measure(Measure("ratio", numerator=numerator, denominator=denominator))

    def histogram(self, column: str) -> Spec:
        """Split each cell by the published band of ``column`` its rows fall in (a key column
        ``<column>_band``): counts per band make a histogram."""
        return replace(self, bands=_column(column, "histogram()"))

    def linear(
        self, outcome: str, predictors: Iterable[str] = (), categorical: Iterable[str] = ()
    ) -> Spec:
        """Fit a linear regression of ``outcome`` on ``predictors`` and ``categorical``
        columns over the rows the filters keep, instead of measuring cells: the result has
        one row per parameter."""
        return replace(self, model=Model("linear", outcome, tuple(predictors), tuple(categorical)))

    def logistic(
        self, outcome: str, predictors: Iterable[str] = (), categorical: Iterable[str] = ()
    ) -> Spec:
        """Fit a logistic regression of the flag ``outcome`` (as ``linear``)."""
        return replace(
            self, model=Model("logistic", outcome, tuple(predictors), tuple(categorical))
        )

    @property
    def keys(self) -> tuple[str, ...]:
        """The result's key columns: the group-by columns, then the band column (a model's
        result: ``parameter``)."""
        if self.model is not None:
            return ("parameter",)
        return (*self.group_by, *((f"{self.bands}_band",) if self.bands else ()))

    def _measure(self, m: Measure) -> Spec:
        return replace(self, measures=(*self.measures, m))

    # --- mode -------------------------------------------------------------------------------

    def dp(self, rho: float) -> Spec:
        """Differentially private, spending ``rho`` (zCDP) of the budget."""
        return replace(self, mode="dp", rho=rho)

    def sdc(self) -> Spec:
        """Exact figures under disclosure control (the default); costs no budget."""
        return replace(self, mode="sdc", rho=None)

    def ckm(self) -> Spec:
        """Counts of pupils perturbed by the cell-key method (``count_students`` only, on the
        tables the policy names); the same cell always gets the same small noise, and it costs
        no budget."""
        return replace(self, mode="ckm", rho=None)

    def with_margins(self, margins: bool = True) -> Spec:
        """sdc and ckm only: add totals over each group-by column and the grand total ("all")."""
        return replace(self, margins=margins)

    # --- JSON -------------------------------------------------------------------------------

    @property
    def measure_names(self) -> tuple[str, ...]:
        """The measures' columns in the result, in order."""
        return tuple(m.name for m in self.measures)

    def to_dict(self) -> dict[str, Any]:
        """The JSON spec the service takes."""
        if not self.measures and self.model is None:
            raise ValueError("a spec needs at least one measure: count_students(), mean(column), …")
        out: dict[str, Any] = {
            "table": self.table,
            "measures": [m.to_dict() for m in self.measures],
        }
        if self.model is not None:
            out["model"] = self.model.to_dict()
        if self.group_by:
            out["group_by"] = list(self.group_by)
        if self.filters:
            out["filters"] = [f.to_dict() for f in self.filters]
        out["mode"] = self.mode
        if self.rho is not None:
            out["rho"] = self.rho
        if self.margins:
            out["margins"] = True
        if self.bands is not None:
            out["bands"] = self.bands
        return out

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> Spec:
        """A ``Spec`` from a JSON spec (as ``to_dict`` writes it, or as the service returns it
        in a release)."""
        if not isinstance(spec, Mapping):
            raise ValueError(f"a spec is a JSON object, not {type(spec).__name__}")
        unknown = sorted(set(spec) - set(_SPEC_FIELDS))
        if unknown:
            raise ValueError(f"unknown spec fields: {', '.join(unknown)}")
        if "table" not in spec:
            raise ValueError("a spec names its table")
        measures = tuple(_measure_from(m) for m in spec.get("measures") or ())
        filters = tuple(_filter_from(f) for f in spec.get("filters") or ())
        group_by = spec.get("group_by") or ()
        if isinstance(group_by, str):
            raise ValueError("group_by is a list of columns")
        model = _model_from(spec["model"]) if spec.get("model") is not None else None
        return cls(
            table=spec["table"],
            measures=measures,
            group_by=tuple(group_by),
            filters=filters,
            mode=spec.get("mode") or "sdc",
            rho=spec.get("rho"),
            margins=spec.get("margins") or False,
            bands=spec.get("bands"),
            model=model,
        )


def _measure_from(m: Any) -> Measure:
    if not isinstance(m, Mapping) or set(m) - _MEASURE_FIELDS:
        raise ValueError(f"a measure is {{kind, column, q, numerator, denominator}}, not {m!r}")
    return Measure(
        m.get("kind", ""), m.get("column"), m.get("q"), m.get("numerator"), m.get("denominator")
    )


def _model_from(m: Any) -> Model:
    if not isinstance(m, Mapping) or set(m) - {"kind", "outcome", "predictors", "categorical"}:
        raise ValueError(f"a model is {{kind, outcome, predictors, categorical}}, not {m!r}")
    return Model(
        m.get("kind", ""),
        m.get("outcome", ""),
        tuple(m.get("predictors") or ()),
        tuple(m.get("categorical") or ()),
    )


def _filter_from(f: Any) -> Filter:
    if not isinstance(f, Mapping) or set(f) - {"column", "op", "values"}:
        raise ValueError(f"a filter is {{column, op, values}}, not {f!r}")
    return Filter(f.get("column", ""), f.get("op", ""), tuple(f.get("values") or ()))
