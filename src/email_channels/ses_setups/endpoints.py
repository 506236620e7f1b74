"""HTTP endpoints of SES setups: authorise, call the service, answer."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from starlette.responses import Response

from email_channels.auth.dependencies import Requires
from email_channels.auth.permissions import Permission
from email_channels.auth.service import Principal
from email_channels.http import AUTHORISED, app_state, json_response, problems
from email_channels.idempotency.dependencies import IdempotencyDep, IdempotencyKeyHeader
from email_channels.pagination import ContinuationToken, Limit
from email_channels.ses_setups.schemas import (
    SesSetupCreate,
    SesSetupDetail,
    SesSetupPage,
    SesSetupUpdate,
    SesSetupVerify,
)
from email_channels.ses_setups.service import SesSetupService
from email_channels.ses_setups.zone import (
    CSV_MEDIA_TYPE,
    ZONE_MEDIA_TYPE,
    ZoneFormat,
    render,
    zone_filename,
)

router = APIRouter(prefix="/v1/{workspace_id}/channels/ses-setup", tags=["SES setups"])


Service = Annotated[SesSetupService, Depends(app_state("ses_setups", SesSetupService))]


@router.post(
    "",
    status_code=201,
    response_model=SesSetupDetail,
    responses=problems(*AUTHORISED, 409, 413, 415, 502, 504),
    summary="Create an SES setup",
)
async def create_ses_setup(
    principal: Annotated[Principal, Requires(Permission.CHANNEL_CREATE)],
    body: SesSetupCreate,
    service: Service,
    idempotency: IdempotencyDep,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Create the SES tenant and domain identity; answer the DNS records to publish."""

    async def create() -> Response:
        detail = await service.create(workspace_id=principal.workspace_id, request=body)
        location = f"/v1/{principal.workspace_id}/channels/ses-setup/{detail['id']}"
        return json_response(detail, status=201, headers={"Location": location})

    return await idempotency.run(
        api_key_id=principal.key_id,
        endpoint="ses-setup.create",
        key=idempotency_key,
        body=await request.body(),
        handler=create,
    )


@router.get(
    "",
    response_model=SesSetupPage,
    responses=problems(*AUTHORISED),
    summary="List SES setups",
)
async def list_ses_setups(
    principal: Annotated[Principal, Requires(Permission.CHANNEL_VIEW)],
    service: Service,
    limit: Limit = 20,
    continuation_token: ContinuationToken = None,
) -> Response:
    """Newest first, with the `dns_verified` cached by the last check (no DNS lookup)."""
    page = await service.list_page(
        workspace_id=principal.workspace_id, limit=limit, continuation_token=continuation_token
    )
    return json_response(page)


@router.get(
    "/{setup_id}",
    response_model=SesSetupDetail,
    responses=problems(*AUTHORISED, 404),
    summary="Get an SES setup, with a live DNS check",
)
async def get_ses_setup(
    principal: Annotated[Principal, Requires(Permission.CHANNEL_VIEW)],
    setup_id: uuid.UUID,
    service: Service,
) -> Response:
    """Look up every record in DNS now and answer what was found."""
    detail = await service.get_checked(workspace_id=principal.workspace_id, setup_id=setup_id)
    return json_response(detail)


@router.post(
    "/{setup_id}/verify",
    response_model=SesSetupDetail,
    responses=problems(*AUTHORISED, 404, 413, 415),
    summary="Verify the DNS records of an SES setup now",
)
async def verify_ses_setup(
    principal: Annotated[Principal, Requires(Permission.CHANNEL_VIEW)],
    setup_id: uuid.UUID,
    service: Service,
    body: Annotated[SesSetupVerify | None, Body()] = None,
) -> Response:
    """The same live check as GET, as an explicit action."""
    detail = await service.get_checked(workspace_id=principal.workspace_id, setup_id=setup_id)
    return json_response(detail)


@router.patch(
    "/{setup_id}",
    response_model=SesSetupDetail,
    responses=problems(*AUTHORISED, 404, 409, 413, 502, 504),
    summary="Change an SES setup's reputation policy",
)
async def update_ses_setup(
    principal: Annotated[Principal, Requires(Permission.CHANNEL_MANAGE)],
    setup_id: uuid.UUID,
    body: SesSetupUpdate,
    service: Service,
) -> Response:
    """Apply one of SES's managed reputation policies to the setup's tenant."""
    detail = await service.update(
        workspace_id=principal.workspace_id, setup_id=setup_id, request=body
    )
    return json_response(detail)


def _sending_endpoint(*, enabled: bool, name: str, doc: str) -> Callable[..., Awaitable[Response]]:
    """The pause (`enabled` False) or resume route: one SES call, then the Detail."""

    async def endpoint(
        principal: Annotated[Principal, Requires(Permission.CHANNEL_MANAGE)],
        setup_id: uuid.UUID,
        service: Service,
        body: Annotated[SesSetupVerify | None, Body()] = None,
    ) -> Response:
        detail = await service.set_sending(
            workspace_id=principal.workspace_id, setup_id=setup_id, enabled=enabled
        )
        return json_response(detail)

    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = doc
    return endpoint


for _action, _enabled, _doc in (
    (
        "pause",
        False,
        "Disable the tenant's sending in SES (idempotent); answer `sending` as SES reports it.",
    ),
    (
        "resume",
        True,
        "Enable the tenant's sending in SES again (idempotent); a pause by SES stays.",
    ),
):
    router.post(
        f"/{{setup_id}}/{_action}",
        response_model=SesSetupDetail,
        responses=problems(*AUTHORISED, 404, 409, 413, 502, 504),
        summary=f"{_action.capitalize()} an SES setup's sending",
    )(_sending_endpoint(enabled=_enabled, name=f"{_action}_ses_setup", doc=_doc))


@router.delete(
    "/{setup_id}",
    status_code=204,
    response_class=Response,
    responses=problems(*AUTHORISED, 404, 409, 502, 504),
    summary="Delete an SES setup",
)
async def delete_ses_setup(
    principal: Annotated[Principal, Requires(Permission.CHANNEL_DELETE)],
    setup_id: uuid.UUID,
    service: Service,
) -> Response:
    """Tear down the SES tenant and identity; refused while a use case references the setup."""
    await service.delete(workspace_id=principal.workspace_id, setup_id=setup_id)
    return Response(status_code=204)


ZONE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The seven records: a BIND zone-file fragment, or CSV with `format=csv`.",
        "content": {
            ZONE_MEDIA_TYPE: {"schema": {"type": "string"}},
            CSV_MEDIA_TYPE: {"schema": {"type": "string"}},
        },
    },
    **problems(*AUTHORISED, 404),
}


@router.get(
    "/{setup_id}/zone",
    response_class=Response,
    responses=ZONE_RESPONSES,
    summary="Export the DNS records of an SES setup as a zone-file fragment or CSV",
)
async def export_ses_setup_zone(
    principal: Annotated[Principal, Requires(Permission.CHANNEL_VIEW)],
    setup_id: uuid.UUID,
    service: Service,
    format: Annotated[
        ZoneFormat, Query(description="`bind` (default): zone-file lines; `csv`: type,name,value.")
    ] = ZoneFormat.BIND,
) -> Response:
    """The records to publish, ready to append to the domain's zone file; no DNS lookup."""
    domain, records = await service.zone_records(
        workspace_id=principal.workspace_id, setup_id=setup_id
    )
    body, media_type = render(records, zone_format=format)
    disposition = f'attachment; filename="{zone_filename(domain, format)}"'
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})
