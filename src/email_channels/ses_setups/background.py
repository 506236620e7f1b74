"""The worker's jobs about setups: re-checks, SES status refreshes, expiry, reconcile."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

from email_channels.db.engine import Database
from email_channels.errors import AppError
from email_channels.integrations.ses import IdentityStatus, SesRegions
from email_channels.pacing import Pacer
from email_channels.ses_setups import background_repository as repository
from email_channels.ses_setups.lifecycle import LeaseLost
from email_channels.ses_setups.models import SesSetup
from email_channels.ses_setups.schedule import SES_VERIFIED_INTERVAL
from email_channels.ses_setups.service import SesSetupService
from email_channels.webhooks.outbox import EventType, record_event

logger = logging.getLogger(__name__)


class SesStatusUnavailable(Exception):
    """SES did not answer a refresh: the job backs off (statuses keep their last values)."""


class _Referenced(Exception):
    """A use case appeared while an expiry claimed the setup: roll the claim back."""


class SetupJobs:
    """Background work on setups, each job a plain async function that answers work done."""

    def __init__(
        self,
        *,
        db: Database,
        service: SesSetupService,
        ses: SesRegions,
        ses_status_rate: float,
        unverified_ttl: float,
        reconcile_older_than: float,
        claim_seconds: float,
        batch: int = 20,
    ) -> None:
        self._db = db
        self._service = service
        self._ses = ses
        # One pace for every SES read of this process: the sweep's reads share it.
        self._pacer: Pacer = service.ses_reads
        self._ses_batch = max(1, min(batch, int(ses_status_rate * 5)))
        self._unverified_ttl = unverified_ttl
        self._reconcile_older_than = reconcile_older_than
        self._claim_seconds = claim_seconds
        self._batch = batch

    async def recheck_due(self) -> int:
        """Re-check the setups whose check is due; the check stores the next due time."""
        if self._db.driver is not None:  # one statement, no transaction around it
            setups = await repository.claim_due_checks_driver(
                self._db.driver, limit=self._batch, seconds=self._claim_seconds
            )
        else:
            async with self._db.transaction() as session:
                setups = await repository.claim_due_checks(
                    session, limit=self._batch, seconds=self._claim_seconds
                )
        outcomes = await asyncio.gather(
            *(self._service.check_in_background(setup) for setup in setups),
            return_exceptions=True,
        )
        for setup, outcome in zip(setups, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                # Its claim runs out and it is taken again: no retry storm here.
                logger.warning("re-check of %s failed: %r", setup.id, outcome)
        return len(setups)

    async def refresh_ses_status(self) -> int:
        """Read SES's verdict for the setups due, paced to SES_STATUS_RATE calls a second."""
        # The claim outlives the paced calls of the whole batch (two per setup).
        seconds = self._claim_seconds + 2 * self._ses_batch * self._pacer.gap
        async with self._db.transaction() as session:
            setups = await repository.claim_due_ses_refreshes(
                session, limit=self._ses_batch, seconds=seconds
            )
        for index, setup in enumerate(setups):
            await self._pacer.wait()
            try:
                ses = await self._ses.region(setup.region)
                status = await ses.get_identity_status(setup.domain_identity)
            except AppError as error:
                for rest in setups[index:]:
                    await self._postpone(rest)
                raise SesStatusUnavailable(str(error)) from error
            if status is None:
                await self._postpone(setup)  # the identity is gone: reconcile's business
                continue
            await self._store(setup, status)
            await self._refresh_sending(setup)
        return len(setups)

    async def _refresh_sending(self, setup: SesSetup) -> None:
        """Read the tenant's reputation entity, paced like the SES status it follows.

        A read that fails keeps the last `sending`; the next refresh tries again.
        """
        await self._pacer.wait()
        try:
            await self._service.sending.refresh(setup)
        except AppError as error:
            logger.warning("sending of %s: not refreshed, the last one stays: %s", setup.id, error)

    async def _postpone(self, setup: SesSetup) -> None:
        async with self._db.transaction() as session:
            await repository.postpone_ses_refresh(
                session, setup_id=setup.id, due_in=self._ses_interval(setup) * 2
            )

    def _ses_interval(self, setup: SesSetup) -> float:
        schedule = self._service.schedule
        return min(
            max(setup.check_interval or 0.0, schedule.check_interval_min),
            schedule.check_interval_max,
        )

    async def _store(self, setup: SesSetup, status: IdentityStatus) -> None:
        due_in = SES_VERIFIED_INTERVAL if status.verified_for_sending else self._ses_interval(setup)
        async with self._db.transaction() as session:
            flipped = status.verified_for_sending and await repository.announce_ses_verified(
                session, setup.id
            )
            row = await repository.store_ses_status(
                session,
                setup_id=setup.id,
                due_in=due_in,
                ses_verified_for_sending=status.verified_for_sending,
                ses_dkim_status=status.dkim_status,
                ses_mail_from_status=status.mail_from_status,
            )
            if flipped and row is not None:
                await record_event(
                    session, event_type=EventType.SES_VERIFIED, setup=SesSetup(**row._asdict())
                )

    async def expire_unverified(self) -> int:
        """Tear down one never-verified, unreferenced setup past UNVERIFIED_TTL, if any."""
        if self._unverified_ttl <= 0:
            return 0
        lifecycle = self._service.lifecycle
        lease = lifecycle.lease(uuid.uuid4())  # its setup id is set once claimed
        try:
            async with self._db.transaction() as session:
                setup, referenced = await repository.claim_expired(
                    session, ttl=self._unverified_ttl, token=lease.token, seconds=lease.seconds
                )
                if referenced:
                    raise _Referenced()
        except _Referenced:
            return 0
        if setup is None:
            return 0
        lease.setup_id = setup.id
        try:
            await lifecycle.finish_delete(setup, lease)  # announced `expired`
        except (AppError, LeaseLost):
            # The row stays `deleting`; reconcile finishes it once the lease runs out.
            logger.exception("expiry of %s: teardown failed", setup.id)
        return 1

    async def reconcile(self) -> int:
        """The `reconcile` command's work: stale rows, then the sweep."""
        report = await self._service.reconciler.run(
            older_than=timedelta(seconds=self._reconcile_older_than)
        )
        if not report.settled:
            logger.warning("reconcile left work unsettled: %s", report)
        return 0  # never "more work right away": it runs rarely
