"""SES setups: the create saga, the teardown, and the live DNS check."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from email_channels.db.base import utc_now
from email_channels.db.engine import Database
from email_channels.errors import AppError, Conflict, InvalidInput, NotFound, UpstreamUnreachable
from email_channels.integrations.dns import DnsLookup
from email_channels.integrations.ses import SesGateway, identity_arn
from email_channels.pagination import read_page
from email_channels.ses_setups import repository
from email_channels.ses_setups.dns_check import all_verified, check_complete, check_records
from email_channels.ses_setups.models import SesSetup, SetupState
from email_channels.ses_setups.records import ExpectedRecord, expected_records
from email_channels.ses_setups.schemas import SesSetupCreate
from email_channels.ses_setups.verification import NOT_CHECKED, RecordResult
from email_channels.single_flight import SingleFlight

logger = logging.getLogger(__name__)

LIST_KIND = "ses-setups"


@dataclass
class Reconciled:
    """What one `reconcile` run did, by setup id."""

    rolled_back: list[uuid.UUID] = field(default_factory=list)
    deleted: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)


@dataclass
class _Provisioning:
    """SES steps of one create that may have been applied, in order: what to undo."""

    applied: list[str] = field(default_factory=list)
    tenant_arn: str | None = None


def _maybe_applied(error: BaseException) -> bool:
    # A refusal (already exists, bad request) or an unreachable endpoint applied nothing;
    # a timeout or a 5xx may have, so the compensation deletes (idempotently) to be sure.
    return not isinstance(error, (Conflict, InvalidInput, UpstreamUnreachable))


def expected_for(setup: SesSetup) -> list[ExpectedRecord]:
    """The records a stored setup needs."""
    return expected_records(
        domain=setup.domain_identity,
        region=setup.region,
        mail_from_subdomain=setup.mail_from_domain.removesuffix("." + setup.domain_identity),
        dkim_tokens=setup.dkim_tokens,
        signing_hosted_zone=setup.signing_hosted_zone or "",
    )


def detail_json(setup: SesSetup, results: list[RecordResult]) -> dict[str, Any]:
    """The SES Setup Detail of the contract."""
    records = [
        {
            "address": expected.address,
            "record": expected.record,
            "type": expected.type,
            "verified": result.verified,
            "purpose": expected.purpose.value,
            "status": result.status.value,
            "found": list(result.found),
            "reason": result.reason,
        }
        for expected, result in zip(expected_for(setup), results, strict=True)
    ]
    return {
        "id": setup.id,
        "tenant_name": setup.tenant_name,
        "domain_identity": setup.domain_identity,
        "region": setup.region,
        "dns_verified": setup.dns_verified,
        "dns_records": records,
        "dns_checked_at": setup.dns_checked_at,
        "created_at": setup.created_at,
        "updated_at": setup.updated_at,
    }


def stored_results(setup: SesSetup) -> list[RecordResult]:
    """The last check's results, or "not checked" for each record."""
    count = len(expected_for(setup))
    if len(setup.dns_results) != count:
        return [NOT_CHECKED] * count
    return [RecordResult.from_json(item) for item in setup.dns_results]


class SesSetupService:
    """Everything the SES setup endpoints do; built once per process in the lifespan."""

    def __init__(
        self,
        *,
        db: Database,
        ses: SesGateway,
        dns: DnsLookup,
        region: str,
        mail_from_subdomain: str,
        dns_lifetime: float,
    ) -> None:
        self._db = db
        self._ses = ses
        self._dns = dns
        self._region = region
        self._mail_from_subdomain = mail_from_subdomain
        self._dns_lifetime = dns_lifetime
        # Public so that operators and tests can see what is in flight.
        self.checks: SingleFlight[dict[str, Any]] = SingleFlight()

    # --- create -------------------------------------------------------------------------

    async def create(self, *, workspace_id: str, request: SesSetupCreate) -> dict[str, Any]:
        """Provision tenant and identity in SES; undo what was done if a step fails."""
        now = utc_now()
        domain = request.domain_identity
        setup = SesSetup(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            tenant_name=request.tenant_name,
            domain_identity=domain,
            region=self._region,
            mail_from_domain=f"{self._mail_from_subdomain}.{domain}",
            state=SetupState.PROVISIONING.value,
            state_changed_at=now,
            dkim_tokens=[],
            provisioning_steps=[],
            dns_verified=False,
            dns_results=[],
            created_at=now,
            updated_at=now,
        )
        # The row comes first: the unique constraints reserve the names before SES is touched.
        async with self._db.transaction() as session:
            await repository.insert_setup(session, setup)
        progress = _Provisioning()
        try:
            await self._provision(setup, progress)
        except AppError:
            await self._undo_create(setup, progress)
            raise
        async with self._db.transaction() as session:
            await repository.update_setup(
                session,
                setup.id,
                state=SetupState.ACTIVE.value,
                state_changed_at=utc_now(),
                tenant_arn=setup.tenant_arn,
                identity_arn=setup.identity_arn,
                dkim_tokens=setup.dkim_tokens,
                signing_hosted_zone=setup.signing_hosted_zone,
                provisioning_steps=progress.applied,
            )
        return detail_json(setup, [NOT_CHECKED] * len(expected_for(setup)))

    async def _provision(self, setup: SesSetup, progress: _Provisioning) -> None:
        tenant, identity = await asyncio.gather(
            self._ses.create_tenant(setup.tenant_name),
            self._ses.create_domain_identity(setup.domain_identity),
            return_exceptions=True,
        )
        for step, outcome in (("tenant", tenant), ("identity", identity)):
            if not isinstance(outcome, BaseException) or _maybe_applied(outcome):
                progress.applied.append(step)
        if isinstance(tenant, BaseException):
            raise tenant
        if isinstance(identity, BaseException):
            raise identity
        setup.tenant_arn = progress.tenant_arn = tenant.arn
        setup.identity_arn = identity_arn(tenant_arn=tenant.arn, domain=setup.domain_identity)
        setup.dkim_tokens = list(identity.dkim_tokens)
        setup.signing_hosted_zone = identity.signing_hosted_zone
        async with self._db.transaction() as session:
            await repository.update_setup(
                session,
                setup.id,
                tenant_arn=setup.tenant_arn,
                identity_arn=setup.identity_arn,
                provisioning_steps=progress.applied,
            )
        progress.applied.append("association")
        await asyncio.gather(
            self._ses.put_mail_from(
                domain=setup.domain_identity, mail_from_domain=setup.mail_from_domain
            ),
            self._ses.associate(tenant_name=setup.tenant_name, resource_arn=setup.identity_arn),
        )

    async def _undo_create(self, setup: SesSetup, progress: _Provisioning) -> bool:
        """Compensate the applied steps in reverse; the row goes only once SES is clean."""
        try:
            if "association" in progress.applied and setup.identity_arn:
                await self._ses.disassociate(
                    tenant_name=setup.tenant_name, resource_arn=setup.identity_arn
                )
            undo = []
            if "identity" in progress.applied:
                undo.append(self._ses.delete_domain_identity(setup.domain_identity))
            if "tenant" in progress.applied:
                undo.append(self._ses.delete_tenant(setup.tenant_name))
            await asyncio.gather(*undo)
        except AppError:
            # The row stays `provisioning` with its steps, for `email-channels reconcile`.
            logger.exception("create of %s: compensation failed", setup.id)
            return False
        async with self._db.transaction() as session:
            await repository.delete_setup(session, setup.id)
        return True

    # --- read ---------------------------------------------------------------------------

    async def list_page(
        self, *, workspace_id: str, limit: int, continuation_token: str | None
    ) -> dict[str, Any]:
        """One page of list items, newest first."""
        return await read_page(
            self._db,
            kind=LIST_KIND,
            workspace_id=workspace_id,
            limit=limit,
            continuation_token=continuation_token,
            query=lambda connection, after: repository.list_page(
                connection, workspace_id=workspace_id, after=after, limit=limit
            ),
        )

    async def get_checked(self, *, workspace_id: str, setup_id: uuid.UUID) -> dict[str, Any]:
        """The detail after a live DNS check; concurrent checks of one setup share it."""
        async with self._db.read() as connection:
            setup = await repository.get_visible(
                connection, workspace_id=workspace_id, setup_id=setup_id
            )
        if setup is None:
            raise NotFound("No SES setup with this id in this workspace.")
        return await self.checks.run(setup.id, lambda: self._check_and_store(setup))

    async def _check_and_store(self, setup: SesSetup) -> dict[str, Any]:
        previous = stored_results(setup)
        results = await check_records(
            expected_for(setup),
            domain=setup.domain_identity,
            lookup=self._dns,
            lifetime=self._dns_lifetime,
            previous=previous,
        )
        now = utc_now()
        verified = all_verified(results)
        # updated_at moves when what the setup *is* changes (a record's verified flag),
        # not on every look; dns_checked_at only when every lookup got an answer.
        changed = verified != setup.dns_verified or [r.verified for r in results] != [
            r.verified for r in previous
        ]
        checked_at = now if check_complete(results) else None
        async with self._db.transaction() as session:
            await repository.store_check(
                session,
                setup_id=setup.id,
                dns_results=[result.to_json() for result in results],
                dns_verified=verified,
                dns_checked_at=checked_at,
                updated_at=now if changed else None,
            )
        setup.dns_verified = verified
        setup.dns_checked_at = checked_at or setup.dns_checked_at
        setup.updated_at = now if changed else setup.updated_at
        return detail_json(setup, results)

    # --- reconcile ------------------------------------------------------------------------

    async def reconcile(self, *, older_than: timedelta) -> Reconciled:
        """Roll back creates and finish deletes that stopped half-way (crash, lost undo).

        Only setups untouched for `older_than` are taken, so that a create or delete still
        running in another process is left alone. Every SES step is idempotent.
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
            # Nothing was handed to a client yet: undo every step that may have happened.
            progress = _Provisioning(applied=["tenant", "identity", "association"])
            setup.identity_arn = setup.identity_arn or (
                identity_arn(tenant_arn=setup.tenant_arn, domain=setup.domain_identity)
                if setup.tenant_arn
                else None
            )
            if await self._undo_create(setup, progress):
                report.rolled_back.append(setup.id)
            else:
                report.failed.append(setup.id)
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

    # --- delete -------------------------------------------------------------------------

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
        try:
            await self._tear_down(setup)
        except AppError:
            async with self._db.transaction() as session:
                await repository.update_setup(
                    session, setup.id, state=SetupState.ACTIVE.value, state_changed_at=utc_now()
                )
            raise
        async with self._db.transaction() as session:
            await repository.delete_setup(session, setup.id)

    async def _tear_down(self, setup: SesSetup) -> None:
        if setup.tenant_arn:
            await self._ses.disassociate(
                tenant_name=setup.tenant_name,
                resource_arn=identity_arn(
                    tenant_arn=setup.tenant_arn, domain=setup.domain_identity
                ),
            )
        await asyncio.gather(
            self._ses.delete_domain_identity(setup.domain_identity),
            self._ses.delete_tenant(setup.tenant_name),
        )
