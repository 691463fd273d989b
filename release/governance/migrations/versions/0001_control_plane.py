"""The control plane: budgets, ledger, audit chain, projects and memberships."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "budgets",
        sa.Column("scope", sa.String(200), primary_key=True),
        sa.Column("cap", sa.Float, nullable=False),
        sa.Column("spent", sa.Float, nullable=False),
    )
    op.create_table(
        "ledger",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True)),
        sa.Column("project", sa.String(100), nullable=False),
        sa.Column("researcher", sa.String(100), nullable=False),
        sa.Column("rho", sa.Float, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("spec_digest", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("project", sa.String(100)),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("legal_basis", sa.Text, nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("valid_from", sa.Date),
        sa.Column("valid_to", sa.Date),
        sa.Column("approved", sa.JSON, nullable=False),
    )
    op.create_table(
        "memberships",
        sa.Column("project", sa.String(100), sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("researcher", sa.String(100), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
    )


def downgrade() -> None:
    for table in ("memberships", "projects", "audit", "ledger", "budgets"):
        op.drop_table(table)
