"""Events retention: an event and its deliveries go EVENT_RETENTION after the last delivery
ended (delivered or failed), or that long after the event when no webhook wanted it.

A pending delivery is never purged, nor its event, however old: it is still owed. The
worker runs the purge as one of its jobs, a batch at a time.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from email_channels.db.clock import database_now
from email_channels.db.engine import Database
from email_channels.webhooks.models import Delivery, DeliveryStatus, Event

logger = logging.getLogger(__name__)

BATCH = 500


async def purge_past_retention(session: AsyncSession, *, retention: float, limit: int) -> int:
    """Delete up to `limit` events past retention, with their deliveries; how many went."""
    cutoff = database_now(-retention)
    # A delivery that ended before this migration's column, or through a path that did
    # not record it, counts from its delivery or creation time.
    ended = func.coalesce(Delivery.ended_at, Delivery.delivered_at, Delivery.created_at)
    still_owed_or_recent = exists().where(
        Delivery.event_seq == Event.seq,
        or_(Delivery.status == DeliveryStatus.PENDING.value, ended >= cutoff),
    )
    # Every delivery ends after its event happened: the events older than the cutoff are
    # the only candidates (an index range), and each is kept while any delivery is owed.
    seqs = list(
        await session.scalars(
            select(Event.seq)
            .where(Event.occurred_at < cutoff, ~still_owed_or_recent)
            .order_by(Event.occurred_at)
            .limit(limit)
        )
    )
    if not seqs:
        return 0
    await session.execute(delete(Delivery).where(Delivery.event_seq.in_(seqs)))
    await session.execute(delete(Event).where(Event.seq.in_(seqs)))
    return len(seqs)


class EventRetention:
    """The worker's purge job: one batch per run (the loop runs it again while it finds some)."""

    def __init__(self, *, db: Database, retention: float, batch: int = BATCH) -> None:
        self._db = db
        self._retention = retention
        self._batch = batch

    async def purge(self) -> int:
        """Delete one batch of events past retention; how many went."""
        async with self._db.transaction() as session:
            purged = await purge_past_retention(
                session, retention=self._retention, limit=self._batch
            )
        if purged:
            logger.info("purged %d events past EVENT_RETENTION with their deliveries", purged)
        return purged
