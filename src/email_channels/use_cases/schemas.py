"""Request and response models of the use case endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from email_channels.request_body import RequestBody


class UseCaseCreate(RequestBody):
    name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=128,
            description="1-128 characters, none of them a control character.",
            examples=["Password resets"],
        ),
    ]
    ses_setup_id: uuid.UUID = Field(description="An SES setup of the same workspace.")


class UseCaseOut(BaseModel):
    model_config = ConfigDict(title="UseCase")

    id: uuid.UUID
    name: str
    ses_setup_id: uuid.UUID
    created_at: datetime


class UseCasePage(BaseModel):
    items: list[UseCaseOut]
    continuation_token: str | None = Field(description="Null on the last page.")
