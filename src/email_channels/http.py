"""HTTP helpers shared by the routers: fast JSON responses and the problem documentation."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from email_channels.problems import PROBLEM_JSON

T = TypeVar("T")


def app_state(name: str, kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency answering the object the lifespan put at `app.state.<name>`.

    Async, so that FastAPI calls it on the event loop rather than hopping to a thread.
    """

    async def dependency(request: Request) -> T:
        value = getattr(request.app.state, name)
        assert isinstance(value, kind)
        return value

    return dependency


def _fallback(value: Any) -> Any:
    # asyncpg hands out its own UUID subclass, which orjson does not take as a UUID.
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def json_response(
    content: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Serialise once with orjson: routes return this, so FastAPI skips re-validation."""
    return Response(
        orjson.dumps(content, default=_fallback),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


class ProblemFieldError(BaseModel):
    field: str
    message: str


class ProblemReference(BaseModel):
    id: uuid.UUID
    name: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemFieldError] | None = Field(
        default=None, description="For 422: one entry per invalid field."
    )
    use_cases: list[ProblemReference] | None = Field(
        default=None,
        description="For a 409 refusing a delete: the use cases (at most 20) that use it.",
    )


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the error statuses a route can answer."""
    schema = {"$ref": "#/components/schemas/Problem"}
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        if status == 401:
            entry["headers"] = {
                "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}
            }
        responses[status] = entry
    return responses


AUTHORISED = (401, 403, 422, 429)
