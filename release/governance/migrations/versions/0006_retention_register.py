"""Retention and the public register: a project's public title, and the deletion journal
(every deletion under the retention policy or a key shredding, from its intent to its end, so
that a deletion cut short is finished on the next run)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("title", sa.String(300), nullable=True))
    op.create_table(
        "deletions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("proposal", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("started_by", sa.String(100), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("deletions")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("title")
