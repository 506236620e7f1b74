"""The composition root: `Settings` in; the database, SES, DNS, services and worker out.

The app's lifespan, `email-channels worker` and the other CLI commands call it, and nothing
else builds an adapter; nothing below those entry points imports it. What an opened object
holds is closed by the `AsyncExitStack` handed in, in the reverse order of opening.

Only the configuration and the database are imported up front: the SES client, the web stack
and the features are imported by the functions that build them, so that the key commands of
the CLI stay quick.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

from email_channels.config import DnsCheck, DnsPublisherKind, SesMode, Settings
from email_channels.db.engine import Database, create_engine

if TYPE_CHECKING:
    from email_channels.auth.rate_limit import RateLimiter
    from email_channels.idempotency.service import Idempotency
    from email_channels.integrations.dns import DnsLookup
    from email_channels.integrations.dns_publisher import DnsPublisher
    from email_channels.integrations.ses import SesRegions
    from email_channels.observability.readiness import DatabaseProbe
    from email_channels.ses_setups.service import SesSetupService
    from email_channels.ses_setups.source_check import SourceCheck
    from email_channels.use_cases.service import UseCaseService
    from email_channels.webhooks.service import WebhookService
    from email_channels.worker.loop import Worker

SANDBOX_CREDENTIALS = ("sandbox", "sandbox")
RECONCILE_EVERY = 600.0
PURGE_EVERY = 900.0
EXPIRE_EVERY = 60.0


def lease_seconds(settings: Settings) -> float:
    """How long a lease on a setup lasts: longer than the longest wait between renewals.

    Its holder renews it before each round of SES calls, and one round takes at most
    `UPSTREAM_TIMEOUT` (its retries included).
    """
    return max(60.0, 3 * settings.upstream_timeout)


def reconcile_grace(settings: Settings) -> float:
    """Reconcile's grace period: that of the `reconcile` command's default."""
    return max(300.0, 6 * settings.upstream_timeout)


def build_database(settings: Settings) -> Database:
    """The database of a CLI command: the caller disposes of it."""
    return Database(create_engine(settings.database_url))


async def open_database(settings: Settings, stack: AsyncExitStack) -> Database:
    """The database of a serving process: its pool measured, its hot paths opened."""
    from email_channels.observability.metrics import forget_this_process, instrument_pool

    database = Database(create_engine(settings.database_url, pool_size=settings.database_pool_size))
    stack.push_async_callback(database.dispose)
    stack.callback(forget_this_process)
    instrument_pool(database.engine)
    await open_hot_paths(database, stack, pool_size=settings.database_pool_size)
    return database


async def open_driver(database: Database, stack: AsyncExitStack, *, pool_size: int) -> str | None:
    """On PostgreSQL: the driver's pool for the hot statements; its DSN (None: not opened)."""
    from email_channels.db.driver import DriverPool, driver_dsn

    dsn = driver_dsn(database.engine.url)
    if dsn is None:
        return None
    database.driver = await DriverPool.open(dsn, size=pool_size)
    stack.push_async_callback(database.driver.close)
    return dsn


async def open_hot_paths(database: Database, stack: AsyncExitStack, *, pool_size: int) -> None:
    """On PostgreSQL: the driver's pool for the hot statements and the key grant cache."""
    from email_channels.auth.grant_cache import GrantCache, RevocationListener

    dsn = await open_driver(database, stack, pool_size=pool_size)
    if dsn is None:
        return
    grants = GrantCache()
    database.grants = grants
    listener = RevocationListener(grants, dsn=dsn)
    listener.start()
    stack.push_async_callback(listener.close)


async def open_ses(
    settings: Settings, stack: AsyncExitStack, *, join_running_sandbox: bool = False
) -> SesRegions:
    """The production SES adapter, pointed at AWS, another endpoint, or the built-in sandbox.

    One client per region: the offered ones up front, any other on first use.
    `join_running_sandbox`: in sandbox mode, use the emulator of a service already running on
    the port instead of failing (for CLI commands beside `serve`).
    """
    from email_channels.integrations.ses.client import AioBotocoreRegions

    endpoint_url = settings.ses_endpoint_url
    credentials = None
    if settings.ses_mode is SesMode.SANDBOX:
        from email_channels.sandbox.account import Quotas
        from email_channels.sandbox.server import EmbeddedSandbox, SandboxStartupError

        sandbox = EmbeddedSandbox(
            host="127.0.0.1",
            port=settings.sandbox_port,
            state_path=settings.sandbox_state_path,
            region=settings.aws_region,
            quotas=Quotas(
                max_tenants=settings.sandbox_max_tenants,
                max_email_identities=settings.sandbox_max_email_identities,
            ),
            dns_nameservers=settings.sandbox_dns_nameservers,
        )
        try:
            await sandbox.start()
            stack.push_async_callback(sandbox.stop)
        except SandboxStartupError:
            if not join_running_sandbox:
                raise
        endpoint_url = f"http://127.0.0.1:{settings.sandbox_port}"
        credentials = SANDBOX_CREDENTIALS
    regions = AioBotocoreRegions(
        timeout=settings.upstream_timeout, endpoint_url=endpoint_url, credentials=credentials
    )
    stack.push_async_callback(regions.close)
    # The default region's client and each offered region's (AWS_REGIONS), up front; another
    # (a row of a region no longer offered) opens on first use.
    for region in dict.fromkeys([settings.aws_region, *settings.offered_regions]):
        await regions.region(region)
    return regions


def build_dns(settings: Settings) -> DnsLookup:
    """The DNS lookup of the record checks."""
    from email_channels.integrations.dns.resolver import DnsPythonLookup

    return DnsPythonLookup(
        nameservers=settings.dns_nameservers,
        timeout=settings.dns_timeout,
        lifetime=settings.dns_lifetime,
    )


def open_publisher(settings: Settings, stack: AsyncExitStack) -> DnsPublisher | None:
    """The DNS publisher of delegated setups' zones; None when the deployment offers none."""
    if settings.dns_publisher is DnsPublisherKind.POWERDNS:
        from email_channels.integrations.dns_publisher.powerdns import PowerDnsPublisher

        # The settings refuse `powerdns` without these.
        assert settings.powerdns_api_url is not None
        assert settings.powerdns_api_key is not None
        powerdns = PowerDnsPublisher(
            api_url=settings.powerdns_api_url,
            api_key=settings.powerdns_api_key.get_secret_value(),
            server_id=settings.powerdns_server_id,
            nameservers=settings.delegation_nameservers,
            timeout=settings.upstream_timeout,
        )
        stack.push_async_callback(powerdns.close)
        return powerdns
    if settings.dns_publisher is DnsPublisherKind.ROUTE53:
        from email_channels.integrations.dns_publisher.route53 import Route53Publisher

        route53 = Route53Publisher(
            timeout=settings.upstream_timeout, endpoint_url=settings.route53_endpoint_url
        )
        stack.push_async_callback(route53.close)
        return route53
    return None


def build_source_check(settings: Settings, lookup: DnsLookup) -> SourceCheck:
    """The check of a setup's records: at the zones' own servers, or by the resolver alone.

    `DNS_CHECK=authoritative` needs the resolver's addresses to find zones,
    which only the production adapter has; any other lookup checks through itself.
    """
    from email_channels.integrations.dns.authoritative import ZoneServers
    from email_channels.integrations.dns.resolver import DnsPythonLookup
    from email_channels.integrations.dns.zones import ZoneDirectory
    from email_channels.ses_setups.source_check import SourceCheck

    if settings.dns_check is DnsCheck.RESOLVER or not isinstance(lookup, DnsPythonLookup):
        return SourceCheck(lookup=lookup, lifetime=settings.dns_lifetime)
    return SourceCheck(
        lookup=lookup,
        lifetime=settings.dns_lifetime,
        timeout=settings.dns_timeout,
        zones=ZoneDirectory(resolver_servers=lookup.servers, timeout=settings.dns_timeout),
        servers=ZoneServers(port=settings.dns_authoritative_port, timeout=settings.dns_timeout),
    )


async def build_ses_setup_service(
    settings: Settings,
    database: Database,
    stack: AsyncExitStack,
    *,
    ses: SesRegions | None = None,
    dns: DnsLookup | None = None,
    join_running_sandbox: bool = False,
) -> SesSetupService:
    """The SES setup service with its adapters; what they hold is closed by `stack`."""
    from email_channels.integrations.dns.referral import ReferralDns
    from email_channels.ses_setups.schedule import Schedule
    from email_channels.ses_setups.service import SesSetupService

    gateway = ses or await open_ses(settings, stack, join_running_sandbox=join_running_sandbox)
    lookup = dns or build_dns(settings)
    return SesSetupService(
        db=database,
        ses=gateway,
        dns=build_source_check(settings, lookup),
        region=settings.aws_region,
        offered_regions=settings.offered_regions,
        mail_from_subdomain=settings.mail_from_subdomain,
        deployment_id=settings.deployment_id,
        lease_seconds=lease_seconds(settings),
        inflight_horizon=settings.inflight_horizon,
        ses_read_rate=settings.ses_status_rate,
        schedule=Schedule(
            check_interval_min=settings.check_interval_min,
            check_interval_max=settings.check_interval_max,
            verified_check_interval=settings.verified_check_interval,
            unverify_after=settings.unverify_after,
        ),
        publisher=open_publisher(settings, stack),
        direct=ReferralDns(
            lookup=lookup,
            port=settings.dns_authoritative_port,
            timeout=settings.dns_timeout,
            lifetime=settings.dns_lifetime,
        ),
    )


@dataclass(frozen=True, slots=True)
class ApiParts:
    """What the app's lifespan puts on `app.state`."""

    database: Database
    readiness: DatabaseProbe
    rate_limiter: RateLimiter | None
    ses_setups: SesSetupService
    use_cases: UseCaseService
    idempotency: Idempotency
    webhooks: WebhookService
    worker: Worker | None  # to run inside the API process, when asked for


async def open_api(
    settings: Settings,
    stack: AsyncExitStack,
    *,
    ses: SesRegions | None = None,
    dns: DnsLookup | None = None,
    with_worker: bool = False,
) -> ApiParts:
    """Everything the API serves from; `ses` and `dns` replace the real adapters."""
    from email_channels.auth.rate_limit import rate_limiter
    from email_channels.idempotency.service import Idempotency
    from email_channels.observability.readiness import DatabaseProbe
    from email_channels.use_cases.service import UseCaseService
    from email_channels.webhooks.service import WebhookService

    database = await open_database(settings, stack)
    readiness = DatabaseProbe(database.engine)
    limiter = rate_limiter(
        per_minute=settings.rate_limit, storage_uri=settings.rate_limit_storage_uri
    )
    if limiter is not None:
        stack.push_async_callback(limiter.close)
    ses_setups = await build_ses_setup_service(settings, database, stack, ses=ses, dns=dns)
    worker = None
    if with_worker:
        worker = await build_worker(
            settings, database=database, service=ses_setups, ses=ses_setups.ses, stack=stack
        )
    return ApiParts(
        database=database,
        readiness=readiness,
        rate_limiter=limiter,
        ses_setups=ses_setups,
        use_cases=UseCaseService(db=database),
        idempotency=Idempotency(database),
        webhooks=WebhookService(
            db=database,
            allow_private=settings.webhook_allow_private,
            per_workspace=settings.webhooks_per_workspace,
        ),
        worker=worker,
    )


async def open_worker(settings: Settings, database: Database, stack: AsyncExitStack) -> Worker:
    """The worker of `email-channels worker`, beside a service that may run the sandbox.

    On PostgreSQL its hot statements (a re-check's store, a delivery's claim and outcome) run
    on the driver's pool, as the API's do: one round trip each (bench/README.md, S7 and S8).
    """
    await open_driver(database, stack, pool_size=settings.database_pool_size)
    service = await build_ses_setup_service(settings, database, stack, join_running_sandbox=True)
    return await build_worker(
        settings, database=database, service=service, ses=service.ses, stack=stack
    )


async def build_worker(
    settings: Settings,
    *,
    database: Database,
    service: SesSetupService,
    ses: SesRegions,
    stack: AsyncExitStack,
) -> Worker:
    """The worker with every background job; what it opens is closed by `stack`."""
    from email_channels.idempotency.service import Idempotency
    from email_channels.ses_setups.background import SetupJobs
    from email_channels.webhooks.delivery import Deliverer
    from email_channels.webhooks.retention import EventRetention
    from email_channels.worker.loop import Job, Worker

    # How often an idle job looks for due work: a fraction of the shortest interval.
    poll = min(1.0, settings.check_interval_min / 2)
    setups = SetupJobs(
        db=database,
        service=service,
        ses=ses,
        ses_status_rate=settings.ses_status_rate,
        unverified_ttl=settings.unverified_ttl,
        reconcile_older_than=reconcile_grace(settings),
        # A check takes at most DNS_LIFETIME; a claim that outlives it is a dead worker's.
        claim_seconds=3 * settings.dns_lifetime + 5,
    )
    deliverer = Deliverer(
        db=database,
        timeout=settings.webhook_timeout,
        retry_scale=settings.webhook_retry_scale,
        allow_private=settings.webhook_allow_private,
    )
    stack.push_async_callback(deliverer.close)
    idempotency = Idempotency(database)
    retention = EventRetention(db=database, retention=settings.event_retention)
    return Worker(
        [
            Job("recheck", setups.recheck_due, every=poll),
            Job("ses-status", setups.refresh_ses_status, every=poll),
            Job("deliveries", deliverer.deliver_due, every=min(poll, 0.5)),
            Job(
                "expiry",
                setups.expire_unverified,
                every=min(EXPIRE_EVERY, max(poll, settings.unverified_ttl / 10)),
            ),
            Job("reconcile", setups.reconcile, every=RECONCILE_EVERY),
            Job("purge-idempotency", _zero(idempotency.purge_expired), every=PURGE_EVERY),
            Job("purge-events", retention.purge, every=PURGE_EVERY),
        ]
    )


def _zero(purge: Callable[[], Awaitable[int]]) -> Callable[[], Awaitable[int]]:
    """A job that never asks to run again at once (a purge does all it can in one go)."""

    async def run() -> int:
        await purge()
        return 0

    return run
