"""The FastAPI application: `create_app(settings)`; its lifespan opens what the root wires."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.responses import Response
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from email_channels import __version__
from email_channels.api_docs import install_api_docs
from email_channels.body_limit import BodyLimitMiddleware
from email_channels.bootstrap import open_api
from email_channels.config import Settings
from email_channels.console import install_console
from email_channels.http import Problem, json_response
from email_channels.integrations.dns import DnsLookup
from email_channels.integrations.ses import SesRegions
from email_channels.memory import freeze_startup_objects, limit_heap_arenas
from email_channels.observability.endpoints import router as operations_router
from email_channels.observability.logs import configure_logging, ensure_structlog
from email_channels.observability.middleware import ObservabilityMiddleware
from email_channels.problems import install_error_handlers
from email_channels.ses_setups.endpoints import router as ses_setups_router
from email_channels.ses_setups.fast_reads import FastReads
from email_channels.use_cases.endpoints import router as use_cases_router
from email_channels.webhooks.endpoints import router as webhooks_router


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
        limit_heap_arenas()  # before open_api starts any thread
        async with AsyncExitStack() as stack:
            parts = await open_api(settings, stack, ses=ses, dns=dns, with_worker=run_worker)
            app.state.database = parts.database
            app.state.readiness = parts.readiness
            app.state.rate_limiter = parts.rate_limiter
            app.state.ses_setups = parts.ses_setups
            app.state.use_cases = parts.use_cases
            app.state.idempotency = parts.idempotency
            app.state.webhooks = parts.webhooks
            if parts.worker is not None:
                worker = parts.worker
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
        docs_url=None,  # served from the package's own files: api_docs.py
        redoc_url=None,
    )
    ensure_structlog()
    install_error_handlers(app)
    # The plain list and detail reads skip FastAPI's per-request machinery (fast_reads.py).
    app.add_middleware(FastReads)
    # A body too large is refused before anything but the request log looks at it.
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(ObservabilityMiddleware)
    # Added last: outermost. Behind a proxy listed in FORWARDED_ALLOW_IPS, the scheme and
    # client address are the ones it forwards (the console's cookie is then `Secure`).
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    app.include_router(operations_router)
    app.include_router(ses_setups_router)
    app.include_router(use_cases_router)
    app.include_router(webhooks_router)
    install_console(app)
    install_api_docs(app)

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
