"""Delegated setups: how a setup's records are published, and the servers of its zone.

`dns_mode` is `customer` (the customer publishes every record; every row so far) or
`delegated` (the customer publishes NS records once; the service serves the zone).
`delegation_nameservers` holds the servers of a delegated setup's zone, as the publisher
gave them (Route 53 assigns its own); NULL for a customer setup.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ses_setups") as table:
        table.add_column(
            sa.Column("dns_mode", sa.String(16), nullable=False, server_default="customer")
        )
        table.add_column(sa.Column("delegation_nameservers", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ses_setups") as table:
        table.drop_column("delegation_nameservers")
        table.drop_column("dns_mode")
