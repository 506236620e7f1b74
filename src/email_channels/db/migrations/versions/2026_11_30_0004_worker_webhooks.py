"""Background work: re-check schedule and SES status on setups; webhooks, events, deliveries.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("ses_setups") as table:
        table.add_column(sa.Column("next_check_at", _WHEN, nullable=True))
        table.add_column(
            sa.Column("check_interval", sa.Float(), server_default=sa.text("0"), nullable=False)
        )
        table.add_column(
            sa.Column("failed_checks", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        table.add_column(
            sa.Column("announced_verified", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        table.add_column(sa.Column("verified_at", _WHEN, nullable=True))
        table.add_column(sa.Column("check_claimed_until", _WHEN, nullable=True))
        table.add_column(
            sa.Column(
                "ses_verified_for_sending", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        table.add_column(
            sa.Column(
                "ses_dkim_status", sa.String(length=32), server_default="PENDING", nullable=False
            )
        )
        table.add_column(
            sa.Column(
                "ses_mail_from_status",
                sa.String(length=32),
                server_default="PENDING",
                nullable=False,
            )
        )
        table.add_column(sa.Column("ses_checked_at", _WHEN, nullable=True))
        table.add_column(sa.Column("ses_next_at", _WHEN, nullable=True))
        table.add_column(sa.Column("ses_claimed_until", _WHEN, nullable=True))
        table.create_index("ix_ses_setups_next_check_at", ["next_check_at"])
        table.create_index("ix_ses_setups_ses_next_at", ["ses_next_at"])
    # Setups verified before this migration count as announced and verified: no expiry.
    op.execute(
        "UPDATE ses_setups SET announced_verified = dns_verified, "
        "verified_at = CASE WHEN dns_verified THEN updated_at END"
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=True),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_index(
        "ix_webhooks_workspace_id_created_at_id", "webhooks", ["workspace_id", "created_at", "id"]
    )
    op.create_table(
        "events",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("setup_id", sa.Uuid(), nullable=True),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", _WHEN, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("id", name=op.f("uq_events_id")),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("setup_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", _WHEN, nullable=True),
        sa.Column("delivered_at", _WHEN, nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("lease_token", sa.Uuid(), nullable=True),
        sa.Column("lease_expires_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["event_seq"], ["events.seq"], name=op.f("fk_deliveries_event_seq_events")
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    op.create_index(
        "ix_deliveries_webhook_id_created_at_id",
        "deliveries",
        ["webhook_id", "created_at", "id"],
    )
    op.create_index(
        "ix_deliveries_status_next_attempt_at", "deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_deliveries_webhook_id_setup_id_event_seq",
        "deliveries",
        ["webhook_id", "setup_id", "event_seq"],
    )


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("events")
    op.drop_table("webhooks")
    with op.batch_alter_table("ses_setups") as table:
        table.drop_index("ix_ses_setups_ses_next_at")
        table.drop_index("ix_ses_setups_next_check_at")
        for column in (
            "ses_claimed_until",
            "ses_next_at",
            "ses_checked_at",
            "ses_mail_from_status",
            "ses_dkim_status",
            "ses_verified_for_sending",
            "check_claimed_until",
            "verified_at",
            "announced_verified",
            "failed_checks",
            "check_interval",
            "next_check_at",
        ):
            table.drop_column(column)
