"""The operator's endpoints: readiness and the Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from starlette.responses import Response

from email_channels.errors import ServiceUnavailable
from email_channels.http import json_response
from email_channels.observability.metrics import METRICS_CONTENT_TYPE, exposition
from email_channels.observability.readiness import DatabaseProbe
from email_channels.problems import problem_response

router = APIRouter(tags=["Operations"])


# Operator endpoints stay out of the OpenAPI document: it describes the clients' API
# (/v1/...); these are the operators', for load balancers and scrapers.
@router.get("/readyz", summary="Readiness", include_in_schema=False)
async def readyz(request: Request) -> Response:
    """200 when the database answers; 503 otherwise (take this process out of rotation)."""
    probe = request.app.state.readiness
    assert isinstance(probe, DatabaseProbe)
    if await probe.ready():
        return json_response({"status": "ready"})
    return problem_response(
        status=503,
        title=ServiceUnavailable.title,
        detail="The database is not answering.",
        headers={"Retry-After": "1"},
    )


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus text format: this process, or every worker of `serve --workers N`."""
    # In multiprocess mode this reads one file per worker and metric: off the event loop.
    body = await asyncio.to_thread(exposition)
    return Response(body, media_type=METRICS_CONTENT_TYPE)
