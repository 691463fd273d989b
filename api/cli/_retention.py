"""``medler retention``: what the retention policy (``policies/retention.toml``) expires, and
its deletion under a two-person approval. See docs/how-to/retention-and-deletion.md."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from api.cli._console import stdout_console
from api.cli._control import As, DataDir, _data_dir, control_plane

if TYPE_CHECKING:
    from release._store import FileStore
    from release.governance import Governance

retention_app = typer.Typer(
    name="retention",
    help="What the retention policy expires (plan), and its deletion (propose, then apply "
    "under a second person's confirmation).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

Extracts = Annotated[
    Path | None,
    typer.Option(
        "--extracts",
        help="The folder of raw extracts (default: $MEDLER_EXTRACTS_DIR; none when unset).",
    ),
]


def _setup(data_dir: Path | None) -> tuple[Governance, FileStore, Path]:
    from release._store import FileStore
    from release.governance import Governance

    folder = _data_dir(data_dir)
    return Governance(control_plane(folder)), FileStore(folder / "release"), folder


@retention_app.command("plan")
def retention_plan(extracts: Extracts = None, data_dir: DataDir = None) -> None:
    """Every item the policy expires today: its kind, name, age and the rule that expires it
    (and any deletion a crash cut short)."""
    from release._retention import plan, unfinished

    gov, store, folder = _setup(data_dir)
    table = Table("kind", "name", "age (days)", "rule", header_style="bold")
    items = plan(gov, store, folder, extracts=extracts)
    for item in items:
        table.add_row(item.kind, item.name, str(item.age_days), item.rule)
    stdout_console().print(table)
    print(f"{len(items)} item(s) expired")
    for left in unfinished(gov):
        command = "keys shred apply" if left.kind == "key version" else "retention apply"
        print(
            f"unfinished: {left.kind} {left.name} (proposal {left.proposal}); "
            f"'medler {command} --approval {left.proposal}' finishes it"
        )


@retention_app.command("propose")
def retention_propose(
    extracts: Extracts = None, token_file: As = None, data_dir: DataDir = None
) -> None:
    """Propose deleting today's plan (a statistician); a second statistician or the DPO
    confirms it ('medler proposal confirm N')."""
    from api.cli._governance import _actor, _proposed
    from release._retention import plan, propose

    gov, store, folder = _setup(data_dir)
    items = plan(gov, store, folder, extracts=extracts)
    _proposed(propose(gov, _actor(gov, token_file), items), f"delete {len(items)} item(s)")


@retention_app.command("apply")
def retention_apply(
    approval: Annotated[int, typer.Option(help="The confirmed proposal to delete.")],
    extracts: Extracts = None,
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Delete what the confirmed proposal names and the policy still expires; first finish any
    deletion a crash cut short."""
    from api.cli._governance import _actor
    from release._retention import apply

    gov, store, folder = _setup(data_dir)
    done = apply(gov, _actor(gov, token_file), approval, store, folder, extracts=extracts)
    for item in done.deleted:
        note = " (finished after an interrupted run)" if item.resumed else ""
        print(f"deleted: {item.kind} {item.name}{note}")
    for key in done.skipped:
        print(f"kept: {key} (no longer expired, or no longer there)")
