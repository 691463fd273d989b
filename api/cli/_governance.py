"""``medler project``, ``medler researcher``, ``medler person``, ``medler token`` and
``medler review``: the statistics office's and the DPO's console on the control plane.

Every command acts as a registered person who proves it with their token: ``--token-file``
(a file holding it), else ``$MEDLER_TOKEN_FILE``, else ``$MEDLER_TOKEN``. The audit log records
that person. The rules hold as in the service: nobody approves a project they registered or
reviews their own request, and the acts under the two-person rules (raising a cap, adding a
statistician, DPO or admin, rotating a key) are proposals until a second person confirms them
(``medler proposal``). ``medler admin init`` registers the first admin on an empty control
plane.
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
from api.cli._control import As, DataDir, _data_dir, control_plane
from medler.errors import MedlerUserError, UsageError
from release import governance  # loads SQLAlchemy on first use, not for every command

if TYPE_CHECKING:
    from release import ReleaseService
    from release.governance import Governance, Principal

TOKEN_ENV, TOKEN_FILE_ENV = "MEDLER_TOKEN", "MEDLER_TOKEN_FILE"


def _typer(name: str, help_: str) -> typer.Typer:
    return typer.Typer(
        name=name,
        help=help_,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )


project_app = _typer("project", "Research projects: register, approve, list, close.")
researcher_app = _typer("researcher", "Researchers and their projects.")
person_app = _typer("person", "People of every role (DPO, statistician, admin).")
token_app = _typer("token", "API tokens: issued once, stored only as a hash.")
review_app = _typer("review", "Held requests: list, approve, reject (the DPO).")
proposal_app = _typer("proposal", "Acts that need a second person: list, confirm, reject.")
admin_app = _typer("admin", "The first administrator of an empty control plane.")

TokenOut = Annotated[
    Path | None,
    typer.Option(
        "--token-out", help="Write the token to this new file (mode 0600) instead of printing it."
    ),
]


def _governance(data_dir: Path | None) -> Governance:
    return governance.Governance(control_plane(_data_dir(data_dir)))


def _token(token_file: Path | None) -> str:
    path = token_file or (
        Path(os.environ[TOKEN_FILE_ENV]) if os.environ.get(TOKEN_FILE_ENV) else None
    )
    if path is not None:
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise UsageError(f"--token-file: cannot read {path}: {error.strerror}") from error
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise UsageError(
            "this command acts as a registered person: give --token-file (a file holding "
            f"your token), or set {TOKEN_FILE_ENV} or {TOKEN_ENV}"
        )
    return token


def _actor(gov: Governance, token_file: Path | None) -> Principal:
    """The registered person whose token this is (or NotAuthenticated)."""
    return gov.authenticate(_token(token_file))


def _proposed(number: int | None, what: str) -> None:
    if number is None:
        print(f"{what}: done")
    else:
        print(
            f"{what}: proposal {number}, waiting for a second person "
            f"('medler proposal confirm {number}')"
        )


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
        from release import approvable_tables, load_policies

        return approvable_tables(load_policies().catalogue, wanted)
    except MedlerUserError as error:
        raise UsageError(f"--table: {error}") from error


def _regimes(specs: list[str]) -> dict[str, str]:
    """``table=sdc``, ``table=dp`` or ``table=ckm``, one per table."""
    out: dict[str, str] = {}
    for spec in specs:
        table, sep, regime = spec.partition("=")
        if not sep or regime not in ("sdc", "dp", "ckm") or not table:
            raise UsageError(f"--regime: {spec!r} is not 'table=sdc', 'table=dp' or 'table=ckm'")
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
    title: Annotated[
        str | None,
        typer.Option(help="The project's public title, shown in the register (default: its id)."),
    ] = None,
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Register a project (proposed until a second person of the office approves it)."""
    gov = _governance(data_dir)
    gov.create_project(
        _actor(gov, token_file),
        project,
        purpose=purpose,
        legal_basis=legal_basis,
        organisation=organisation,
        valid_from=_date(valid_from, "--from"),
        valid_to=_date(valid_to, "--to"),
        tables=_tables(table),
        regimes=_regimes(regime or []),
        title=title,
    )
    print(f"project {project}: proposed")


@project_app.command("approve")
def project_approve(
    project: Annotated[str, typer.Argument(help="The project's id.")],
    rho: Annotated[float, typer.Option(help="The project's privacy budget, in ρ.")],
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Approve a proposed project and set its budget."""
    gov = _governance(data_dir)
    gov.approve_project(_actor(gov, token_file), project, rho=rho)
    print(f"project {project}: approved, budget ρ {rho:g}")


@project_app.command("close")
def project_close(
    project: Annotated[str, typer.Argument(help="The project's id.")],
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Close a project: its members' access ends at once, and so do the tokens of members in
    no other open project."""
    gov = _governance(data_dir)
    ended = gov.close_project(_actor(gov, token_file), project)
    print(f"project {project}: closed; {ended} token(s) of its members ended")


@project_app.command("list")
def project_list(token_file: As = None, data_dir: DataDir = None) -> None:
    """Every project, its state, validity, approved tables and members."""
    gov = _governance(data_dir)
    table = Table(
        "project", "status", "valid", "organisation", "tables", "members", header_style="bold"
    )
    for p in gov.projects(_actor(gov, token_file)):
        tables = "; ".join(
            f"{t}{f' ({p.regimes[t]})' if t in p.regimes else ''}: {', '.join(c)}"
            for t, c in sorted(p.tables.items())
        )
        table.add_row(
            p.id,
            p.status,
            f"{p.valid_from} – {p.valid_to}",
            p.organisation,
            tables,
            ", ".join(p.members) or "—",
        )
    stdout_console().print(table)


@project_app.command("add-member")
def project_add_member(
    project: Annotated[str, typer.Argument(help="The project's id.")],
    researcher: Annotated[str, typer.Argument(help="A registered researcher's id.")],
    rho: Annotated[float, typer.Option(help="The researcher's budget within the project (ρ).")],
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Add a researcher to a project with their own budget."""
    gov = _governance(data_dir)
    gov.add_member(_actor(gov, token_file), project, researcher, rho=rho)
    print(f"project {project}: {researcher} added, budget ρ {rho:g}")


# --- people and tokens ------------------------------------------------------------------------


def _add(
    data_dir: Path | None,
    token_file: Path | None,
    person: str,
    role: str,
    name: str,
    organisation: str,
) -> tuple[Governance, int | None]:
    gov = _governance(data_dir)
    actor = _actor(gov, token_file)
    return gov, gov.add_person(actor, person, role=role, name=name, organisation=organisation)


@researcher_app.command("add")
def researcher_add(
    researcher: Annotated[str, typer.Argument(help="A user name (never a national ID).")],
    name: Annotated[str, typer.Option(help="The researcher's full name.")],
    organisation: Annotated[str, typer.Option(help="Their organisation.")],
    project: Annotated[str | None, typer.Option(help="Add them to this project too.")] = None,
    rho: Annotated[float, typer.Option(help="Their budget within --project (ρ).")] = 0.0,
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Register a researcher (and add them to a project)."""
    gov, _ = _add(data_dir, token_file, researcher, "researcher", name, organisation)
    print(f"researcher {researcher}: added")
    if project is not None:
        if rho <= 0:
            raise UsageError("--project needs --rho, the researcher's budget within it")
        gov.add_member(_actor(gov, token_file), project, researcher, rho=rho)
        print(f"project {project}: {researcher} added, budget ρ {rho:g}")


@person_app.command("add")
def person_add(
    person: Annotated[str, typer.Argument(help="A user name.")],
    role: Annotated[str, typer.Option(help="researcher, statistician, dpo or admin.")],
    name: Annotated[str, typer.Option(help="The person's full name.")],
    organisation: Annotated[str, typer.Option(help="Their organisation.")],
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Register a person of any role (a statistician, DPO or admin is proposed, and added when
    a second person of that role confirms; the first of a role is added at once)."""
    _, proposal = _add(data_dir, token_file, person, role, name, organisation)
    _proposed(proposal, f"{role} {person}")


@token_app.command("issue")
def token_issue(
    person: Annotated[str, typer.Argument(help="A registered person's id.")],
    days: Annotated[int, typer.Option(help="Days until it expires (1-366).")] = 90,
    token_out: TokenOut = None,
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Issue an API token. It is printed once; medler keeps only its hash."""
    gov = _governance(data_dir)
    issued = gov.issue_token(_actor(gov, token_file), person, days=days)
    _hand_over(issued.token, token_out)
    print(
        f"token {issued.token_id} for {person}, expires {issued.expires_at:%Y-%m-%d %H:%M} "
        "UTC; it is shown only now",
        file=sys.stderr,
    )


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (the part after 'medler_').")],
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Revoke a token at once."""
    gov = _governance(data_dir)
    gov.revoke_token(_actor(gov, token_file), token_id)
    print(f"token {token_id}: revoked")


# --- reviews ----------------------------------------------------------------------------------


def _service(data_dir: Path | None) -> ReleaseService:
    from release import Releaser, ReleaseService  # loaded for review commands only

    folder = _data_dir(data_dir)
    control = control_plane(folder)
    return ReleaseService(Releaser(folder, control=control), governance.Governance(control))


def _reviewer(service: ReleaseService, token_file: Path | None) -> Principal:
    return _actor(service.governance, token_file)


@review_app.command("list")
def review_list(
    status: Annotated[str | None, typer.Option(help="held, released, rejected or refused.")] = (
        "held"
    ),
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Held (or reviewed) requests with the checks they failed; never a result."""
    service = _service(data_dir)
    table = Table(
        "request",
        "project",
        "requester",
        "table",
        "mode",
        "checks failed",
        "justification",
        "status",
        header_style="bold",
    )
    for r in service.requests(_reviewer(service, token_file), status=status):
        checks = "; ".join(c["check"] for c in r.checks) or "—"
        table.add_row(
            str(r.id),
            r.project,
            r.requester,
            str(r.spec["table"]),
            str(r.spec["mode"]),
            checks,
            r.justification or "—",
            r.status,
        )
    stdout_console().print(table)


def _decide(
    data_dir: Path | None, token_file: Path | None, request: int, approve: bool, reason: str
) -> None:
    service = _service(data_dir)
    info = service.review(_reviewer(service, token_file), request, approve=approve, reason=reason)
    print(
        f"request {request}: {info.status}" + (f" as {info.release_id}" if info.release_id else "")
    )
    if approve and info.status != "released":
        raise MedlerUserError(
            f"request {request} was approved but not released: {info.review_reason}"
        )


@review_app.command("approve")
def review_approve(
    request: Annotated[int, typer.Argument(help="The request's number.")],
    reason: Annotated[str, typer.Option(help="Why it may be released.")],
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Approve a held request: it is released with the checks it failed waived."""
    _decide(data_dir, token_file, request, True, reason)


@review_app.command("reject")
def review_reject(
    request: Annotated[int, typer.Argument(help="The request's number.")],
    reason: Annotated[str, typer.Option(help="Why it may not be released.")],
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Reject a held request."""
    _decide(data_dir, token_file, request, False, reason)


# --- the first admin, proposals, tokens -------------------------------------------------------


@admin_app.command("init")
def admin_init(
    person: Annotated[str, typer.Argument(help="The first admin's user name.")],
    name: Annotated[str, typer.Option(help="Their full name.")],
    organisation: Annotated[str, typer.Option(help="Their organisation.")],
    token_out: TokenOut = None,
    data_dir: DataDir = None,
) -> None:
    """Register the first admin on an empty control plane, with their token (whoever holds
    the service's files starts it; refused once anyone is registered)."""
    gov = _governance(data_dir)
    issued = gov.bootstrap(person, name=name, organisation=organisation)
    _hand_over(issued.token, token_out)
    print(
        f"admin {person}: registered, token {issued.token_id} expires {issued.expires_at:%Y-%m-%d}",
        file=sys.stderr,
    )


def _hand_over(token: str, token_out: Path | None) -> None:
    if token_out is None:
        print(token)
        return
    try:
        descriptor = os.open(token_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as error:
        raise UsageError(f"--token-out: {token_out} exists already; name a new file") from error
    with os.fdopen(descriptor, "w", encoding="utf-8") as f:
        f.write(token + "\n")


@proposal_app.command("list")
def proposal_list(
    status: Annotated[
        str | None, typer.Option(help="proposed, confirmed, rejected or used (default: proposed).")
    ] = "proposed",
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Acts waiting for a second person (or decided ones)."""
    gov = _governance(data_dir)
    table = Table(
        "proposal", "kind", "what", "proposed by", "at", "status", "decided by", header_style="bold"
    )
    for p in gov.proposals(_actor(gov, token_file), status=status):
        what = ", ".join(f"{k} {v}" for k, v in p.params.items() if k not in ("name",))
        table.add_row(
            str(p.id),
            p.kind,
            what,
            p.proposed_by,
            f"{p.proposed_at:%Y-%m-%d %H:%M}",
            p.status,
            p.decided_by or "—",
        )
    stdout_console().print(table)


@proposal_app.command("rotate-key")
def proposal_rotate_key(
    key: Annotated[str, typer.Argument(help="audit or pseudonymisation")],
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Propose to rotate a key (an admin or statistician); a second one confirms, then the
    rotation is run with --approval."""
    gov = _governance(data_dir)
    number = gov.propose_rotation(_actor(gov, token_file), key)
    _proposed(number, f"rotate the {key} key")


@proposal_app.command("confirm")
def proposal_confirm(
    proposal: Annotated[int, typer.Argument(help="The proposal's number.")],
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Confirm another person's proposal: it is done now (a rotation is then run by
    'medler keys rotate' or 'medler audit rotate-key' with --approval)."""
    gov = _governance(data_dir)
    info = gov.decide(_actor(gov, token_file), proposal, confirm=True)
    print(f"proposal {proposal} ({info.kind}): confirmed")


@proposal_app.command("reject")
def proposal_reject(
    proposal: Annotated[int, typer.Argument(help="The proposal's number.")],
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Reject another person's proposal."""
    gov = _governance(data_dir)
    info = gov.decide(_actor(gov, token_file), proposal, confirm=False)
    print(f"proposal {proposal} ({info.kind}): rejected")


@token_app.command("list")
def token_list(
    person: Annotated[str | None, typer.Option(help="Only this person's tokens.")] = None,
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Every token's id, holder, dates and state (never a secret); an admin's view."""
    gov = _governance(data_dir)
    table = Table("token", "person", "role", "issued", "expires", "state", header_style="bold")
    now = dt.datetime.now(dt.UTC)
    for t in gov.tokens(_actor(gov, token_file), person=person):
        state = (
            "revoked" if t.revoked_at is not None else "expired" if t.expires_at <= now else "valid"
        )
        table.add_row(
            t.id, t.person, t.role, f"{t.created_at:%Y-%m-%d}", f"{t.expires_at:%Y-%m-%d}", state
        )
    stdout_console().print(table)
