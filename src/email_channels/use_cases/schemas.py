"""Request and response models of the use case endpoints."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator


class UseCaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

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

    @field_validator("name")
    @classmethod
    def _no_control_characters(cls, value: str) -> str:
        # NUL is refused by PostgreSQL; tabs, line breaks and escapes break every display.
        control = next((c for c in value if unicodedata.category(c) == "Cc"), None)
        if control is not None:
            raise ValueError(
                f"Must not contain control characters (found U+{ord(control):04X}); "
                "no NUL, tabs or line breaks."
            )
        return value


class UseCaseOut(BaseModel):
    model_config = ConfigDict(title="UseCase")

    id: uuid.UUID
    name: str
    ses_setup_id: uuid.UUID
    created_at: datetime


class UseCasePage(BaseModel):
    items: list[UseCaseOut]
    continuation_token: str | None = Field(description="Null on the last page.")
