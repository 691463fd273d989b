"""People and their roles, API tokens (hashes only), held requests for review, project
approval details, and the audit log's head (the anchor that makes a cut tail detectable)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("person", sa.String(100), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("project", sa.String(100), nullable=False),
        sa.Column("requester", sa.String(100), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("spec_digest", sa.String(64), nullable=False),
        sa.Column("snapshot", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("checks", sa.JSON, nullable=False),
        sa.Column("justification", sa.Text),
        sa.Column("reviewer", sa.String(100)),
        sa.Column("review_reason", sa.Text),
        sa.Column("reviewed_at", sa.DateTime(timezone=True)),
        sa.Column("release_id", sa.String(100)),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    # the head follows the chain as it stands (empty, or written before the head existed)
    connection = op.get_bind()
    last = connection.execute(
        sa.text("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
    ).first()
    seq, digest = (0, GENESIS) if last is None else (last[0], last[1])
    connection.execute(
        sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (1, :s, :h)"),
        {"s": seq, "h": digest},
    )
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("created_by", sa.String(100)))
        batch.add_column(sa.Column("created_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("approved_by", sa.String(100)))
        batch.add_column(sa.Column("approved_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        for column in ("closed_at", "approved_at", "approved_by", "created_at", "created_by"):
            batch.drop_column(column)
    for table in ("audit_head", "requests", "tokens", "people"):
        op.drop_table(table)
