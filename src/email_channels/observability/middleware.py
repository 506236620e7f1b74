"""One pure ASGI middleware for every request: its id, its access line and its metrics.

Pure ASGI (no BaseHTTPMiddleware) so that the request runs in the same task and context as
the middleware: the request id bound here reaches every log line written while it runs, and
what the routing and the auth dependency leave in the scope is there when the answer ends.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Mapping
from typing import Any

import structlog
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from email_channels.observability.logs import get_logger
from email_channels.observability.metrics import (
    HTTP_REQUEST_DURATION,
    HTTP_REQUESTS,
    method_label,
)

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_MAX_LENGTH = 128
UNMATCHED_ROUTE = "unmatched"  # every path no route knows shares this one label
WORKSPACE_ID_LOG_LENGTH = 64  # a path segment is the client's text: log no more than an id

# Keys in the request state (`request.state.<key>`) that the auth dependency fills in.
API_KEY_ID = "api_key_id"
WORKSPACE_ID = "workspace_id"  # the key's workspace, where the path names none (the console)
RESPONSE_HEADERS = "response_headers"  # headers to add to the answer, e.g. RateLimit-*

access_log = get_logger("email_channels.access")


def valid_request_id(value: str) -> bool:
    """1-128 printable ASCII characters: safe to echo in a header and to write in a log."""
    return 0 < len(value) <= REQUEST_ID_MAX_LENGTH and all(" " <= c <= "~" for c in value)


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's X-Request-ID when it is valid, else a new one."""
    for name, value in headers:
        if name.lower() == b"x-request-id":
            text = value.decode("latin-1")
            if valid_request_id(text):
                return text
            break
    return str(uuid.uuid4())  # canonical form: log tools and people recognise it


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/v1/{workspace_id}/...`), never the raw path."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNMATCHED_ROUTE


def _workspace_id(scope: Scope) -> str | None:
    path_params = scope.get("path_params")
    if not isinstance(path_params, Mapping):
        return None
    value = path_params.get("workspace_id")
    return str(value)[:WORKSPACE_ID_LOG_LENGTH] if value is not None else None


# The labelled children, looked up once per label set: `labels()` takes a lock and checks
# its arguments on every call, a tenth of a list answer's CPU with both metrics. The label
# values are bounded (method set, route templates, status codes), and so are these caches.
@functools.cache
def _request_counter(method: str, route: str, status: int) -> Any:
    return HTTP_REQUESTS.labels(method=method, route=route, status=str(status))


@functools.cache
def _duration_histogram(method: str, route: str) -> Any:
    return HTTP_REQUEST_DURATION.labels(method=method, route=route)


def identify_caller(
    request: Request, key_id: uuid.UUID, *, workspace_id: str | None = None
) -> None:
    """Name the authenticated key (and, where the path names none, its workspace) in the
    access line and in every later line of the request."""
    request.state.api_key_id = key_id
    if workspace_id is not None:
        setattr(request.state, WORKSPACE_ID, workspace_id)
    structlog.contextvars.bind_contextvars(api_key_id=str(key_id))


def add_response_headers(request: Request, headers: Mapping[str, str]) -> None:
    """Headers the middleware adds to the answer, whichever handler writes it."""
    current = getattr(request.state, RESPONSE_HEADERS, None) or {}
    setattr(request.state, RESPONSE_HEADERS, {**current, **headers})


class ObservabilityMiddleware:
    """Request id in, X-Request-ID out, one access line and the HTTP metrics per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope.get("headers", []))
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500  # what the client gets if the app raises before answering
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                for name, value in state.get(RESPONSE_HEADERS, {}).items():
                    headers[name] = value
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            duration = time.perf_counter() - started
            method = method_label(str(scope.get("method", "")))
            route = route_template(scope)
            _request_counter(method, route, status).inc()
            _duration_histogram(method, route).observe(duration)
            api_key_id = state.get(API_KEY_ID)
            access_log.info(
                "request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(duration * 1000, 2),
                workspace_id=_workspace_id(scope) or state.get(WORKSPACE_ID),
                api_key_id=str(api_key_id) if api_key_id is not None else None,
            )
            # The caller's context outlives the request when the app is called in-process.
            structlog.contextvars.unbind_contextvars("api_key_id")
            structlog.contextvars.reset_contextvars(**tokens)
