"""A setup's sending, as SES's reputation entity of its tenant reports it.

`sending_status` starts `enabled` (a new tenant sends); the rest stays NULL until the worker,
a pause, a resume or a policy change reads the entity. No new table: regions were already a
column of every setup.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ses_setups") as table:
        table.add_column(
            sa.Column("sending_status", sa.String(16), nullable=False, server_default="enabled")
        )
        table.add_column(sa.Column("sending_paused_by", sa.String(16), nullable=True))
        table.add_column(sa.Column("sending_cause", sa.String(512), nullable=True))
        table.add_column(sa.Column("reputation_policy", sa.String(16), nullable=True))
        table.add_column(sa.Column("reputation_impact", sa.String(8), nullable=True))
        table.add_column(sa.Column("sending_checked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ses_setups") as table:
        for column in (
            "sending_checked_at",
            "reputation_impact",
            "reputation_policy",
            "sending_cause",
            "sending_paused_by",
            "sending_status",
        ):
            table.drop_column(column)
