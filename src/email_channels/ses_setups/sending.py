"""A setup's sending: SES's reputation entity of its tenant, paused and resumed by either side.

The workspace pauses and resumes through the tenant's customer-managed status; SES pauses a
tenant on its own through its managed status when reputation findings cross the policy's
thresholds. What the detail shows is stored on the row: read from SES by the worker (paced
with the SES status) and after each change here, never on a GET. A change of the status,
whoever's read sees it, writes `ses_setup.sending_paused` or `ses_setup.sending_resumed` in
the same transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from email_channels.db.engine import Database
from email_channels.errors import Conflict, UpstreamUnavailable
from email_channels.integrations.ses import Reputation, SesGateway, SesRegions
from email_channels.ses_setups import sending_repository as repository
from email_channels.ses_setups.models import SesSetup, SetupState
from email_channels.webhooks.outbox import EventType, record_event

logger = logging.getLogger(__name__)

ENABLED, PAUSED = "enabled", "paused"
BY_WORKSPACE, BY_SES = "workspace", "ses"


def sending_json(setup: SesSetup) -> dict[str, Any]:
    """The detail's `sending`, as the last read of SES left it."""
    return {
        "status": setup.sending_status or ENABLED,
        "paused_by": setup.sending_paused_by,
        "cause": setup.sending_cause,
        "reputation_policy": setup.reputation_policy,
        "reputation_impact": setup.reputation_impact,
        "checked_at": setup.sending_checked_at,
    }


def sending_values(reputation: Reputation) -> dict[str, Any]:
    """The row's sending columns for what SES reports.

    SES's pause wins over the workspace's: while SES holds a tenant, resuming is not the
    workspace's to do, and that is what the customer needs to know.
    """
    if reputation.ses_status == "DISABLED":
        status, paused_by, cause = PAUSED, BY_SES, reputation.ses_cause
    elif reputation.customer_status == "DISABLED":
        status, paused_by, cause = PAUSED, BY_WORKSPACE, reputation.customer_cause
    else:
        status, paused_by, cause = ENABLED, None, None
    return {
        "sending_status": status,
        "sending_paused_by": paused_by,
        "sending_cause": cause,
        "reputation_policy": reputation.policy,
        "reputation_impact": reputation.impact.lower() if reputation.impact else None,
    }


async def store_sending(
    db: Database, *, setup: SesSetup, reputation: Reputation, by: str | None
) -> SesSetup | None:
    """Store what SES reports, with the event when the status changed; the row after.

    `by`: who made the change (`workspace` for a pause or resume through the API); None for
    a refresh, where the side whose status changed is who paused or resumed.
    """
    values = sending_values(reputation)
    async with db.transaction() as session:
        before = await repository.lock_sending(session, setup.id)
        if before is None:
            return None  # deleted meanwhile
        row = await repository.store_sending(session, setup_id=setup.id, values=values)
        if row is None:
            return None
        stored = SesSetup(**row._asdict())
        old_status, old_paused_by = before
        new_status = values["sending_status"]
        if new_status != old_status:
            paused = new_status == PAUSED
            actor = by or (values["sending_paused_by"] if paused else old_paused_by) or BY_SES
            await record_event(
                session,
                event_type=EventType.SENDING_PAUSED if paused else EventType.SENDING_RESUMED,
                setup=stored,
                extra={"by": actor, "cause": values["sending_cause"]},
            )
        if values["sending_paused_by"] == BY_SES and (old_status, old_paused_by) != (
            PAUSED,
            BY_SES,
        ):
            logger.warning(
                "Amazon SES paused sending of setup %s in workspace %s: %s",
                stored.id,
                stored.workspace_id,
                values["sending_cause"] or "no cause given",
            )
    return stored


class SendingControl:
    """Pause, resume and the reputation policy of setups, each read back from SES."""

    def __init__(self, *, db: Database, ses: SesRegions) -> None:
        self._db = db
        self._ses = ses

    async def set_sending(self, setup: SesSetup, *, enabled: bool) -> SesSetup:
        """Set the tenant's customer-managed status; the setup as SES now reports it."""
        ses, tenant_arn = await self._tenant(setup)
        await ses.set_sending(tenant_arn=tenant_arn, enabled=enabled)
        return await self._read_back(setup, ses, tenant_arn, by=BY_WORKSPACE)

    async def set_policy(self, setup: SesSetup, *, policy: str) -> SesSetup:
        """Apply SES's managed reputation policy `policy`; the setup as SES now reports it."""
        ses, tenant_arn = await self._tenant(setup)
        await ses.set_reputation_policy(tenant_arn=tenant_arn, policy=policy)
        return await self._read_back(setup, ses, tenant_arn, by=BY_WORKSPACE)

    async def refresh(self, setup: SesSetup) -> SesSetup | None:
        """The worker's read of the tenant's entity; None when SES has no such tenant."""
        ses, tenant_arn = await self._tenant(setup)
        reputation = await ses.get_reputation(tenant_arn)
        if reputation is None:
            return None  # the tenant is gone: reconcile's business
        return await store_sending(self._db, setup=setup, reputation=reputation, by=None)

    async def _tenant(self, setup: SesSetup) -> tuple[SesGateway, str]:
        if setup.state != SetupState.ACTIVE.value or not setup.tenant_arn:
            raise Conflict("A delete of this SES setup is in progress.")
        return await self._ses.region(setup.region), setup.tenant_arn

    async def _read_back(
        self, setup: SesSetup, ses: SesGateway, tenant_arn: str, *, by: str
    ) -> SesSetup:
        reputation = await ses.get_reputation(tenant_arn)
        if reputation is None:
            raise UpstreamUnavailable("Amazon SES no longer has the tenant of this SES setup.")
        stored = await store_sending(self._db, setup=setup, reputation=reputation, by=by)
        if stored is None:
            raise Conflict("The SES setup was deleted meanwhile.")
        return stored
