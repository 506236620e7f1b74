"""The one renderer of errors: RFC 9457 problem+json, FastAPI's own errors included."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from email_channels.errors import (
    AppError,
    FieldError,
    InvalidInput,
    ServiceUnavailable,
    UnsupportedMediaType,
)
from email_channels.field_messages import message_for

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem_type(status: int) -> str:
    """The problem type URI of a status: a stable identifier, as RFC 9457 allows."""
    return "urn:email-channels:problem:" + HTTPStatus(status).phrase.lower().replace(" ", "-")


def problem_response(
    *,
    status: int,
    title: str,
    detail: str,
    errors: Sequence[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> Response:
    """Render one problem+json response; `extensions`: RFC 9457 extension members."""
    body: dict[str, Any] = {
        "type": problem_type(status),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    body.update(extensions or {})
    all_headers = dict(headers or {})
    if status == 401:
        all_headers.setdefault("WWW-Authenticate", "Bearer")
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=all_headers
    )


def _field_name(location: Sequence[int | str]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        if len(parts) == 1:
            return parts[0]
        parts = parts[1:]
    return ".".join(parts)


def _json_error(error: Mapping[str, Any], document: Any) -> FieldError:
    """A body that is not JSON: FastAPI puts the character offset where a field would be."""
    reason = str(error.get("ctx", {}).get("error", "")).rstrip(".") or "cannot be decoded"
    location = tuple(error.get("loc", ()))
    if len(location) != 2 or location[0] != "body" or not isinstance(location[1], int):
        # A field that holds JSON in a string (pydantic's `Json`) keeps its own name.
        return FieldError(field=_field_name(location), message=f"Not valid JSON: {reason}.")
    position = location[1]
    if isinstance(document, str) and 0 <= position <= len(document):
        line = document.count("\n", 0, position) + 1
        column = position - document.rfind("\n", 0, position)
        reason += f" at line {line}, column {column} (character {position})"
    return FieldError(field="body", message=f"Not valid JSON: {reason}.")


def validation_errors(exc: RequestValidationError) -> list[FieldError]:
    """Turn pydantic's errors into the contract's `{"field", "message"}` list."""
    result: list[FieldError] = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            result.append(_json_error(error, exc.body))
            continue
        result.append(
            FieldError(field=_field_name(error.get("loc", ())), message=message_for(error))
        )
    return result


def render_app_error(error: AppError) -> Response:
    """The problem+json response of an AppError."""
    return problem_response(
        status=error.status,
        title=error.title,
        detail=error.detail,
        errors=error.errors if error.status == 422 else None,
        extensions=error.extensions() or None,
        headers=error.headers() or None,
    )


async def _expected_error(_: Request, exc: Exception) -> Response:
    response = expected_error_response(exc)
    assert response is not None  # installed for the expected errors only
    return response


def _declared_json(request: Request) -> bool:
    """Whether the request's Content-Type is JSON (`application/json` or `application/*+json`)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


NOT_JSON = UnsupportedMediaType(
    "Send the request body as JSON, with the header Content-Type: application/json."
)


async def _request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # FastAPI hands a body of another declared type to the model as bytes, which then fails
    # as "not a dictionary": the client's mistake is the media type, so say that.
    if any(tuple(e.get("loc", ()))[:1] == ("body",) for e in exc.errors()) and (
        request.headers.get("content-type") and not _declared_json(request)
    ):
        return render_app_error(NOT_JSON)
    return problem_response(
        status=422,
        title=InvalidInput.title,
        detail="The request is not valid; see errors.",
        errors=validation_errors(exc),
    )


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route takes at this path (Starlette names only the first route's)."""
    allowed = {
        method
        for method in _METHODS
        for route in request.app.router.routes
        if route.matches({**request.scope, "method": method})[0] == Match.FULL
    }
    return ", ".join(sorted(allowed))


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 400:
        # FastAPI's answer to a body it cannot decode: invalid input like any other.
        return problem_response(
            status=422,
            title=InvalidInput.title,
            detail="The request body is not valid JSON.",
            errors=[FieldError(field="body", message="Send a JSON object encoded in UTF-8.")],
        )
    headers = dict(exc.headers or {})
    if status == 405:
        headers["Allow"] = _allowed_methods(request)
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    return problem_response(
        status=status,
        title=phrase,
        detail=detail,
        errors=[] if status == 422 else None,
        headers=headers,
    )


def database_unavailable(exc: Exception) -> Response:
    """The 503 of a request the database could not serve (`DATABASE_UNAVAILABLE`)."""
    logger.error("database unavailable: %r", exc)
    return problem_response(
        status=503,
        title=ServiceUnavailable.title,
        detail="The database is unavailable; retry later.",
        headers={"Retry-After": "1"},
    )


async def _unexpected(_: Request, exc: Exception) -> Response:
    logger.exception("unhandled error", exc_info=exc)
    return problem_response(
        status=500, title="Internal server error", detail="An unexpected error occurred."
    )


# The database is unreachable or refusing: through SQLAlchemy, or on the driver's own pool
# (db/driver.py), where asyncpg's errors and a refused or reset connection arrive as they are.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    PoolTimeout,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    ConnectionError,
)


def expected_error_response(exc: BaseException) -> Response | None:
    """The answer to an error a request may meet (an AppError, the database unreachable);
    None for any other. The app's handlers answer with it, and so does the fast-read path
    (ses_setups/fast_reads.py), which runs outside them."""
    if isinstance(exc, AppError):
        return render_app_error(exc)
    if isinstance(exc, DATABASE_UNAVAILABLE):
        return database_unavailable(exc)
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Render every error, FastAPI's own included, as problem+json."""
    expected: tuple[type[Exception], ...] = (AppError, *DATABASE_UNAVAILABLE)
    for error in expected:
        app.add_exception_handler(error, _expected_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(Exception, _unexpected)
