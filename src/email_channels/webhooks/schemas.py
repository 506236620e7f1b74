"""Request and response models of the webhook endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from email_channels.request_body import RequestBody
from email_channels.webhooks.outbox import EVENT_TYPES


class WebhookCreate(RequestBody):
    url: Annotated[
        str,
        Field(
            min_length=1,
            max_length=2048,
            description="An https URL on a public address that receives the events.",
        ),
    ]
    events: Annotated[
        list[str] | None,
        Field(
            min_length=1,
            description=f"Event types to receive (default: all of {', '.join(EVENT_TYPES)}).",
        ),
    ] = None
    description: Annotated[str | None, Field(max_length=256)] = None

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        unknown = [name for name in value if name not in EVENT_TYPES]
        if unknown:
            raise ValueError(
                f"unknown event type(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(EVENT_TYPES)}"
            )
        return list(dict.fromkeys(value))


class WebhookOut(BaseModel):
    id: uuid.UUID
    url: str
    events: list[str]
    description: str | None
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="whsec_...: shown only in this answer; keep it.")


class WebhookPage(BaseModel):
    items: list[WebhookOut]
    continuation_token: str | None = Field(description="Null on the last page.")


class DeliveryOut(BaseModel):
    id: uuid.UUID
    event_id: str
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    continuation_token: str | None = Field(description="Null on the last page.")
