"""The body of `POST /_sandbox/reputation`: SES pausing (or reinstating) a tenant."""

from __future__ import annotations

from typing import Any

from email_channels.sandbox.faults import FaultValidationError
from email_channels.sandbox.regions import is_region
from email_channels.sandbox.reputation import DISABLED, ENABLED, IMPACTS

_FIELDS = ("tenant_name", "region", "ses_managed_status", "cause", "impact")
_MAX_CAUSE = 512  # StatusCause's length in the sesv2 model


def parse_reputation_change(body: Any, *, default_region: str) -> dict[str, Any]:
    """The change the body asks for, or FaultValidationError listing what is wrong."""
    if not isinstance(body, dict):
        raise FaultValidationError([("body", "must be a JSON object")])
    errors: list[tuple[str, str]] = [
        (name, "unknown field") for name in sorted(set(body) - set(_FIELDS))
    ]
    tenant_name = body.get("tenant_name")
    if not isinstance(tenant_name, str) or not tenant_name:
        errors.append(("tenant_name", "required: the name of the tenant"))
    region = body.get("region", default_region)
    if not isinstance(region, str) or not is_region(region):
        errors.append(("region", "must be a region name such as us-east-1"))
    status = body.get("ses_managed_status")
    if status not in (ENABLED, DISABLED):
        errors.append(("ses_managed_status", f"must be {ENABLED} or {DISABLED}"))
    cause = body.get("cause")
    if cause is not None and (not isinstance(cause, str) or not 0 < len(cause) <= _MAX_CAUSE):
        errors.append(("cause", f"must be text of 1-{_MAX_CAUSE} characters"))
    impact = body.get("impact")
    if impact is not None and impact not in IMPACTS:
        errors.append(("impact", f"must be one of {', '.join(IMPACTS)}"))
    if errors:
        raise FaultValidationError(errors)
    return {
        "tenant_name": tenant_name,
        "region": region,
        "ses_managed_status": status,
        "cause": cause,
        "impact": impact,
    }
