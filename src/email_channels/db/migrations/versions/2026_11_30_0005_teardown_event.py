"""The event a setup's teardown announces, recorded by the claim that started it.

An expiry whose holder died was finished by `reconcile` as a delete, announced
`ses_setup.deleted`; the row now says which event its teardown ends with. Rows already
`deleting` keep NULL, which announces `ses_setup.deleted` as before.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ses_setups") as table:
        table.add_column(sa.Column("teardown_event", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ses_setups") as table:
        table.drop_column("teardown_event")
