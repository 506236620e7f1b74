"""The SES side of a setup's life: the create saga and the teardown, each under a lease.

One owner at a time: whoever drives a setup's SES resources (a create, a delete, reconcile)
holds the row's lease (a token and an expiry on the database's clock). It renews the lease
before each SES call that makes or removes a resource or an association (a create's MAIL
FROM, an attribute of an identity the row already records, runs beside that renewal), and
every write that ends its work is conditional on the token, so a late or duplicate actor
changes nothing.

A create writes the row first (`provisioning`, its unique constraints reserving the names),
then calls SES; each step that may have been applied is recorded on the row before the next
one starts, and a failure undoes them in reverse order. A delete marks the row `deleting`,
tears SES down, then removes the row. Before a tenant or identity is deleted its tags are read:
one tagged with another setup is never touched (fenced deletes). A delete that may have been
applied although it failed keeps its name reserved for a while (inflight.py).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Sequence
from typing import Any

from email_channels.db.engine import Database
from email_channels.db.installation import DeploymentTag
from email_channels.errors import (
    AppError,
    Conflict,
    NotFound,
    ServiceUnavailable,
    StillReferenced,
)
from email_channels.integrations.ses import (
    TAG_CREATED_AT,
    TAG_DEPLOYMENT,
    TAG_SETUP_ID,
    TAG_WORKSPACE_ID,
    SesRegions,
    identity_arn,
    maybe_applied,
)
from email_channels.pacing import Pacer
from email_channels.ses_setups import inflight, repository
from email_channels.ses_setups.inflight import DOMAIN, TENANT_NAME, DeleteInFlight
from email_channels.ses_setups.models import SesSetup, SetupState
from email_channels.ses_setups.repository import DeleteClaim
from email_channels.ses_setups.teardown import Delete, InflightDeletes, log_deletion, paced
from email_channels.ses_setups.zones import ZONE, SetupZones, is_delegated
from email_channels.webhooks.outbox import EventType, record_event

logger = logging.getLogger(__name__)

TENANT, IDENTITY, ASSOCIATION = "tenant", "identity", "association"
ALL_STEPS = (TENANT, IDENTITY, ASSOCIATION)


class LeaseLost(ServiceUnavailable):
    """Another actor took the setup over (this one looked dead): its work stops here."""

    def __init__(self) -> None:
        super().__init__(
            "The SES setup was taken over by another process while this request waited on "
            "Amazon SES; retry the request."
        )


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


def is_ours(tags: dict[str, str] | None, setup_id: uuid.UUID, *, untagged_ok: bool) -> bool:
    """Whether a resource may be deleted for this setup: it exists, and no tag names another.

    `untagged_ok`: a resource without the setup tag counts as the row's (a setup created
    before resources were tagged). Never for the undo of a create: every create tags what
    it makes, so an untagged resource of that name was there before it.
    """
    if tags is None:
        return False
    owner = tags.get(TAG_SETUP_ID)
    return owner == str(setup_id) or (owner is None and untagged_ok)


class Lease:
    """The lease one actor holds on one setup row."""

    def __init__(self, *, db: Database, setup_id: uuid.UUID, seconds: float) -> None:
        self.db = db
        self.setup_id = setup_id
        self.seconds = seconds
        self.token = uuid.uuid4()

    async def renew(self, **values: Any) -> None:
        """Extend the lease before the next round of SES calls; raise when it was taken."""
        async with self.db.autocommit() as connection:  # one statement: one round trip
            held = await repository.renew_lease(
                connection, setup_id=self.setup_id, token=self.token, seconds=self.seconds, **values
            )
        if not held:
            raise LeaseLost()

    async def end(self, announce: tuple[EventType, SesSetup] | None = None, **values: Any) -> bool:
        """Release the lease, setting `values`; False when another actor holds it now.

        `announce`: an event to write in the same transaction, if the lease still held.
        """
        async with self.db.transaction() as session:
            ended = await repository.end_lease(
                session, setup_id=self.setup_id, token=self.token, **values
            )
            if ended and announce is not None:
                await record_event(session, event_type=announce[0], setup=announce[1])
            return ended

    async def forget(self, announce: tuple[EventType, SesSetup] | None = None) -> bool:
        """Delete the row if this lease still holds it (and write `announce`, if given)."""
        async with self.db.transaction() as session:
            gone = await repository.delete_leased(session, setup_id=self.setup_id, token=self.token)
            if gone and announce is not None:
                await record_event(session, event_type=announce[0], setup=announce[1])
            return gone


# What a teardown may announce, by the value its claim recorded (anything else: deleted).
_TEARDOWN_EVENTS = {event.value: event for event in (EventType.DELETED, EventType.EXPIRED)}


class SetupLifecycle:
    """Creates and deletes the SES resources of setups, recording each step in the row."""

    def __init__(
        self,
        *,
        db: Database,
        ses: SesRegions,
        zones: SetupZones,
        deployment: DeploymentTag,
        lease_seconds: float,
        inflight_horizon: float,
    ) -> None:
        self._db = db
        self._ses = ses
        self.zones = zones
        self.deployment = deployment
        self.lease_seconds = lease_seconds
        self.deletes = InflightDeletes(db=db, inflight_horizon=inflight_horizon)

    def lease(self, setup_id: uuid.UUID) -> Lease:
        """A new lease token for `setup_id` (not yet taken)."""
        return Lease(db=self._db, setup_id=setup_id, seconds=self.lease_seconds)

    async def create(self, setup: SesSetup) -> None:
        """Insert `setup` and provision it in SES; on failure undo, then raise."""
        lease = self.lease(setup.id)
        setup.provisioning_steps = [TENANT, IDENTITY]  # the intent, before SES is touched
        if self._db.driver is not None:
            await repository.insert_leased_driver(
                self._db.driver, setup, token=lease.token, seconds=lease.seconds
            )
        else:
            async with self._db.autocommit() as connection:
                await repository.insert_leased(
                    connection, setup, token=lease.token, seconds=lease.seconds
                )
        await self._refuse_reserved(setup, lease)
        try:
            await self._provision(setup, lease)
            if is_delegated(setup):
                await self._publish_zone(setup, lease)
        except LeaseLost:
            raise  # the new holder finishes or undoes the create
        except AppError:
            await self.undo_create(setup, lease)
            raise
        if self._db.driver is not None and not is_delegated(setup):  # one round trip
            ended = await repository.activate_created_driver(
                self._db.driver, setup, token=lease.token
            )
        else:
            ended = await lease.end(
                (EventType.CREATED, setup),
                state=SetupState.ACTIVE.value,
                dkim_tokens=setup.dkim_tokens,
                signing_hosted_zone=setup.signing_hosted_zone,
                delegation_nameservers=setup.delegation_nameservers,
            )
        if not ended:
            raise LeaseLost()
        setup.state = SetupState.ACTIVE.value

    async def _refuse_reserved(self, setup: SesSetup, lease: Lease) -> None:
        """409 when a delete of the domain or tenant name may still land; the row goes."""
        if self._db.driver is not None:
            found = await inflight.reserved_driver(
                self._db.driver, domain=setup.domain_identity, tenant_name=setup.tenant_name
            )
        else:
            async with self._db.read() as connection:
                found = await inflight.reserved(
                    connection, domain=setup.domain_identity, tenant_name=setup.tenant_name
                )
        if found is not None:
            await lease.forget()
            raise DeleteInFlight(found)

    async def _tags(self, setup: SesSetup) -> dict[str, str]:
        return {
            TAG_SETUP_ID: str(setup.id),
            TAG_WORKSPACE_ID: setup.workspace_id,
            TAG_DEPLOYMENT: await self.deployment.value(),
            TAG_CREATED_AT: setup.created_at.isoformat(timespec="seconds"),
        }

    async def _provision(self, setup: SesSetup, lease: Lease) -> None:
        ses = await self._ses.region(setup.region)
        tags = await self._tags(setup)
        tenant, identity = await asyncio.gather(
            ses.create_tenant(setup.tenant_name, tags=tags),
            ses.create_domain_identity(setup.domain_identity, tags=tags),
            return_exceptions=True,
        )
        failure = next((o for o in (tenant, identity) if isinstance(o, BaseException)), None)
        if failure is not None:
            setup.provisioning_steps = [
                step
                for step, outcome in ((TENANT, tenant), (IDENTITY, identity))
                if not isinstance(outcome, BaseException) or maybe_applied(outcome)
            ]
            raise failure
        assert not isinstance(tenant, BaseException)
        assert not isinstance(identity, BaseException)
        setup.tenant_arn = tenant.arn
        setup.identity_arn = identity_arn(tenant_arn=tenant.arn, domain=setup.domain_identity)
        setup.dkim_tokens = list(identity.dkim_tokens)
        setup.signing_hosted_zone = identity.signing_hosted_zone
        setup.provisioning_steps = list(ALL_STEPS)
        resource_arn = setup.identity_arn

        async def associate() -> None:
            # The association is a step of its own: the row records it (and the lease is
            # renewed) before it is asked for. MAIL FROM is an attribute of the identity,
            # already recorded, so it need not wait for that write.
            await self._renew_provisioned(setup, lease)
            await ses.associate(tenant_name=setup.tenant_name, resource_arn=resource_arn)

        # The association starts first, so that its renewal's round trip to the database
        # overlaps the building of MAIL FROM's request instead of following it; MAIL FROM
        # still comes first among the outcomes, so its failure is the one answered when both
        # fail (a refused MAIL FROM domain is the client's 422, not the association's 502).
        association = asyncio.ensure_future(associate())
        # The reputation policy is an attribute of the tenant, already recorded, like MAIL
        # FROM of the identity: it runs in the same round, before the create answers.
        policy = (
            [ses.set_reputation_policy(tenant_arn=tenant.arn, policy=setup.reputation_policy)]
            if setup.reputation_policy
            else []
        )
        await _all(
            ses.put_mail_from(
                domain=setup.domain_identity, mail_from_domain=setup.mail_from_domain
            ),
            association,
            *policy,
        )

    async def _publish_zone(self, setup: SesSetup, lease: Lease) -> None:
        """The zone step, after SES: recorded on the row before the publisher is asked."""
        setup.provisioning_steps = [*setup.provisioning_steps, ZONE]
        await lease.renew(provisioning_steps=setup.provisioning_steps)
        try:
            await self.zones.publish(setup, tags=await self._tags(setup))
        except AppError as error:
            if not maybe_applied(error):  # refused (or someone else's zone): nothing to undo
                setup.provisioning_steps = [s for s in setup.provisioning_steps if s != ZONE]
            raise

    async def _renew_provisioned(self, setup: SesSetup, lease: Lease) -> None:
        """Renew the lease with what the first round made (ARNs, every step as intent)."""
        if self._db.driver is None:
            await lease.renew(
                tenant_arn=setup.tenant_arn,
                identity_arn=setup.identity_arn,
                provisioning_steps=setup.provisioning_steps,
            )
        elif not await repository.renew_provisioned_driver(
            self._db.driver, setup, token=lease.token, seconds=lease.seconds
        ):
            raise LeaseLost()

    async def undo_create(
        self, setup: SesSetup, lease: Lease, *, pace: Pacer | None = None, audit: bool = False
    ) -> bool:
        """Compensate the recorded steps in reverse; the row goes only once SES is clean.

        On failure the row stays `provisioning` with what may remain in SES, for reconcile.
        `pace`: wait for it before each SES read; `audit`: a warning line per deletion.
        """
        try:
            await lease.renew(provisioning_steps=setup.provisioning_steps)
            if ZONE in setup.provisioning_steps:  # the last step: undone first
                await self.zones.remove(setup)
            await self._remove(
                setup,
                lease,
                steps=setup.provisioning_steps,
                untagged_ok=False,
                pace=pace,
                audit=audit,
            )
        except LeaseLost:
            return False
        except AppError:
            logger.exception("create of %s: compensation failed", setup.id)
            await lease.end()
            return False
        return await lease.forget()

    async def delete(self, *, workspace_id: str, setup_id: uuid.UUID) -> None:
        """Tear down the SES resources, then forget the setup; refused while referenced."""
        lease = self.lease(setup_id)
        async with self._db.transaction() as session:
            setup, claim, referenced = await repository.claim_delete(
                session,
                workspace_id=workspace_id,
                setup_id=setup_id,
                token=lease.token,
                seconds=lease.seconds,
            )
            if claim is DeleteClaim.NOT_FOUND:
                raise NotFound("No SES setup with this id in this workspace.")
            if claim is DeleteClaim.IN_PROGRESS:
                raise Conflict("A delete of this SES setup is in progress.")
            if referenced:
                raise StillReferenced("The SES setup", use_cases=referenced)
        assert setup is not None
        await self.finish_delete(setup, lease)

    async def finish_delete(
        self, setup: SesSetup, lease: Lease, *, pace: Pacer | None = None, audit: bool = False
    ) -> None:
        """Tear down a setup whose `deleting` row `lease` holds, then forget the row, with the
        event its claim recorded (`ses_setup.deleted` or `ses_setup.expired`).

        On failure the row stays `deleting`: readable and unchanged for clients, closed to
        new use cases (part of it may be gone from SES), and free for a retry to take over.
        `pace` and `audit` as for `undo_create`.
        """
        event = _TEARDOWN_EVENTS.get(setup.teardown_event or "", EventType.DELETED)
        try:
            await self._remove(
                setup, lease, steps=ALL_STEPS, untagged_ok=True, pace=pace, audit=audit
            )
            if is_delegated(setup):  # SES first: nothing sends for the domain once it goes
                await lease.renew()
                await self.zones.remove(setup)
        except LeaseLost:
            raise
        except AppError:
            await lease.end()
            raise
        # False: another actor took over and finishes (or finished) the same teardown.
        await lease.forget((event, setup))

    async def _remove(
        self,
        setup: SesSetup,
        lease: Lease,
        *,
        steps: Sequence[str],
        untagged_ok: bool,
        pace: Pacer | None,
        audit: bool,
    ) -> None:
        """Delete what of `steps` SES has for this setup, association first; fenced by tags."""
        ses = await self._ses.region(setup.region)
        tenant_tags, identity_tags = await _all(
            paced(ses.tenant_tags(setup.tenant_name), pace) if TENANT in steps else _none(),
            paced(ses.identity_tags(setup.domain_identity), pace) if IDENTITY in steps else _none(),
        )
        tenant_ours = is_ours(tenant_tags, setup.id, untagged_ok=untagged_ok)
        identity_ours = is_ours(identity_tags, setup.id, untagged_ok=untagged_ok)
        for name, tags, ours in (
            ("tenant", tenant_tags, tenant_ours),
            ("identity", identity_tags, identity_ours),
        ):
            if tags is not None and not ours:
                logger.warning(
                    "setup %s: the SES %s of the same name belongs to setup %s; left alone",
                    setup.id,
                    name,
                    tags.get(TAG_SETUP_ID),
                )
        if ASSOCIATION in steps and tenant_ours and setup.identity_arn:
            # Not reserved when it fails: a late disassociation deletes no resource; it could
            # only detach a next owner that took both names again, and the deletes below
            # (which reserve) come after it.
            await ses.disassociate(tenant_name=setup.tenant_name, resource_arn=setup.identity_arn)
            await lease.renew()
        deletes: list[Delete] = []
        if identity_ours:
            call = ses.delete_domain_identity(setup.domain_identity)
            deletes.append(([(DOMAIN, setup.domain_identity)], call))
        if tenant_ours:
            deletes.append(
                ([(TENANT_NAME, setup.tenant_name)], ses.delete_tenant(setup.tenant_name))
            )
        await self.deletes.run(deletes)
        if audit:
            for kind, name, tags, ours in (
                ("identity", setup.domain_identity, identity_tags, identity_ours),
                ("tenant", setup.tenant_name, tenant_tags, tenant_ours),
            ):
                if ours:
                    log_deletion(kind=kind, name=name, region=setup.region, tags=tags or {})


async def _none() -> None:
    return None
