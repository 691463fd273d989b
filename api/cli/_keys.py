"""``medler keys``: create, rotate and inspect the pseudonymisation key (and shred a version of
it: ``_shred``).

The commands print the key id, version, creation time and path, never the key itself.
See docs/how-to/manage-keys.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from api.cli._control import As
from medler.errors import UsageError
from pseudonymise import (
    ENV_KEY_FILE,
    KeyFile,
    create_key_file,
    load_key_file,
    resolve_key_path,
    rotate_key_file,
)

keys_app = typer.Typer(
    name="keys",
    help=(
        "Create, rotate, inspect and shred the secret key that turns IDs into pseudonyms. The "
        "key is kept outside the data directory and never printed."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

KeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        help=f"The key file (default: ${ENV_KEY_FILE}, else ~/.config/medler/key.json).",
        show_default=False,
    ),
]


def _describe(key: KeyFile) -> list[str]:
    return [
        f"key id:   {key.key_id}",
        f"version:  {key.version}",
        f"created:  {key.created:%Y-%m-%d %H:%M:%S} UTC",
        f"path:     {key.path}",
        f"replaces: {key.previous_key_id or '-'}",
    ]


def _hint_env(path: Path) -> None:
    configured = os.environ.get(ENV_KEY_FILE, "").strip()
    default = resolve_key_path(None)
    if path.resolve() != default.resolve() and not configured:
        typer.echo(f"Set {ENV_KEY_FILE}={path} so that medler finds this key.")


@keys_app.command("init")
def init(
    key_file: KeyFileOption = None,
    data_dir: Annotated[
        Path,
        typer.Option(
            "--data-dir",
            envvar="MEDLER_DATA_DIR",
            help="The data directory (default: $MEDLER_DATA_DIR or ./medler-data); "
            "the key is never created in it.",
        ),
    ] = Path("medler-data"),
) -> None:
    """Create a new 256-bit key file, readable by you only. Never overwrites a key."""
    key = create_key_file(key_file, data_dir=data_dir)
    typer.echo(f"Created key {key.key_id} (version {key.version}), readable by you only.")
    for line in _describe(key):
        typer.echo(f"  {line}")
    typer.echo(
        "Back it up offline now: without this key, new data cannot be linked to data "
        "pseudonymised under it. Never copy it into the data directory."
    )
    _hint_env(key.path)


@keys_app.command("rotate")
def rotate(
    approval: Annotated[
        int,
        typer.Option(
            help="The confirmed proposal to rotate the pseudonymisation key: one "
            "person proposes it, a second confirms ('medler proposal')."
        ),
    ],
    key_file: KeyFileOption = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", help="Confirm: the current key is replaced for good."),
    ] = False,
    token_file: As = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Data directory (default: $MEDLER_DATA_DIR or "
            "./medler-data): its control plane holds the proposal.",
        ),
    ] = None,
) -> None:
    """Replace the key with a new version, under a confirmed two-person proposal. Every
    source must then be ingested again."""
    if not yes:
        raise UsageError(
            "rotation replaces the key for good: pseudonyms under the new key do not match "
            "earlier ones, so every source must be ingested again and snapshots under the old "
            "key retired; run 'medler keys rotate --approval N --yes' to go ahead"
        )
    from api.cli._control import _data_dir, control_plane
    from api.cli._governance import _actor
    from release.governance import Governance

    folder = _data_dir(data_dir)
    load_key_file(key_file, data_dir=folder)  # its place, before the rotation is spent
    gov = Governance(control_plane(folder))
    gov.use_rotation(_actor(gov, token_file), approval, "pseudonymisation")
    key = rotate_key_file(key_file, data_dir=folder)
    typer.echo(
        f"Rotated: key {key.key_id} (version {key.version}) replaces {key.previous_key_id} "
        f"(version {key.version - 1})."
    )
    for line in _describe(key):
        typer.echo(f"  {line}")
    typer.echo(
        "Next: ingest every source again from its extract, then retire the snapshots made "
        f"under {key.previous_key_id}. Back up the new key offline and destroy the backups "
        "of the old one."
    )


@keys_app.command("show")
def show(
    key_file: KeyFileOption = None,
    data_dir: Annotated[
        Path,
        typer.Option(
            "--data-dir",
            envvar="MEDLER_DATA_DIR",
            help="The data directory (default: $MEDLER_DATA_DIR or ./medler-data); a "
            "key inside it is refused.",
        ),
    ] = Path("medler-data"),
) -> None:
    """Check the key file (its place too) and show its id, version, creation time and path
    (never the key)."""
    key = load_key_file(key_file, data_dir=data_dir)
    for line in _describe(key):
        typer.echo(line)
