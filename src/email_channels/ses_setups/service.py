"""SES setups: what the endpoints do; reads, the live DNS check, and the SES lifecycle."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from email_channels.db.base import utc_now
from email_channels.db.driver import DriverPool
from email_channels.db.engine import Database
from email_channels.db.installation import DeploymentTag
from email_channels.errors import FieldError, InvalidInput, NotFound
from email_channels.integrations.dns.referral import ReferralDns
from email_channels.integrations.dns_publisher import DnsPublisher
from email_channels.integrations.ses import SesRegions
from email_channels.pacing import Pacer
from email_channels.pagination import Cursor, decode_token, read_page, records_page_json
from email_channels.ses_setups import repository
from email_channels.ses_setups.check_outcome import next_check, record_check_outcome
from email_channels.ses_setups.check_stores import CheckStores
from email_channels.ses_setups.delegated_check import check_delegated
from email_channels.ses_setups.dns_check import all_verified, check_complete
from email_channels.ses_setups.domains import delegation_problem
from email_channels.ses_setups.lifecycle import SetupLifecycle
from email_channels.ses_setups.mistakes import host_of
from email_channels.ses_setups.models import DnsMode, SesSetup, SetupState
from email_channels.ses_setups.reconcile import Reconciler
from email_channels.ses_setups.records import ExpectedRecord
from email_channels.ses_setups.schedule import Schedule, definite_failure
from email_channels.ses_setups.schemas import SesSetupCreate, SesSetupUpdate
from email_channels.ses_setups.sending import SendingControl, sending_json
from email_channels.ses_setups.source_check import SourceCheck
from email_channels.ses_setups.verification import NOT_CHECKED, RecordResult
from email_channels.ses_setups.zones import (
    SetupZones,
    customer_records,
    is_delegated,
    is_managed,
    setup_records,
)
from email_channels.single_flight import SingleFlight

logger = logging.getLogger(__name__)

LIST_KIND = "ses-setups"


def expected_for(setup: SesSetup) -> list[ExpectedRecord]:
    """The records a stored setup needs, in the detail's order."""
    return setup_records(setup)


def detail_json(setup: SesSetup, results: list[RecordResult]) -> dict[str, Any]:
    """The SES Setup Detail of the contract."""
    zone = setup.dns_zone or None
    zone_name = zone["name"] if zone else None
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
            "host": host_of(expected.address, zone_name) if zone_name else None,
            "nameservers": [
                {"name": name, "status": status.value} for name, status in result.nameservers
            ],
            "found_at": result.found_at,
            "managed": is_managed(setup, expected),
        }
        for expected, result in zip(expected_for(setup), results, strict=True)
    ]
    return {
        "id": setup.id,
        "tenant_name": setup.tenant_name,
        "domain_identity": setup.domain_identity,
        "region": setup.region,
        "dns_mode": setup.dns_mode,
        "dns_verified": setup.dns_verified,
        "dns_records": records,
        "dns_zone": zone,
        "dns_checked_at": setup.dns_checked_at,
        "created_at": setup.created_at,
        "updated_at": setup.updated_at,
        "ses_status": ses_status_json(setup),
        "sending": sending_json(setup),
    }


def ses_status_json(setup: SesSetup) -> dict[str, Any]:
    """SES's own verdict as the worker last read it (never refreshed on a read)."""
    return {
        "verified_for_sending": bool(setup.ses_verified_for_sending),
        "dkim_status": setup.ses_dkim_status or "PENDING",
        "mail_from_status": setup.ses_mail_from_status or "PENDING",
        "checked_at": setup.ses_checked_at,
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
        ses: SesRegions,
        dns: SourceCheck,
        region: str,
        mail_from_subdomain: str,
        deployment_id: str | None,
        lease_seconds: float,
        schedule: Schedule | None = None,
        inflight_horizon: float = 300.0,
        ses_read_rate: float = 1.0,
        offered_regions: Sequence[str] = (),
        publisher: DnsPublisher | None = None,
        direct: ReferralDns | None = None,
    ) -> None:
        self._db = db
        self._stores: CheckStores | None = None  # the worker's re-checks, stored in groups
        self.ses = ses
        self.schedule = schedule or Schedule()
        self._dns = dns
        self._direct = direct
        # The regions a create may choose, the default first (AWS_REGIONS).
        self.offered_regions = tuple(offered_regions) or (region,)
        self._mail_from_subdomain = mail_from_subdomain
        # Every SES read of the background work (status refreshes, reconcile, the sweep)
        # shares one pace: SES_STATUS_RATE calls a second per process.
        self.ses_reads = Pacer(ses_read_rate)
        # Unset: the installation id, read from the database on first use.
        deployment = DeploymentTag(db=db, configured=deployment_id)
        self.zones = SetupZones(publisher=publisher, deployment=deployment)
        self.lifecycle = SetupLifecycle(
            db=db,
            ses=ses,
            zones=self.zones,
            deployment=deployment,
            lease_seconds=lease_seconds,
            inflight_horizon=inflight_horizon,
        )
        self.reconciler = Reconciler(
            db=db,
            ses=ses,
            lifecycle=self.lifecycle,
            default_region=region,
            pace=self.ses_reads,
            offered_regions=self.offered_regions,
        )
        self.sending = SendingControl(db=db, ses=ses)
        # Public so that operators and tests can see what is in flight.
        self.checks: SingleFlight[dict[str, Any]] = SingleFlight()

    # --- create and delete: the SES saga lives in lifecycle.py ---------------------------

    async def create(self, *, workspace_id: str, request: SesSetupCreate) -> dict[str, Any]:
        """Provision tenant and identity in SES; answer the detail with records to publish."""
        region = request.region or self.offered_regions[0]
        if region not in self.offered_regions:
            # Refused before SES is touched: nothing is made in any region.
            offered = ", ".join(self.offered_regions)
            raise InvalidInput(
                "This deployment does not offer that region.",
                errors=[FieldError(field="region", message=f"One of: {offered}.")],
            )
        domain = request.domain_identity
        if request.dns_mode == DnsMode.DELEGATED.value:
            self._refuse_delegation(domain)
        now = utc_now()
        setup = SesSetup(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            tenant_name=request.tenant_name,
            domain_identity=domain,
            region=region,
            mail_from_domain=f"{self._mail_from_subdomain}.{domain}",
            state=SetupState.PROVISIONING.value,
            state_changed_at=now,
            dns_mode=request.dns_mode,
            dkim_tokens=[],
            provisioning_steps=[],
            dns_verified=False,
            dns_results=[],
            created_at=now,
            updated_at=now,
            next_check_at=now + timedelta(seconds=self.schedule.check_interval_min),
            check_interval=self.schedule.check_interval_min,
            ses_next_at=now + timedelta(seconds=self.schedule.check_interval_min),
            ses_verified_for_sending=False,
            ses_dkim_status="PENDING",
            ses_mail_from_status="PENDING",
            sending_status="enabled",
            # Applied by the create itself; unset, SES's default shows after the first read.
            reputation_policy=request.reputation_policy,
        )
        await self.lifecycle.create(setup)
        return detail_json(setup, [NOT_CHECKED] * len(expected_for(setup)))

    def _refuse_delegation(self, domain: str) -> None:
        """A 422 when this deployment or this domain cannot have a delegated setup."""
        if not self.zones.offered:
            raise InvalidInput(
                "This deployment does not offer delegated setups.",
                errors=[
                    FieldError(
                        field="dns_mode",
                        message="This deployment does not offer delegated setups (it serves "
                        "no DNS zones); use customer and publish the records yourself.",
                    )
                ],
            )
        problem = delegation_problem(domain)
        if problem is not None:
            raise InvalidInput(
                "This domain cannot be delegated.",
                errors=[
                    FieldError(field="domain_identity", message=f"cannot be delegated: {problem}")
                ],
            )

    async def delete(self, *, workspace_id: str, setup_id: uuid.UUID) -> None:
        """Tear down the SES resources, then forget the setup; refused while referenced."""
        await self.lifecycle.delete(workspace_id=workspace_id, setup_id=setup_id)

    # --- sending: the tenant's reputation entity in SES (sending.py) ---------------------

    async def set_sending(
        self, *, workspace_id: str, setup_id: uuid.UUID, enabled: bool
    ) -> dict[str, Any]:
        """Pause (`enabled=False`) or resume the setup's sending; the detail as SES reports."""
        setup = await self._visible(workspace_id=workspace_id, setup_id=setup_id)
        stored = await self.sending.set_sending(setup, enabled=enabled)
        return detail_json(stored, stored_results(stored))

    async def update(
        self, *, workspace_id: str, setup_id: uuid.UUID, request: SesSetupUpdate
    ) -> dict[str, Any]:
        """Apply a PATCH (the reputation policy); the detail as SES reports it."""
        setup = await self._visible(workspace_id=workspace_id, setup_id=setup_id)
        stored = await self.sending.set_policy(setup, policy=request.reputation_policy)
        return detail_json(stored, stored_results(stored))

    # --- read ---------------------------------------------------------------------------

    async def list_page(
        self, *, workspace_id: str, limit: int, continuation_token: str | None
    ) -> dict[str, Any]:
        """One page of list items, newest first."""
        if self._db.driver is not None:
            after = decode_token(continuation_token, kind=LIST_KIND, workspace_id=workspace_id)
            return await self.list_page_after(workspace_id=workspace_id, limit=limit, after=after)
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

    async def list_page_after(
        self, *, workspace_id: str, limit: int, after: Cursor | None
    ) -> dict[str, Any]:
        """`list_page` with the token already decoded, on the driver's pool (PostgreSQL)."""
        assert self._db.driver is not None
        records = await repository.list_page_driver(
            self._db.driver, workspace_id=workspace_id, after=after, limit=limit
        )
        return records_page_json(records, limit=limit, kind=LIST_KIND, workspace_id=workspace_id)

    async def get_checked(self, *, workspace_id: str, setup_id: uuid.UUID) -> dict[str, Any]:
        """The detail after a live DNS check; concurrent checks of one setup share it."""
        setup = await self._read_visible(workspace_id=workspace_id, setup_id=setup_id)
        if setup is None:
            raise NotFound("No SES setup with this id in this workspace.")
        return await self.checks.run(setup.id, lambda: self._check_and_store(setup))

    async def check_in_background(self, setup: SesSetup) -> None:
        """The worker's re-check: the same check as a read, in the same single flight."""
        await self.checks.run(setup.id, lambda: self._check_and_store(setup, background=True))

    def _check_stores(self, driver: DriverPool) -> CheckStores:
        if self._stores is None:
            self._stores = CheckStores(driver)
        return self._stores

    async def _check_and_store(
        self, setup: SesSetup, *, background: bool = False
    ) -> dict[str, Any]:
        previous = stored_results(setup)
        # The stored results live on as `previous` through the lookups; the decoded JSON they
        # came from is not kept that long (3.6 KB per waiting read, bench/README.md S5). The
        # check's own results replace them below, as they replace them in the row.
        setup.dns_results = []
        zone = None  # a delegated setup's zone is ours: no zone of the customer's to find
        if self._direct is not None and is_delegated(setup):
            # The zone is ours: its records are asked at its servers, the NS above it.
            results = await check_delegated(
                expected_for(setup),
                domain=setup.domain_identity,
                zone_servers=setup.delegation_nameservers or (),
                direct=self._direct,
                lifetime=self._direct.lifetime,
                previous=previous,
            )
        else:
            checked = await self._dns.check(
                expected_for(setup), domain=setup.domain_identity, previous=previous
            )
            results, zone = checked.results, checked.zone
            # A check that found no zone keeps the last one found: a hiccup forgets nothing.
            setup.dns_zone = checked.zone or setup.dns_zone
        now = utc_now()
        verified = all_verified(results)
        # updated_at moves when what the setup *is* changes (a record's verified flag),
        # not on every look; dns_checked_at only when every lookup got an answer.
        changed = verified != setup.dns_verified or [r.verified for r in results] != [
            r.verified for r in previous
        ]
        checked_at = now if check_complete(results) else None
        was_verified = setup.dns_verified
        setup.dns_verified = verified
        setup.dns_checked_at = checked_at or setup.dns_checked_at
        setup.updated_at = now if changed else setup.updated_at
        dns_results = [result.to_json() for result in results]
        setup.dns_results = dns_results
        stored: dict[str, Any] = {
            "setup_id": setup.id,
            "dns_results": dns_results,
            "dns_verified": verified,
            "dns_checked_at": checked_at,
            "updated_at": now if changed else None,
            "dns_zone": zone,
        }
        driver = self._db.driver
        # A background check that saw a record missing or mismatched counts towards
        # UNVERIFY_AFTER; only an announced setup can be announced unverified.
        counted = background and not verified and definite_failure(results)
        if verified:
            announces = not setup.announced_verified
        else:
            announces = counted and setup.announced_verified
        if driver is not None and not announces and not (background and is_delegated(setup)):
            # The common check announces nothing: one statement stores it (no transaction).
            due_in, interval = next_check(
                setup,
                results,
                was_verified=was_verified,
                background_check=background,
                schedule=self.schedule,
            )
            check = repository.CheckToStore(
                **stored, due_in=due_in, interval=interval, count_failure=counted
            )
            if await (
                # The worker's checks finish together: stored in groups.
                self._check_stores(driver).store(check)
                if background
                else repository.store_check_driver(driver, check)
            ):
                return detail_json(setup, results)
        async with self._db.transaction() as session:
            await repository.store_check(session, **stored)
            # The schedule and the events go in the same transaction as the results (outbox).
            await record_check_outcome(
                session,
                setup=setup,
                results=results,
                was_verified=was_verified,
                background_check=background,
                schedule=self.schedule,
            )
        if background and is_delegated(setup):  # only the worker writes a zone, never a read
            await self.zones.repair(setup, results, db=self._db)
        return detail_json(setup, results)

    # --- reads without a DNS check: the zone export and the console ---------------------

    async def _read_visible(self, *, workspace_id: str, setup_id: uuid.UUID) -> SesSetup | None:
        if self._db.driver is not None:
            return await repository.get_visible_driver(
                self._db.driver, workspace_id=workspace_id, setup_id=setup_id
            )
        async with self._db.read() as connection:
            return await repository.get_visible(
                connection, workspace_id=workspace_id, setup_id=setup_id
            )

    async def _visible(self, *, workspace_id: str, setup_id: uuid.UUID) -> SesSetup:
        setup = await self._read_visible(workspace_id=workspace_id, setup_id=setup_id)
        if setup is None:
            raise NotFound("No SES setup with this id in this workspace.")
        return setup

    async def get_stored(self, *, workspace_id: str, setup_id: uuid.UUID) -> dict[str, Any]:
        """The detail as the last check left it: no DNS lookup."""
        setup = await self._visible(workspace_id=workspace_id, setup_id=setup_id)
        return detail_json(setup, stored_results(setup))

    async def zone_records(
        self, *, workspace_id: str, setup_id: uuid.UUID
    ) -> tuple[str, list[ExpectedRecord]]:
        """(domain, the records the customer publishes) of a stored setup: no DNS lookup."""
        setup = await self._visible(workspace_id=workspace_id, setup_id=setup_id)
        return setup.domain_identity, customer_records(setup)
