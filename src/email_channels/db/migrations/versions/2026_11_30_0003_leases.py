"""Leases: one owner at a time for a setup's SES resources, and for an idempotency key.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ses_setups") as table:
        table.add_column(sa.Column("lease_token", sa.Uuid(), nullable=True))
        table.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("idempotency_keys") as table:
        table.add_column(sa.Column("token", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as table:
        table.drop_column("token")
    with op.batch_alter_table("ses_setups") as table:
        table.drop_column("lease_expires_at")
        table.drop_column("lease_token")
