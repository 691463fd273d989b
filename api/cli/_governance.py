"""``medler project``, ``medler researcher``, ``medler person``, ``medler token`` and
``medler review``: the statistics office's and the DPO's console on the control plane.

Whoever runs the command line holds the service's files, so it acts as the statistics office
(or, for people of other roles and their tokens, as the administrator) under the name given
by ``--by`` (default ``$MEDLER_OPERATOR``, else ``office``). A name that is a registered person
acts with that person's role instead. Reviews need ``--by`` to be a registered DPO, and the
rules still hold: nobody approves a project they registered or reviews their own request.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from api.cli._console import stdout_console
from api.cli._control import DataDir, _data_dir, control_plane
from medler.errors import MedlerUserError, UsageError
from release._policy import approvable_tables, load_policies
from release.governance import Governance, NotFound, Principal

if TYPE_CHECKING:
    from release import ReleaseService

OPERATOR_ENV = "MEDLER_OPERATOR"


def _typer(name: str, help_: str) -> typer.Typer:
    return typer.Typer(name=name, help=help_, no_args_is_help=True, add_completion=False,
                       pretty_exceptions_enable=False, rich_markup_mode=None)  # fmt: skip


project_app = _typer("project", "Research projects: register, approve, list, close.")
researcher_app = _typer("researcher", "Researchers and their projects.")
person_app = _typer("person", "People of every role (DPO, statistician, admin).")
token_app = _typer("token", "API tokens: issued once, stored only as a hash.")
review_app = _typer("review", "Held requests: list, approve, reject (the DPO).")

By = Annotated[
    str | None,
    typer.Option("--by", help="Who is acting (default: $MEDLER_OPERATOR, else 'office')."),
]


def _governance(data_dir: Path | None) -> Governance:
    return Governance(control_plane(_data_dir(data_dir)))


def _actor(gov: Governance, by: str | None, console_role: str = "statistician") -> Principal:
    name = by or os.environ.get(OPERATOR_ENV) or "office"
    try:
        return gov.person(name)
    except NotFound:
        return Principal(name, console_role)


def _date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise UsageError(f"{option}: not a date (YYYY-MM-DD): {text!r}") from error


def _tables(specs: list[str]) -> dict[str, list[str]]:
    """``table`` (every column) or ``table:col1,col2``, checked against the catalogue."""
    wanted: dict[str, list[str]] = {}
    for spec in specs:
        name, _, columns = spec.partition(":")
        wanted.setdefault(name, []).extend(c.strip() for c in columns.split(",") if c.strip())
    try:
        return approvable_tables(load_policies().catalogue, wanted)
    except MedlerUserError as error:
        raise UsageError(f"--table: {error}") from error


def _regimes(specs: list[str]) -> dict[str, str]:
    """``table=sdc`` or ``table=dp``, one per table."""
    out: dict[str, str] = {}
    for spec in specs:
        table, sep, regime = spec.partition("=")
        if not sep or regime not in ("sdc", "dp") or not table:
            raise UsageError(f"--regime: {spec!r} is not 'table=sdc' or 'table=dp'")
        if out.get(table, regime) != regime:
            raise UsageError(f"--regime: {table} is named twice with different regimes")
        out[table] = regime
    return out


# --- projects ---------------------------------------------------------------------------------


@project_app.command("create")
def project_create(
    project: Annotated[str, typer.Argument(help="The project's id (a-z, 0-9, '.', '_', '-').")],
    purpose: Annotated[str, typer.Option(help="The registered statistical purpose.")],
    legal_basis: Annotated[str, typer.Option("--legal-basis", help="The legal basis.")],
    organisation: Annotated[str, typer.Option(help="The organisation that owns the project.")],
    valid_from: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
    valid_to: Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD).")],
    table: Annotated[
        list[str],
        typer.Option(
            "--table",
            help="An approved research table, 'table' or 'table:col,col'; repeat for more.",
        ),
    ],
    regime: Annotated[
        list[str] | None,
        typer.Option(
            "--regime",
            help="'table=sdc' or 'table=dp': the one regime a table is answered under; a "
            "table not named takes the regime of the project's first output on it.",
        ),
    ] = None,
    by: By = None,
    data_dir: DataDir = None,
) -> None:
    """Register a project (proposed until a second person of the office approves it)."""
    gov = _governance(data_dir)
    gov.create_project(
        _actor(gov, by), project, purpose=purpose, legal_basis=legal_basis,
        organisation=organisation, valid_from=_date(valid_from, "--from"),
        valid_to=_date(valid_to, "--to"), tables=_tables(table), regimes=_regimes(regime or []),
    )  # fmt: skip
    print(f"project {project}: proposed")


@project_app.command("approve")
def project_approve(
    project: Annotated[str, typer.Argument(help="The project's id.")],
    rho: Annotated[float, typer.Option(help="The project's privacy budget, in ρ.")],
    by: By = None,
    data_dir: DataDir = None,
) -> None:
    """Approve a proposed project and set its budget."""
    gov = _governance(data_dir)
    gov.approve_project(_actor(gov, by), project, rho=rho)
    print(f"project {project}: approved, budget ρ {rho:g}")


@project_app.command("close")
def project_close(
    project: Annotated[str, typer.Argument(help="The project's id.")],
    by: By = None,
    data_dir: DataDir = None,
) -> None:
    """Close a project: its members' access ends at once."""
    gov = _governance(data_dir)
    gov.close_project(_actor(gov, by), project)
    print(f"project {project}: closed")


@project_app.command("list")
def project_list(by: By = None, data_dir: DataDir = None) -> None:
    """Every project, its state, validity, approved tables and members."""
    gov = _governance(data_dir)
    table = Table("project", "status", "valid", "organisation", "tables", "members",
                  header_style="bold")  # fmt: skip
    for p in gov.projects(_actor(gov, by)):
        tables = "; ".join(
            f"{t}{f' ({p.regimes[t]})' if t in p.regimes else ''}: {', '.join(c)}"
            for t, c in sorted(p.tables.items())
        )
        table.add_row(p.id, p.status, f"{p.valid_from} – {p.valid_to}", p.organisation, tables,
                      ", ".join(p.members) or "—")  # fmt: skip
    stdout_console().print(table)


@project_app.command("add-member")
def project_add_member(
    project: Annotated[str, typer.Argument(help="The project's id.")],
    researcher: Annotated[str, typer.Argument(help="A registered researcher's id.")],
    rho: Annotated[float, typer.Option(help="The researcher's budget within the project (ρ).")],
    by: By = None,
    data_dir: DataDir = None,
) -> None:
    """Add a researcher to a project with their own budget."""
    gov = _governance(data_dir)
    gov.add_member(_actor(gov, by), project, researcher, rho=rho)
    print(f"project {project}: {researcher} added, budget ρ {rho:g}")


# --- people and tokens ------------------------------------------------------------------------


def _add(data_dir: Path | None, by: str | None, person: str, role: str, name: str,
         organisation: str) -> Governance:  # fmt: skip
    gov = _governance(data_dir)
    actor = _actor(gov, by, "statistician" if role == "researcher" else "admin")
    gov.add_person(actor, person, role=role, name=name, organisation=organisation)
    return gov


@researcher_app.command("add")
def researcher_add(
    researcher: Annotated[str, typer.Argument(help="A user name (never a national ID).")],
    name: Annotated[str, typer.Option(help="The researcher's full name.")],
    organisation: Annotated[str, typer.Option(help="Their organisation.")],
    project: Annotated[str | None, typer.Option(help="Add them to this project too.")] = None,
    rho: Annotated[float, typer.Option(help="Their budget within --project (ρ).")] = 0.0,
    by: By = None,
    data_dir: DataDir = None,
) -> None:
    """Register a researcher (and add them to a project)."""
    gov = _add(data_dir, by, researcher, "researcher", name, organisation)
    print(f"researcher {researcher}: added")
    if project is not None:
        if rho <= 0:
            raise UsageError("--project needs --rho, the researcher's budget within it")
        gov.add_member(_actor(gov, by), project, researcher, rho=rho)
        print(f"project {project}: {researcher} added, budget ρ {rho:g}")


@person_app.command("add")
def person_add(
    person: Annotated[str, typer.Argument(help="A user name.")],
    role: Annotated[str, typer.Option(help="researcher, statistician, dpo or admin.")],
    name: Annotated[str, typer.Option(help="The person's full name.")],
    organisation: Annotated[str, typer.Option(help="Their organisation.")],
    by: By = None,
    data_dir: DataDir = None,
) -> None:
    """Register a person of any role."""
    _add(data_dir, by, person, role, name, organisation)
    print(f"{role} {person}: added")


@token_app.command("issue")
def token_issue(
    person: Annotated[str, typer.Argument(help="A registered person's id.")],
    days: Annotated[int, typer.Option(help="Days until it expires (1-366).")] = 90,
    by: By = None,
    data_dir: DataDir = None,
) -> None:
    """Issue an API token. It is printed once; medler keeps only its hash."""
    gov = _governance(data_dir)
    role = gov.person(person).role
    issued = gov.issue_token(
        _actor(gov, by, "statistician" if role == "researcher" else "admin"), person, days=days
    )
    print(issued.token)
    print(f"token {issued.token_id} for {person}, expires {issued.expires_at:%Y-%m-%d %H:%M} "
          "UTC; it is shown only now", file=sys.stderr)  # fmt: skip


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (the part after 'medler_').")],
    by: By = None,
    data_dir: DataDir = None,
) -> None:
    """Revoke a token at once."""
    gov = _governance(data_dir)
    gov.revoke_token(_actor(gov, by, "admin"), token_id)
    print(f"token {token_id}: revoked")


# --- reviews ----------------------------------------------------------------------------------


def _service(data_dir: Path | None) -> ReleaseService:
    from release import ReleaseEngine, ReleaseService  # loaded for review commands only

    folder = _data_dir(data_dir)
    control = control_plane(folder)
    return ReleaseService(ReleaseEngine(folder, control=control), Governance(control))


def _reviewer(service: ReleaseService, by: str | None) -> Principal:
    name = by or os.environ.get(OPERATOR_ENV)
    if name is None:
        raise UsageError("a review needs --by, a registered DPO")
    return service.governance.person(name)


@review_app.command("list")
def review_list(
    status: Annotated[str | None, typer.Option(help="held, released, rejected or refused.")] = (
        "held"
    ),
    by: By = None,
    data_dir: DataDir = None,
) -> None:
    """Held (or reviewed) requests with the checks they failed; never a result."""
    service = _service(data_dir)
    table = Table("request", "project", "requester", "table", "mode", "checks failed",
                  "justification", "status", header_style="bold")  # fmt: skip
    for r in service.requests(_reviewer(service, by), status=status):
        checks = "; ".join(c["check"] for c in r.checks) or "—"
        table.add_row(str(r.id), r.project, r.requester, str(r.spec["table"]),
                      str(r.spec["mode"]), checks, r.justification or "—", r.status)  # fmt: skip
    stdout_console().print(table)


def _decide(data_dir: Path | None, by: str | None, request: int, approve: bool,
            reason: str) -> None:  # fmt: skip
    service = _service(data_dir)
    info = service.review(_reviewer(service, by), request, approve=approve, reason=reason)
    print(f"request {request}: {info.status}"
          + (f" as {info.release_id}" if info.release_id else ""))  # fmt: skip
    if approve and info.status != "released":
        raise MedlerUserError(f"request {request} was approved but not released: "
                              f"{info.review_reason}")  # fmt: skip


@review_app.command("approve")
def review_approve(
    request: Annotated[int, typer.Argument(help="The request's number.")],
    reason: Annotated[str, typer.Option(help="Why it may be released.")],
    by: By = None,
    data_dir: DataDir = None,
) -> None:
    """Approve a held request: it is released with the checks it failed waived."""
    _decide(data_dir, by, request, True, reason)


@review_app.command("reject")
def review_reject(
    request: Annotated[int, typer.Argument(help="The request's number.")],
    reason: Annotated[str, typer.Option(help="Why it may not be released.")],
    by: By = None,
    data_dir: DataDir = None,
) -> None:
    """Reject a held request."""
    _decide(data_dir, by, request, False, reason)
