"""``medler register``: the public register, shown from the control plane, and any published
copy of it (the service's ``/v1/register``, or a file) checked against the audit chain.
See docs/how-to/publish-the-register.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli._console import stdout_console
from api.cli._control import DataDir, _data_dir, control_plane
from medler.errors import InputFileError, MedlerUserError

register_app = typer.Typer(
    name="register",
    help="The public register: approved projects and their releases, never a value or a "
    "person, with the audit chain's anchor (show), and a published copy checked against the "
    "chain (verify).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@register_app.command("show")
def register_show(
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the feed (the JSON of GET /v1/register), to publish."),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """The register now: every approved project, its releases, and the anchor it was made up
    to (the audit chain's records and head)."""
    from release import register_of

    register = register_of(control_plane(_data_dir(data_dir)))
    if as_json:
        print(json.dumps(register.to_json(), indent=2, ensure_ascii=False))
        return
    table = Table(
        "project",
        "title",
        "organisation",
        "status",
        "period",
        "budget ρ",
        "spent ρ",
        "releases",
        header_style="bold",
    )
    for p in register.projects:
        budget = "–" if p.budget_rho is None else f"{p.budget_rho:g}"
        table.add_row(
            p.id,
            p.title,
            p.organisation,
            p.status,
            f"{p.valid_from} to {p.valid_to}",
            budget,
            f"{p.spent_rho:.6g}",
            str(len(p.releases)),
        )
    stdout_console().print(table)
    print(
        f"{len(register.projects)} project(s), {register.releases} release(s); anchor "
        f"{register.anchor.witness}"
    )


def _published(source: str) -> dict[str, Any]:
    """The feed at ``source``: an http(s) address or a file."""
    if source.startswith(("http://", "https://")):
        import httpx

        try:
            answer = httpx.get(source, timeout=30, follow_redirects=True)
        except httpx.HTTPError as error:
            raise MedlerUserError(f"{source}: cannot fetch the register ({error})") from None
        if answer.status_code != 200:
            raise MedlerUserError(
                f"{source}: the server answered {answer.status_code}, not the "
                "register; give the address of /v1/register"
            )
        text = answer.text
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as error:
            raise InputFileError(f"{source}: cannot read it ({error.strerror or error})") from None
    try:
        body = json.loads(text)
    except ValueError as error:
        raise InputFileError(f"{source}: not JSON ({error}); give the register's feed") from None
    if not isinstance(body, dict):
        raise InputFileError(f"{source}: not a medler register feed (not a JSON object)")
    return body


@register_app.command("verify")
def register_verify(
    source: Annotated[
        str,
        typer.Argument(
            help="The published register: its address (http(s)://…/v1/register) or "
            "a file holding its JSON."
        ),
    ],
    data_dir: DataDir = None,
) -> None:
    """Check a published register against the audit chain: the chain verifies and still holds
    the register's anchor, and the register rebuilt from the chain up to that anchor is the
    one published (no project or release left out, added or changed)."""
    from release import FileStore, compare_register
    from release.governance import AuditChainBroken, verify_audit

    folder = _data_dir(data_dir)
    control = control_plane(folder)
    body = _published(source)
    anchor, problems = compare_register(control, body)
    if problems:
        raise AuditChainBroken(
            f"the register does not agree with the audit chain: {'; '.join(problems[:20])}"
            + (f"; and {len(problems) - 20} more" if len(problems) > 20 else "")
        )
    witness = (anchor.records, anchor.head) if anchor.records else None
    count = verify_audit(control, witness=witness, store=FileStore(folder / "release").all())
    print(
        f"the register agrees with the audit chain up to record {anchor.witness} "
        f"({len(body.get('projects') or [])} project(s)); the chain verifies ({count} "
        "records) and still holds that record"
    )
