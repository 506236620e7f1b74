"""The error hierarchy: domain code raises meaning, `problems.py` decides the bytes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


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

    def extensions(self) -> dict[str, Any]:
        """RFC 9457 extension members of the problem (`use_cases`, ...); none here."""
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


MAX_REFERENCES = 20  # a refused delete lists at most this many


@dataclass(frozen=True, slots=True)
class Reference:
    """A row that keeps another from being deleted: its id and the name a person knows."""

    id: uuid.UUID
    name: str


class StillReferenced(Conflict):
    """A delete refused because use cases reference the resource; it names them."""

    SHOWN_IN_DETAIL = 3

    def __init__(self, what: str, *, use_cases: Sequence[Reference]) -> None:
        names = ", ".join(repr(use_case.name) for use_case in use_cases[: self.SHOWN_IN_DETAIL])
        more = len(use_cases) - self.SHOWN_IN_DETAIL
        if more > 0:
            names += f" and {more} more" if len(use_cases) < MAX_REFERENCES else " and others"
        super().__init__(
            f"{what} is still used by use cases ({names}); delete those first, then retry."
        )
        self.use_cases = list(use_cases)

    def extensions(self) -> dict[str, Any]:
        return {"use_cases": [{"id": str(u.id), "name": u.name} for u in self.use_cases]}


class UnsupportedMediaType(AppError):
    status = 415
    title = "Unsupported media type"


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
