"""The SES port: the few SES v2 operations a setup needs, as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Tenant:
    name: str
    arn: str


@dataclass(frozen=True, slots=True)
class DomainIdentity:
    domain: str
    dkim_tokens: tuple[str, ...]
    signing_hosted_zone: str


class SesGateway(Protocol):
    """SES v2 operations; failures raise AppErrors (409, 422, 502, 504).

    Deletes are idempotent: a resource that is already gone counts as deleted.
    """

    async def create_tenant(self, tenant_name: str) -> Tenant: ...

    async def create_domain_identity(self, domain: str) -> DomainIdentity: ...

    async def put_mail_from(self, *, domain: str, mail_from_domain: str) -> None: ...

    async def associate(self, *, tenant_name: str, resource_arn: str) -> None: ...

    async def disassociate(self, *, tenant_name: str, resource_arn: str) -> None: ...

    async def delete_domain_identity(self, domain: str) -> None: ...

    async def delete_tenant(self, tenant_name: str) -> None: ...


def identity_arn(*, tenant_arn: str, domain: str) -> str:
    """The ARN of a domain identity in the tenant's account and region."""
    # arn:aws:ses:REGION:ACCOUNT:tenant/NAME/ID
    parts = tenant_arn.split(":")
    if len(parts) < 6 or parts[2] != "ses":
        raise ValueError(f"not an SES tenant ARN: {tenant_arn!r}")
    partition, region, account = parts[1], parts[3], parts[4]
    return f"arn:{partition}:ses:{region}:{account}:identity/{domain}"
