"""Settings of the service: environment variables with the EMAIL_CHANNELS_ prefix."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")


class SesMode(StrEnum):
    SANDBOX = "sandbox"
    AWS = "aws"


class DnsPublisherKind(StrEnum):
    NONE = "none"
    POWERDNS = "powerdns"
    ROUTE53 = "route53"


class DnsCheck(StrEnum):
    AUTHORITATIVE = "authoritative"  # ask the zone's own servers (docs/dns-verification.md)
    RESOLVER = "resolver"  # ask DNS_NAMESERVERS only


class WorkerCpuPriority(StrEnum):
    IDLE = "idle"  # the worker runs when nothing else on its host wants the CPU
    NORMAL = "normal"  # as any other process


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def parse_nameservers(value: object) -> list[tuple[str, int]]:
    """Parse `host` or `host:port` entries, comma-separated (IPv6 as `[addr]:port`)."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [_parse_nameserver(str(item)) for item in value]
    return [_parse_nameserver(item) for item in str(value).split(",") if item.strip()]


def _parse_nameserver(entry: str) -> tuple[str, int]:
    entry = entry.strip()
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    else:  # a bare host name, IPv4 address or IPv6 address
        host, port = entry, "53"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid nameserver {entry!r}: use host or host:port")
    return host, int(port)


class Settings(BaseSettings):
    """Configuration of one service process (the EMAIL_CHANNELS_* environment)."""

    model_config = SettingsConfigDict(
        env_prefix="EMAIL_CHANNELS_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = "sqlite+aiosqlite:///./email-channels.db"
    # Not in the contract: pool size per process, so tests can squeeze it to one connection.
    database_pool_size: int = Field(default=10, ge=1)
    ses_mode: SesMode = SesMode.SANDBOX
    ses_endpoint_url: str | None = None
    sandbox_port: int = Field(default=4566, ge=1, le=65535)
    # Not in the contract: where the built-in emulator keeps its state between restarts.
    sandbox_state_path: str = "./email-channels-sandbox.sqlite3"
    # Not in the contract: the emulated account's quotas (SES's defaults; AWS raises them on
    # request), past which a create answers LimitExceededException.
    sandbox_max_tenants: int = Field(default=10_000, ge=0)
    sandbox_max_email_identities: int = Field(default=10_000, ge=0)
    aws_region: str = "us-east-1"
    # The regions a create may choose, the first the default; empty: AWS_REGION alone.
    aws_regions: Annotated[list[str], NoDecode] = Field(default_factory=list)
    mail_from_subdomain: str = "bounce"
    dns_nameservers: Annotated[list[tuple[str, int]], NoDecode] = Field(default_factory=list)
    dns_timeout: float = Field(default=2.0, gt=0)
    dns_lifetime: float = Field(default=4.0, gt=0)
    dns_check: DnsCheck = DnsCheck.AUTHORITATIVE
    dns_authoritative_port: int = Field(default=53, ge=1, le=65535)
    upstream_timeout: float = Field(default=10.0, gt=0)
    # Tags this deployment's SES resources, so that `reconcile` sweeps only its own. Unset:
    # the installation id the first migration made (db/installation.py), never a shared
    # default that two databases on one SES account would both sweep.
    deployment_id: str | None = Field(default=None, min_length=1, max_length=128)
    # Seconds a maybe-applied SES delete may still land: its names stay reserved that long.
    inflight_horizon: float = Field(default=300.0, ge=0)
    log_format: LogFormat = LogFormat.TEXT
    rate_limit: int = Field(default=600, ge=0)  # requests per minute per API key; 0 = off
    rate_limit_storage_uri: str = "memory://"
    # --- background work, SES status and webhooks (section 8) ---
    check_interval_min: float = Field(default=60.0, gt=0)
    check_interval_max: float = Field(default=21600.0, gt=0)
    verified_check_interval: float = Field(default=86400.0, gt=0)
    unverify_after: int = Field(default=2, ge=1)
    ses_status_rate: float = Field(default=1.0, gt=0)
    unverified_ttl: float = Field(default=2592000.0, ge=0)  # 0 = never
    sandbox_dns_nameservers: Annotated[list[tuple[str, int]], NoDecode] = Field(
        default_factory=list
    )
    webhook_timeout: float = Field(default=10.0, gt=0)
    webhook_retry_scale: float = Field(default=1.0, ge=0)
    webhook_allow_private: bool = False
    # --- delegated setups (section 14) ---
    dns_publisher: DnsPublisherKind = DnsPublisherKind.NONE
    powerdns_api_url: str | None = None
    powerdns_api_key: SecretStr | None = None  # never logged, never answered
    powerdns_server_id: str = "localhost"
    delegation_nameservers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    route53_endpoint_url: str | None = None
    # Seconds an event and its deliveries are kept after the last delivery ended.
    event_retention: float = Field(default=2592000.0, ge=0)
    webhooks_per_workspace: int = Field(default=20, ge=0)
    # Proxies whose X-Forwarded-Proto/-For are believed: comma-separated addresses or
    # networks, or "*" (uvicorn's own syntax).
    forwarded_allow_ips: str = "127.0.0.1"
    # The CPU priority of `email-channels worker` (README, "The worker"): `idle` yields the
    # CPU to the other processes it competes with (the API's requests first), `normal` not.
    worker_cpu_priority: WorkerCpuPriority = WorkerCpuPriority.IDLE
    # Not in the contract: `serve --no-worker` sets it false for the processes it starts.
    serve_worker: bool = True

    @field_validator("delegation_nameservers", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> list[str]:
        if value is None or value == "":
            return []
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(item).strip().rstrip(".").lower() for item in items if str(item).strip()]

    @model_validator(mode="after")
    def _publisher_complete(self) -> Settings:
        if self.dns_publisher is DnsPublisherKind.POWERDNS and not (
            self.powerdns_api_url and self.powerdns_api_key and self.delegation_nameservers
        ):
            raise ValueError(
                "DNS_PUBLISHER=powerdns needs POWERDNS_API_URL, POWERDNS_API_KEY and "
                "DELEGATION_NAMESERVERS"
            )
        return self

    @property
    def offered_regions(self) -> list[str]:
        """The regions a create may choose, the default first (AWS_REGIONS, else AWS_REGION)."""
        return self.aws_regions or [self.aws_region]

    @field_validator("aws_regions", mode="before")
    @classmethod
    def _split_regions(cls, value: object) -> list[str]:
        if value is None or value == "":
            return []
        items = value if isinstance(value, list) else str(value).split(",")
        regions = [str(item).strip() for item in items if str(item).strip()]
        for region in regions:
            if not _REGION.match(region):
                raise ValueError(f"invalid region {region!r}: use names such as eu-west-1")
        return list(dict.fromkeys(regions))

    @field_validator("dns_nameservers", "sandbox_dns_nameservers", mode="before")
    @classmethod
    def _split_nameservers(cls, value: object) -> list[tuple[str, int]]:
        return parse_nameservers(value)
