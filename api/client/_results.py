"""What the client returns: released tables as pandas DataFrames (one row per cell) with their
metadata in small frozen dataclasses, and the service's lists (releases, requests, budgets,
projects, the catalogue) as DataFrames."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from api.client._spec import COUNTS, measure_name

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DataLabel = Literal["real", "dummy"]
MARGIN = "all"  # a margin's key: the total over every value of that column


@dataclass(frozen=True)
class Check:
    """An automatic check a held request failed, and why."""

    check: str
    reason: str


@dataclass(frozen=True, eq=False)
class Result:
    """A submitted spec's outcome, or one of your releases.

    Released (``status == "released"``): ``table`` is the table, one row per cell: the group-by
    columns (``"all"`` in a margin), ``status`` (released, suppressed or rounded), each
    measure's value and, in dp mode, ``<measure>_lower`` and ``<measure>_upper``, its 95 %
    interval. ``rho`` is the privacy loss the release cost when it was made (0 for sdc);
    ``cached`` says it is the earlier release of an identical spec, returned again at no cost.

    Held (``status == "held"``): nothing was released or charged yet; ``request_id`` is the
    request the data protection officer reviews, ``checks`` the checks it failed (none when
    it asked for an exception with a justification). ``Client.requests()`` shows its progress.

    ``data_label`` is ``"dummy"`` when the service runs over a synthetic snapshot: such results
    say nothing about real pupils.
    """

    status: Literal["released", "held"]
    release_id: str | None
    mode: str
    rho: float
    snapshot: str
    policy_version: str | None
    cached: bool
    notes: tuple[str, ...]
    data_label: DataLabel
    table: pd.DataFrame | None
    spec: Mapping[str, Any] = field(default_factory=dict)
    request_id: int | None = None
    checks: tuple[Check, ...] = ()

    @property
    def released(self) -> bool:
        return self.status == "released"

    def plot(
        self,
        measure: str | Sequence[str] | None = None,
        *,
        ax: Axes | None = None,
        margins: bool = False,
        kind: Literal["bar", "point"] | None = None,
        order: Sequence[Any] | None = None,
    ) -> Axes | Figure:
        """The released table as a chart (matplotlib; ``pip install 'medler[plot]'``).

        One panel per measure (``measure=`` names one, or a list): the first grouping key
        along the x axis, the second as coloured series; dp values with their 95 % intervals
        as error bars, exact (sdc) values without; a suppressed cell is a gap marked
        ``suppressed``, never a zero; margins only with ``margins=True``. Counts and sums are
        bars, means, shares and quantiles points (``kind="bar"`` or ``"point"`` to choose);
        ``order=`` sets the first key's order (``catalogue.keys(table, column)``). Draws into
        ``ax`` when given (one measure). Returns the ``Axes`` of one panel, or the ``Figure``
        of several: ``.figure.savefig("table.png")`` or ``.savefig(...)`` keeps it.
        """
        from api.client._plot import plot_result

        return plot_result(self, measure, ax=ax, margins=margins, kind=kind, order=order)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Result):
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name)) for f in fields(self))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        what = (
            f"{self.release_id}, {len(self.table)} cells"
            if self.table is not None
            else f"request {self.request_id}"
        )
        return (
            f"Result({self.status}: {what}, mode={self.mode}, rho={self.rho:g}, "
            f"data={self.data_label})"
        )


def _same(mine: Any, theirs: Any) -> bool:
    if isinstance(mine, pd.DataFrame) or isinstance(theirs, pd.DataFrame):
        return (
            isinstance(mine, pd.DataFrame)
            and isinstance(theirs, pd.DataFrame)
            and list(mine.columns) == list(theirs.columns)
            and mine.equals(theirs)
        )
    return bool(mine == theirs)


@dataclass(frozen=True)
class Preview:
    """A spec's preview, free of charge and without values.

    dp: ``accuracy``, one row per measure with the 95 % half-widths the release would carry
    (``half_width`` for counts and sums; a mean's or share's numerator and count half-widths),
    and ``rho``, what it would cost. sdc: ``cells``, one row per cell with its ``status``, so
    you see what would be suppressed.
    """

    mode: str
    rho: float
    policy_version: str
    accuracy: pd.DataFrame
    cells: pd.DataFrame
    notes: tuple[str, ...]
    data_label: DataLabel


@dataclass(frozen=True)
class Plan:
    """What a dp question costs for the accuracy wanted: ``rho``, each measure's 95 %
    half-width at that ρ in a cell of ``persons`` (``half_widths``; NaN for a quantile), your
    smallest ``remaining_rho`` and how many such ``questions`` it holds."""

    rho: float
    persons: int
    half_width: float
    measure: str | None
    half_widths: dict[str, float]
    remaining_rho: float | None
    questions: int | None
    data_label: DataLabel


@dataclass(frozen=True)
class Catalogue:
    """The research tables a project may query. ``columns``: one row per table and column with
    its ``kind`` (public_key, category, flag, measure), whether the project is ``approved`` for
    it, a public key's ``keys`` and a measure's ``lower`` and ``upper`` bounds."""

    project: str
    policy_version: str
    tables: Mapping[str, str]
    columns: pd.DataFrame
    data_label: DataLabel

    def keys(self, table: str, column: str) -> list[Any]:
        """A public key's values (from public sources, not from the data)."""
        rows = self.columns[(self.columns["table"] == table) & (self.columns["column"] == column)]
        if rows.empty:
            raise KeyError(f"{table}.{column} is not in the catalogue")
        keys = rows.iloc[0]["keys"]
        return list(keys) if isinstance(keys, Iterable) else []


# --- from the wire ---------------------------------------------------------------------------


def measure_names(spec: Mapping[str, Any], mode: str = "sdc") -> list[str]:
    """The value columns of a result: the measures, or a model's values per parameter."""
    model = spec.get("model")
    if model:
        if mode == "dp":
            return ["estimate", "std_error"]
        return ["estimate", "std_error", "z" if model.get("kind") == "logistic" else "t", "p_value"]
    return [
        measure_name(
            str(m.get("kind")),
            m.get("column"),
            m.get("q"),
            m.get("numerator"),
            m.get("denominator"),
        )
        for m in spec.get("measures") or ()
    ]


def key_names(spec: Mapping[str, Any]) -> list[str]:
    """The result's key columns: the group-by columns, then a histogram's band column (a
    model's: ``parameter``)."""
    if spec.get("model"):
        return ["parameter"]
    bands = spec.get("bands")
    return [*(spec.get("group_by") or ()), *([f"{bands}_band"] if bands else [])]


def _count_names(spec: Mapping[str, Any]) -> set[str]:
    return {str(m.get("kind")) for m in spec.get("measures") or () if m.get("kind") in COUNTS}


# a band's label: "<5%", "5-10%", ">=50%", "0-5", "20+": in the order of its numbers
_TERM = re.compile(r"^(\d{4})(VT|HT)$")
_BAND = re.compile(r"^(<|>=)?(\d+(?:\.\d+)?)(?:-\d+(?:\.\d+)?)?%?(\+)?$")


def _sort_key(keys: Mapping[str, Any], group_by: Sequence[str]) -> tuple[Any, ...]:
    # per column: values first, in order (by type, then value; bands by their edges), the
    # margin ("all") last
    out: list[tuple[int, str, Any]] = []
    for k in group_by:
        value = keys.get(k)
        if value is None:
            out.append((1, "", 0))
            continue
        term = _TERM.match(value) if isinstance(value, str) else None
        band = _BAND.match(value) if isinstance(value, str) else None
        if term is not None:  # spring (VT) before autumn (HT) within a year
            out.append((0, "term", (int(term[1]), term[2] == "HT")))
        elif band is not None:
            side = -1 if band[1] == "<" else 1 if band[1] == ">=" or band[3] else 0
            out.append((0, "band", (float(band[2]), side)))
        else:
            out.append((0, type(value).__name__, value))
    return tuple(out)


def _sorted_cells(
    cells: Sequence[Mapping[str, Any]], group_by: Sequence[str]
) -> list[Mapping[str, Any]]:
    try:
        return sorted(cells, key=lambda c: _sort_key(c.get("keys", {}), group_by))
    except TypeError:  # keys that do not compare: keep the service's order
        return list(cells)


def _key_columns(
    cells: Sequence[Mapping[str, Any]], group_by: Sequence[str]
) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {k: [] for k in group_by}
    for cell in cells:
        for k in group_by:
            value = cell.get("keys", {}).get(k)
            out[k].append(MARGIN if value is None and cell.get("margin") else value)
    return out


def _floats(values: Iterable[Any]) -> pd.Series:
    return pd.Series([math.nan if v is None else float(v) for v in values], dtype="float64")


def _whole(values: list[Any]) -> pd.Series:
    """A count column: whole numbers (nullable where suppressed) when every value is one."""
    if all(v is None or float(v).is_integer() for v in values):
        return pd.Series([None if v is None else int(v) for v in values], dtype="Int64")
    return _floats(values)


def release_table(
    spec: Mapping[str, Any], mode: str, cells: Sequence[Mapping[str, Any]]
) -> pd.DataFrame:
    """One row per cell: the group-by keys, status, each measure and, in dp mode, its interval."""
    group_by = key_names(spec)
    names = measure_names(spec, mode)
    counts = _count_names(spec)
    # a model's parameters keep the service's order (the intercept first)
    ordered = list(cells) if spec.get("model") else _sorted_cells(cells, group_by)
    columns: dict[str, Any] = dict(_key_columns(ordered, group_by))
    columns["status"] = [c.get("status") for c in ordered]
    for name in names:
        values = [c.get("values", {}).get(name) for c in ordered]
        columns[name] = _whole(values) if name in counts and mode != "dp" else _floats(values)
        if mode == "dp" and (not spec.get("model") or name == "estimate"):
            columns[f"{name}_lower"] = _floats(c.get("lower", {}).get(name) for c in ordered)
            columns[f"{name}_upper"] = _floats(c.get("upper", {}).get(name) for c in ordered)
    frame = pd.DataFrame(
        {k: pd.Series(v) if isinstance(v, list) else v for k, v in columns.items()}
    )
    return frame.reset_index(drop=True)


def release_result(body: Mapping[str, Any], label: DataLabel) -> Result:
    spec = dict(body.get("spec") or {})
    return Result(
        status="released",
        release_id=body["release_id"],
        mode=body["mode"],
        rho=float(body["rho"]),
        snapshot=body["snapshot"],
        policy_version=body["policy_version"],
        cached=bool(body["cached"]),
        notes=tuple(body.get("notes") or ()),
        data_label=label,
        table=release_table(spec, body["mode"], body.get("cells") or ()),
        spec=spec,
    )


def held_result(request: Mapping[str, Any], label: DataLabel) -> Result:
    spec = dict(request.get("spec") or {})
    checks = tuple(Check(c["check"], c["reason"]) for c in request.get("checks") or ())
    return Result(
        status="held",
        release_id=request.get("release_id"),
        mode=spec.get("mode") or "sdc",
        rho=0.0,
        snapshot=request["snapshot"],
        policy_version=None,
        cached=False,
        notes=(),
        data_label=label,
        table=None,
        spec=spec,
        request_id=int(request["id"]),
        checks=checks,
    )


def preview_result(spec: Mapping[str, Any], body: Mapping[str, Any], label: DataLabel) -> Preview:
    accuracy: dict[str, Mapping[str, Any]] = body.get("accuracy") or {}
    # dp: a row per measure (empty widths where the service gives none, as for a quantile)
    order = measure_names(spec) if accuracy and not spec.get("model") else []
    order += [n for n in accuracy if n not in order]
    widths = sorted(
        {w for n in order for w in accuracy.get(n, {})}, key=lambda w: (w != "half_width", w)
    )
    acc = pd.DataFrame(
        {
            "measure": pd.Series(order, dtype="object"),
            **{w: _floats(accuracy.get(n, {}).get(w) for n in order) for w in widths},
        }
    )
    group_by = key_names(spec)
    cells = _sorted_cells(body.get("cells") or (), group_by)
    table = pd.DataFrame(
        {
            **{k: pd.Series(v, dtype="object") for k, v in _key_columns(cells, group_by).items()},
            "status": pd.Series([c.get("status") for c in cells], dtype="object"),
        }
    )
    return Preview(
        mode=body["mode"],
        rho=float(body["rho"]),
        policy_version=body["policy_version"],
        accuracy=acc,
        cells=table,
        notes=tuple(body.get("notes") or ()),
        data_label=label,
    )


def frame(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, times: Sequence[str] = ()
) -> pd.DataFrame:
    """Rows of the service's answer as a frame with ``columns`` in that order (and no other);
    ``times`` are parsed as UTC timestamps (a time without a zone is UTC)."""
    out = pd.DataFrame({c: pd.Series([r.get(c) for r in rows], dtype="object") for c in columns})
    for c in times:
        out[c] = pd.to_datetime(out[c], utc=True, format="ISO8601")
    return out.infer_objects()
