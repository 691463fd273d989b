"""Alembic's entry point: migrations run on the connection the control plane hands over."""

from __future__ import annotations

from alembic import context

from release.governance._models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
