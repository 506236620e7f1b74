"""Idempotent POSTs: the first request with a key runs, a retry gets its stored answer."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import orjson
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from starlette.responses import Response

from email_channels.db.engine import Database
from email_channels.errors import AppError, Conflict, FieldError, InvalidInput
from email_channels.idempotency import repository
from email_channels.idempotency.models import IdempotencyKey
from email_channels.idempotency.repository import KeyScope
from email_channels.problems import render_app_error

logger = logging.getLogger(__name__)

KEPT_FOR = timedelta(hours=24)
# A key still "running" after this long belongs to a process that died: take it over.
ABANDONED_AFTER = timedelta(minutes=10)
REPLAYED_HEADER = "Idempotent-Replayed"
STORE_ATTEMPTS = 3
STORE_BACKOFF = 0.05  # seconds, doubling
_STORED_HEADERS = ("location", "content-type")


def fingerprint(body: bytes) -> str:
    """SHA-256 of the JSON body as sent, its field order and white space aside."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:  # not reached after validation; hash the bytes as they are
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


class Idempotency:
    """Runs a POST at most once per (API key, endpoint, Idempotency-Key) for 24 hours."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def run(
        self,
        *,
        api_key_id: uuid.UUID,
        endpoint: str,
        key: str | None,
        body: bytes,
        handler: Callable[[], Awaitable[Response]],
    ) -> Response:
        """The handler's answer, or the stored answer of the first request with `key`."""
        if key is None:
            return await handler()
        scope = KeyScope(api_key_id=api_key_id, endpoint=endpoint, key=key)
        request_fingerprint = fingerprint(body)
        token = uuid.uuid4()
        stored = await self._claim(scope, request_fingerprint, token)
        if stored is not None:
            return stored
        try:
            response = await handler()
        except AppError as error:
            # A 5xx, or an answer that says when to come back: a retry must really run.
            if error.status >= 500 or "Retry-After" in error.headers():
                await self._release(scope, token)
                raise
            response = render_app_error(error)
        except BaseException:
            await self._release(scope, token)
            raise
        if response.status_code >= 500:
            await self._release(scope, token)
            return response
        await self._store(scope, token, response)
        return response

    async def _store(self, scope: KeyScope, token: uuid.UUID, response: Response) -> None:
        """Keep the answer for replays; if that keeps failing, free the key instead.

        A key left "running" would answer 409 until abandoned and then run the create again,
        which a 409 on the taken names would answer for 24 hours: the client would never
        learn its setup's id. Freed, the retry runs now and says what happened.
        """
        headers = {
            name: value for name, value in response.headers.items() if name in _STORED_HEADERS
        }
        for attempt in range(STORE_ATTEMPTS):
            try:
                async with self._db.transaction() as session:
                    await repository.complete(
                        session,
                        scope,
                        token=token,
                        status=response.status_code,
                        headers=headers,
                        body=bytes(response.body),
                    )
                return
            except (SQLAlchemyError, OSError):
                logger.warning("storing the answer of an idempotent request failed", exc_info=True)
                await asyncio.sleep(STORE_BACKOFF * 2**attempt)
        try:
            await self._release(scope, token)
        except (SQLAlchemyError, OSError):
            logger.exception("releasing an idempotency key failed; it frees itself in time")

    async def _claim(
        self, scope: KeyScope, request_fingerprint: str, token: uuid.UUID
    ) -> Response | None:
        """Take the key (None), or answer for the request that holds it."""
        for _ in range(3):
            record = IdempotencyKey(
                api_key_id=scope.api_key_id,
                endpoint=scope.endpoint,
                key=scope.key,
                fingerprint=request_fingerprint,
                token=token,
            )
            try:
                async with self._db.transaction() as session:
                    await repository.insert_running(
                        session, record, kept_for=KEPT_FOR, abandoned_after=ABANDONED_AFTER
                    )
                return None
            except IntegrityError:
                pass
            async with self._db.transaction() as session:
                held = await repository.find(session, scope)
            if held is not None:
                return self._answer_for(held, request_fingerprint)
            # The holder finished with a 5xx and released the key just now: claim it again.
        raise Conflict("A request with this Idempotency-Key is still running; retry later.")

    @staticmethod
    def _answer_for(held: IdempotencyKey, request_fingerprint: str) -> Response:
        if held.fingerprint != request_fingerprint:
            raise InvalidInput(
                "This Idempotency-Key was used with another request body.",
                errors=[
                    FieldError(
                        field="Idempotency-Key",
                        message="Already used with a different body: use a new key.",
                    )
                ],
            )
        if held.response_status is None or held.response_body is None:
            raise Conflict("A request with this Idempotency-Key is still running; retry later.")
        return Response(
            held.response_body,
            status_code=held.response_status,
            headers={**(held.response_headers or {}), REPLAYED_HEADER: "true"},
        )

    async def purge_expired(self) -> int:
        """Drop the keys past their 24 hours (expired keys are never replayed anyway)."""
        async with self._db.transaction() as session:
            return await repository.delete_expired(session, kept_for=KEPT_FOR)

    async def _release(self, scope: KeyScope, token: uuid.UUID) -> None:
        async with self._db.transaction() as session:
            await repository.release(session, scope, token=token)
