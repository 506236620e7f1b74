"""Webhook subscriptions, the event outbox and deliveries (one row per event and webhook)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from email_channels.db.base import Base, UTCDateTime


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Webhook(Base):
    __tablename__ = "webhooks"
    __table_args__ = (
        Index("ix_webhooks_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(256), nullable=True)
    # Shown once at create; kept to sign deliveries (a signing key cannot be a hash).
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Event(Base):
    """The outbox: written in the transaction of the change it reports."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_occurred_at", "occurred_at"),)  # the retention purge

    # The order events happened in (per setup, deliveries follow it).
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)  # evt_...
    workspace_id: Mapped[str] = mapped_column(String(64))
    setup_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_webhook_id_created_at_id", "webhook_id", "created_at", "id"),
        # The worker's claim: pending deliveries by due time.
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_deliveries_webhook_id_setup_id_event_seq", "webhook_id", "setup_id", "event_seq"),
        # The claim's: pending deliveries per webhook in event order, and attempts in flight.
        Index(
            "ix_deliveries_pending_webhook_id_event_seq",
            "webhook_id",
            "event_seq",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index(
            "ix_deliveries_leased_webhook_id",
            "webhook_id",
            "lease_expires_at",
            postgresql_where=text("lease_token IS NOT NULL"),
            sqlite_where=text("lease_token IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    webhook_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhooks.id", ondelete="CASCADE")
    )
    event_seq: Mapped[int] = mapped_column(Integer, ForeignKey("events.seq"))
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(64))
    setup_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When it was delivered or failed for good: the event is purged EVENT_RETENTION later.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A worker's claim on the attempt in hand, on the database's clock.
    lease_token: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
