"""The FastAPI dependencies that authorise a request: `Annotated[Principal, Requires(...)]`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from email_channels.auth.permissions import Permission
from email_channels.auth.rate_limit import enforce_rate_limit
from email_channels.auth.scope import (
    WORKSPACE_ID_MAX_LENGTH,
    WORKSPACE_ID_PATTERN,
    WORKSPACE_ID_RULE,
    is_workspace_id,
)
from email_channels.auth.service import Principal, authenticate, authorise
from email_channels.db.engine import Database
from email_channels.errors import FieldError, InvalidInput
from email_channels.observability.middleware import identify_caller

# The shape is documented here but checked in `Requires`, after the key: FastAPI would check
# it before any dependency runs, answering 422 to a caller that has not authenticated.
WorkspaceId = Annotated[
    str,
    Path(
        description="Opaque workspace id: 1-64 characters of [A-Za-z0-9_-].",
        json_schema_extra={
            "minLength": 1,
            "maxLength": WORKSPACE_ID_MAX_LENGTH,
            "pattern": WORKSPACE_ID_PATTERN,
        },
    ),
]

_bearer = HTTPBearer(auto_error=False, description="An API key of the workspace.")


def database(request: Request) -> Database:
    """The process's database, built in the lifespan."""
    db = request.app.state.database
    assert isinstance(db, Database)
    return db


def _require_workspace_id(workspace_id: str) -> None:
    if not is_workspace_id(workspace_id):
        raise InvalidInput(
            "The workspace id in the path is not valid.",
            errors=[FieldError(field="workspace_id", message=WORKSPACE_ID_RULE)],
        )


def Requires(permission: Permission) -> Any:  # noqa: N802 - reads as a type annotation
    """A dependency that authorises the request for `permission` in the path's workspace."""

    async def dependency(
        request: Request,
        workspace_id: WorkspaceId,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        # 401 (who is calling), 429 (how often), then 422 (a malformed path), then 403 (what
        # they may do).
        grant = await authenticate(
            database(request), secret=credentials.credentials if credentials else None
        )
        identify_caller(request, grant.key_id)
        await enforce_rate_limit(request, grant.key_id)  # before any SES or DNS work
        _require_workspace_id(workspace_id)
        return authorise(grant, workspace_id=workspace_id, permission=permission)

    authorise_dependency: Callable[..., Awaitable[Principal]] = dependency
    return Depends(authorise_dependency)
