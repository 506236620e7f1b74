"""Use cases reference a setup; the foreign key keeps a referenced setup from being deleted."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from email_channels.db.base import Base, UTCDateTime


class UseCase(Base):
    __tablename__ = "use_cases"
    __table_args__ = (
        Index("ix_use_cases_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    ses_setup_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("ses_setups.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
