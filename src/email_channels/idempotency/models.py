"""Idempotency keys: the stored answer of a POST, replayed to a retry with the same key."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from email_channels.db.base import Base, UTCDateTime


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    # Scoped to the API key and the endpoint: the primary key is the uniqueness that makes
    # the claim of a key atomic across processes.
    api_key_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the canonical body
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The holder's token: completing or releasing the key is conditional on it, so a holder
    # that was taken over (it looked dead) cannot overwrite its successor's answer.
    token: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    # Null while the first request runs.
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_headers: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
