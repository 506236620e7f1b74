"""The `Idempotency-Key` header and the process's `Idempotency`, for the POST endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from email_channels.idempotency.service import Idempotency


async def _idempotency(request: Request) -> Idempotency:
    idempotency = request.app.state.idempotency
    assert isinstance(idempotency, Idempotency)
    return idempotency


IdempotencyDep = Annotated[Idempotency, Depends(_idempotency)]

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
