"""The records of a setup, and the zone of a delegated setup at the DNS publisher.

A customer setup's seven records are published by the customer. A delegated setup's records
are the NS records the customer publishes once at the zone above (purpose `delegation`),
then the same seven, served by the publisher in the zone `D` that this service made
(`managed`). The zone is a saga step like the SES resources: made after them, removed before
them on an undo and after them on a delete, fenced by the setup id, swept when no row knows it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from email_channels.db.engine import Database
from email_channels.db.installation import DeploymentTag
from email_channels.errors import AppError, ServiceUnavailable
from email_channels.integrations.dns_publisher import DnsPublisher, Zone, ZoneRecord
from email_channels.integrations.ses import TAG_CREATED_AT, TAG_DEPLOYMENT, Tags
from email_channels.ses_setups.models import DnsMode, SesSetup
from email_channels.ses_setups.records import (
    ExpectedRecord,
    Purpose,
    delegation_records,
    expected_records,
)
from email_channels.ses_setups.verification import RecordResult, RecordStatus
from email_channels.webhooks.outbox import EventType, record_event

logger = logging.getLogger(__name__)

_BROKEN = (RecordStatus.MISSING, RecordStatus.MISMATCH)

ZONE = "zone"  # the saga step of a delegated setup's zone
LONG_AGO = datetime.min.replace(tzinfo=UTC)


def is_delegated(setup: SesSetup) -> bool:
    """Whether the service serves the setup's zone."""
    return setup.dns_mode == DnsMode.DELEGATED.value


def managed_records(setup: SesSetup) -> list[ExpectedRecord]:
    """The seven records SES needs for the setup, in the contract's order."""
    return expected_records(
        domain=setup.domain_identity,
        region=setup.region,
        mail_from_subdomain=setup.mail_from_domain.removesuffix("." + setup.domain_identity),
        dkim_tokens=setup.dkim_tokens,
        signing_hosted_zone=setup.signing_hosted_zone or "",
    )


def customer_records(setup: SesSetup) -> list[ExpectedRecord]:
    """What the customer publishes: the NS records of a delegated setup, else all seven."""
    if is_delegated(setup):
        return delegation_records(
            domain=setup.domain_identity, nameservers=setup.delegation_nameservers or ()
        )
    return managed_records(setup)


def setup_records(setup: SesSetup) -> list[ExpectedRecord]:
    """Every record of the setup, in the detail's order: the customer's NS records first."""
    if is_delegated(setup):
        return customer_records(setup) + managed_records(setup)
    return managed_records(setup)


def is_managed(setup: SesSetup, record: ExpectedRecord) -> bool:
    """Whether the service serves this record (a delegated setup's, other than its NS)."""
    return is_delegated(setup) and record.purpose is not Purpose.DELEGATION


def zone_contents(records: Sequence[ExpectedRecord]) -> list[ZoneRecord]:
    """Records as the zone holds them: one record set per name and type."""
    sets: dict[tuple[str, str], list[str]] = {}
    for record in records:
        sets.setdefault((record.address, record.type), []).append(record.record)
    return [ZoneRecord(name, kind, tuple(values)) for (name, kind), values in sets.items()]


class SetupZones:
    """The zones of delegated setups at the deployment's publisher (None: none offered)."""

    def __init__(self, *, publisher: DnsPublisher | None, deployment: DeploymentTag) -> None:
        self.publisher = publisher
        self._deployment = deployment

    @property
    def offered(self) -> bool:
        """Whether this deployment can serve zones for delegated setups."""
        return self.publisher is not None

    def _required(self) -> DnsPublisher:
        if self.publisher is None:
            raise ServiceUnavailable(
                "This deployment no longer has a DNS publisher, so the zone of a delegated "
                "setup cannot be changed; an operator must configure one."
            )
        return self.publisher

    async def publish(self, setup: SesSetup, *, tags: Tags) -> None:
        """Make the setup's zone with its seven records; keep the servers it is served from."""
        zone = await self._required().create_zone(
            setup.domain_identity, records=zone_contents(managed_records(setup)), tags=tags
        )
        setup.delegation_nameservers = list(zone.nameservers)

    async def remove(self, setup: SesSetup) -> None:
        """Delete the setup's zone; a zone of that name that is not the setup's stays."""
        remains = await self._required().delete_zone(setup.domain_identity, setup_id=str(setup.id))
        if remains:
            logger.warning(
                "setup %s: the zone %s belongs to something else; left alone",
                setup.id,
                setup.domain_identity,
            )

    async def repair(
        self, setup: SesSetup, results: Sequence[RecordResult], *, db: Database
    ) -> list[ExpectedRecord]:
        """Write again the managed records a check found missing or wrong, each announced
        (`ses_setup.repaired`, the record in `data`); the records written."""
        broken = [
            record
            for record, result in zip(setup_records(setup), results, strict=True)
            if is_managed(setup, record) and result.status in _BROKEN
        ]
        if not broken or self.publisher is None:
            return []
        try:
            await self.publisher.put_records(setup.domain_identity, records=zone_contents(broken))
        except AppError:
            logger.warning("setup %s: repairing its zone failed", setup.id, exc_info=True)
            return []
        async with db.transaction() as session:
            for record in broken:
                await record_event(
                    session,
                    event_type=EventType.REPAIRED,
                    setup=setup,
                    extra={"record": _record_json(record)},
                )
        return broken

    async def made_before(self, cutoff: datetime) -> list[Zone]:
        """This deployment's zones made before `cutoff` (the sweep's candidates)."""
        if self.publisher is None:
            return []
        found: list[Zone] = []
        deployment = await self._deployment.value()
        async for zone in self.publisher.zones():
            if zone.setup_id is None or zone.tags.get(TAG_DEPLOYMENT) != deployment:
                continue  # not made by this deployment: never touched
            if _created_at(zone.tags) < cutoff:
                found.append(zone)
        return found

    async def sweep(self, zone: Zone) -> None:
        """Delete an untracked zone (fenced: only if it still carries the same setup id)."""
        if zone.setup_id is not None:
            await self._required().delete_zone(zone.name, setup_id=zone.setup_id)


def _record_json(record: ExpectedRecord) -> dict[str, str]:
    return {
        "address": record.address,
        "type": record.type,
        "record": record.record,
        "purpose": record.purpose.value,
    }


def _created_at(tags: Tags) -> datetime:
    """The creation time a zone's fence records; missing or unreadable counts as old."""
    try:
        created = datetime.fromisoformat(tags[TAG_CREATED_AT])
    except (KeyError, ValueError):
        return LONG_AGO
    return created if created.tzinfo is not None else LONG_AGO
