"""SQL of webhook delivery: claims of due attempts and their outcomes.

On PostgreSQL the claim and the outcome also come as one statement each on the driver's pool
(`*_driver`): the claim's UPDATE and its SELECT, and a transaction's BEGIN and COMMIT, were
four round trips per attempt, and building the claim's statement in SQLAlchemy took a quarter
to two fifths of the worker's CPU in S8 (bench/README.md). The SQL says the same as the
SQLAlchemy form above it, which SQLite runs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from email_channels.db.clock import database_now
from email_channels.db.driver import DriverPool
from email_channels.webhooks.models import Delivery, DeliveryStatus, Event, Webhook

PENDING = DeliveryStatus.PENDING.value


@dataclass(frozen=True, slots=True)
class ClaimedAttempt:
    """A claimed delivery with what its attempt needs: the webhook's URL and secret, the event."""

    id: uuid.UUID
    webhook_id: uuid.UUID
    attempts: int
    event_id: str
    url: str
    secret: str
    type: str
    occurred_at: datetime
    data: dict[str, Any]


async def claim_due(
    session: AsyncSession,
    *,
    token: uuid.UUID,
    limit: int,
    seconds: float,
    webhook_id: uuid.UUID | None = None,
) -> list[ClaimedAttempt]:
    """Claim up to `limit` due attempts, fairly: (delivery, webhook url and secret, event) rows.

    At most one per webhook, and none of a webhook with an attempt in flight: one webhook
    has at most one attempt running. Round robin across workspaces: every workspace's first
    due webhook comes before any workspace's second. A delivery waits while an earlier event
    of the same setup is still pending for the same webhook: events of one setup reach a
    webhook in the order they happened. `webhook_id`: that webhook's next one only.
    """
    now = database_now()
    free = or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at < now)
    earlier = aliased(Delivery)
    blocked = exists().where(
        earlier.webhook_id == Delivery.webhook_id,
        earlier.setup_id == Delivery.setup_id,
        earlier.event_seq < Delivery.event_seq,
        earlier.status == PENDING,
    )
    # The webhooks with an attempt in flight, found once per claim (uncorrelated: a correlated
    # EXISTS scanned every delivery for each due one, 0.8 s per claim with 10,000 due, S8).
    busy = aliased(Delivery)
    in_flight = Delivery.webhook_id.in_(
        select(busy.webhook_id).where(busy.lease_token.is_not(None), busy.lease_expires_at >= now)
    )
    due = (
        select(
            Delivery.id,
            Delivery.event_seq,
            Webhook.workspace_id,
            func.row_number()
            .over(partition_by=Delivery.webhook_id, order_by=Delivery.event_seq)
            .label("in_webhook"),
        )
        .join(Webhook, Webhook.id == Delivery.webhook_id)
        .where(
            Delivery.status == PENDING,
            Delivery.next_attempt_at <= now,
            free,
            ~blocked,
            ~in_flight,
            *([Delivery.webhook_id == webhook_id] if webhook_id is not None else []),
        )
        .subquery()
    )
    heads = (
        select(
            due.c.id,
            due.c.event_seq,
            func.row_number()
            .over(partition_by=due.c.workspace_id, order_by=due.c.event_seq)
            .label("turn"),
        )
        .where(due.c.in_webhook == 1)
        .subquery()
    )
    chosen = select(heads.c.id).order_by(heads.c.turn, heads.c.event_seq).limit(limit)
    # The window functions cannot take row locks themselves; the rows they chose do.
    candidates = (
        select(Delivery.id)
        .where(Delivery.id.in_(chosen))
        .with_for_update(skip_locked=True, of=Delivery)
    )
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(candidates), Delivery.status == PENDING, free)
        .values(lease_token=token, lease_expires_at=database_now(seconds))
        .execution_options(synchronize_session=False)
    )
    rows = await session.execute(
        select(
            Delivery.id,
            Delivery.webhook_id,
            Delivery.attempts,
            Delivery.event_id,
            Webhook.url,
            Webhook.secret,
            Event.type,
            Event.occurred_at,
            Event.data,
        )
        .join(Webhook, Webhook.id == Delivery.webhook_id)
        .join(Event, Event.seq == Delivery.event_seq)
        .where(Delivery.lease_token == token)
        .order_by(Delivery.event_seq)
    )
    return [ClaimedAttempt(**row._asdict()) for row in rows]


_NOW = "clock_timestamp()"
_FREE = f"(d.lease_expires_at IS NULL OR d.lease_expires_at < {_NOW})"
_UNBLOCKED = (
    "NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.webhook_id = d.webhook_id"
    " AND e.setup_id = d.setup_id AND e.event_seq < d.event_seq"
    f" AND e.status = '{PENDING}')"
)
_IN_FLIGHT = (
    "SELECT b.webhook_id FROM deliveries b"
    f" WHERE b.lease_token IS NOT NULL AND b.lease_expires_at >= {_NOW}"
)


def _lock_and_claim(token: str, seconds: str) -> str:
    """The CTEs `locked` and `claimed` that lease the rows of `chosen` to `token` for
    `seconds` (parameter placeholders)."""
    return (
        " locked AS (SELECT id FROM deliveries WHERE id IN (SELECT id FROM chosen)"
        " FOR UPDATE SKIP LOCKED),"
        f" claimed AS (UPDATE deliveries d SET lease_token = {token},"
        f" lease_expires_at = {_NOW} + make_interval(secs => {seconds}::float8)"
        f" WHERE d.id IN (SELECT id FROM locked) AND d.status = '{PENDING}' AND {_FREE}"
        " RETURNING d.id, d.webhook_id, d.attempts, d.event_id, d.event_seq)"
    )


# What an attempt needs of each claimed row (the fields of ClaimedAttempt).
_CLAIMED_ROWS = (
    "SELECT claimed.id, claimed.webhook_id, claimed.attempts, claimed.event_id,"
    " webhooks.url, webhooks.secret, events.type, events.occurred_at,"
    " events.data::text AS data"
    " FROM claimed JOIN webhooks ON webhooks.id = claimed.webhook_id"
    " JOIN events ON events.seq = claimed.event_seq"
)


def _claim_sql(chosen: str) -> str:
    """`claim_due` as one statement: $1 token, $2 seconds, `chosen` the ids to claim."""
    return f"WITH {chosen},{_lock_and_claim('$1', '$2')} {_CLAIMED_ROWS} ORDER BY claimed.event_seq"


# The fair claim: every webhook's first due delivery, workspaces in turn ($3 of them). Each
# webhook's first is found on the pending index (a lateral LIMIT 1, as a lane's claim finds
# it) rather than by numbering all due deliveries: 12 ms -> under 1 ms with 10,000 due (S8).
_CLAIM_SQL = _claim_sql(
    "heads AS (SELECT first.id, first.event_seq,"
    " row_number() OVER (PARTITION BY w.workspace_id ORDER BY first.event_seq) AS turn"
    f" FROM webhooks w CROSS JOIN LATERAL (SELECT d.id, d.event_seq FROM deliveries d"
    f" WHERE d.webhook_id = w.id AND d.status = '{PENDING}' AND d.next_attempt_at <= {_NOW}"
    f" AND {_FREE} AND {_UNBLOCKED} ORDER BY d.event_seq LIMIT 1) first"
    f" WHERE w.id NOT IN ({_IN_FLIGHT})),"
    " chosen AS (SELECT id FROM heads ORDER BY turn, event_seq LIMIT $3)"
)
# A lane's claim: its webhook's ($3) first due delivery, by the same rules (one is all a
# webhook gets). In event order on the pending index, it stops at the first that qualifies.
_CLAIM_ONE_WEBHOOK_SQL = _claim_sql(
    "chosen AS (SELECT d.id FROM deliveries d"
    f" WHERE d.webhook_id = $3 AND d.status = '{PENDING}' AND d.next_attempt_at <= {_NOW}"
    f" AND {_FREE} AND {_UNBLOCKED} AND $3 NOT IN ({_IN_FLIGHT})"
    " ORDER BY d.event_seq LIMIT 1)"
)


async def claim_due_driver(
    driver: DriverPool,
    *,
    token: uuid.UUID,
    limit: int,
    seconds: float,
    webhook_id: uuid.UUID | None = None,
) -> list[ClaimedAttempt]:
    """`claim_due` in one statement on the driver's pool (PostgreSQL)."""
    if webhook_id is None:
        rows = await driver.fetch(_CLAIM_SQL, token, seconds, limit)
    elif limit > 0:
        rows = await driver.fetch(_CLAIM_ONE_WEBHOOK_SQL, token, seconds, webhook_id)
    else:
        rows = []
    return [ClaimedAttempt(**{**dict(row), "data": orjson.loads(row["data"])}) for row in rows]


async def finish_attempt(
    session: AsyncSession,
    *,
    delivery_id: uuid.UUID,
    token: uuid.UUID,
    status: DeliveryStatus,
    status_code: int | None,
    error: str | None,
    retry_in: float | None,
    delivered_at: datetime | None,
) -> bool:
    """Record one attempt and release the claim, if this worker still holds it."""
    values: dict[str, Any] = {
        "status": status.value,
        "attempts": Delivery.attempts + 1,
        "last_status_code": status_code,
        "last_error": error,
        "next_attempt_at": None if retry_in is None else database_now(retry_in),
        "delivered_at": delivered_at,
        # Delivered or failed for good: the retention purge counts from here.
        "ended_at": None if status is DeliveryStatus.PENDING else database_now(),
        "lease_token": None,
        "lease_expires_at": None,
    }
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.lease_token == token)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


_FINISH_SQL = (
    "UPDATE deliveries SET status = $3::varchar, attempts = attempts + 1, last_status_code = $4,"
    " last_error = $5, next_attempt_at = CASE WHEN $6::float8 IS NULL THEN NULL"
    " ELSE clock_timestamp() + make_interval(secs => $6::float8) END,"
    " delivered_at = $7, ended_at = CASE WHEN $3::varchar = 'pending' THEN NULL"
    " ELSE clock_timestamp() END, lease_token = NULL, lease_expires_at = NULL"
    " WHERE id = $1 AND lease_token = $2"
)


async def finish_attempt_driver(
    driver: DriverPool,
    *,
    delivery_id: uuid.UUID,
    token: uuid.UUID,
    status: DeliveryStatus,
    status_code: int | None,
    error: str | None,
    retry_in: float | None,
    delivered_at: datetime | None,
) -> bool:
    """`finish_attempt` in one statement on the driver's pool (PostgreSQL)."""
    result = await driver.execute(
        _FINISH_SQL, delivery_id, token, status.value, status_code, error, retry_in, delivered_at
    )
    return result == "UPDATE 1"


# A lane's finish and its next claim in one statement: `_FINISH_SQL`, then, only if this lane
# still held the delivery, `_CLAIM_ONE_WEBHOOK_SQL` for the same webhook. The statement sees
# the rows as they were before it: the delivery being finished still looks leased and pending
# there, so the claim leaves it out of the attempts in flight, out of the candidates, and
# (unless it goes back to pending for a retry) out of the earlier events that block a later
# one of its setup. $1-$7 as `_FINISH_SQL`, $8 the new token, $9 seconds, $10 the webhook.
_FINISH_AND_CLAIM_SQL = (
    "WITH finished AS (" + _FINISH_SQL + " RETURNING id),"
    " chosen AS (SELECT d.id FROM deliveries d"
    f" WHERE EXISTS (SELECT 1 FROM finished) AND d.webhook_id = $10 AND d.id <> $1"
    f" AND d.status = '{PENDING}' AND d.next_attempt_at <= {_NOW} AND {_FREE}"
    " AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.webhook_id = d.webhook_id"
    " AND e.setup_id = d.setup_id AND e.event_seq < d.event_seq"
    f" AND e.status = '{PENDING}' AND (e.id <> $1 OR $3::varchar = '{PENDING}'))"
    f" AND $10 NOT IN (SELECT b.webhook_id FROM deliveries b WHERE b.id <> $1"
    f" AND b.lease_token IS NOT NULL AND b.lease_expires_at >= {_NOW})"
    " ORDER BY d.event_seq LIMIT 1),"
    + _lock_and_claim("$8", "$9")
    + " SELECT (SELECT count(*) FROM finished) AS finished, next.* FROM (SELECT 1) one"
    f" LEFT JOIN ({_CLAIMED_ROWS}) next ON true"
)


async def finish_and_claim_driver(
    driver: DriverPool,
    *,
    delivery_id: uuid.UUID,
    token: uuid.UUID,
    status: DeliveryStatus,
    status_code: int | None,
    error: str | None,
    retry_in: float | None,
    delivered_at: datetime | None,
    next_token: uuid.UUID,
    seconds: float,
    webhook_id: uuid.UUID,
) -> tuple[bool, ClaimedAttempt | None]:
    """`finish_attempt_driver`, then `claim_due_driver` of the webhook's next, in one statement.

    (whether the attempt was recorded, the webhook's next claimed delivery or None). Nothing
    is claimed when this lane no longer held the delivery. A lane's two round trips per
    attempt were a fifth of the worker's CPU in S8 (bench/README.md).
    """
    row = await driver.fetchrow(
        _FINISH_AND_CLAIM_SQL,
        delivery_id,
        token,
        status.value,
        status_code,
        error,
        retry_in,
        delivered_at,
        next_token,
        seconds,
        webhook_id,
    )
    recorded = row is not None and int(row["finished"]) == 1
    if row is None or row["id"] is None:
        return recorded, None
    claimed = {key: row[key] for key in ClaimedAttempt.__slots__}
    return recorded, ClaimedAttempt(**{**claimed, "data": orjson.loads(row["data"])})
