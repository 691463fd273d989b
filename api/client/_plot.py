"""``Result.plot()``: a released table as a chart, with matplotlib (the ``plot`` extra).

Rules, so that a chart never says more than the release does:

- One panel per measure. The first grouping key runs along the x axis, the second (if any) is the
  series (colour); a third is refused, since a flat chart would silently mix its cells.
- A dp value carries its 95 % interval as an error bar (``<measure>_lower`` to ``_upper``); an
  exact (sdc) value has none, and neither has a dp value the service gave no interval (a quantile).
- A cell without a value (suppressed, or released empty) is a gap, never a zero: a small grey
  cross at the foot of the panel marks it, and the legend says ``suppressed``.
- Margins (``"all"``, the totals of ``with_margins()``) are left out unless ``margins=True``,
  then shown last.
- Keys run in key order: numbers by value, band labels (``<5%``, ``5-10%``, ``>=50%``) by their
  edges, terms (``2027VT``, ``2027HT``) in time; other labels as the table has them. ``order=``
  (say ``catalogue.keys(table, column)``) sets the order of the first key.
- Counts and sums are bars from zero (a band's counts are its histogram); means, shares and
  quantiles are points, which do not pretend to start at zero. ``kind=`` chooses.

matplotlib is imported only when a chart is drawn, so the client itself needs httpx and pandas
alone. Without a display, matplotlib draws with its Agg backend and ``savefig`` works as usual.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import pandas as pd

from api.client._results import MARGIN, Result, key_names

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Kind = Literal["bar", "point"]
KINDS: tuple[Kind, ...] = ("bar", "point")
INSTALL_HINT = (
    "pip install 'medler[plot]' "
    "(from a clone: pip install -c requirements/constraints.txt -e '.[plot]')"
)
SUPPRESSED = "suppressed"
NO_VALUE = "no value"
UNBOUNDED = "interval unbounded"
INTERVAL = "95 % interval"
_BAR_PREFIXES = ("count_", "sum_", "histogram")  # quantities that start at zero
_GAP_COLOUR = "0.45"
# a band's label: its lower edge, after "<" (below it), ">=" (from it, the top band) or a letter
# ("F-3"); then perhaps an upper edge, "%" or "+"
_BAND = re.compile(r"^(?P<sign><=?|>=?)?[A-Z]?-?(?P<edge>\d+(?:\.\d+)?)(?:-\d+(?:\.\d+)?)?%?\+?$")
_TERM = re.compile(r"^(?P<year>\d{4})(?P<half>VT|HT)$")


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(f"plotting needs matplotlib: {INSTALL_HINT}") from None
    return plt


# --- what is plotted ----------------------------------------------------------------------------


def keys_of(result: Result) -> list[str]:
    """The grouping keys, in plotting order: the spec's ``group_by`` (a histogram's band column
    first) or, in a result made without a spec, the columns before ``status`` (where the
    client puts them)."""
    if "group_by" in result.spec or result.table is None:
        keys = key_names(result.spec)
        # a histogram: its bands along the x axis, the grouping as series
        return keys[-1:] + keys[:-1] if result.spec.get("bands") else keys
    columns = [str(c) for c in result.table.columns]
    return columns[: columns.index("status")] if "status" in columns else []


def measures_of(result: Result) -> list[str]:
    """The measure columns of a released table, in the spec's order: every column that is not a
    grouping key, the status or a measure's interval."""
    table = result.table
    assert table is not None
    keys = set(keys_of(result))
    columns = [str(c) for c in table.columns]
    return [
        c
        for c in columns
        if c not in keys
        and c != "status"
        and not (c.endswith(("_lower", "_upper")) and c[:-6] in columns)
    ]


def _chosen(result: Result, measure: str | Sequence[str] | None) -> list[str]:
    available = measures_of(result)
    if measure is None:
        wanted = available
    else:
        wanted = [measure] if isinstance(measure, str) else list(measure)
    unknown = [m for m in wanted if m not in available]
    if unknown or not wanted:
        raise ValueError(
            f"no measure {', '.join(map(repr, unknown)) or '(none given)'} in this "
            f"result; its measures: {', '.join(available)}"
        )
    return wanted


def _is_margin(value: Any) -> bool:
    """A margin's key: ``"all"`` in the table (``None`` or NaN in a table made by hand)."""
    if isinstance(value, str):
        return value == MARGIN
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _band_rank(label: str) -> tuple[float, int] | None:
    match = _BAND.match(label.replace(" ", ""))
    if match is None:
        return None
    sign = match["sign"] or ""
    return float(match["edge"]), -1 if sign.startswith("<") else 1 if sign else 0


def _term_rank(label: str) -> tuple[float, int] | None:
    match = _TERM.match(label)
    return None if match is None else (float(match["year"]), 0 if match["half"] == "VT" else 1)


def key_order(values: Sequence[Any], order: Sequence[Any] | None = None) -> list[Any]:
    """The distinct keys of ``values`` in key order (margins last); ``order`` first if given."""
    seen = list(dict.fromkeys(v for v in values if not _is_margin(v)))
    margins = [MARGIN] if any(_is_margin(v) for v in values) else []
    if order is not None:
        given = [v for v in order if v in seen]
        return given + [v for v in seen if v not in given] + margins
    if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in seen):
        return sorted(seen) + margins
    labels = [str(v) for v in seen]
    for rank in (_band_rank, _term_rank):
        ranks = [rank(label) for label in labels]
        known = [r for r in ranks if r is not None]
        if len(known) == len(seen):
            by_rank = sorted(range(len(seen)), key=lambda i: known[i])
            return [seen[i] for i in by_rank] + margins
    return seen + margins


def _floats(column: pd.Series) -> list[float]:
    return [math.nan if pd.isna(v) else float(v) for v in column]


def _kind(measure: str, kind: Kind | None) -> Kind:
    if kind is None:
        return "bar" if measure.startswith(_BAR_PREFIXES) else "point"
    if kind not in KINDS:
        raise ValueError(f"kind is 'bar' or 'point', not {kind!r}")
    return kind


# --- titles -------------------------------------------------------------------------------------


def _grouping(keys: Sequence[str]) -> str:
    return " and ".join(keys) if keys else "(no grouping)"


def title(result: Result, measure: str) -> str:
    """``<table>: <measure> by <keys>`` over the mode (ρ in dp), and *dummy data* when it is."""
    keys = keys_of(result)
    table = result.spec.get("table") or "release"
    how = (
        f"dp, ρ = {result.rho:g}, {INTERVAL}s"
        if result.mode == "dp"
        else f"{result.mode}, exact values"
    )
    if result.data_label == "dummy":
        how += ", DUMMY DATA (synthetic)"
    return f"{table}: {measure} by {_grouping(keys)}\n{how}"


# --- drawing ------------------------------------------------------------------------------------


class _Cell(NamedTuple):
    value: float
    lower: float
    upper: float
    status: Any


def _cells(part: pd.DataFrame, x_key: str | None, xs: list[Any], measure: str) -> dict[int, _Cell]:
    """``part``'s cells by their place on the x axis."""
    nan = [math.nan] * len(part)
    lower = _floats(part[f"{measure}_lower"]) if f"{measure}_lower" in part.columns else nan
    upper = _floats(part[f"{measure}_upper"]) if f"{measure}_upper" in part.columns else nan
    statuses = list(part["status"]) if "status" in part.columns else [None] * len(part)
    places = (
        [xs.index(MARGIN if _is_margin(v) else v) for v in part[x_key]]
        if x_key
        else [0] * len(part)
    )
    cells = zip(_floats(part[measure]), lower, upper, statuses, strict=True)
    return {p: _Cell(*cell) for p, cell in zip(places, cells, strict=True)}


def _panel(
    ax: Axes,
    result: Result,
    measure: str,
    *,
    margins: bool,
    kind: Kind | None,
    order: Sequence[Any] | None,
) -> None:
    table = result.table
    assert table is not None
    keys = keys_of(result)
    if len(keys) > 2:
        raise ValueError(
            f"plot() draws at most two grouping keys (x and colour); this result "
            f"has {len(keys)}: {', '.join(keys)}. Plot a part of result.table, or "
            f"group by fewer keys"
        )
    rows = table
    if not margins:
        for key in keys:
            rows = rows[[not _is_margin(v) for v in rows[key]]]
    x_key, series_key = [*keys, None, None][:2]
    xs = key_order(list(rows[x_key]), order) if x_key else ["total"]
    series = key_order(list(rows[series_key])) if series_key else [None]
    drawn = _kind(measure, kind)
    width = 0.8 / len(series)
    gaps: dict[str, list[float]] = {}
    any_interval = any_unbounded = False
    for i, name in enumerate(series):
        part = rows if series_key is None else rows[[_same_key(v, name) for v in rows[series_key]]]
        cells = _cells(part, x_key, xs, measure)
        offset = (i - (len(series) - 1) / 2) * width
        shown = sorted(p for p, c in cells.items() if not math.isnan(c.value))
        colour, label = f"C{i % 10}", None if name is None else str(name)
        px, py = [p + offset for p in shown], [cells[p].value for p in shown]
        if drawn == "bar":
            ax.bar(px, py, width=width * 0.95, color=colour, label=label, gid="values")
        else:
            ax.plot(px, py, marker="o", linestyle="none", color=colour, label=label, gid="values")
        any_interval, any_unbounded = _intervals(
            ax,
            cells,
            shown,
            offset,
            colour if drawn != "bar" else "black",
            colour,
            f"{measure}_lower" in part.columns,
            (any_interval, any_unbounded),
        )
        for p, cell in sorted(cells.items()):
            if math.isnan(cell.value):
                note = SUPPRESSED if cell.status == SUPPRESSED else NO_VALUE
                gaps.setdefault(note, []).append(p + offset)
    for note, where in gaps.items():
        # at the foot of the panel (x in data, y in axes units): a gap, not a zero
        ax.plot(
            where,
            [0.03] * len(where),
            marker="x",
            linestyle="none",
            color=_GAP_COLOUR,
            markersize=7,
            transform=ax.get_xaxis_transform(),
            label=note,
            gid=f"gaps:{note}",
            clip_on=False,
        )
    if drawn == "bar":
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    _label(ax, result, measure, xs, x_key)
    if series_key is not None or gaps or any_interval or any_unbounded:
        _legend(ax, series_key)


def _intervals(
    ax: Axes,
    cells: dict[int, Any],
    shown: list[int],
    offset: float,
    bar_colour: str,
    colour: str,
    has_intervals: bool,
    drawn: tuple[bool, bool],
) -> tuple[bool, bool]:
    """Each value's interval as an error bar; a dp value whose interval has no end (a ratio
    whose denominator's noise could reach zero) as a dotted line across the panel, never a
    bare point that looks exact. Returns whether either was drawn so far (for the legend)."""
    any_interval, any_unbounded = drawn
    bounded = [p for p in shown if not (math.isnan(cells[p].lower) or math.isnan(cells[p].upper))]
    if bounded:
        below = [max(cells[p].value - cells[p].lower, 0.0) for p in bounded]
        above = [max(cells[p].upper - cells[p].value, 0.0) for p in bounded]
        ax.errorbar(
            [p + offset for p in bounded],
            [cells[p].value for p in bounded],
            yerr=[below, above],
            fmt="none",
            ecolor=bar_colour,
            elinewidth=1,
            capsize=3,
            gid="intervals",
            label=None if any_interval else INTERVAL,
        )
        any_interval = True
    if has_intervals:
        for p in (p for p in shown if p not in bounded):
            ax.axvline(
                p + offset,
                linestyle=":",
                linewidth=1,
                color=colour,
                gid="unbounded",
                label=None if any_unbounded else UNBOUNDED,
            )
            any_unbounded = True
    return any_interval, any_unbounded


def _legend(ax: Axes, series_key: str | None) -> None:
    """The series first, then what the marks mean: the interval, then the gaps."""
    handles, labels = ax.get_legend_handles_labels()
    last = {INTERVAL: 1, UNBOUNDED: 2, SUPPRESSED: 3, NO_VALUE: 4}
    order = sorted(range(len(labels)), key=lambda i: last.get(labels[i], 0))
    ax.legend(
        [handles[i] for i in order],
        [labels[i] for i in order],
        title=series_key,
        fontsize="small",
        title_fontsize="small",
    )


def _label(ax: Axes, result: Result, measure: str, xs: list[Any], x_key: str | None) -> None:
    ax.set_xticks(range(len(xs)), [str(x) for x in xs])
    widths = [len(str(x)) + 1 for x in xs]
    if sum(widths) > 60 or max(widths, default=0) > 12:  # long labels would overlap
        ax.tick_params(axis="x", labelrotation=45)
    ax.set_xlim(-0.6, len(xs) - 0.4)
    ax.set_xlabel(x_key or "")
    ax.set_ylabel(measure)
    ax.set_title(title(result, measure), fontsize="medium")
    ax.grid(True, axis="y", alpha=0.3)


def _same_key(value: Any, name: Any) -> bool:
    return (_is_margin(value) and name == MARGIN) or (not _is_margin(value) and value == name)


def plot_result(
    result: Result,
    measure: str | Sequence[str] | None = None,
    *,
    ax: Axes | None = None,
    margins: bool = False,
    kind: Kind | None = None,
    order: Sequence[Any] | None = None,
) -> Axes | Figure:
    """Draw ``result``: one panel (``Axes``) per measure. See ``Result.plot``."""
    if not result.released or result.table is None:
        raise ValueError(f"request {result.request_id} is held: nothing is released to plot yet")
    chosen = _chosen(result, measure)
    if ax is not None:
        if len(chosen) != 1:
            raise ValueError(
                f"ax= draws one measure; choose it with measure= (one of {', '.join(chosen)})"
            )
        _panel(ax, result, chosen[0], margins=margins, kind=kind, order=order)
        return ax
    plt = _pyplot()
    columns = 1 if len(chosen) == 1 else 2
    rows = math.ceil(len(chosen) / columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(6.4 * columns, 4.2 * rows), squeeze=False, layout="constrained"
    )
    panels = list(axes.flat)
    for panel, name in zip(panels, chosen, strict=False):
        _panel(panel, result, name, margins=margins, kind=kind, order=order)
    for spare in panels[len(chosen) :]:
        spare.remove()
    return panels[0] if len(chosen) == 1 else figure
