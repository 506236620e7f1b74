"""What botocore's `sesv2` model says about the emulated operations: routes and error statuses."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import botocore.session

EMULATED_OPERATIONS: tuple[str, ...] = (
    "CreateTenant",
    "GetTenant",
    "DeleteTenant",
    "CreateEmailIdentity",
    "GetEmailIdentity",
    "DeleteEmailIdentity",
    "PutEmailIdentityMailFromAttributes",
    "CreateTenantResourceAssociation",
    "DeleteTenantResourceAssociation",
    "ListTenantResources",
    "ListTenants",
    "ListEmailIdentities",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "GetReputationEntity",
    "ListReputationEntities",
    "UpdateReputationEntityCustomerManagedStatus",
    "UpdateReputationEntityPolicy",
)


@dataclass(frozen=True, slots=True)
class LegacyRoute:
    """A route an older botocore release used for an operation that now has another.

    `querystring`: (member, query parameter) pairs that release sent in the query string.
    """

    name: str
    method: str
    request_uri: str
    querystring: tuple[tuple[str, str], ...] = ()


# Routes of the emulated operations in the botocore releases of the last two years that the
# current model no longer names (compared release by release, 1.35 to today): older SDKs and
# CLIs keep working. ListEmailIdentities was `GET /v2/email/identities` up to botocore 1.43.x.
LEGACY_ROUTES: tuple[LegacyRoute, ...] = (
    LegacyRoute(
        "ListEmailIdentities",
        "GET",
        "/v2/email/identities",
        querystring=(("NextToken", "NextToken"), ("PageSize", "PageSize")),
    ),
)


@functools.cache
def load_sesv2_model() -> Any:
    """botocore's `sesv2` service model, loaded once per process (it takes a while)."""
    return botocore.session.get_session().get_service_model("sesv2")


@dataclass(frozen=True, slots=True)
class OperationRoute:
    """One operation's HTTP method and URI template, split into path segments."""

    name: str
    method: str
    segments: tuple[str, ...]
    querystring: tuple[tuple[str, str], ...] = ()

    @property
    def literal_count(self) -> int:
        """How many segments are fixed text; more specific templates are tried first."""
        return sum(1 for segment in self.segments if not _is_label(segment))

    def match(self, method: str, segments: Sequence[str]) -> dict[str, str] | None:
        """The URI parameters when this route serves the request, else None."""
        if method != self.method or len(segments) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for template, raw in zip(self.segments, segments, strict=True):
            value = unquote(raw)
            if _is_label(template):
                if not value:
                    return None
                params[template[1:-1]] = value
            elif value != template:
                return None
        return params


@dataclass(frozen=True, slots=True)
class ResolvedRequest:
    """The operation a request names and the URI parameters it carries."""

    operation: Any  # botocore OperationModel
    uri_params: dict[str, str]
    # (member, query parameter) pairs of a legacy route, beyond what the model places there.
    querystring: tuple[tuple[str, str], ...] = ()


class SesV2Model:
    """Routes and error statuses of the emulated operations, read from the botocore model."""

    def __init__(self, operations: Sequence[str] = EMULATED_OPERATIONS) -> None:
        self._model = load_sesv2_model()
        routes = [self._route(name) for name in operations]
        routes += [
            OperationRoute(
                name=legacy.name,
                method=legacy.method,
                segments=tuple(legacy.request_uri.split("/")),
                querystring=legacy.querystring,
            )
            for legacy in LEGACY_ROUTES
            if legacy.name in operations
        ]
        self._routes = sorted(routes, key=lambda route: -route.literal_count)

    @property
    def operation_names(self) -> tuple[str, ...]:
        """The names of the emulated operations."""
        return tuple(dict.fromkeys(route.name for route in self._routes))

    def operation(self, name: str) -> Any:
        """botocore's OperationModel for `name`."""
        return self._model.operation_model(name)

    def resolve(self, method: str, raw_path: bytes) -> ResolvedRequest | None:
        """The operation that serves `method raw_path`, or None for an unknown route."""
        # Match on the raw path so an encoded "/" inside {EmailIdentity} stays one segment.
        path = raw_path.split(b"?", 1)[0].decode("latin-1")
        segments = path.split("/")
        for route in self._routes:
            params = route.match(method.upper(), segments)
            if params is not None:
                operation = self._model.operation_model(route.name)
                return ResolvedRequest(operation, params, route.querystring)
        return None

    def error_status(self, code: str) -> int:
        """The HTTP status the model gives the error shape `code`."""
        shape = self._model.shape_for(code)
        status: int = shape.metadata["error"]["httpStatusCode"]
        return status

    def _route(self, name: str) -> OperationRoute:
        http = self._model.operation_model(name).http
        request_uri: str = http["requestUri"].split("?", 1)[0]
        return OperationRoute(
            name=name, method=http["method"], segments=tuple(request_uri.split("/"))
        )


def _is_label(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")
