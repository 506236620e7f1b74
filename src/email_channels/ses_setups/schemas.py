"""Request and response models of the SES setup endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from email_channels.request_body import RequestBody
from email_channels.ses_setups.domains import normalise_domain

TENANT_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
ReputationPolicy = Literal["none", "standard", "strict"]


class SesSetupCreate(RequestBody):
    tenant_name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=64,
            pattern=TENANT_NAME_PATTERN,
            description="Unique name of the SES tenant: 1-64 characters of [A-Za-z0-9_-].",
            examples=["acme-production"],
        ),
    ]
    domain_identity: Annotated[
        str,
        Field(
            min_length=1,
            max_length=255,
            description="The domain to send and receive with, e.g. mail.example.com.",
            examples=["mail.example.com"],
        ),
    ]

    dns_mode: Annotated[
        Literal["customer", "delegated"],
        Field(
            description=(
                "customer: the customer publishes every record; delegated: the customer "
                "delegates the subdomain once with NS records and the service serves its zone."
            ),
        ),
    ] = "customer"
    region: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=32,
            description="The SES region of the setup, one the deployment offers "
            "(default: its first).",
            examples=["eu-west-1"],
        ),
    ] = None
    reputation_policy: Annotated[
        ReputationPolicy | None,
        Field(description="SES's managed reputation policy for the tenant (default: SES's)."),
    ] = None

    @field_validator("domain_identity")
    @classmethod
    def _normalise_domain(cls, value: str) -> str:
        return normalise_domain(value)


class SesSetupUpdate(RequestBody):
    """What a PATCH may change."""

    reputation_policy: ReputationPolicy = Field(
        description="SES's managed reputation policy for the tenant."
    )


class SesSetupVerify(RequestBody):
    """The optional body of a verify: nothing to set, and unknown fields are refused."""


class NameserverStatus(BaseModel):
    name: str = Field(description="Host name of one of the zone's servers.")
    status: Literal["verified", "missing", "mismatch", "unknown"]


class DnsZone(BaseModel):
    name: str = Field(description="The zone the records live in, e.g. acme.com.")
    nameservers: list[str] = Field(description="The zone's servers (NS), sorted.")
    provider: str | None = Field(description="The DNS provider, recognised from nameservers.")
    negative_ttl: int | None = Field(
        description="Seconds a resolver may keep answering 'no such record' (RFC 2308)."
    )


class DnsRecord(BaseModel):
    address: str = Field(description="Fully qualified host name, no trailing dot.")
    record: str = Field(description='The value to publish; MX as "10 host".')
    type: Literal["CNAME", "MX", "TXT", "NS"]
    verified: bool
    purpose: Literal["dkim", "mail_from_mx", "spf", "inbound_mx", "dmarc", "delegation"]
    managed: bool = Field(description="Served and kept right by the service (delegated setups).")
    status: Literal["verified", "missing", "mismatch", "unknown"]
    found: list[str] = Field(description="What the last lookup saw at the address for the type.")
    reason: str | None = Field(description="Null when verified; else what to fix.")
    host: str | None = Field(
        description="The address relative to dns_zone.name (@ at the apex): what a DNS "
        "provider's host or name field wants; null while the zone is unknown."
    )
    nameservers: list[NameserverStatus] = Field(
        description="Each server of the zone and its status for this record, in the order of "
        "dns_zone.nameservers; empty when the check used the resolver alone."
    )
    found_at: str | None = Field(
        description="Where found was seen when that is not address (a misplaced record, the "
        "organisational DMARC record), else null."
    )


class SesSetupListItem(BaseModel):
    id: uuid.UUID
    tenant_name: str
    domain_identity: str
    region: str
    dns_verified: bool = Field(description="Cached by the last check: every record verified.")
    dns_checked_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SesStatus(BaseModel):
    verified_for_sending: bool
    dkim_status: str = Field(description="PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE, ...")
    mail_from_status: str
    checked_at: datetime | None = Field(description="The worker's last refresh; null: never.")


class Sending(BaseModel):
    status: Literal["enabled", "paused"]
    paused_by: Literal["workspace", "ses"] | None = Field(
        description="Who paused sending: the workspace, or SES's reputation management."
    )
    cause: str | None = Field(description="Why sending is paused, when SES says.")
    reputation_policy: ReputationPolicy | None = Field(
        description="SES's managed reputation policy of the tenant; null: not read yet."
    )
    reputation_impact: Literal["low", "high"] | None = Field(
        description="The impact of the worst reputation finding active; null: none."
    )
    checked_at: datetime | None = Field(description="The last read from SES; null: never.")


class SesSetupDetail(SesSetupListItem):
    dns_mode: Literal["customer", "delegated"]
    dns_records: list[DnsRecord] = Field(
        description="For a delegated setup, the NS records to publish come first."
    )
    dns_zone: DnsZone | None = Field(
        description="The zone and its servers, as the last check that found them saw them."
    )
    ses_status: SesStatus = Field(description="SES's own verdict, refreshed by the worker.")
    sending: Sending = Field(
        description="Whether the tenant may send, from SES's reputation entity of it."
    )


class SesSetupPage(BaseModel):
    items: list[SesSetupListItem]
    continuation_token: str | None = Field(description="Null on the last page.")
