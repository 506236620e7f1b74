"""The installation id, in-flight SES deletes, and when a webhook delivery ended.

- `installation`: one row, a random id made here, once. Unless DEPLOYMENT_ID is set, it is the
  tag that marks this installation's SES resources, so two databases on one SES account never
  sweep each other's.
- `inflight_deletes`: a domain or tenant name whose SES delete may still land, reserved until
  `expires_at` (the database's clock), kept after its setup row is gone.
- `deliveries.ended_at`: when a delivery was delivered or failed for good; events are purged
  EVENT_RETENTION after their last delivery ended. Deliveries that had ended already count
  from their delivery (or creation) time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    installation = op.create_table(
        "installation",
        sa.Column("id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
    )
    op.bulk_insert(installation, [{"id": f"inst-{uuid.uuid4().hex}"}])
    op.create_table(
        "inflight_deletes",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("expires_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("kind", "name", name=op.f("pk_inflight_deletes")),
    )
    with op.batch_alter_table("deliveries") as table:
        table.add_column(sa.Column("ended_at", _WHEN, nullable=True))
    op.execute(
        "UPDATE deliveries SET ended_at = COALESCE(delivered_at, created_at)"
        " WHERE status <> 'pending'"
    )
    op.create_index("ix_events_occurred_at", "events", ["occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_events_occurred_at", table_name="events")
    with op.batch_alter_table("deliveries") as table:
        table.drop_column("ended_at")
    op.drop_table("inflight_deletes")
    op.drop_table("installation")
