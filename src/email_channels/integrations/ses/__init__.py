"""The SES port: the few SES v2 operations a setup needs, as plain data."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

# The tags that fence this service's SES resources.
TAG_SETUP_ID = "email-channels:setup-id"
TAG_WORKSPACE_ID = "email-channels:workspace-id"
TAG_DEPLOYMENT = "email-channels:deployment"
TAG_CREATED_AT = "email-channels:created-at"

Tags = Mapping[str, str]
# Awaited before a call that only reads (a list page), to keep within SES's rate limits.
Pace = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Tenant:
    name: str
    arn: str


@dataclass(frozen=True, slots=True)
class DomainIdentity:
    domain: str
    dkim_tokens: tuple[str, ...]
    signing_hosted_zone: str


@dataclass(frozen=True, slots=True)
class IdentityStatus:
    """What SES itself thinks of a domain identity (GetEmailIdentity)."""

    verified_for_sending: bool
    dkim_status: str
    mail_from_status: str


@dataclass(frozen=True, slots=True)
class Reputation:
    """A tenant's reputation entity (GetReputationEntity), in SES's values."""

    customer_status: str  # ENABLED | REINSTATED | DISABLED: what the account owner set
    customer_cause: str | None
    ses_status: str  # what SES's own management set
    ses_cause: str | None
    policy: str | None  # the managed policy's name: none | standard | strict
    impact: str | None  # LOW | HIGH: the worst reputation finding active


REPUTATION_POLICIES = ("none", "standard", "strict")


def policy_arn(*, tenant_arn: str, policy: str) -> str:
    """The ARN of SES's managed reputation policy `policy` in the tenant's region."""
    parts = tenant_arn.split(":")
    if len(parts) < 6 or parts[2] != "ses":
        raise ValueError(f"not an SES tenant ARN: {tenant_arn!r}")
    return f"arn:{parts[1]}:ses:{parts[3]}:aws:reputation-policy/{policy}"


def policy_name(arn: str | None) -> str | None:
    """The name of a managed policy from its ARN; None for anything else."""
    name = (arn or "").rpartition(":reputation-policy/")[2]
    return name if name in REPUTATION_POLICIES else None


class SesGateway(Protocol):
    """SES v2 operations in one region; failures raise AppErrors (409, 422, 502, 504).

    Deletes are idempotent: a resource that is already gone counts as deleted. A failure
    carries whether SES may have applied the operation (`maybe_applied`).
    """

    async def create_tenant(self, tenant_name: str, *, tags: Tags) -> Tenant: ...

    async def create_domain_identity(self, domain: str, *, tags: Tags) -> DomainIdentity: ...

    async def put_mail_from(self, *, domain: str, mail_from_domain: str) -> None: ...

    async def associate(self, *, tenant_name: str, resource_arn: str) -> None: ...

    async def disassociate(self, *, tenant_name: str, resource_arn: str) -> None: ...

    async def tenant_tags(self, tenant_name: str) -> dict[str, str] | None:
        """The tenant's tags; None when there is no such tenant."""
        ...

    async def identity_tags(self, domain: str) -> dict[str, str] | None:
        """The identity's tags; None when there is no such identity."""
        ...

    async def delete_domain_identity(self, domain: str) -> None: ...

    async def get_identity_status(self, domain: str) -> IdentityStatus | None:
        """SES's verdict on the identity; None when there is no such identity."""
        ...

    async def delete_tenant(self, tenant_name: str) -> None: ...

    async def get_reputation(self, tenant_arn: str) -> Reputation | None:
        """The tenant's reputation entity; None when there is no such tenant."""
        ...

    async def set_sending(self, *, tenant_arn: str, enabled: bool) -> None:
        """Set the tenant's customer-managed sending status (ENABLED or DISABLED)."""
        ...

    async def set_reputation_policy(self, *, tenant_arn: str, policy: str) -> None:
        """Apply SES's managed reputation policy `policy` (none, standard, strict)."""
        ...

    def tenant_names(self, *, pace: Pace | None = None) -> AsyncIterator[str]:
        """Every tenant of the account in this region, page by page (`pace` awaited before
        each page is asked for)."""
        ...

    def domain_identities(self, *, pace: Pace | None = None) -> AsyncIterator[str]:
        """Every domain identity of the account in this region, page by page (`pace` as for
        `tenant_names`)."""
        ...


class SesRegions(Protocol):
    """One SES gateway per region: a setup's calls go to the region stored on its row."""

    async def region(self, name: str) -> SesGateway: ...


def maybe_applied(error: BaseException) -> bool:
    """Whether SES may have applied the failed operation (unknown failures: yes)."""
    return bool(getattr(error, "ses_maybe_applied", True))


def mark_applied(error: BaseException, *, maybe: bool) -> None:
    """Record on a failure what every attempt of the operation saw."""
    error.ses_maybe_applied = maybe  # type: ignore[attr-defined]


def identity_arn(*, tenant_arn: str, domain: str) -> str:
    """The ARN of a domain identity in the tenant's account and region."""
    # arn:aws:ses:REGION:ACCOUNT:tenant/NAME/ID
    parts = tenant_arn.split(":")
    if len(parts) < 6 or parts[2] != "ses":
        raise ValueError(f"not an SES tenant ARN: {tenant_arn!r}")
    partition, region, account = parts[1], parts[3], parts[4]
    return f"arn:{partition}:ses:{region}:{account}:identity/{domain}"
