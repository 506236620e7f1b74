"""The SES side of a setup's life: the create saga, the teardown, and reconcile.

A create is a saga: the row is written first (`provisioning`, its unique constraints reserving
the names), then SES is called; each step that may have been applied is recorded on the row
before the next one starts, and a failure undoes them in reverse order. A delete marks the row
`deleting`, tears SES down, then removes the row. Every SES delete is idempotent (NotFound counts
as done), so `reconcile` can finish whatever a crash or an SES outage interrupted.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from email_channels.db.base import utc_now
from email_channels.db.engine import Database
from email_channels.errors import AppError, Conflict, InvalidInput, NotFound, UpstreamUnreachable
from email_channels.integrations.ses import SesGateway, identity_arn
from email_channels.ses_setups import repository
from email_channels.ses_setups.models import SesSetup, SetupState

logger = logging.getLogger(__name__)

TENANT, IDENTITY, ASSOCIATION = "tenant", "identity", "association"


@dataclass
class Reconciled:
    """What one `reconcile` run did, by setup id."""

    rolled_back: list[uuid.UUID] = field(default_factory=list)
    deleted: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)


def _maybe_applied(error: BaseException) -> bool:
    # A refusal (already exists, bad request) or an unreachable endpoint applied nothing;
    # a timeout or a 5xx may have, so the compensation deletes (idempotently) to be sure.
    return not isinstance(error, (Conflict, InvalidInput, UpstreamUnreachable))


async def _all(*steps: Awaitable[Any]) -> list[Any]:
    """Run steps concurrently and wait for every one of them; then raise the first failure.

    Waiting for all keeps the saga's order honest: nothing is undone while a sibling step is
    still in flight.
    """
    outcomes = await asyncio.gather(*steps, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes


class SetupLifecycle:
    """Creates and deletes the SES resources of setups, recording each step in the row."""

    def __init__(self, *, db: Database, ses: SesGateway) -> None:
        self._db = db
        self._ses = ses

    async def create(self, setup: SesSetup) -> None:
        """Insert `setup` and provision it in SES; on failure undo, then raise."""
        setup.provisioning_steps = [TENANT, IDENTITY]  # the intent, before SES is touched
        async with self._db.transaction() as session:
            await repository.insert_setup(session, setup)
        try:
            await self._provision(setup)
        except AppError:
            await self._undo_create(setup)
            raise
        async with self._db.transaction() as session:
            await repository.update_setup(
                session,
                setup.id,
                state=SetupState.ACTIVE.value,
                state_changed_at=utc_now(),
                dkim_tokens=setup.dkim_tokens,
                signing_hosted_zone=setup.signing_hosted_zone,
            )
        setup.state = SetupState.ACTIVE.value

    async def _provision(self, setup: SesSetup) -> None:
        tenant, identity = await asyncio.gather(
            self._ses.create_tenant(setup.tenant_name),
            self._ses.create_domain_identity(setup.domain_identity),
            return_exceptions=True,
        )
        failure = next((o for o in (tenant, identity) if isinstance(o, BaseException)), None)
        if failure is not None:
            setup.provisioning_steps = [
                step
                for step, outcome in ((TENANT, tenant), (IDENTITY, identity))
                if not isinstance(outcome, BaseException) or _maybe_applied(outcome)
            ]
            raise failure
        assert not isinstance(tenant, BaseException)
        assert not isinstance(identity, BaseException)
        setup.tenant_arn = tenant.arn
        setup.identity_arn = identity_arn(tenant_arn=tenant.arn, domain=setup.domain_identity)
        setup.dkim_tokens = list(identity.dkim_tokens)
        setup.signing_hosted_zone = identity.signing_hosted_zone
        setup.provisioning_steps = [TENANT, IDENTITY, ASSOCIATION]
        async with self._db.transaction() as session:
            await repository.update_setup(
                session,
                setup.id,
                tenant_arn=setup.tenant_arn,
                identity_arn=setup.identity_arn,
                provisioning_steps=setup.provisioning_steps,
            )
        await _all(
            self._ses.put_mail_from(
                domain=setup.domain_identity, mail_from_domain=setup.mail_from_domain
            ),
            self._ses.associate(tenant_name=setup.tenant_name, resource_arn=setup.identity_arn),
        )

    async def _undo_create(self, setup: SesSetup) -> bool:
        """Compensate the recorded steps in reverse; the row goes only once SES is clean."""
        steps = setup.provisioning_steps
        try:
            if ASSOCIATION in steps and setup.identity_arn:
                await self._ses.disassociate(
                    tenant_name=setup.tenant_name, resource_arn=setup.identity_arn
                )
            undo = []
            if IDENTITY in steps:
                undo.append(self._ses.delete_domain_identity(setup.domain_identity))
            if TENANT in steps:
                undo.append(self._ses.delete_tenant(setup.tenant_name))
            await _all(*undo)
        except AppError:
            # The row stays `provisioning` with what may remain in SES, for `reconcile`.
            logger.exception("create of %s: compensation failed", setup.id)
            async with self._db.transaction() as session:
                await repository.update_setup(session, setup.id, provisioning_steps=steps)
            return False
        async with self._db.transaction() as session:
            await repository.delete_setup(session, setup.id)
        return True

    async def delete(self, *, workspace_id: str, setup_id: uuid.UUID) -> None:
        """Tear down the SES resources, then forget the setup; refused while referenced."""
        async with self._db.transaction() as session:
            setup, referenced = await repository.begin_delete(
                session, workspace_id=workspace_id, setup_id=setup_id
            )
            if setup is None:
                raise NotFound("No SES setup with this id in this workspace.")
            if referenced:
                raise Conflict(
                    "The SES setup is still referenced by use cases; delete those first."
                )
        # On failure the row stays `deleting`: readable and unchanged for clients, closed to
        # new use cases (part of it may be gone from SES), finished by a retry or `reconcile`.
        await self._tear_down(setup)
        async with self._db.transaction() as session:
            await repository.delete_setup(session, setup.id)

    async def _tear_down(self, setup: SesSetup) -> None:
        if setup.identity_arn:
            await self._ses.disassociate(
                tenant_name=setup.tenant_name, resource_arn=setup.identity_arn
            )
        await _all(
            self._ses.delete_domain_identity(setup.domain_identity),
            self._ses.delete_tenant(setup.tenant_name),
        )

    async def reconcile(self, *, older_than: timedelta) -> Reconciled:
        """Roll back creates and finish deletes that stopped half-way (crash, lost undo).

        Only setups in that state for `older_than` are taken, so that a create or delete still
        running in another process is left alone.
        """
        before = utc_now() - older_than
        async with self._db.read() as connection:
            creating = await repository.stale(
                connection, state=SetupState.PROVISIONING, since_before=before
            )
            deleting = await repository.stale(
                connection, state=SetupState.DELETING, since_before=before
            )
        report = Reconciled()
        for setup in creating:
            done = await self._undo_create(setup)
            (report.rolled_back if done else report.failed).append(setup.id)
        for setup in deleting:
            try:
                await self._tear_down(setup)
            except AppError:
                logger.exception("reconcile: teardown of %s failed", setup.id)
                report.failed.append(setup.id)
                continue
            async with self._db.transaction() as session:
                await repository.delete_setup(session, setup.id)
            report.deleted.append(setup.id)
        return report
