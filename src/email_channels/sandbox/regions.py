"""Which region a request is for: SES tells by the region its signature was made for."""

from __future__ import annotations

import re

# SigV4: `AWS4-HMAC-SHA256 Credential=AKID/20261207/eu-west-1/ses/aws4_request, ...`.
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]{1,32})/[^/,\s]+/aws4_request")
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")


def signing_region(authorization: str | None) -> str | None:
    """The region of a SigV4 `Authorization` header's credential scope; None without one."""
    if not authorization:
        return None
    match = _CREDENTIAL_SCOPE.search(authorization)
    return match.group(1) if match else None


def is_region(name: str) -> bool:
    """Whether `name` looks like an AWS region (`us-east-1`, `eu-west-1`, `us-gov-west-1`)."""
    return bool(_REGION.match(name))
