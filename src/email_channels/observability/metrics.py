"""Every Prometheus metric of the service, defined once, and the exposition of /metrics.

Label values are bounded by construction: routes are templates, methods and outcomes come
from fixed sets. With `PROMETHEUS_MULTIPROC_DIR` set (`serve --workers N` sets it before any
worker imports this module), values live in files there and /metrics adds up every process.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from botocore.exceptions import ClientError
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from email_channels.errors import AppError, UpstreamTimeout, UpstreamUnreachable
from email_channels.observability.serving import MULTIPROC_DIR_VARIABLE

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST

# Seconds; DNS checks run up to DNS_LIFETIME (4 s) and SES operations up to 10 s.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "email_channels_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "email_channels_http_request_duration_seconds",
    "Time from the request's arrival to the end of its answer.",
    ["method", "route"],
    buckets=DURATION_BUCKETS,
)
SES_CALLS = Counter(
    "email_channels_ses_calls",
    "SES operations, each counted once with the outcome of its last attempt.",
    ["operation", "outcome"],
)
DNS_LOOKUPS = Counter(
    "email_channels_dns_lookups",
    "DNS queries made by checks, by record type and outcome.",
    ["rdtype", "outcome"],
)
WEBHOOK_DELIVERIES = Counter(
    "email_channels_webhook_deliveries",
    "Webhook delivery attempts by outcome.",
    ["outcome"],
)
DB_POOL_IN_USE = Gauge(
    "email_channels_db_pool_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)
DNS_CHECKS_IN_FLIGHT = Gauge(
    "email_channels_dns_checks_in_flight",
    "Live DNS checks of setups running now.",
    multiprocess_mode="livesum",
)

# Known up front, so that the family shows with its label before the first delivery.
WEBHOOK_OUTCOMES = ("delivered", "retrying", "failed")
for _outcome in WEBHOOK_OUTCOMES:
    WEBHOOK_DELIVERIES.labels(outcome=_outcome)

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
DNS_RDTYPES = frozenset({"A", "AAAA", "CNAME", "MX", "TXT"})
# As the SES adapter's retry rule has them (kept apart: the adapter imports this module).
THROTTLING_CODES = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "LimitExceededException"}
)


def method_label(method: str) -> str:
    """The method, or "other" for a made-up one: clients must not grow the label set."""
    return method if method in HTTP_METHODS else "other"


def count_dns_lookup(*, rdtype: str, outcome: str) -> None:
    """Count one DNS query."""
    _dns_lookups(rdtype if rdtype in DNS_RDTYPES else "other", outcome).inc()


@functools.cache  # bounded label values; `labels()` takes a lock and checks on every call
def _dns_lookups(rdtype: str, outcome: str) -> Any:
    return DNS_LOOKUPS.labels(rdtype=rdtype, outcome=outcome)


def ses_outcome(error: BaseException | None) -> str:
    """The outcome label of an SES operation that ended with `error` (None: it succeeded).

    ok, error (SES refused it: a 4xx such as AlreadyExists or NotFound), throttled,
    unavailable (a 5xx or another failure), timeout, unreachable (connection refused),
    cancelled (the request that needed it went away).
    """
    if error is None:
        return "ok"
    if isinstance(error, asyncio.CancelledError):
        return "cancelled"
    if isinstance(error, UpstreamTimeout):
        return "timeout"
    if isinstance(error, UpstreamUnreachable):
        return "unreachable"
    cause = error.__cause__
    if isinstance(cause, ClientError):
        code = str(cause.response.get("Error", {}).get("Code", ""))
        status = int(cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in THROTTLING_CODES:
            return "throttled"
        return "unavailable" if status >= 500 or status == 0 else "error"
    if isinstance(error, AppError) and error.status < 500:
        return "error"
    return "unavailable"


CallT = TypeVar("CallT", bound=Callable[..., Awaitable[Any]])


def count_ses_call(call: CallT) -> CallT:
    """Decorate the SES adapter's `_call(self, operation, ...)`: one count per operation."""

    @functools.wraps(call)
    async def counted(self: Any, operation: str, *args: Any, **kwargs: Any) -> Any:
        outcome = "unavailable"
        try:
            result = await call(self, operation, *args, **kwargs)
        except BaseException as error:
            outcome = ses_outcome(error)
            raise
        else:
            outcome = "ok"
            return result
        finally:
            SES_CALLS.labels(operation=operation, outcome=outcome).inc()

    return cast(CallT, counted)


def instrument_pool(engine: AsyncEngine) -> None:
    """Keep DB_POOL_IN_USE in step with the engine's checkouts and checkins."""
    pool = engine.sync_engine.pool
    event.listen(pool, "checkout", lambda *_: DB_POOL_IN_USE.inc())
    event.listen(pool, "checkin", lambda *_: DB_POOL_IN_USE.dec())


def multiprocess_dir() -> str | None:
    """Where the worker processes keep their values, when several serve one port."""
    return os.environ.get(MULTIPROC_DIR_VARIABLE) or None


def exposition() -> bytes:
    """The Prometheus text of this process, or of every worker in multiprocess mode."""
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def forget_this_process() -> None:
    """Drop this process's live gauges from the shared directory when it stops."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
