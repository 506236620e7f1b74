"""HTTP endpoints of webhooks: authorise, call the service, answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from email_channels.auth.dependencies import Requires
from email_channels.auth.permissions import Permission
from email_channels.auth.service import Principal
from email_channels.http import AUTHORISED, app_state, json_response, problems
from email_channels.pagination import ContinuationToken, Limit
from email_channels.webhooks.schemas import (
    DeliveryPage,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookPage,
)
from email_channels.webhooks.service import WebhookService

router = APIRouter(prefix="/v1/{workspace_id}/webhooks", tags=["Webhooks"])


Service = Annotated[WebhookService, Depends(app_state("webhooks", WebhookService))]
Manager = Annotated[Principal, Requires(Permission.WEBHOOK_MANAGE)]


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    responses=problems(*AUTHORISED, 413, 415),
    summary="Create a webhook",
)
async def create_webhook(principal: Manager, body: WebhookCreate, service: Service) -> Response:
    """Subscribe a URL to events; the signing secret is in this answer only."""
    webhook = await service.create(workspace_id=principal.workspace_id, request=body)
    location = f"/v1/{principal.workspace_id}/webhooks/{webhook['id']}"
    return json_response(webhook, status=201, headers={"Location": location})


@router.get(
    "", response_model=WebhookPage, responses=problems(*AUTHORISED), summary="List webhooks"
)
async def list_webhooks(
    principal: Manager,
    service: Service,
    limit: Limit = 20,
    continuation_token: ContinuationToken = None,
) -> Response:
    """Newest first; no secrets."""
    page = await service.list_page(
        workspace_id=principal.workspace_id, limit=limit, continuation_token=continuation_token
    )
    return json_response(page)


@router.get(
    "/{webhook_id}",
    response_model=WebhookOut,
    responses=problems(*AUTHORISED, 404),
    summary="Get a webhook",
)
async def get_webhook(principal: Manager, webhook_id: uuid.UUID, service: Service) -> Response:
    """One webhook, without its secret."""
    return json_response(
        await service.get(workspace_id=principal.workspace_id, webhook_id=webhook_id)
    )


@router.delete(
    "/{webhook_id}",
    status_code=204,
    response_class=Response,
    responses=problems(*AUTHORISED, 404),
    summary="Delete a webhook",
)
async def delete_webhook(principal: Manager, webhook_id: uuid.UUID, service: Service) -> Response:
    """Unsubscribe; pending deliveries are cancelled."""
    await service.delete(workspace_id=principal.workspace_id, webhook_id=webhook_id)
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    responses=problems(*AUTHORISED, 404),
    summary="List a webhook's deliveries",
)
async def list_deliveries(
    principal: Manager,
    webhook_id: uuid.UUID,
    service: Service,
    limit: Limit = 20,
    continuation_token: ContinuationToken = None,
) -> Response:
    """The delivery log, newest first: status, attempts, last status code and error."""
    page = await service.deliveries_page(
        workspace_id=principal.workspace_id,
        webhook_id=webhook_id,
        limit=limit,
        continuation_token=continuation_token,
    )
    return json_response(page)
