"""Alembic environment: runs on a connection handed over by `email_channels.db.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

# The tables, for autogenerate only: an upgrade needs none. Whoever autogenerates hands
# `email_channels.models.Base.metadata` over in the config's attributes (db/ knows no feature).
target_metadata = context.config.attributes.get("target_metadata")


def run_migrations(connection: Connection) -> None:
    """Apply the migrations on one connection, in one transaction."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `email-channels migrate`")
run_migrations(connection)
