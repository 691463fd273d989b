"""Statistical use only: a query spec checked against the catalogue before any data is read.

A spec is refused, with a message that says why and what to do instead, when it groups by,
filters on or measures an identifier; names a table or column the catalogue does not list (or
the project has not been approved for); asks a measure of a column of the wrong kind; or, in
differentially private mode, groups by keys that are not public, or asks for more privacy loss
than one query may spend. Rules that depend on the data (a population or a cell too small, a
cell describing too few teachers) are applied by the releaser.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any, Protocol

import polars as pl

from release._errors import Finding, QueryRefused, UnknownName
from release._frames import Collapse
from release._policy import Column, Policies, Table
from release._spec import Filter, QuerySpec, band_column, band_labels

GROUPABLE = ("public_key", "category", "flag")


class Approval(Protocol):
    """What a project may touch. ``check`` returns None when allowed, else the reason it is
    not; ``tables`` names the tables the project may use (None: every releasable table)."""

    def check(self, table: str, columns: set[str]) -> str | None: ...

    @property
    def tables(self) -> Any: ...


class ApproveAll:
    """The approval used where no project restricts tables and columns (or regimes)."""

    tables = None

    def check(self, table: str, columns: set[str]) -> str | None:
        return None

    def regime(self, table: str) -> str | None:
        return None


@dataclass(frozen=True)
class Resolved:
    """A spec checked against the catalogue: its table, how its rows collapse, its quantiles,
    and the reviewable checks it failed (``findings``: outside the approval, too much ρ)."""

    spec: QuerySpec
    table: Table
    collapse: Collapse
    quantiles: dict[str, tuple[str, float]]
    findings: tuple[Finding, ...] = ()

    @property
    def public_collapse(self) -> Collapse:
        """The collapse with only the filters on public keys: what the schedule decides, not
        the pupils (the teacher rules in dp mode are decided on it)."""
        public = {n for n, c in self.table.columns.items() if c.kind == "public_key"}
        given = self.collapse.filters[: len(self.spec.filters)]  # a model's own come after
        kept = tuple(
            f for f, spec in zip(given, self.spec.filters, strict=True) if spec.column in public
        )
        by = tuple(k for k in self.collapse.by if k in public)
        limits = tuple((k, v) for k, v in self.collapse.key_limits if k in by)
        return replace(self.collapse, filters=kept, by=by, key_limits=limits)


def _identifier(table: str, column: str) -> QueryRefused:
    return QueryRefused(
        f"{table}.{column} identifies a person: medler releases statistics about groups, never "
        "about one pupil or one teacher. Group by a public key (school_code, term, grade, …) "
        "and count persons with count_students or count_teachers instead"
    )


def _filter_expr(f: Filter, dtype: pl.DataType) -> pl.Expr:
    """``f`` as a predicate on a column of type ``dtype``. Each value is checked against the
    column's type here and never cast by Polars: a cast fails on mixed values (``[0, 0.5]``)
    and silently changes others (8.5 to 8, true to 1, 2**70 to null). A numeric column takes
    finite numbers (never true or false), ``in`` on a whole-number column whole numbers within
    its range, a flag true or false, and a text column text; other columns (dates) take text
    read as their type. ``between`` takes its lower bound first; on a whole-number column it
    keeps the whole numbers between its bounds, exactly, however large they are (``[0, 0.5]``
    keeps 0)."""
    column = pl.col(f.column)
    if f.op in ("is_true", "is_false"):
        return column.fill_null(False) if f.op == "is_true" else ~column.fill_null(True)
    number = dtype.is_integer() or dtype.is_float()
    whole = dtype.is_integer() and f.op == "in"
    if number:
        one, many = ("a whole number", "whole numbers") if whole else ("a number", "numbers")
    else:
        one = many = "true or false" if dtype == pl.Boolean else "text"

    def unfit(i: int, problem: str) -> QueryRefused:
        return QueryRefused(
            f"filter on {f.column}: value {i + 1} {problem}; {f.column} holds {many} "
            f"({dtype}), so give {many}"
        )

    for i, value in enumerate(f.values):
        given = "text" if isinstance(value, str) else "a number"
        given = "true or false" if isinstance(value, bool) else given
        if given != ("a number" if number else one):
            raise unfit(i, f"is {given}, not {one}")
        if isinstance(value, str) and any("\ud800" <= c <= "\udfff" for c in value):
            raise unfit(i, "is not valid Unicode text")
        if isinstance(value, float) and not abs(value) < float("inf"):
            raise unfit(i, "is not a finite number")
        if whole and isinstance(value, float) and not value.is_integer():
            raise unfit(i, "is not a whole number")

    backwards = f"filter on {f.column}: between takes the lower bound first"

    def typed() -> pl.Series:
        """The values as the column holds them; for ``between`` on a whole-number column, the
        first and last whole number of the column's range between the bounds (none: empty)."""
        numbers = [v for v in f.values if isinstance(v, int | float)]
        if not number:
            read = pl.Series(list(f.values), dtype=pl.Boolean if one != "text" else pl.String)
            read = read.cast(dtype, strict=False)  # dates and the like, from their ISO text
            if read.null_count():
                raise QueryRefused(
                    f"filter on {f.column}: a value cannot be read as {dtype}; give text in "
                    "its ISO format"
                )
            if f.op == "between" and read[0] > read[1]:
                raise QueryRefused(backwards)
            return read
        if f.op == "between" and numbers[0] > numbers[1]:
            raise QueryRefused(backwards)
        if dtype.is_float():  # a number too large for a float lies beyond every value
            big = float("inf")
            floats = [float(v) if abs(v) < 2**1000 else big if v > 0 else -big for v in numbers]
            return pl.Series(floats, dtype=dtype)
        assert isinstance(dtype, pl.datatypes.IntegerType)
        least, most = pl.select(dtype.min().alias("least"), dtype.max().alias("most")).row(0)
        if f.op == "in":
            outside = [i for i, v in enumerate(numbers) if not least <= v <= most]
            if outside:
                raise unfit(outside[0], "is out of the column's range")
            return pl.Series([int(v) for v in numbers], dtype=dtype)
        first, last = max(-int(-numbers[0] // 1), least), min(int(numbers[1] // 1), most)
        return pl.Series([first, last] if first <= last else [], dtype=dtype)

    values = typed()
    if f.op == "in":
        return column.is_in(values.implode())
    if values.is_empty():  # no whole number of the column's range lies between the bounds
        return pl.lit(False)
    return column.is_between(pl.lit(values[0], dtype=dtype), pl.lit(values[1], dtype=dtype))


def resolve(
    spec: QuerySpec,
    policies: Policies,
    schema: dict[str, pl.DataType],
    approval: Approval | None = None,
    waive: frozenset[str] = frozenset(),
    *,
    strict: bool = True,
) -> Resolved:
    """Check ``spec`` against the catalogue and the project's approval and resolve it into a
    collapse. ``waive``: reviewable checks a reviewer has approved an exception to.
    ``strict=False`` resolves an earlier output for the linked audit: rules added since it
    was published (band edges) do not apply to it."""
    table = known_table(spec, policies, approval)
    findings = []
    outside = _check_columns(spec, table, schema, approval)
    if outside is not None and "approval" not in waive:
        findings.append(Finding("approval", f"outside the project's approval: {outside}"))
    _check_groups(spec, table)
    if spec.mode == "ckm" and spec.table not in policies.release.ckm.tables:
        allowed = ", ".join(policies.release.ckm.tables) or "no table"
        raise QueryRefused(
            f"{spec.table} is not released under the cell-key method (the policy allows "
            f"{allowed}); ask in sdc or dp mode"
        )
    filters = _filters(spec, table, schema, strict=strict)
    if spec.model is not None:  # a model's rows: those with a value in each of its columns
        filters += _model_columns(spec, table, schema, policies)
    means, sums, flags, quantiles = _measures(spec, table)
    derived = _bands(spec, table)
    bins = tuple(dict.fromkeys(m for m, _ in quantiles.values())) if spec.mode == "dp" else ()
    if spec.mode == "dp":
        assert spec.rho is not None
        if spec.rho > policies.release.dp.max_rho_per_query and "rho_per_query" not in waive:
            findings.append(
                Finding(
                    "rho_per_query",
                    f"rho {spec.rho:g} is more than one query may spend "
                    f"({policies.release.dp.max_rho_per_query:g}); split the question, or ask the "
                    "statistics office",
                    {"rho": spec.rho, "max_rho_per_query": policies.release.dp.max_rho_per_query},
                )
            )
    collapse = Collapse(
        by=spec.keys,
        unit=table.unit,
        filters=tuple(filters),
        means=means,
        sums=sums,
        flags=tuple(dict.fromkeys(flags)),
        max_rows=table.max_rows_per_unit,
        key_limits=tuple(
            sorted((k, v) for k, v in table.max_keys_per_unit.items() if k in spec.group_by)
        ),
        derived=derived,
        bins=bins,
        quantile_only=tuple(
            m for m in bins if not any(x.kind == "mean" and x.column == m for x in spec.measures)
        ),
    )
    return Resolved(spec, table, collapse, quantiles, tuple(findings))


def _model_columns(
    spec: QuerySpec, table: Table, schema: dict[str, pl.DataType], policies: Policies
) -> list[pl.Expr]:
    """Refuses a model whose columns are of the wrong kind; returns the predicates that keep
    the rows with a value in every model column (rows without one are left out)."""
    model = spec.model
    assert model is not None
    wanted = ("flag",) if model.kind == "logistic" else ("measure", "flag")
    outcome = table.columns[model.outcome].kind
    if outcome not in wanted:
        raise QueryRefused(
            f"a {model.kind} model's outcome is a {' or '.join(wanted)}; {spec.table}."
            f"{model.outcome} is a {outcome}"
        )
    for name in model.predictors:
        column = table.columns[name]
        ordered = column.kind == "public_key" and numeric_key(column, policies) is not None
        if column.kind not in ("measure", "flag") and not (ordered and schema[name].is_integer()):
            raise QueryRefused(
                f"{spec.table}.{name} is a {column.kind} without an order of numbers, so it "
                "cannot be a numeric predictor; name it under categorical"
            )
    for name in model.categorical:
        kind = table.columns[name].kind
        if kind not in GROUPABLE:
            raise QueryRefused(
                f"{spec.table}.{name} is a {kind}; categorical predictors are public keys, "
                "categories or flags. Name a measure under predictors"
            )
        if spec.mode == "dp" and kind == "category":
            raise QueryRefused(
                f"{spec.table}.{name} has no public list of values, so its levels would spend "
                "privacy; in dp mode use public keys or flags as categorical predictors"
            )
    return [pl.col(name).is_not_null() for name in model.columns]


def numeric_key(column: Column, policies: Policies) -> tuple[float, float] | None:
    """A public key with whole-number values from a published range (grade): its bounds."""
    source = policies.catalogue.keys.get(column.keys or "")
    if source is None or source.source != "range":
        return None
    assert source.first is not None and source.last is not None
    return float(source.first), float(source.last)


def known_table(spec: QuerySpec, policies: Policies, approval: Approval | None = None) -> Table:
    """The spec's table from the catalogue, or ``UnknownName`` naming the tables the project
    may use."""
    catalogue = policies.catalogue
    table = catalogue.tables.get(spec.table)
    if table is None or not table.releasable:
        releasable = sorted(n for n, t in catalogue.tables.items() if t.releasable)
        allowed = getattr(approval, "tables", None)
        if allowed is not None:
            mine = sorted(t for t in allowed if t in releasable)
            where = f"this project may use {', '.join(mine) or 'no table'}"
        else:
            where = f"choose one of {', '.join(releasable)}"
        raise UnknownName(f"there is no releasable research table {spec.table!r}; {where}")
    return table


def _check_columns(
    spec: QuerySpec, table: Table, schema: dict[str, pl.DataType], approval: Approval | None
) -> str | None:
    """Refuses unknown columns and identifiers; returns why the project's approval does not
    cover the columns, or None."""
    named = set(spec.columns)
    for name in sorted(named):
        if name not in table.columns or name not in schema:
            raise UnknownName(
                f"{spec.table} has no column {name!r}; the catalogue lists "
                f"{', '.join(c for c, k in table.columns.items() if k.kind != 'identifier')}"
            )
        if table.columns[name].kind == "identifier":
            raise _identifier(spec.table, name)
    return (approval or ApproveAll()).check(spec.table, named)


def _check_groups(spec: QuerySpec, table: Table) -> None:
    for name in spec.group_by:
        kind = table.columns[name].kind
        if kind not in GROUPABLE:
            raise QueryRefused(
                f"{spec.table}.{name} is a {kind}; it can be summed, averaged or its quantiles "
                "taken, not grouped by. Group by a public key, a category or a flag"
            )
        if spec.mode == "dp" and kind == "category":
            raise QueryRefused(
                f"{spec.table}.{name} has no public list of values, so grouping by it would "
                "spend privacy on which values exist; in dp mode group by public keys or "
                "flags, or use sdc mode"
            )


def _filters(
    spec: QuerySpec, table: Table, schema: dict[str, pl.DataType], *, strict: bool = True
) -> list[pl.Expr]:
    filters = []
    for f in spec.filters:
        kind = table.columns[f.column].kind
        allowed = {
            "flag": ("is_true", "is_false", "in"),
            "measure": ("between",),
            "public_key": ("in", "between"),
            "category": ("in",),
        }[kind]
        if f.op not in allowed:
            raise QueryRefused(
                f"filter on {spec.table}.{f.column} ({kind}): use {' or '.join(allowed)}"
            )
        if strict and spec.mode == "sdc" and kind == "measure":
            _check_bands(spec.table, f, table.columns[f.column].bands)
        filters.append(_filter_expr(f, schema[f.column]))
    return filters


def _check_bands(table: str, f: Filter, bands: tuple[float, ...] | None) -> None:
    """In sdc mode a measure is filtered only between two of its band edges: a threshold that
    could move one unit at a time would let a run of queries (or of refusals) find one
    person's value."""
    if bands is None:
        raise QueryRefused(
            f"{table}.{f.column} has no published bands, so in sdc mode it cannot be filtered; "
            "filter on a flag or a public key, or ask in dp mode"
        )
    edges = ", ".join(f"{b:g}" for b in bands)
    for value in f.values:
        if isinstance(value, bool) or not isinstance(value, int | float) or value not in bands:
            raise QueryRefused(
                f"in sdc mode {table}.{f.column} is filtered only between its band edges "
                f"({edges}); {value!r} is not one. Use two band edges, or ask in dp mode"
            )


def _bands(spec: QuerySpec, table: Table) -> tuple[tuple[str, pl.Expr], ...]:
    """The band column of a histogram (``spec.bands``): each row's value, clamped to its
    bounds, in the band of the column's published edges that holds it."""
    if spec.bands is None:
        return ()
    column = table.columns[spec.bands]
    if column.kind != "measure" or column.bands is None or column.bounds is None:
        raise QueryRefused(
            f"bands need a measure column with published band edges; {spec.table}."
            f"{spec.bands} has none. Choose one of "
            f"{', '.join(n for n, c in table.columns.items() if c.bands) or 'none'}"
        )
    edges = column.bands
    lo, hi = column.bounds
    value = pl.col(spec.bands).clip(lo, hi)
    band = pl.lit(None, dtype=pl.String)
    pairs = list(itertools.pairwise(edges))
    for label, (low, high) in reversed(list(zip(band_labels(edges), pairs, strict=True))):
        inside = (value >= low) & ((value < high) | pl.lit(high == edges[-1]))
        band = pl.when(inside).then(pl.lit(label)).otherwise(band)
    return ((band_column(spec.bands), band),)


def _measures(
    spec: QuerySpec, table: Table
) -> tuple[
    dict[str, tuple[float, float]],
    dict[str, tuple[float, float]],
    list[str],
    dict[str, tuple[str, float]],
]:
    means: dict[str, tuple[float, float]] = {}
    sums: dict[str, tuple[float, float]] = {}
    flags: list[str] = []
    quantiles: dict[str, tuple[str, float]] = {}
    teacher_info = table.teacher is not None or table.teachers_from is not None
    for m in spec.measures:
        if m.kind == "count_students" and table.unit != "student_pid":
            raise QueryRefused(f"{spec.table} is a table of teachers: use count_teachers")
        if m.kind == "count_teachers" and not teacher_info:
            raise QueryRefused(f"{spec.table} does not say which teachers are behind a row")
        if m.kind == "count_teachers" and spec.mode == "dp" and table.teacher is None:
            raise QueryRefused(
                f"in dp mode {spec.table} protects pupils, not teachers, so it cannot count "
                "teachers; count them in dp mode from teacher_terms, where the teacher is the "
                "privacy unit, or in sdc mode"
            )
        if m.kind == "ratio":
            for part in (m.numerator, m.denominator):
                assert part is not None
                column = table.columns[part]
                if column.kind != "measure":
                    raise QueryRefused(
                        f"ratio needs measure columns; {spec.table}.{part} is a {column.kind}"
                    )
                assert column.bounds is not None
                sums[part] = column.bounds
            continue
        if m.column is None:
            continue
        column = table.columns[m.column]
        wanted = "flag" if m.kind == "share" else "measure"
        if column.kind != wanted:
            raise QueryRefused(
                f"{m.kind} needs a {wanted} column; {spec.table}.{m.column} is a {column.kind}"
            )
        if m.kind == "share":
            flags.append(m.column)
            continue
        assert column.bounds is not None
        if m.kind == "sum":
            sums[m.column] = column.bounds
            continue
        means[m.column] = column.bounds
        if m.kind == "quantile":
            assert m.q is not None
            quantiles[m.name] = (m.column, m.q)
    return means, sums, flags, quantiles
