"""The zone a setup's records live in, as the last check that found it saw it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ses_setups") as table:
        table.add_column(sa.Column("dns_zone", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ses_setups") as table:
        table.drop_column("dns_zone")
