"""Delivering events to webhooks: one signed POST per attempt, retried on a schedule.

Each claimed attempt runs in a task of its own (a lane), so that no attempt waits for
another: a receiver that hangs holds up its own webhook's queue only. A lane keeps going
with its webhook's next due delivery for a while, then leaves the webhook to the fair claim.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import orjson

from email_channels.db.base import utc_now
from email_channels.db.engine import Database
from email_channels.observability.metrics import WEBHOOK_DELIVERIES
from email_channels.webhooks import delivery_repository as repository
from email_channels.webhooks.connections import ReceiverPools
from email_channels.webhooks.delivery_repository import ClaimedAttempt
from email_channels.webhooks.models import DeliveryStatus
from email_channels.webhooks.signing import signed_headers
from email_channels.webhooks.url_guard import (
    Resolver,
    UnsafeUrl,
    check_url,
    pinned,
    system_resolver,
)

logger = logging.getLogger(__name__)

# Seconds after attempt 1, 2, ... before the next one; after the last, the delivery fails.
RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000)
JITTER = 0.2
ERROR_MAX_LENGTH = 500
# The most of a receiver's answer that is read: the status code decides, the body is only
# drained (when small) so that the connection can serve the next delivery.
ANSWER_MAX_BYTES = 64 * 1024
# Attempts one lane makes in a row on its webhook before it goes back to the fair claim.
LANE_ATTEMPTS = 20
MAX_IN_FLIGHT = 200


def retry_delay(attempts: int, *, scale: float) -> float | None:
    """Seconds before the next attempt after `attempts` failed ones; None: give up."""
    if attempts > len(RETRY_DELAYS):
        return None
    return RETRY_DELAYS[attempts - 1] * scale * random.uniform(1 - JITTER, 1 + JITTER)


def delivery_body(*, event_type: str, occurred_at: datetime, data: dict[str, Any]) -> bytes:
    """The JSON body of a delivery (section 8)."""
    return orjson.dumps({"type": event_type, "timestamp": occurred_at.isoformat(), "data": data})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to: the status code and, unless delivered, why not."""

    status_code: int | None = None
    error: str | None = None
    final: bool = False  # no later attempt can do better (the stored URL is malformed)


class Deliverer:
    """The delivery job: claims due attempts fairly, runs each on its own, records outcomes."""

    def __init__(
        self,
        *,
        db: Database,
        timeout: float,
        retry_scale: float,
        allow_private: bool,
        max_in_flight: int = MAX_IN_FLIGHT,
        verify: ssl.SSLContext | bool = True,
        resolver: Resolver = system_resolver,
    ) -> None:
        """`verify`: whom a receiver's certificate must chain to; by default the CA bundle
        httpx trusts (tests pass a context that trusts their own CA)."""
        self._db = db
        self._timeout = timeout
        self._retry_scale = retry_scale
        self._allow_private = allow_private
        self._max_in_flight = max_in_flight
        self._resolver = resolver
        self._pools = ReceiverPools(timeout=timeout, verify=verify)
        self._lanes: set[asyncio.Task[None]] = set()
        self._closing = False

    async def close(self) -> None:
        """Let the attempts in hand finish (each ends by its timeout), then close the pools."""
        self._closing = True
        if self._lanes:
            await asyncio.gather(*self._lanes, return_exceptions=True)
        await self._pools.close()

    async def deliver_due(self) -> int:
        """Start an attempt of each fairly claimed due delivery; how many were started."""
        room = self._max_in_flight - len(self._lanes)
        if room <= 0 or self._closing:
            return 0
        token = uuid.uuid4()
        claimed = await self._claim(token, limit=room)
        for row in claimed:
            lane = asyncio.create_task(self._lane(row, token), name=f"webhook:{row.webhook_id}")
            self._lanes.add(lane)
            lane.add_done_callback(self._lanes.discard)
        return len(claimed)

    async def _claim(
        self, token: uuid.UUID, *, limit: int, webhook_id: uuid.UUID | None = None
    ) -> list[ClaimedAttempt]:
        seconds = self._lease_seconds
        if self._db.driver is not None:
            return await repository.claim_due_driver(
                self._db.driver, token=token, limit=limit, seconds=seconds, webhook_id=webhook_id
            )
        async with self._db.transaction() as session:
            return await repository.claim_due(
                session, token=token, limit=limit, seconds=seconds, webhook_id=webhook_id
            )

    @property
    def _lease_seconds(self) -> float:
        """A claim's lease: outlives one attempt (its resolution and POST are cut at the
        timeout)."""
        return 2 * self._timeout + 5

    async def _lane(self, row: ClaimedAttempt, token: uuid.UUID) -> None:
        try:
            for attempt in range(1, LANE_ATTEMPTS + 1):
                # Back to the fair claim after LANE_ATTEMPTS, now rather than at the job's
                # next pass (up to half a second later, while this webhook's queue waited:
                # bench/README.md, S8). The last attempt claims nothing more itself: a claim
                # taken and never attempted held the whole webhook (one attempt in flight)
                # until its lease ran out.
                # Closing, a lane claims nothing more; what it claimed before is still made.
                last = attempt == LANE_ATTEMPTS or self._closing
                following = await self._attempt(row, token, claim_next=not last)
                if following is None:
                    if last:
                        await self.deliver_due()  # nothing while closing
                    return
                row, token = following
        except Exception:
            # The claim expires and another pass takes the delivery over.
            logger.exception("webhook delivery lane failed")

    async def _attempt(
        self, row: ClaimedAttempt, token: uuid.UUID, *, claim_next: bool = False
    ) -> tuple[ClaimedAttempt, uuid.UUID] | None:
        """One attempt and its outcome; with `claim_next`, the webhook's next due delivery
        claimed (with its token) once this one is recorded, or None."""
        body = delivery_body(event_type=row.type, occurred_at=row.occurred_at, data=row.data)
        headers = signed_headers(
            secret=row.secret, message_id=row.event_id, timestamp=int(time.time()), body=body
        )
        outcome = await self._post(row.url, body=body, headers=headers)
        attempts = row.attempts + 1
        retry_in = None
        if outcome.error is None:
            status, label = DeliveryStatus.DELIVERED, "delivered"
        else:
            if not outcome.final:
                retry_in = retry_delay(attempts, scale=self._retry_scale)
            status = DeliveryStatus.PENDING if retry_in is not None else DeliveryStatus.FAILED
            label = "retrying" if retry_in is not None else "failed"
        finished: dict[str, Any] = {
            "delivery_id": row.id,
            "token": token,
            "status": status,
            "status_code": outcome.status_code,
            "error": outcome.error,
            "retry_in": retry_in,
            "delivered_at": utc_now() if outcome.error is None else None,
        }
        # The first claim's token is shared with other lanes: the next claim takes its own.
        next_token = uuid.uuid4()
        following: ClaimedAttempt | None = None
        if self._db.driver is not None and claim_next:
            # The outcome and the webhook's next claim in one round trip (PostgreSQL).
            recorded, following = await repository.finish_and_claim_driver(
                self._db.driver,
                **finished,
                next_token=next_token,
                seconds=self._lease_seconds,
                webhook_id=row.webhook_id,
            )
        elif self._db.driver is not None:
            recorded = await repository.finish_attempt_driver(self._db.driver, **finished)
        else:
            async with self._db.transaction() as session:
                recorded = await repository.finish_attempt(session, **finished)
        if recorded:
            WEBHOOK_DELIVERIES.labels(outcome=label).inc()
        logger.info(
            "webhook delivery %s of %s: %s (attempt %d)", row.id, row.event_id, label, attempts
        )
        if not claim_next or not recorded:
            return None
        if self._db.driver is None:
            claimed = await self._claim(next_token, limit=1, webhook_id=row.webhook_id)
            following = claimed[0] if claimed else None
        return None if following is None else (following, next_token)

    async def _post(self, url: str, *, body: bytes, headers: dict[str, str]) -> Outcome:
        """The outcome of one attempt; it never takes longer than the timeout, never raises."""
        try:
            async with asyncio.timeout(self._timeout):
                # Checked again at each attempt: the name may resolve elsewhere by now; the
                # request then goes to the address checked (no second resolution).
                parsed, addresses = await check_url(
                    url, allow_private=self._allow_private, resolver=self._resolver
                )
                target, host, server_name = pinned(parsed, addresses[0])
                origin = (parsed.parts.scheme.lower(), parsed.host, parsed.parts.port)
                async with self._pools.client(origin) as client:
                    return await send_attempt(
                        client,
                        target,
                        body=body,
                        headers={**headers, "host": host},
                        server_name=server_name,
                    )
        except UnsafeUrl as refused:
            return Outcome(error=f"Not sent: {refused}", final=refused.permanent)
        except TimeoutError:
            return Outcome(error=f"No answer within {self._timeout:g} s.")
        except httpx.HTTPError as failure:
            return Outcome(
                error=f"Request failed: {type(failure).__name__}: {failure}"[:ERROR_MAX_LENGTH]
            )
        except Exception as failure:
            # Whatever else a URL or an answer can make the client raise ends this attempt,
            # never the delivery's lane (which would leave it pending, blocking its setup).
            logger.warning("webhook attempt failed unexpectedly: %r", failure)
            return Outcome(error=f"Request failed: {type(failure).__name__}.")


async def send_attempt(
    client: httpx.AsyncClient,
    target: str,
    *,
    body: bytes,
    headers: dict[str, str],
    server_name: str,
) -> Outcome:
    """POST and read at most ANSWER_MAX_BYTES of the answer; leaving early drops the
    connection (httpx closes one whose answer was not read to its end)."""
    request = client.build_request(
        "POST", target, content=body, headers=headers, extensions={"sni_hostname": server_name}
    )
    response = await client.send(request, stream=True)
    try:
        read = 0
        async for chunk in response.aiter_raw():
            read += len(chunk)
            if read >= ANSWER_MAX_BYTES:
                break
    finally:
        await response.aclose()
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(code)
    if response.is_redirect:
        return Outcome(code, "Redirects are not followed: point the URL at the target.")
    return Outcome(code, f"The receiver answered {code}.")
