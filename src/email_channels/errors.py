"""The error hierarchy: domain code raises meaning, `problems.py` decides the bytes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


class AppError(Exception):
    """An error with a meaning the client can act on; the handler turns it into problem+json."""

    status: int = 500
    title: str = "Internal server error"

    def __init__(self, detail: str, *, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)

    def headers(self) -> dict[str, str]:
        """Headers the answer carries besides the problem (`Retry-After`, ...); none here."""
        return {}


class Unauthorized(AppError):
    status = 401
    title = "Unauthorized"


class Forbidden(AppError):
    status = 403
    title = "Forbidden"


class NotFound(AppError):
    status = 404
    title = "Not found"


class Conflict(AppError):
    status = 409
    title = "Conflict"


class InvalidInput(AppError):
    status = 422
    title = "Invalid input"


class UpstreamUnavailable(AppError):
    status = 502
    title = "Upstream email service unavailable"


class UpstreamUnreachable(UpstreamUnavailable):
    """The connection was refused: the request never reached the service, nothing applied."""


class ServiceUnavailable(AppError):
    status = 503
    title = "Service unavailable"


class UpstreamTimeout(AppError):
    status = 504
    title = "Upstream email service timed out"
