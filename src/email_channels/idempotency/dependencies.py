"""The `Idempotency-Key` header and the process's `Idempotency`, for the POST endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from email_channels.http import app_state
from email_channels.idempotency.service import Idempotency

IdempotencyDep = Annotated[Idempotency, Depends(app_state("idempotency", Idempotency))]

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retries with the same key and body get the first answer again "
        "(with `Idempotent-Replayed: true`) for 24 hours.",
    ),
]
