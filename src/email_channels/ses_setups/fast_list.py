"""The list's plain request, answered without FastAPI's per-request machinery (S1).

`GET /v1/{ws}/channels/ses-setup` is the hottest route. Through FastAPI, a fifth of its CPU
went to solving the dependency graph and validating parameters whose values are two small
query fields and a header (bench/README.md). This ASGI middleware recognises the plain,
well-formed request (a valid workspace id, `limit` digits in range, a token of token
characters, one bearer key that authenticates and holds `Channel.view` there) and answers it
with the same functions the endpoint calls: `authenticate`, `authorise`, the rate limiter,
`SesSetupService.list_page` and `json_response`, so the bytes are the same. Anything else
(every error included) goes on to FastAPI untouched, which answers it as always; nothing is
counted twice, because the rate limit is the last check and a refused hit is not recorded.

It sits inside the observability and body-limit middlewares: the request id, the access line
and the metrics (under the route's template) are the same as through the route.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from email_channels.auth.permissions import Permission
from email_channels.auth.rate_limit import enforce_rate_limit
from email_channels.auth.scope import is_workspace_id
from email_channels.auth.service import authenticate, authorise
from email_channels.errors import AppError
from email_channels.http import json_response
from email_channels.observability.middleware import identify_caller
from email_channels.pagination import decode_token
from email_channels.problems import DATABASE_UNAVAILABLE, database_unavailable
from email_channels.ses_setups.service import LIST_KIND, SesSetupService

LIST_TEMPLATE = "/v1/{workspace_id}/channels/ses-setup"
_PATH = re.compile(r"/v1/([^/]+)/channels/ses-setup")
_LIMIT = re.compile(rb"[1-9][0-9]{0,2}")
_TOKEN = re.compile(rb"[A-Za-z0-9_-]{1,512}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
VIEW = Permission.CHANNEL_VIEW
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def _query(query_string: bytes) -> tuple[int, str | None] | None:
    """(limit, token) of a plain query string; None for anything FastAPI should judge."""
    limit, token = DEFAULT_LIMIT, None
    seen: set[bytes] = set()
    for pair in query_string.split(b"&") if query_string else ():
        name, equals, value = pair.partition(b"=")
        if not equals or name in seen:
            return None
        seen.add(name)
        if name == b"limit" and _LIMIT.fullmatch(value) and int(value) <= MAX_LIMIT:
            limit = int(value)
        elif name == b"continuation_token" and _TOKEN.fullmatch(value):
            token = value.decode("ascii")
        else:
            return None
    return limit, token


def _bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The secret of the one `Authorization: Bearer <key>` header in our key alphabet."""
    found = [value for name, value in headers if name.lower() == b"authorization"]
    if len(found) != 1:
        return None
    scheme, _, secret = found[0].decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not _SECRET.fullmatch(secret):
        return None
    return secret


@dataclass(frozen=True, slots=True)
class ListRoute:
    """What the observability middleware reads of a matched route: its template."""

    path_format: str = LIST_TEMPLATE


class FastList:
    """Answers the plain list request itself; passes every other request on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = None
        if scope["type"] == "http" and scope["method"] == "GET":
            response = await self._answer(scope)
        if response is None:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)

    async def _answer(self, scope: Scope) -> Response | None:
        """The answer; None when FastAPI must handle the request."""
        try:
            return await self._list(scope)
        except DATABASE_UNAVAILABLE as error:
            # This middleware sits outside FastAPI's exception handlers: the same 503 here.
            return database_unavailable(error)

    async def _list(self, scope: Scope) -> Response | None:
        match = _PATH.fullmatch(scope["path"])
        if match is None or not is_workspace_id(workspace_id := match.group(1)):
            return None
        query = _query(scope.get("query_string", b""))
        secret = _bearer(scope.get("headers", []))
        if query is None or secret is None:
            return None
        app_state = scope["app"].state
        service = app_state.ses_setups
        assert isinstance(service, SesSetupService)
        limit, token = query
        try:
            grant = await authenticate(app_state.database, secret=secret)
            principal = authorise(
                grant, workspace_id=workspace_id, permission=Permission.CHANNEL_VIEW
            )
            after = decode_token(token, kind=LIST_KIND, workspace_id=workspace_id)
        except AppError:
            return None
        # From here on the request is ours: name the route, the caller, the workspace.
        scope["route"] = _ROUTE
        scope["path_params"] = {"workspace_id": workspace_id}
        request = Request(scope)
        identify_caller(request, principal.key_id)
        try:
            await enforce_rate_limit(request, principal.key_id)
        except AppError:
            return None  # a refused hit is not recorded: the route refuses it the same way
        if app_state.database.driver is None:
            page = await service.list_page(
                workspace_id=principal.workspace_id, limit=limit, continuation_token=token
            )
        else:  # the token is decoded already
            page = await service.list_page_after(
                workspace_id=principal.workspace_id, limit=limit, after=after
            )
        return json_response(page)


_ROUTE = ListRoute()
