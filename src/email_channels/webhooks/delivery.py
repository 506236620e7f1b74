"""Delivering events to webhooks: one signed POST per attempt, retried on a schedule."""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
import uuid
from datetime import datetime
from typing import Any

import httpx
import orjson

from email_channels.db.base import utc_now
from email_channels.db.engine import Database
from email_channels.observability.metrics import WEBHOOK_DELIVERIES
from email_channels.webhooks import delivery_repository as repository
from email_channels.webhooks.models import DeliveryStatus
from email_channels.webhooks.signing import signed_headers
from email_channels.webhooks.url_guard import UnsafeUrl, check_url, pinned

logger = logging.getLogger(__name__)

# Seconds after attempt 1, 2, ... before the next one; after the last, the delivery fails.
RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000)
JITTER = 0.2
ERROR_MAX_LENGTH = 500


def retry_delay(attempts: int, *, scale: float) -> float | None:
    """Seconds before the next attempt after `attempts` failed ones; None: give up."""
    if attempts > len(RETRY_DELAYS):
        return None
    return RETRY_DELAYS[attempts - 1] * scale * random.uniform(1 - JITTER, 1 + JITTER)


def delivery_body(*, event_type: str, occurred_at: datetime, data: dict[str, Any]) -> bytes:
    """The JSON body of a delivery (section 8)."""
    return orjson.dumps({"type": event_type, "timestamp": occurred_at.isoformat(), "data": data})


class Deliverer:
    """The delivery job: claims due attempts, POSTs them concurrently, records outcomes."""

    def __init__(
        self,
        *,
        db: Database,
        timeout: float,
        retry_scale: float,
        allow_private: bool,
        batch: int = 20,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """`verify`: whom a receiver's certificate must chain to; by default the CA bundle
        httpx trusts (tests pass a context that trusts their own CA)."""
        self._db = db
        self._timeout = timeout
        self._retry_scale = retry_scale
        self._allow_private = allow_private
        self._batch = batch
        # Redirects are not followed (a redirect is a failed attempt), proxies not used.
        self._client = httpx.AsyncClient(
            follow_redirects=False, trust_env=False, timeout=timeout, verify=verify
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def deliver_due(self) -> int:
        """Make one attempt of each claimed due delivery; how many were attempted."""
        token = uuid.uuid4()
        async with self._db.transaction() as session:
            claimed = await repository.claim_due(
                # Outlives one attempt (its resolution and POST are cut at the timeout).
                session,
                token=token,
                limit=self._batch,
                seconds=2 * self._timeout + 5,
            )
        await asyncio.gather(*(self._attempt(row, token) for row in claimed))
        return len(claimed)

    async def _attempt(self, row: Any, token: uuid.UUID) -> None:
        body = delivery_body(event_type=row.type, occurred_at=row.occurred_at, data=row.data)
        headers = signed_headers(
            secret=row.secret, message_id=row.event_id, timestamp=int(time.time()), body=body
        )
        status_code, error = await self._post(row.url, body=body, headers=headers)
        attempts = row.attempts + 1
        if error is None:
            status, retry_in, outcome = DeliveryStatus.DELIVERED, None, "delivered"
        else:
            retry_in = retry_delay(attempts, scale=self._retry_scale)
            status = DeliveryStatus.PENDING if retry_in is not None else DeliveryStatus.FAILED
            outcome = "retrying" if retry_in is not None else "failed"
        async with self._db.transaction() as session:
            recorded = await repository.finish_attempt(
                session,
                delivery_id=row.id,
                token=token,
                status=status,
                status_code=status_code,
                error=error,
                retry_in=retry_in,
                delivered_at=utc_now() if error is None else None,
            )
        if recorded:
            WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()
        logger.info(
            "webhook delivery %s of %s: %s (attempt %d)", row.id, row.event_id, outcome, attempts
        )

    async def _post(
        self, url: str, *, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        """(status code, error or None) of one attempt; it never takes longer than the timeout."""
        try:
            async with asyncio.timeout(self._timeout):
                # Checked again at each attempt: the name may resolve elsewhere by now; the
                # request then goes to the address checked (no second resolution).
                addresses = await check_url(url, allow_private=self._allow_private)
                target, host, server_name = pinned(url, addresses[0])
                response = await self._client.post(
                    target,
                    content=body,
                    headers={**headers, "host": host},
                    extensions={"sni_hostname": server_name},
                )
        except UnsafeUrl as refused:
            return None, f"Not sent: {refused}"
        except TimeoutError:
            return None, f"No answer within {self._timeout:g} s."
        except httpx.HTTPError as failure:
            return None, f"Request failed: {type(failure).__name__}: {failure}"[:ERROR_MAX_LENGTH]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        if response.is_redirect:
            return response.status_code, "Redirects are not followed: point the URL at the target."
        return response.status_code, f"The receiver answered {response.status_code}."
