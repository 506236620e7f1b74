"""The SES setup row: one SES tenant, one domain identity, their DNS records' last check."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Uuid, false, text
from sqlalchemy.orm import Mapped, mapped_column

from email_channels.db.base import Base, UTCDateTime


class SetupState(StrEnum):
    PROVISIONING = "provisioning"  # row written, SES steps in flight; not visible to clients
    ACTIVE = "active"
    DELETING = "deleting"  # SES teardown in flight; still readable until it succeeds


class DnsMode(StrEnum):
    CUSTOMER = "customer"  # the customer publishes every record
    DELEGATED = "delegated"  # the customer delegates the domain once; the service serves it


class SesSetup(Base):
    __tablename__ = "ses_setups"
    __table_args__ = (
        # The keyset index of the list: newest first within one workspace.
        Index("ix_ses_setups_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
        # The worker's claims: what is due first.
        Index("ix_ses_setups_next_check_at", "next_check_at"),
        Index("ix_ses_setups_ses_next_at", "ses_next_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(64))
    tenant_name: Mapped[str] = mapped_column(String(64), unique=True)
    domain_identity: Mapped[str] = mapped_column(String(253), unique=True)
    region: Mapped[str] = mapped_column(String(32))
    # label + "." + domain: longer than a domain can be (the DNS check says if it is too long).
    mail_from_domain: Mapped[str] = mapped_column(String(320))
    state: Mapped[str] = mapped_column(String(16))
    # When `state` last changed: `reconcile` takes only transient states that are old.
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tenant_arn: Mapped[str | None] = mapped_column(String(512), nullable=True)
    identity_arn: Mapped[str | None] = mapped_column(String(512), nullable=True)
    dkim_tokens: Mapped[list[str]] = mapped_column(JSON, default=list)
    signing_hosted_zone: Mapped[str | None] = mapped_column(String(253), nullable=True)
    # SES steps done so far, in order; what a failed or crashed create must undo.
    provisioning_steps: Mapped[list[str]] = mapped_column(JSON, default=list)
    dns_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last check's result per record: [{"verified", "status", "found", "reason"}], in
    # the order of the expected records; empty until the first check.
    dns_results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    dns_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The zone the last check that found one found: {"name", "nameservers", "provider",
    # "negative_ttl"}; null until then.
    dns_zone: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, default=None)
    # Whoever drives the setup's SES resources (a create, a delete, reconcile) holds a lease:
    # every write that ends its work is conditional on the token, so a late or duplicate
    # actor changes nothing. It expires on the database's clock (a holder that died).
    lease_token: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True, default=None
    )
    # The event a teardown announces once done, set by the claim that started it (a DELETE:
    # `ses_setup.deleted`; the worker's expiry: `ses_setup.expired`), so that whoever
    # finishes it after its holder died (`reconcile`) announces the same. NULL: deleted.
    teardown_event: Mapped[str | None] = mapped_column(String(32), nullable=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # --- delegated setups: who publishes the records, and the servers of the zone ---
    dns_mode: Mapped[str] = mapped_column(
        String(16), default=DnsMode.CUSTOMER.value, server_default=DnsMode.CUSTOMER.value
    )
    # The servers the publisher serves the zone from (Route 53 assigns them); NULL: customer.
    delegation_nameservers: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # --- background work (re-checks, SES status, expiry) ---
    # When the next re-check is due (null: now), and the interval that led there.
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    check_interval: Mapped[float] = mapped_column(Float, default=0.0, server_default=text("0"))
    # Consecutive background checks that saw a record missing or mismatched.
    failed_checks: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Whether `ses_setup.verified` was announced last (and not `unverified` since): the
    # hysteresis of UNVERIFY_AFTER holds back only the event, never `dns_verified`.
    announced_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The first time every record verified; a setup without it may expire.
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A worker's claim on the re-check (database clock); a dead worker's claim runs out.
    check_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # SES's own verdict, from GetEmailIdentity, refreshed by the worker only.
    ses_verified_for_sending: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    ses_dkim_status: Mapped[str] = mapped_column(
        String(32), default="PENDING", server_default="PENDING"
    )
    ses_mail_from_status: Mapped[str] = mapped_column(
        String(32), default="PENDING", server_default="PENDING"
    )
    ses_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ses_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ses_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # --- sending: SES's reputation entity of the tenant, as last read
    # by the worker or after a pause, resume or policy change (never on a read).
    sending_status: Mapped[str] = mapped_column(
        String(16), default="enabled", server_default="enabled"
    )
    sending_paused_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    sending_cause: Mapped[str | None] = mapped_column(String(512), nullable=True)
    reputation_policy: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reputation_impact: Mapped[str | None] = mapped_column(String(8), nullable=True)
    sending_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class InflightDelete(Base):
    """A domain or tenant name whose SES delete may still land: reserved until `expires_at`.

    Written when a teardown's delete was maybe applied (a timeout, a 5xx, a reset after
    sending), kept after the setup row is gone: a create of the name before then would
    give the late delete a new owner's resource to remove.
    """

    __tablename__ = "inflight_deletes"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # "domain" | "tenant"
    name: Mapped[str] = mapped_column(String(253), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
