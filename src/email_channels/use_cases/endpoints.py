"""HTTP endpoints of use cases."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from email_channels.auth.dependencies import Requires
from email_channels.auth.permissions import Permission
from email_channels.auth.service import Principal
from email_channels.http import AUTHORISED, app_state, json_response, problems
from email_channels.idempotency.dependencies import IdempotencyDep, IdempotencyKeyHeader
from email_channels.pagination import ContinuationToken, Limit
from email_channels.use_cases.schemas import UseCaseCreate, UseCaseOut, UseCasePage
from email_channels.use_cases.service import UseCaseService

router = APIRouter(prefix="/v1/{workspace_id}/use-cases", tags=["Use cases"])


Service = Annotated[UseCaseService, Depends(app_state("use_cases", UseCaseService))]


@router.post(
    "",
    status_code=201,
    response_model=UseCaseOut,
    responses=problems(*AUTHORISED, 409, 413, 415),
    summary="Create a use case",
)
async def create_use_case(
    principal: Annotated[Principal, Requires(Permission.USE_CASE_CREATE)],
    body: UseCaseCreate,
    service: Service,
    idempotency: IdempotencyDep,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Reference an SES setup of the workspace; the setup can't be deleted meanwhile."""

    async def create() -> Response:
        use_case = await service.create(workspace_id=principal.workspace_id, request=body)
        location = f"/v1/{principal.workspace_id}/use-cases/{use_case['id']}"
        return json_response(use_case, status=201, headers={"Location": location})

    return await idempotency.run(
        api_key_id=principal.key_id,
        endpoint="use-cases.create",
        key=idempotency_key,
        body=await request.body(),
        handler=create,
    )


@router.get(
    "", response_model=UseCasePage, responses=problems(*AUTHORISED), summary="List use cases"
)
async def list_use_cases(
    principal: Annotated[Principal, Requires(Permission.USE_CASE_VIEW)],
    service: Service,
    limit: Limit = 20,
    continuation_token: ContinuationToken = None,
) -> Response:
    """Newest first."""
    page = await service.list_page(
        workspace_id=principal.workspace_id, limit=limit, continuation_token=continuation_token
    )
    return json_response(page)


@router.get(
    "/{use_case_id}",
    response_model=UseCaseOut,
    responses=problems(*AUTHORISED, 404),
    summary="Get a use case",
)
async def get_use_case(
    principal: Annotated[Principal, Requires(Permission.USE_CASE_VIEW)],
    use_case_id: uuid.UUID,
    service: Service,
) -> Response:
    use_case = await service.get(workspace_id=principal.workspace_id, use_case_id=use_case_id)
    return json_response(use_case)


@router.delete(
    "/{use_case_id}",
    status_code=204,
    response_class=Response,
    responses=problems(*AUTHORISED, 404),
    summary="Delete a use case",
)
async def delete_use_case(
    principal: Annotated[Principal, Requires(Permission.USE_CASE_DELETE)],
    use_case_id: uuid.UUID,
    service: Service,
) -> Response:
    await service.delete(workspace_id=principal.workspace_id, use_case_id=use_case_id)
    return Response(status_code=204)
