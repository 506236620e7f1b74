"""What a finished DNS check changes beyond its results: schedule, hysteresis, events."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from email_channels.ses_setups import background_repository as background
from email_channels.ses_setups.dns_check import all_verified, check_complete
from email_channels.ses_setups.models import SesSetup
from email_channels.ses_setups.schedule import Schedule, definite_failure
from email_channels.ses_setups.verification import RecordResult
from email_channels.webhooks.outbox import EventType, record_event


def next_check(
    setup: SesSetup,
    results: list[RecordResult],
    *,
    was_verified: bool,
    background_check: bool,
    schedule: Schedule,
) -> tuple[float, float]:
    """(seconds until the next check, interval to store) after this check of `setup`."""
    # A check that got no answer for some record backs off like an unverified one: DNS
    # may be down, and hammering it helps nobody.
    complete = check_complete(results)
    return schedule.after_check(
        interval=setup.check_interval or 0.0,
        verified=all_verified(results) and complete,
        was_verified=was_verified and complete,
        background=background_check,
    )


async def record_check_outcome(
    session: AsyncSession,
    *,
    setup: SesSetup,
    results: list[RecordResult],
    was_verified: bool,
    background_check: bool,
    schedule: Schedule,
) -> None:
    """In the check's transaction: when the next check is due, and the events it causes.

    `ses_setup.verified` fires when the announced state flips on (whoever's check saw it);
    `ses_setup.unverified` only after UNVERIFY_AFTER consecutive background checks that saw
    a record missing or mismatched (`unknown` neither counts nor resets).
    """
    verified = all_verified(results)
    if verified and await background.announce_verified(session, setup.id):
        await record_event(session, event_type=EventType.VERIFIED, setup=setup)
    due_in, interval = next_check(
        setup,
        results,
        was_verified=was_verified,
        background_check=background_check,
        schedule=schedule,
    )
    if verified:
        mode = "reset"
    elif background_check and definite_failure(results):
        mode = "count"
    else:
        mode = "keep"
    failed = await background.schedule_next_check(
        session, setup_id=setup.id, due_in=due_in, interval=interval, failed_checks=mode
    )
    if (
        mode == "count"
        and failed is not None
        and failed >= schedule.unverify_after
        and await background.announce_unverified(session, setup.id)
    ):
        await record_event(session, event_type=EventType.UNVERIFIED, setup=setup)
