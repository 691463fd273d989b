"""``medler keys shred``: crypto-shredding a pseudonymisation key version, said first (plan),
then proposed by one person and applied under a second person's confirmation. See
docs/how-to/retention-and-deletion.md."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from api.cli._console import stdout_console
from api.cli._control import As, DataDir, _data_dir, control_plane
from api.cli._keys import KeyFileOption

if TYPE_CHECKING:
    from release._shred import ShredPlan

shred_app = typer.Typer(
    name="shred",
    help="Crypto-shred a pseudonymisation key version: what it makes unlinkable (plan), then "
    "one person proposes it and, once a second confirms, it is applied. For good.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

KeyId = Annotated[
    str,
    typer.Argument(help="The key's id (as 'medler keys show' or a snapshot's manifest names it)."),
]
Version = Annotated[
    int | None,
    typer.Option(help="The key's version, when neither a snapshot nor the key file knows it."),
]


def _say(plan: ShredPlan) -> None:
    table = Table("snapshot", "id", "in use", header_style="bold")
    for s in plan.snapshots:
        table.add_row(s.kind, s.id, "yes" if s.current else "")
    stdout_console().print(table)
    print(
        f"shredding key {plan.key_id} (version {plan.version}) makes these "
        f"{len(plan.snapshots)} snapshot(s) unlinkable for good: no new delivery can be linked "
        "to their pseudonyms. They stay, and releases from them go on."
    )
    if plan.in_key_file:
        print("The key file holds this key: it is replaced at once by a new version.")
    if plan.in_use:
        print("The snapshot in use was made with this key: it is refused without --force.")


@shred_app.command("plan")
def shred_plan(
    key_id: KeyId,
    version: Version = None,
    key_file: KeyFileOption = None,
    data_dir: DataDir = None,
) -> None:
    """Say what shredding the key would make unlinkable; nothing is changed."""
    from release._shred import plan_shred

    _say(plan_shred(_data_dir(data_dir), key_id, key_file=key_file, version=version))


@shred_app.command("propose")
def shred_propose(
    key_id: KeyId,
    version: Version = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Shred it even though the snapshot in use was made with it."),
    ] = False,
    key_file: KeyFileOption = None,
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Propose shredding the key (an admin or a statistician), after saying what it makes
    unlinkable; a second person confirms ('medler proposal confirm N')."""
    from api.cli._governance import _actor, _proposed
    from release._shred import plan_shred, propose_shred
    from release.governance import Governance

    folder = _data_dir(data_dir)
    plan = plan_shred(folder, key_id, key_file=key_file, version=version)
    _say(plan)
    gov = Governance(control_plane(folder))
    number = propose_shred(gov, _actor(gov, token_file), plan, force=force)
    _proposed(number, f"shred key {plan.key_id} (version {plan.version})")


@shred_app.command("apply")
def shred_apply(
    approval: Annotated[int, typer.Option(help="The confirmed proposal to shred the key.")],
    key_file: KeyFileOption = None,
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Shred the key the confirmed proposal names; first finish any shredding a crash cut
    short."""
    from api.cli._governance import _actor
    from release._shred import apply_shred
    from release.governance import Governance

    folder = _data_dir(data_dir)
    gov = Governance(control_plane(folder))
    for done in apply_shred(gov, _actor(gov, token_file), approval, folder, key_file=key_file):
        note = " (finished after an interrupted run)" if done.resumed else ""
        print(
            f"shredded: key {done.key_id} (version {done.version}){note}; unlinkable now: "
            f"{', '.join(done.snapshots) or 'no snapshot'}"
        )
        if done.new_key is not None:
            print(
                f"the key file now holds key {done.new_key}: ingest and build under it, and "
                "destroy every backup of the shredded key"
            )
