"""``medler release``: preview or release a query spec from the command line (the office's
tool; researchers use the HTTP service)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from api.cli._console import stdout_console
from api.cli._control import control_plane
from medler.errors import UsageError
from release import (
    AccuracyPlan,
    Cell,
    Outcome,
    Preview,
    QuerySpec,
    Release,
    Releaser,
    ReleaseService,
)
from release.governance import Governance, Principal


def read_spec(text: str) -> QuerySpec:
    """A spec from a JSON file, or JSON given inline."""
    source = "the spec"
    if not text.lstrip().startswith("{"):
        path = Path(text)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise UsageError(f"{path}: cannot read the spec ({error.strerror or error})") from error
        source = str(path)
    try:
        return QuerySpec.model_validate(json.loads(text))
    except json.JSONDecodeError as error:
        raise UsageError(f"{source}: not JSON ({error.msg}, line {error.lineno})") from error
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "spec"
        raise UsageError(f"{source}: {where}: {first['msg']}") from error


def _format(value: float | None, width: float | None) -> str:
    if value is None:
        return "—"
    shown = f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:.3f}"
    if width is None:
        return shown
    return f"{shown} ± {width:,.0f}" if width >= 1 else f"{shown} ± {width:.3f}"


def _cells_table(spec: QuerySpec, cells: list[Cell], values: bool) -> Table:
    if spec.model is not None:
        return _model_table(cells, values)
    table = Table(header_style="bold")
    for key in spec.group_by:
        table.add_column(key)
    if values:
        for m in spec.measures:
            table.add_column(m.name, justify="right")
    table.add_column("status")
    for cell in cells:
        keys = [
            "all" if cell.keys.get(k) is None and cell.margin else str(cell.keys.get(k))
            for k in spec.group_by
        ]
        shown = (
            [_format(cell.values.get(m.name), cell.half_width.get(m.name)) for m in spec.measures]
            if values
            else []
        )
        status = cell.status + (f" ({cell.reason})" if cell.reason else "")
        table.add_row(*keys, *shown, status)
    return table


def _model_table(cells: list[Cell], values: bool) -> Table:
    """A model's result: one row per parameter, its values (dp: the estimate's interval)."""
    names = list(dict.fromkeys(n for c in cells for n in c.values)) if values else []
    table = Table(
        "parameter", *(Column(n, justify="right") for n in names), "status", header_style="bold"
    )
    for cell in cells:
        shown = []
        for n in names:
            value, low, high = cell.values.get(n), cell.lower.get(n), cell.upper.get(n)
            text = "—" if value is None else f"{value:.4g}"
            if low is not None and high is not None:
                text += f" [{low:.4g}, {high:.4g}]"
            shown.append(text)
        table.add_row(escape(str(cell.keys.get("parameter"))), *shown, cell.status)
    return table


def print_release(release: Release, spec: QuerySpec, console: Console) -> None:
    console.print(_cells_table(spec, release.cells, values=True))
    cost = f"rho {release.rho:g}" if release.mode == "dp" else "no privacy budget (sdc)"
    cached = " (the earlier, identical release)" if release.cached else ""
    console.print(
        f"Release {release.release_id}{cached}: {release.mode}, {cost}; snapshot "
        f"{release.snapshot}; policies {release.policy_version}"
    )
    for note in release.notes:
        console.print(f"Note: {note}")


def print_preview(preview: Preview, spec: QuerySpec, console: Console) -> None:
    if preview.mode == "dp":
        table = Table("measure", "95 % half-width", header_style="bold")
        for name, accuracy in preview.accuracy.items():
            parts = [
                f"{k.replace('_', ' ')} {v:,.3f}" for k, v in accuracy.items() if v is not None
            ]
            table.add_row(name, ", ".join(parts) or "—")
        console.print(table)
        console.print(f"Preview: would cost rho {preview.rho:g}; nothing was spent.")
    else:
        console.print(_cells_table(spec, preview.cells, values=False))
        console.print("Preview: which cells would be suppressed; no values are shown.")


def print_outcome(outcome: Outcome, spec: QuerySpec, console: Console) -> None:
    if outcome.release is not None:
        print_release(outcome.release, spec, console)
        return
    console.print(
        f"Request {outcome.request_id} is held for the data protection officer's "
        "review; nothing was released or charged."
    )
    for check in outcome.checks:
        console.print(f"  failed check {check['check']}: {check['reason']}")


def print_plan(plan: AccuracyPlan, console: Console) -> None:
    table = Table("measure", f"95 % half-width, {plan.persons} persons", header_style="bold")
    for name, width in plan.half_widths.items():
        table.add_row(name, "— (depends on the data)" if width is None else f"{width:,.4g}")
    console.print(table)
    console.print(
        f"Plan: rho {plan.rho:.4g} gives a half-width of {plan.half_width:g} "
        f"({plan.measure or 'every measure'}); nothing was spent."
    )
    if plan.remaining_rho is not None:
        console.print(
            f"Remaining budget rho {plan.remaining_rho:.4g}: {plan.questions} such questions."
        )


def _as_researcher(
    data_dir: Path, token_file: Path | None, project: str, what: str
) -> tuple[ReleaseService, Principal]:
    """The release service on ``data_dir`` and the researcher whose token is given."""
    from api.cli._governance import _actor

    if not project:
        raise UsageError(f"{what} is for a project: give --project")
    control = control_plane(data_dir)
    governance = Governance(control)
    actor = _actor(governance, token_file)
    return ReleaseService(Releaser(data_dir, control=control), governance), actor


def run_plan(
    *,
    spec_text: str,
    data_dir: Path,
    token_file: Path | None,
    project: str,
    persons: int,
    half_width: float,
    measure: str | None,
) -> None:
    spec = read_spec(spec_text)
    service, actor = _as_researcher(data_dir, token_file, project, "a plan")
    planned = service.plan(
        actor, project, spec, persons=persons, half_width=half_width, measure=measure
    )
    print_plan(planned, stdout_console())


def run_release(
    *,
    spec_text: str,
    data_dir: Path,
    token_file: Path | None,
    project: str,
    preview: bool,
    justification: str | None = None,
) -> None:
    spec = read_spec(spec_text)
    service, actor = _as_researcher(data_dir, token_file, project, "a release")
    console = stdout_console()
    if preview:
        print_preview(service.preview(actor, project, spec), spec, console)
    else:
        outcome = service.submit(actor, project, spec, justification=justification)
        print_outcome(outcome, spec, console)
