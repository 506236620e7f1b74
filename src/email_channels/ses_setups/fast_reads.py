"""The plain reads of SES setups, answered without FastAPI's per-request machinery (S1, S4).

`GET /v1/{ws}/channels/ses-setup` is the hottest route. Through FastAPI, a fifth of its CPU
went to solving the dependency graph and validating parameters whose values are two small
query fields and a header (bench/README.md). The detail, `GET .../ses-setup/{id}`, waits on
DNS: through FastAPI each read in flight held its routing, dependency and exception-handling
frames for the whole wait. This ASGI middleware recognises the plain, well-formed request (a
valid workspace id; for the list, `limit` digits in range and a token of token characters;
for the detail, a canonical setup id and no query; one `Authorization: Bearer` header with a
key of the key alphabet) and answers it with the same functions the endpoints call: `authenticate`,
the rate limiter, `authorise`, `SesSetupService.list_page` or `get_checked`, and
`json_response`, so the bytes are the same. Anything else goes on to FastAPI untouched,
which answers it as always. Once the key is looked up the request is answered here, its
refusals (401, 429, 403) too, so a key is looked up once and a request counted once. An
error is answered here as the app's error handlers answer it.

It sits inside the observability and body-limit middlewares: the request id, the access line
and the metrics (under the route's template) are the same as through the route.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from email_channels.auth.permissions import Permission
from email_channels.auth.rate_limit import enforce_rate_limit
from email_channels.auth.scope import is_workspace_id
from email_channels.auth.service import Principal, authenticate, authorise
from email_channels.errors import AppError
from email_channels.http import json_response
from email_channels.observability.middleware import identify_caller
from email_channels.pagination import decode_token
from email_channels.problems import expected_error_response
from email_channels.ses_setups.service import LIST_KIND, SesSetupService

LIST_TEMPLATE = "/v1/{workspace_id}/channels/ses-setup"
DETAIL_TEMPLATE = "/v1/{workspace_id}/channels/ses-setup/{setup_id}"
_PATH = re.compile(r"/v1/([^/]+)/channels/ses-setup")
_DETAIL_PATH = re.compile(
    r"/v1/([^/]+)/channels/ses-setup/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
)
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
class Route:
    """What the observability middleware reads of a matched route: its template."""

    path_format: str


class FastReads:
    """Answers the plain list and detail requests itself; passes every other request on."""

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
            if (match := _PATH.fullmatch(scope["path"])) is not None:
                return await self._list(scope, workspace_id=match.group(1))
            if (match := _DETAIL_PATH.fullmatch(scope["path"])) is not None:
                return await self._detail(scope, match.group(1), uuid.UUID(match.group(2)))
        except Exception as error:
            # This middleware sits outside FastAPI's exception handlers: answered as they do.
            response = expected_error_response(error)
            if response is None:
                raise
            return response
        return None

    async def _caller(self, scope: Scope, workspace_id: str, route: Route) -> Principal | None:
        """The request's principal; None: FastAPI must answer it (no key of our alphabet).

        From the key lookup on the request is ours, refusals included: the route would
        refuse it the same way (401, 429, then 403, as `Requires` orders them), and a second
        lookup of a bad key would cost the database a round trip for nothing.
        """
        secret = _bearer(scope.get("headers", []))
        if secret is None or not is_workspace_id(workspace_id):
            return None
        scope["route"] = route
        scope["path_params"] = {"workspace_id": workspace_id}
        grant = await authenticate(scope["app"].state.database, secret=secret)
        request = Request(scope)
        identify_caller(request, grant.key_id)
        await enforce_rate_limit(request, grant.key_id)
        return authorise(grant, workspace_id=workspace_id, permission=VIEW)

    async def _list(self, scope: Scope, *, workspace_id: str) -> Response | None:
        query = _query(scope.get("query_string", b""))
        if query is None or not is_workspace_id(workspace_id):
            return None
        limit, token = query
        try:
            after = decode_token(token, kind=LIST_KIND, workspace_id=workspace_id)
        except AppError:
            return None
        principal = await self._caller(scope, workspace_id, _LIST_ROUTE)
        if principal is None:
            return None
        service = _service(scope)
        if scope["app"].state.database.driver is None:
            page = await service.list_page(
                workspace_id=principal.workspace_id, limit=limit, continuation_token=token
            )
        else:  # the token is decoded already
            page = await service.list_page_after(
                workspace_id=principal.workspace_id, limit=limit, after=after
            )
        return json_response(page)

    async def _detail(
        self, scope: Scope, workspace_id: str, setup_id: uuid.UUID
    ) -> Response | None:
        if scope.get("query_string"):
            return None
        principal = await self._caller(scope, workspace_id, _DETAIL_ROUTE)
        if principal is None:
            return None
        scope["path_params"]["setup_id"] = str(setup_id)
        detail = await _service(scope).get_checked(
            workspace_id=principal.workspace_id, setup_id=setup_id
        )
        return json_response(detail)


def _service(scope: Scope) -> SesSetupService:
    service = scope["app"].state.ses_setups
    assert isinstance(service, SesSetupService)
    return service


_LIST_ROUTE = Route(LIST_TEMPLATE)
_DETAIL_ROUTE = Route(DETAIL_TEMPLATE)
