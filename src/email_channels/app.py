"""The FastAPI application: `create_app(settings)` wires the adapters in its lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.responses import Response

from email_channels import __version__
from email_channels.auth.grant_cache import GrantCache, RevocationListener
from email_channels.auth.rate_limit import rate_limiter
from email_channels.body_limit import BodyLimitMiddleware
from email_channels.config import DnsCheck, SesMode, Settings
from email_channels.console import install_console
from email_channels.db.driver import DriverPool, driver_dsn
from email_channels.db.engine import Database, create_engine
from email_channels.http import Problem, json_response
from email_channels.idempotency.service import Idempotency
from email_channels.integrations.dns import DnsLookup
from email_channels.integrations.dns.authoritative import ZoneServers
from email_channels.integrations.dns.resolver import DnsPythonLookup
from email_channels.integrations.dns.zones import ZoneDirectory
from email_channels.integrations.ses import SesRegions
from email_channels.integrations.ses.client import AioBotocoreRegions
from email_channels.memory import freeze_startup_objects
from email_channels.observability.endpoints import router as operations_router
from email_channels.observability.logs import configure_logging, ensure_structlog
from email_channels.observability.metrics import forget_this_process, instrument_pool
from email_channels.observability.middleware import ObservabilityMiddleware
from email_channels.observability.readiness import DatabaseProbe
from email_channels.problems import install_error_handlers
from email_channels.ses_setups.endpoints import router as ses_setups_router
from email_channels.ses_setups.fast_reads import FastReads
from email_channels.ses_setups.schedule import Schedule
from email_channels.ses_setups.service import SesSetupService
from email_channels.ses_setups.source_check import SourceCheck
from email_channels.use_cases.endpoints import router as use_cases_router
from email_channels.use_cases.service import UseCaseService
from email_channels.webhooks.endpoints import router as webhooks_router
from email_channels.webhooks.service import WebhookService
from email_channels.worker.build import build_worker

SANDBOX_CREDENTIALS = ("sandbox", "sandbox")


def lease_seconds(settings: Settings) -> float:
    """How long a lease on a setup lasts: longer than the longest wait between renewals.

    Its holder renews it before each round of SES calls, and one round takes at most
    `UPSTREAM_TIMEOUT` (its retries included).
    """
    return max(60.0, 3 * settings.upstream_timeout)


async def open_ses(
    settings: Settings, stack: AsyncExitStack, *, join_running_sandbox: bool = False
) -> SesRegions:
    """The production SES adapter, pointed at AWS, another endpoint, or the built-in sandbox.

    `join_running_sandbox`: in sandbox mode, use the emulator of a service already running on
    the port instead of failing (for CLI commands beside `serve`).
    """
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
    await regions.region(settings.aws_region)  # the default region's client, up front
    return regions


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
    gateway = ses or await open_ses(settings, stack, join_running_sandbox=join_running_sandbox)
    lookup = dns or DnsPythonLookup(
        nameservers=settings.dns_nameservers,
        timeout=settings.dns_timeout,
        lifetime=settings.dns_lifetime,
    )
    return SesSetupService(
        db=database,
        ses=gateway,
        dns=source_check(settings, lookup),
        region=settings.aws_region,
        mail_from_subdomain=settings.mail_from_subdomain,
        deployment_id=settings.deployment_id,
        lease_seconds=lease_seconds(settings),
        schedule=Schedule(
            check_interval_min=settings.check_interval_min,
            check_interval_max=settings.check_interval_max,
            verified_check_interval=settings.verified_check_interval,
            unverify_after=settings.unverify_after,
        ),
    )


def source_check(settings: Settings, lookup: DnsLookup) -> SourceCheck:
    """The DNS check of DNS_CHECK: the zones' own servers, or the resolver alone."""
    if settings.dns_check is DnsCheck.RESOLVER or not isinstance(lookup, DnsPythonLookup):
        return SourceCheck(lookup=lookup, lifetime=settings.dns_lifetime)
    return SourceCheck(
        lookup=lookup,
        lifetime=settings.dns_lifetime,
        timeout=settings.dns_timeout,
        zones=ZoneDirectory(resolver_servers=lookup.servers, timeout=settings.dns_timeout),
        servers=ZoneServers(port=settings.dns_authoritative_port, timeout=settings.dns_timeout),
    )


async def open_hot_paths(database: Database, stack: AsyncExitStack, *, pool_size: int) -> None:
    """On PostgreSQL: the driver's pool for the hot statements and the key grant cache."""
    dsn = driver_dsn(database.engine.url)
    if dsn is None:
        return
    database.driver = await DriverPool.open(dsn, size=pool_size)
    stack.push_async_callback(database.driver.close)
    database.grants = GrantCache()
    listener = RevocationListener(database.grants, dsn=dsn)
    listener.start()
    stack.push_async_callback(listener.close)


def create_app(
    settings: Settings,
    *,
    ses: SesRegions | None = None,
    dns: DnsLookup | None = None,
    run_worker: bool = False,
) -> FastAPI:
    """Build the application; `ses` and `dns` replace the real adapters where none can run.

    `run_worker`: run the background worker inside the process (what `serve` does).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = Database(
                create_engine(settings.database_url, pool_size=settings.database_pool_size)
            )
            stack.push_async_callback(database.dispose)
            stack.callback(forget_this_process)
            instrument_pool(database.engine)
            await open_hot_paths(database, stack, pool_size=settings.database_pool_size)
            app.state.database = database
            app.state.readiness = DatabaseProbe(settings.database_url)
            stack.push_async_callback(app.state.readiness.close)
            app.state.rate_limiter = rate_limiter(
                per_minute=settings.rate_limit, storage_uri=settings.rate_limit_storage_uri
            )
            if app.state.rate_limiter is not None:
                stack.push_async_callback(app.state.rate_limiter.close)
            app.state.ses_setups = await build_ses_setup_service(
                settings, database, stack, ses=ses, dns=dns
            )
            app.state.use_cases = UseCaseService(db=database)
            app.state.idempotency = Idempotency(database)
            app.state.webhooks = WebhookService(
                db=database, allow_private=settings.webhook_allow_private
            )
            if run_worker:
                worker = await build_worker(
                    settings,
                    database=database,
                    service=app.state.ses_setups,
                    ses=app.state.ses_setups.ses,
                    stack=stack,
                )
                task = asyncio.create_task(worker.run(), name="worker")

                async def stop_worker() -> None:
                    worker.stop()
                    await task

                # Registered last, so it runs first: the worker ends before what it uses.
                stack.push_async_callback(stop_worker)
            freeze_startup_objects()
            yield

    app = FastAPI(
        title="email-channels",
        version=__version__,
        summary="Email channels of a workspace: Amazon SES tenants, domains and their DNS.",
        lifespan=lifespan,
    )
    ensure_structlog()
    install_error_handlers(app)
    # The plain list and detail reads skip FastAPI's per-request machinery (fast_reads.py).
    app.add_middleware(FastReads)
    # A body too large is refused before anything but the request log looks at it.
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(ObservabilityMiddleware)  # added last: outermost
    app.include_router(operations_router)
    app.include_router(ses_setups_router)
    app.include_router(use_cases_router)
    app.include_router(webhooks_router)
    install_console(app)

    @app.get("/healthz", tags=["Operations"], summary="Liveness")
    async def healthz() -> Response:
        return json_response({"status": "ok"})

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(problem.pop("$defs", {}))
            schemas["Problem"] = problem
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def create_app_from_environment() -> FastAPI:
    """The app of `email-channels serve`: settings from the environment, logging set up.

    An import-string factory, so that each worker process of `serve --workers N` builds its
    own app (and its own logging) after it started.
    """
    settings = Settings()
    configure_logging(settings.log_format)
    return create_app(settings, run_worker=settings.serve_worker)
