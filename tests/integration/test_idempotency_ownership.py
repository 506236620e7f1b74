"""Idempotency keys under takeover and storage failure: one holder's answer, never a stale one."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from starlette.responses import Response

from email_channels.db.base import utc_now
from email_channels.db.engine import Database
from email_channels.idempotency import repository
from email_channels.idempotency.models import IdempotencyKey
from email_channels.idempotency.service import ABANDONED_AFTER, Idempotency

BODY = b'{"name": "x"}'


def _answer(text: str) -> Response:
    return Response(text.encode(), status_code=201, media_type="application/json")


async def test_a_holder_taken_over_cannot_overwrite_its_successors_answer(
    database: Database,
) -> None:
    idempotency = Idempotency(database)
    api_key_id = uuid.uuid4()
    late_may_finish = asyncio.Event()
    late_started = asyncio.Event()

    async def late_handler() -> Response:
        late_started.set()
        await late_may_finish.wait()
        return _answer('"late"')

    async def run(handler: object) -> Response:
        return await idempotency.run(
            api_key_id=api_key_id,
            endpoint="e",
            key="k",
            body=BODY,
            handler=handler,  # type: ignore[arg-type]
        )

    late = asyncio.ensure_future(run(late_handler))
    await late_started.wait()
    async with database.transaction() as session:  # the holder looks dead: its claim is old
        await session.execute(
            update(IdempotencyKey).values(created_at=utc_now() - ABANDONED_AFTER - timedelta(1))
        )

    async def successor_handler() -> Response:
        return _answer('"successor"')

    successor = await run(successor_handler)
    late_may_finish.set()
    await late

    replayed = await run(successor_handler)
    assert successor.body == b'"successor"'
    assert replayed.body == b'"successor"'
    assert replayed.headers["idempotent-replayed"] == "true"


async def test_a_key_whose_answer_cannot_be_stored_is_freed_so_a_retry_runs(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    idempotency = Idempotency(database)
    api_key_id = uuid.uuid4()
    calls: list[int] = []

    async def handler() -> Response:
        calls.append(1)
        return _answer('"created"')

    async def broken_complete(*args: object, **kwargs: object) -> None:
        raise OperationalError("UPDATE idempotency_keys", {}, Exception("disk full"))

    monkeypatch.setattr(repository, "complete", broken_complete)
    first = await idempotency.run(
        api_key_id=api_key_id, endpoint="e", key="k", body=BODY, handler=handler
    )
    monkeypatch.undo()
    retry = await idempotency.run(
        api_key_id=api_key_id, endpoint="e", key="k", body=BODY, handler=handler
    )

    assert first.status_code == retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers  # it ran again, not a 409 or a replay
    assert len(calls) == 2
