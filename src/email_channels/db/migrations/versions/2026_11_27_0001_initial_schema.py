"""Initial schema: API keys, SES setups, use cases.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("permissions", sa.String(length=512), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_workspace_id"), "api_keys", ["workspace_id"])

    op.create_table(
        "ses_setups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_name", sa.String(length=64), nullable=False),
        sa.Column("domain_identity", sa.String(length=253), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("mail_from_domain", sa.String(length=320), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_changed_at", TIMESTAMP, nullable=False),
        sa.Column("tenant_arn", sa.String(length=512), nullable=True),
        sa.Column("identity_arn", sa.String(length=512), nullable=True),
        sa.Column("dkim_tokens", sa.JSON(), nullable=False),
        sa.Column("signing_hosted_zone", sa.String(length=253), nullable=True),
        sa.Column("provisioning_steps", sa.JSON(), nullable=False),
        sa.Column("dns_verified", sa.Boolean(), nullable=False),
        sa.Column("dns_results", sa.JSON(), nullable=False),
        sa.Column("dns_checked_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ses_setups")),
        sa.UniqueConstraint("domain_identity", name=op.f("uq_ses_setups_domain_identity")),
        sa.UniqueConstraint("tenant_name", name=op.f("uq_ses_setups_tenant_name")),
    )
    op.create_index(
        "ix_ses_setups_workspace_id_created_at_id",
        "ses_setups",
        ["workspace_id", "created_at", "id"],
    )

    op.create_table(
        "use_cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("ses_setup_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["ses_setup_id"],
            ["ses_setups.id"],
            name=op.f("fk_use_cases_ses_setup_id_ses_setups"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_use_cases")),
    )
    op.create_index(op.f("ix_use_cases_ses_setup_id"), "use_cases", ["ses_setup_id"])
    op.create_index(
        "ix_use_cases_workspace_id_created_at_id",
        "use_cases",
        ["workspace_id", "created_at", "id"],
    )


def downgrade() -> None:
    op.drop_table("use_cases")
    op.drop_table("ses_setups")
    op.drop_table("api_keys")
