"""The FastAPI dependencies that authorise a request: `Annotated[Principal, Requires(...)]`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from email_channels.auth.permissions import Permission
from email_channels.auth.scope import WORKSPACE_ID_PATTERN
from email_channels.auth.service import Principal, authorise
from email_channels.db.engine import Database

WorkspaceId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=WORKSPACE_ID_PATTERN,
        description="Opaque workspace id: 1-64 characters of [A-Za-z0-9_-].",
    ),
]

_bearer = HTTPBearer(auto_error=False, description="An API key of the workspace.")


def database(request: Request) -> Database:
    """The process's database, built in the lifespan."""
    db = request.app.state.database
    assert isinstance(db, Database)
    return db


def Requires(permission: Permission) -> Any:  # noqa: N802 - reads as a type annotation
    """A dependency that authorises the request for `permission` in the path's workspace."""

    async def dependency(
        request: Request,
        workspace_id: WorkspaceId,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        secret = credentials.credentials if credentials else None
        return await authorise(
            database(request), secret=secret, workspace_id=workspace_id, permission=permission
        )

    authorise_dependency: Callable[..., Awaitable[Principal]] = dependency
    return Depends(authorise_dependency)
