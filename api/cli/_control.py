"""``medler ledger`` and ``medler audit``: the privacy budgets and the audit log.

The control plane is the SQLite file ``control.db`` in the data directory by default, or the
database at ``$MEDLER_CONTROL_URL`` (PostgreSQL, say).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from api.cli._console import stdout_console
from medler.errors import MedlerUserError, UsageError
from release import governance  # loads SQLAlchemy on first use, not for every command

if TYPE_CHECKING:
    from sqlalchemy import Engine

CONTROL_URL_ENV = "MEDLER_CONTROL_URL"

ledger_app = typer.Typer(
    name="ledger",
    help="The privacy budgets (ρ, zero-concentrated DP).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
audit_app = typer.Typer(
    name="audit",
    help="The hash-chained audit log of every request.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: $MEDLER_DATA_DIR or ./medler-data)."),
]


# who acts: a registered person, by their token
As = Annotated[
    Path | None,
    typer.Option(
        "--token-file",
        help="A file holding your token (default: "
        "$MEDLER_TOKEN_FILE, else the token in $MEDLER_TOKEN).",
    ),
]


def control_plane(data_dir: Path) -> Engine:
    data_dir.mkdir(parents=True, exist_ok=True)
    return governance.connect_control_plane(
        os.environ.get(CONTROL_URL_ENV) or governance.default_url(data_dir)
    )


def _data_dir(data_dir: Path | None) -> Path:
    return data_dir or Path(os.environ.get("MEDLER_DATA_DIR", "medler-data"))


@ledger_app.command("set-cap")
def set_cap(
    scope: Annotated[
        str, typer.Argument(help="dataset, project:<id> or researcher:<project>:<id>")
    ],
    rho: Annotated[float, typer.Argument(help="The cap, in ρ.")],
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Set a budget's cap (a statistician). Lowering one is done at once; raising one is a
    proposal that a second statistician or the DPO confirms ('medler proposal confirm')."""
    from api.cli._governance import _actor, _proposed

    gov = governance.Governance(control_plane(_data_dir(data_dir)))
    _proposed(gov.set_budget(_actor(gov, token_file), scope, rho), f"{scope}: cap ρ {rho:g}")


@ledger_app.command("show")
def show(
    data_dir: DataDir = None,
    delta: Annotated[float, typer.Option(help="Show ε at this δ as well.")] = 1e-9,
) -> None:
    """Spent, reserved and remaining per budget, as ρ and as (ε, δ), with the exact (sdc)
    tables released and previewed, which no ρ counts."""
    if not 0 < delta < 1:
        raise UsageError(f"--delta must be between 0 and 1, not {delta:g}")
    data_dir = _data_dir(data_dir)
    from release import FileStore, exact_outputs

    table = Table(
        "budget",
        "cap ρ",
        "spent ρ",
        "of which reserved",
        "remaining ρ",
        f"spent ε (δ={delta:g})",
        f"cap ε (δ={delta:g})",
        "exact tables",
        "exact previews",
        header_style="bold",
    )
    exact = exact_outputs(FileStore(data_dir / "release").all())
    for t in governance.Ledger(control_plane(data_dir)).totals():
        released, previewed = exact.get(t.scope, (0, 0))
        table.add_row(
            t.scope.key,
            f"{t.cap:g}",
            f"{t.spent:.6g}",
            f"{t.reserved:.6g}",
            f"{t.remaining:.6g}",
            f"{governance.epsilon(t.spent, delta):.4g}",
            f"{governance.epsilon(t.cap, delta):.4g}",
            str(released),
            str(previewed),
        )
    stdout_console().print(table)


def _witness(text: str | None) -> tuple[int, str] | None:
    if text is None:
        return None
    try:
        return governance.parse_witness(text)
    except MedlerUserError as error:
        raise UsageError(f"--witness: {error}") from error


@audit_app.command("verify")
def verify(
    data_dir: DataDir = None,
    witness: Annotated[
        str | None,
        typer.Option(help="A head written down earlier (SEQ:HASH): the log must still hold it."),
    ] = None,
) -> None:
    """Check the audit chain (each record's key-authenticated seal, its order, and every anchor
    written outside the database), then reconcile the budgets, the ledger and the release store
    with it; name whatever was changed, removed or reordered."""
    from release import FileStore

    folder = _data_dir(data_dir)
    count = governance.verify_audit(
        control_plane(folder), witness=_witness(witness), store=FileStore(folder / "release").all()
    )
    print(
        f"audit log verified: {count} records, unbroken, and the budgets, the ledger and the "
        "release store agree with it"
    )


@audit_app.command("rotate-key")
def rotate_key(
    approval: Annotated[
        int,
        typer.Option(help="The confirmed proposal to rotate the audit key ('medler proposal')."),
    ],
    token_file: As = None,
    data_dir: DataDir = None,
) -> None:
    """Add a new audit key version (the old ones stay, so older records still verify); needs
    a rotation proposed by one person and confirmed by a second."""
    from api.cli._governance import _actor
    from pseudonymise import rotate_audit_key

    control = control_plane(_data_dir(data_dir))
    gov = governance.Governance(control)
    gov.use_rotation(_actor(gov, token_file), approval, "audit")
    key_id = rotate_audit_key(governance.database_folder(control))
    print(f"audit key rotated: new records are sealed with {key_id}")


@audit_app.command("head")
def head(data_dir: DataDir = None) -> None:
    """The last record's number and hash. Keep it outside medler (a witness): a later
    'medler audit verify --witness' proves nothing before it was rewritten."""
    seq, digest = governance.audit_head(control_plane(_data_dir(data_dir)))
    print(f"{seq}:{digest}")
