"""Keyed audit records (the audit key version that authenticated each record), sealed people
and keyed token hashes, and the requests that need a second person (the two-person rules).

People and tokens registered before this revision have no seal and no key version: they no
longer authenticate, and are registered again (``medler admin init`` on a control plane with
nobody sealed, then the office)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("audit") as batch:
        batch.add_column(sa.Column("key_id", sa.String(40), nullable=True))
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("key_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("seal", sa.String(64), nullable=True))
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("key_id", sa.String(40), nullable=True))
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("proposed_by", sa.String(100), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("proposals")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("key_id")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("seal")
        batch.drop_column("key_id")
    with op.batch_alter_table("audit") as batch:
        batch.drop_column("key_id")
