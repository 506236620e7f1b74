"""Reconcile: finish what crashes left half-done, and sweep SES for what no row knows.

Safe beside live traffic and on several machines at once: rows are claimed one at a time with
the same lease as a create or a delete (a row whose holder is alive is never taken), and the
sweep deletes only resources tagged with this deployment, older than the grace period, whose
setup id no row knows.

Among neighbours: the deployment tag is DEPLOYMENT_ID or else this database's installation id,
so another database on the same SES account never matches; resources tagged `default` (what
releases before the installation id tagged with) are swept only by an installation that set
DEPLOYMENT_ID=default itself. Every deletion is a warning line naming the resource, and every
SES read waits its turn on the process's SES_STATUS_RATE pace.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from email_channels.db.engine import Database
from email_channels.errors import AppError
from email_channels.integrations.ses import (
    TAG_CREATED_AT,
    TAG_DEPLOYMENT,
    TAG_SETUP_ID,
    SesGateway,
    SesRegions,
)
from email_channels.pacing import Pacer
from email_channels.ses_setups import repository
from email_channels.ses_setups.inflight import DOMAIN, TENANT_NAME
from email_channels.ses_setups.lifecycle import LeaseLost, SetupLifecycle
from email_channels.ses_setups.models import SesSetup, SetupState
from email_channels.ses_setups.teardown import log_deletion

logger = logging.getLogger(__name__)

LONG_AGO = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Untracked:
    """An SES resource of this deployment that no setup row knows."""

    kind: str  # "tenant" | "identity" | "zone"
    region: str  # for a zone: the DNS publisher's name
    name: str
    setup_id: str  # what its tag says
    tags: tuple[tuple[str, str], ...] = ()  # every tag, as listed

    def __str__(self) -> str:
        return f"{self.kind}\t{self.region}\t{self.name}"


@dataclass
class Reconciled:
    """What one `reconcile` run did (or, dry, would do)."""

    dry_run: bool = False
    rolled_back: list[uuid.UUID] = field(default_factory=list)
    deleted: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)
    swept: list[Untracked] = field(default_factory=list)
    sweep_failed: list[Untracked] = field(default_factory=list)

    @property
    def settled(self) -> bool:
        """Everything found was settled (or, dry, listed)."""
        return not self.failed and not self.sweep_failed


class Reconciler:
    """Runs reconcile over the database and every SES region the setups use."""

    def __init__(
        self,
        *,
        db: Database,
        ses: SesRegions,
        lifecycle: SetupLifecycle,
        default_region: str,
        pace: Pacer,
        offered_regions: Sequence[str] = (),
    ) -> None:
        self._db = db
        self._ses = ses
        self._lifecycle = lifecycle
        self._default_region = default_region
        self._pace = pace
        # Swept even when no row names them: a create there may have left something behind.
        self._offered_regions = tuple(offered_regions)

    async def run(self, *, older_than: timedelta, dry_run: bool = False) -> Reconciled:
        """Settle stale rows, then sweep untracked resources; both older than `older_than`."""
        report = Reconciled(dry_run=dry_run)
        seconds = older_than.total_seconds()
        if dry_run:
            async with self._db.read() as connection:
                for setup in await repository.stale(connection, older_than=seconds):
                    self._file(report, setup, settled=True)
        else:
            await self._settle_rows(report, older_than=seconds)
        await self._sweep(report, older_than=older_than)
        return report

    async def _settle_rows(self, report: Reconciled, *, older_than: float) -> None:
        tried: list[uuid.UUID] = []
        while True:
            lease = self._lifecycle.lease(uuid.uuid4())  # its setup id is set once claimed
            async with self._db.transaction() as session:
                setup = await repository.claim_stale(
                    session,
                    token=lease.token,
                    seconds=lease.seconds,
                    older_than=older_than,
                    skip=tried,
                )
            if setup is None:
                return
            tried.append(setup.id)
            lease.setup_id = setup.id
            if setup.state == SetupState.PROVISIONING.value:
                # Whatever the row recorded may exist; the undo is fenced by tags.
                settled = await self._lifecycle.undo_create(
                    setup, lease, pace=self._pace, audit=True
                )
            else:
                try:
                    await self._lifecycle.finish_delete(setup, lease, pace=self._pace, audit=True)
                    settled = True
                except (AppError, LeaseLost):
                    logger.exception("reconcile: teardown of %s failed", setup.id)
                    settled = False
            self._file(report, setup, settled=settled)

    @staticmethod
    def _file(report: Reconciled, setup: SesSetup, *, settled: bool) -> None:
        if not settled:
            report.failed.append(setup.id)
        elif setup.state == SetupState.PROVISIONING.value:
            report.rolled_back.append(setup.id)
        else:
            report.deleted.append(setup.id)

    async def _sweep(self, report: Reconciled, *, older_than: timedelta) -> None:
        # Unset, the tag is the installation id (`inst-...`): `default` matches only when
        # DEPLOYMENT_ID=default is set explicitly.
        deployment = await self._lifecycle.deployment.value()
        async with self._db.read() as connection:
            regions = await repository.regions_in_use(connection) | {
                self._default_region,
                *self._offered_regions,
            }
            cutoff = await repository.database_time(connection) - older_than
        for region in sorted(regions):
            ses = await self._ses.region(region)
            try:
                found = await self._ours_in(
                    ses, region=region, cutoff=cutoff, deployment=deployment
                )
            except AppError:
                logger.exception("reconcile: listing SES resources in %s failed", region)
                report.sweep_failed.append(Untracked("account", region, "*", ""))
                continue
            # Read after listing: a resource seen above was made after its row was written.
            async with self._db.read() as connection:
                known = await repository.known_ids(connection)
            for resource in found:
                if resource.setup_id in known:
                    continue
                if not report.dry_run:
                    try:
                        await self._delete(ses, resource, deployment=deployment)
                    except AppError:
                        logger.exception("reconcile: sweeping %s failed", resource)
                        report.sweep_failed.append(resource)
                        continue
                report.swept.append(resource)
        await self._sweep_zones(report, cutoff=cutoff)

    async def _sweep_zones(self, report: Reconciled, *, cutoff: datetime) -> None:
        """The zones of delegated setups that no row knows, as the SES resources above."""
        zones = self._lifecycle.zones
        if zones.publisher is None:
            return
        where = zones.publisher.label
        try:
            found = await zones.made_before(cutoff)
        except AppError:
            logger.exception("reconcile: listing the zones at %s failed", where)
            report.sweep_failed.append(Untracked("zone", where, "*", ""))
            return
        async with self._db.read() as connection:
            known = await repository.known_ids(connection)
        for zone in found:
            if zone.setup_id in known:
                continue
            resource = Untracked("zone", where, zone.name, zone.setup_id or "")
            if not report.dry_run:
                try:
                    await zones.sweep(zone)
                except AppError:
                    logger.exception("reconcile: sweeping %s failed", resource)
                    report.sweep_failed.append(resource)
                    continue
            report.swept.append(resource)

    async def _ours_in(
        self, ses: SesGateway, *, region: str, cutoff: datetime, deployment: str
    ) -> list[Untracked]:
        """This deployment's tenants and identities in `region` created before `cutoff`."""
        found: list[Untracked] = []
        pace = self._pace.wait
        for kind, names in (
            ("tenant", ses.tenant_names(pace=pace)),
            ("identity", ses.domain_identities(pace=pace)),
        ):
            async for name in names:
                tags = await self._tags_of(ses, kind, name)
                if tags is not None and _sweepable(tags, cutoff=cutoff, deployment=deployment):
                    setup_id = tags.get(TAG_SETUP_ID, "")
                    found.append(
                        Untracked(kind, region, name, setup_id, tuple(sorted(tags.items())))
                    )
        return found

    async def _delete(self, ses: SesGateway, resource: Untracked, *, deployment: str) -> None:
        # Read the tags again right before the delete: the name may have been freed and
        # taken by a new setup since the listing (another reconcile swept it meanwhile).
        tags = await self._tags_of(ses, resource.kind, resource.name)
        if tags is None or tags.get(TAG_SETUP_ID, "") != resource.setup_id:
            return
        if tags.get(TAG_DEPLOYMENT) != deployment:
            return
        if resource.kind == "tenant":  # its associations go with it
            call, names = ses.delete_tenant(resource.name), [(TENANT_NAME, resource.name)]
        else:
            call, names = ses.delete_domain_identity(resource.name), [(DOMAIN, resource.name)]
        await self._lifecycle.deletes.run([(names, call)])
        log_deletion(kind=resource.kind, name=resource.name, region=resource.region, tags=tags)

    async def _tags_of(self, ses: SesGateway, kind: str, name: str) -> dict[str, str] | None:
        """A tenant's or an identity's tags, read at the sweep's pace; None once it is gone."""
        await self._pace.wait()
        return await (ses.tenant_tags(name) if kind == "tenant" else ses.identity_tags(name))


def _sweepable(tags: dict[str, str], *, cutoff: datetime, deployment: str) -> bool:
    if tags.get(TAG_DEPLOYMENT) != deployment:
        return False  # untagged, or another deployment's: never touched
    return _created_at(tags) < cutoff


def _created_at(tags: dict[str, str]) -> datetime:
    """The creation time a resource's tag records; missing or unreadable counts as old."""
    try:
        created = datetime.fromisoformat(tags[TAG_CREATED_AT])
    except (KeyError, ValueError):
        return LONG_AGO
    return created if created.tzinfo is not None else LONG_AGO
