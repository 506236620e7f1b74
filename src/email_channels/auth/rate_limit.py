"""Requests per minute per API key, with the `limits` library.

A moving window: at most RATE_LIMIT requests of one key in any 60 seconds, never the double
that a fixed window lets through around its boundary. The counters live in the storage that
RATE_LIMIT_STORAGE_URI names: `memory://` (per process) or `redis://...` (shared).
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import Request

from email_channels.auth.moving_window import MemoryMovingWindow
from email_channels.errors import AppError
from email_channels.observability.middleware import add_response_headers

if TYPE_CHECKING:
    from redis.asyncio import ConnectionPool

logger = logging.getLogger(__name__)

NAMESPACE = "email-channels:api-key"
_REDIS_SCHEMES = frozenset({"redis", "rediss"})
_MEMORY_SCHEMES = frozenset({"memory", "async+memory"})


class TooManyRequests(AppError):
    status = 429
    title = "Too many requests"


@dataclass(frozen=True, slots=True)
class RateLimitStatus:
    """Where one key stands after a request was counted (or refused)."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the window frees a request, as the IETF draft's RateLimit-Reset

    def headers(self) -> dict[str, str]:
        """RateLimit-* on every answer; Retry-After too when the request was refused."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_seconds))
        return headers


class RateLimiter:
    """The per-key limiter of one process; built and closed in the app's lifespan."""

    def __init__(self, *, per_minute: int, storage_uri: str) -> None:
        self._per_minute = per_minute
        scheme = urlsplit(storage_uri).scheme
        self._pool: ConnectionPool | None = None
        self._limiter: Any = None
        self._item: Any = None
        # One process's counts: ours, cheap (auth/moving_window.py); shared ones: `limits`,
        # imported only then (it and the Redis client weigh about 7 MB in every process).
        self._memory = MemoryMovingWindow(per_minute) if scheme in _MEMORY_SCHEMES else None
        if self._memory is None:
            self._limiter, self._item, self._pool = _shared_limiter(per_minute, storage_uri)

    async def hit(self, key_id: uuid.UUID) -> RateLimitStatus | None:
        """Count one request of `key_id`; None when the storage failed (the request passes)."""
        identity = str(key_id)
        if self._memory is not None:
            allowed, remaining, reset_at = self._memory.hit(identity)
            return RateLimitStatus(
                allowed=allowed,
                limit=self._per_minute,
                remaining=remaining,
                reset_seconds=max(0, math.ceil(reset_at - time.time())),
            )
        try:
            allowed = await self._limiter.hit(self._item, NAMESPACE, identity)
            stats = await self._limiter.get_window_stats(self._item, NAMESPACE, identity)
        except Exception as error:
            # Failing open: an outage of the counter store must not take the API down with it.
            logger.warning("rate limit storage failed; request not counted: %r", error)
            return None
        return RateLimitStatus(
            allowed=allowed,
            limit=self._per_minute,
            remaining=max(0, stats.remaining),
            reset_seconds=max(0, math.ceil(stats.reset_time - time.time())),
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.disconnect()


def _shared_limiter(per_minute: int, storage_uri: str) -> tuple[Any, Any, ConnectionPool | None]:
    """A `limits` moving window on the storage the URI names (Redis: our own pool)."""
    from limits import RateLimitItemPerMinute
    from limits.aio.strategies import MovingWindowRateLimiter
    from limits.storage import storage_from_string
    from redis.asyncio import ConnectionPool

    pool: ConnectionPool | None = None
    options: dict[str, object] = {}
    if urlsplit(storage_uri).scheme in _REDIS_SCHEMES:
        # Our own pool, so that the lifespan can close its connections.
        pool = ConnectionPool.from_url(storage_uri)
        options = {"implementation": "redispy", "connection_pool": pool}
    uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
    storage = storage_from_string(uri, **options)  # type: ignore[arg-type]
    return MovingWindowRateLimiter(storage), RateLimitItemPerMinute(per_minute), pool


def rate_limiter(*, per_minute: int, storage_uri: str) -> RateLimiter | None:
    """The limiter for the settings; None when RATE_LIMIT is 0 (off)."""
    if per_minute <= 0:
        return None
    return RateLimiter(per_minute=per_minute, storage_uri=storage_uri)


async def enforce_rate_limit(request: Request, key_id: uuid.UUID) -> None:
    """Count the request against its key; 429 over the limit. The answer gets RateLimit-*."""
    limiter = getattr(request.app.state, "rate_limiter", None)
    if not isinstance(limiter, RateLimiter):
        return
    status = await limiter.hit(key_id)
    if status is None:
        return
    add_response_headers(request, status.headers())
    if not status.allowed:
        raise TooManyRequests(
            f"More than {status.limit} requests in a minute with this API key; "
            f"retry in {max(1, status.reset_seconds)} seconds."
        )
