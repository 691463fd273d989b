"""``medler publish``: the official tables, written as files with a short report.

Every indicator of the set (``policies/official_indicators.toml``) is released through the
release service (``release.publish``) as the person whose token is given, a member of the
project published for. Into the output folder go, per released indicator, ``<name>.csv`` and
``<name>.parquet`` (one row per cell, as any release is exported) and ``plots/<name>.png``;
then ``report.md`` (each table with its protection stated, its plot, and every table that was
held or refused with the reason) and ``publication.json`` (what was published, from which
snapshot, under which policies, with each file's SHA-256). Only released cells are written:
no row, no pseudonym, no reason why a cell was suppressed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.table import Table

from api.cli._console import stdout_console
from api.cli._release import _as_researcher
from medler.errors import Incomplete, OutputLocationError
from release import (
    IndicatorSet,
    Policies,
    Published,
    export_release,
    load_indicators,
    publish,
    release_rows,
)

PLOTS = "plots"
REPORT = "report.md"
MANIFEST = "publication.json"
FORMATS = ("csv", "parquet")


def run_publish(
    *,
    data_dir: Path,
    token_file: Path | None,
    project: str,
    out: Path,
    indicators_file: Path | None,
) -> None:
    indicators = load_indicators(indicators_file)
    _folder(out)
    service, actor = _as_researcher(data_dir, token_file, project, "publishing")
    results = publish(service, actor, project, indicators)
    policies = service.releaser.policies
    snapshot = service.releaser.snapshot.name
    files: dict[str, dict[str, str]] = {}
    for result in results:
        files[result.indicator.name] = _write_tables(out, result)
    plots = _plots(out, results)
    report = render_report(
        indicators,
        results,
        policies,
        project=project,
        publisher=actor.id,
        snapshot=snapshot,
        plots=plots,
    )
    _write(out / REPORT, report.encode("utf-8"))
    manifest = _manifest(indicators, results, project, actor.id, snapshot, policies, files)
    _write(out / MANIFEST, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())
    _summary(results, out)
    missing = [r for r in results if not r.released]
    if missing:
        named = ", ".join(f"{r.indicator.name} ({r.status})" for r in missing)
        raise Incomplete(
            f"{len(missing)} of {len(results)} official tables were not published: {named}; "
            f"{out / REPORT} says why. The others are written."
        )


# --- files ------------------------------------------------------------------------------------


def _folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputLocationError(
            f"{out}: cannot create the output folder ({error.strerror or error})"
        ) from error
    if not os.access(out, os.W_OK):
        raise OutputLocationError(f"{out}: the output folder is not writable")


def _write(path: Path, body: bytes) -> None:
    """Write ``body`` to ``path`` whole: to a temporary file beside it, then renamed."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(body)
        partial.replace(path)
    except OSError as error:
        raise OutputLocationError(f"{path}: cannot write ({error.strerror or error})") from error


def _write_tables(out: Path, result: Published) -> dict[str, str]:
    """The indicator's files (name -> SHA-256); a table not released has none, and a file of
    an earlier publication under its name is removed, so that the folder never shows a table
    the report does not."""
    name = result.indicator.name
    written: dict[str, str] = {}
    for fmt in FORMATS:
        path = out / f"{name}.{fmt}"
        if result.release is None:
            path.unlink(missing_ok=True)
            continue
        body = export_release(result.release, fmt)
        _write(path, body)
        written[path.name] = hashlib.sha256(body).hexdigest()
    if result.release is None:
        (out / PLOTS / f"{name}.png").unlink(missing_ok=True)
    return written


def _manifest(
    indicators: IndicatorSet,
    results: Sequence[Published],
    project: str,
    publisher: str,
    snapshot: str,
    policies: Policies,
    files: dict[str, dict[str, str]],
) -> dict[str, Any]:
    return {
        "indicator_set": {"title": indicators.title, "version": indicators.version},
        "project": project,
        "published_by": publisher,
        "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "research_snapshot": snapshot,
        "policy_version": policies.version,
        "tables": [
            {
                "name": r.indicator.name,
                "title": r.indicator.title,
                "status": r.status,
                "release_id": r.release.release_id if r.release else None,
                "earlier_release": bool(r.release and (r.release.cached or r.request_id)),
                "request_id": r.request_id,
                "reason": r.reason,
                "mode": r.indicator.spec.mode,
                "rho": r.release.rho if r.release else 0.0,
                "files": files.get(r.indicator.name, {}),
            }
            for r in results
        ],
    }


# --- plots ------------------------------------------------------------------------------------


def _plots(out: Path, results: Sequence[Published]) -> dict[str, str]:
    """One chart per released indicator, drawn with the researcher client's rules (intervals
    for dp values, gaps for suppressed cells); indicator name -> the chart's relative path, or
    why there is none."""
    released = [r for r in results if r.release is not None]
    if not released:
        return {}
    own = "matplotlib" not in sys.modules and not os.environ.get("MPLCONFIGDIR")
    with tempfile.TemporaryDirectory(prefix="medler-plots-") as scratch:
        if own:  # matplotlib's settings and font cache in a folder of this run, not the home
            os.environ["MPLCONFIGDIR"] = scratch
        try:
            return _draw(out, released)
        finally:
            if own:
                os.environ.pop("MPLCONFIGDIR", None)


def _draw(out: Path, released: Sequence[Published]) -> dict[str, str]:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: never a window
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure

        from api.client._plot import plot_result
        from api.client._results import release_result
    except ImportError:
        why = "no plot: drawing needs matplotlib (pip install 'medler[plot]')"
        return {r.indicator.name: why for r in released}
    drawn: dict[str, str] = {}
    for result in released:
        assert result.release is not None
        body = {**asdict(result.release), "cells": [asdict(c) for c in result.release.cells]}
        try:
            shown = plot_result(release_result(body, "real"), result.indicator.plotted())
        except ValueError as error:
            drawn[result.indicator.name] = f"no plot: {error}"
            continue
        figure = shown if isinstance(shown, Figure) else shown.get_figure(root=True)
        assert isinstance(figure, Figure)
        figure.suptitle(result.indicator.title)
        relative = f"{PLOTS}/{result.indicator.name}.png"
        (out / PLOTS).mkdir(exist_ok=True)
        partial = out / PLOTS / f".{result.indicator.name}.png.partial"
        try:
            figure.savefig(partial, format="png", dpi=100)
            partial.replace(out / relative)
        except OSError as error:
            raise OutputLocationError(f"{out / relative}: cannot write ({error})") from error
        finally:
            plt.close(figure)
        drawn[result.indicator.name] = relative
    return drawn


# --- the report -------------------------------------------------------------------------------


def protection(result: Published, policies: Policies) -> str:
    """How a released table is protected, in words, with the thresholds in force."""
    release = result.release
    assert release is not None
    spec = result.indicator.spec
    table = policies.catalogue.tables[spec.table]
    persons = "teachers" if table.unit == "teacher_pid" else "pupils"
    suppressed = sum(1 for c in release.cells if c.status == "suppressed")
    if release.mode == "dp":
        return (
            f"Differentially private (zero-concentrated, ρ {release.rho:g} when first "
            "released; the privacy unit is one person, all their rows): every value is "
            "noisy and comes with its 95 % interval (`_lower`, `_upper` in the files; in "
            "brackets below)."
        )
    if release.mode == "ckm":
        ckm = policies.release.ckm
        return (
            f"Counts perturbed by the cell-key method: each count carries noise of at most "
            f"±{ckm.max_noise}, the same every time the same cell is asked for, and no "
            f"count is published as 1 to {ckm.small}."
        )
    sdc = policies.release.sdc
    rounding = (
        f"Released counts are rounded to a multiple of {sdc.rounding_base}."
        if sdc.rounding_base
        else "Released values are exact (no rounding)."
    )
    teachers = (
        f" A cell that describes teachers also needs {sdc.min_teachers} teachers, none "
        "of whom gives most of its teaching."
        if persons == "pupils"
        else ""
    )
    return (
        f"Disclosure control: a cell of fewer than {sdc.min_students} {persons} is "
        f"suppressed, and so is any cell from which a suppressed one could be worked out "
        f"(here {suppressed} of {len(release.cells)} cells are suppressed, shown as "
        f"`suppressed` with no value).{teachers} {rounding}"
    )


def _key(value: Any) -> str:
    """A cell's key as the report shows it: a grade as ``7``, never ``7.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "—" if value is None else str(value)


def _shown(value: Any, count: bool) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if count and float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3f}"


def markdown_table(result: Published) -> list[str]:
    """The released cells as a Markdown table (a dp value with its interval)."""
    release = result.release
    assert release is not None
    spec = result.indicator.spec
    counts = {m.name for m in spec.measures if m.kind in ("count_students", "count_teachers")}
    keys, measures = list(spec.keys), [m.name for m in spec.measures]
    lines = [
        "| " + " | ".join([*keys, *measures, "status"]) + " |",
        "|" + "---|" * len(keys) + "---:|" * len(measures) + "---|",
    ]
    for row in release_rows(release):
        cells = [_key(row[k]) for k in keys]
        for name in measures:
            shown = _shown(row[name], name in counts and release.mode != "dp")
            if release.mode == "dp" and row[name] is not None:
                lower, upper = row.get(f"{name}_lower"), row.get(f"{name}_upper")
                if lower is not None and upper is not None:
                    shown += f" [{_shown(lower, False)}, {_shown(upper, False)}]"
            cells.append(shown)
        lines.append("| " + " | ".join([*cells, str(row["status"])]) + " |")
    return lines


def _not_published(result: Published) -> str:
    request = f" (request {result.request_id})" if result.request_id is not None else ""
    what = {
        "held": f"held for the data protection officer's review{request}",
        "rejected": f"rejected by the data protection officer{request}",
        "refused": f"refused{request}",
    }.get(result.status, result.status)
    because = f": {result.reason}" if result.reason else ""
    return f"**Not published: {what}**{because}."


def render_report(
    indicators: IndicatorSet,
    results: Sequence[Published],
    policies: Policies,
    *,
    project: str,
    publisher: str,
    snapshot: str,
    plots: dict[str, str],
) -> str:
    """``report.md``: the publication, table by table. Every value in it is a released one."""
    released = sum(1 for r in results if r.released)
    out = [
        f"# {indicators.title}",
        "",
        f"Indicator set {indicators.version}; research snapshot {snapshot}; policies "
        f"{policies.version}. Published by {publisher} for project {project} on "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d}: {released} of {len(results)} tables.",
        "",
        "Each table is a release of medler's release service: checked against the project's "
        "approval, protected, and recorded in the audit log under its release id. A table "
        "published again from the same research snapshot is that earlier release, unchanged "
        "and not charged again.",
        "",
        "| table | status | release |",
        "|---|---|---|",
    ]
    for r in results:
        link = f"[{r.indicator.title}](#{r.indicator.name})"
        ident = (
            r.release.release_id
            if r.release
            else (f"request {r.request_id}" if r.request_id is not None else "—")
        )
        out.append(f"| {link} | {r.status} | {ident} |")
    for number, r in enumerate(results, 1):
        spec = r.indicator.spec
        out += ["", f'<a id="{r.indicator.name}"></a>', "", f"## {number}. {r.indicator.title}", ""]
        if r.indicator.description:
            out += [r.indicator.description, ""]
        out += [
            f"Table `{spec.table}`, by {', '.join(spec.keys) or 'nothing (one cell)'}"
            + (f"; filters: {_filters(r)}" if spec.filters else "")
            + f"; {spec.mode}.",
            "",
        ]
        if r.release is None:
            out.append(_not_published(r))
            continue
        again = " (an earlier release, published again)" if r.release.cached else ""
        out += [f"Release {r.release.release_id}{again}. {protection(r, policies)}", ""]
        out += [*(f"Note: {n}" for n in r.release.notes)]
        out += [*markdown_table(r), ""]
        plot = plots.get(r.indicator.name)
        if plot is not None and not plot.startswith("no plot"):
            out += [f"![{r.indicator.title}]({plot})", ""]
        elif plot is not None:
            out += [f"({plot})", ""]
        out.append(
            f"Files: [{r.indicator.name}.csv]({r.indicator.name}.csv), "
            f"[{r.indicator.name}.parquet]({r.indicator.name}.parquet)."
        )
    return "\n".join(out) + "\n"


def _filters(result: Published) -> str:
    parts = []
    for f in result.indicator.spec.filters:
        if f.op == "in":
            parts.append(f"{f.column} in {', '.join(str(v) for v in f.values)}")
        elif f.op == "between":
            parts.append(f"{f.column} between {f.values[0]} and {f.values[1]}")
        else:
            parts.append(f"{f.column} {'true' if f.op == 'is_true' else 'false'}")
    return "; ".join(parts)


def _summary(results: Sequence[Published], out: Path) -> None:
    table = Table("table", "status", "release or request", "cells", header_style="bold")
    for r in results:
        ident = (
            r.release.release_id
            if r.release
            else (f"request {r.request_id}" if r.request_id is not None else "—")
        )
        if r.release is not None and (r.release.cached or r.request_id is not None):
            ident += " (earlier)"
        cells = str(len(r.release.cells)) if r.release else "—"
        table.add_row(r.indicator.name, r.status, ident, cells)
    console = stdout_console()
    console.print(table)
    released = sum(1 for r in results if r.released)
    console.print(
        f"Published {released} of {len(results)} official tables to {out} (report: {out / REPORT})."
    )
