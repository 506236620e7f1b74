"""Settings from the environment, as DESIGN.md section 2 names them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from email_channels.config import SesMode, Settings, WorkerCpuPriority


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("EMAIL_CHANNELS_"):
            monkeypatch.delenv(name)


def test_defaults() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "sqlite+aiosqlite:///./email-channels.db"
    assert settings.ses_mode is SesMode.SANDBOX
    assert settings.ses_endpoint_url is None
    assert settings.sandbox_port == 4566
    assert settings.aws_region == "us-east-1"
    assert settings.mail_from_subdomain == "bounce"
    assert settings.dns_nameservers == []
    assert (settings.dns_timeout, settings.dns_lifetime) == (2.0, 4.0)
    assert settings.upstream_timeout == 10.0
    assert (settings.sandbox_max_tenants, settings.sandbox_max_email_identities) == (10_000, 10_000)
    assert settings.worker_cpu_priority is WorkerCpuPriority.IDLE


def test_sandbox_quotas_are_raised_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_CHANNELS_SANDBOX_MAX_TENANTS", "12100")
    monkeypatch.setenv("EMAIL_CHANNELS_SANDBOX_MAX_EMAIL_IDENTITIES", "12200")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.sandbox_max_tenants, settings.sandbox_max_email_identities) == (12100, 12200)


def test_environment_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_CHANNELS_SES_MODE", "aws")
    monkeypatch.setenv("EMAIL_CHANNELS_DNS_NAMESERVERS", "127.0.0.1:5353, 192.0.2.1,[::1]:53")
    monkeypatch.setenv("EMAIL_CHANNELS_UPSTREAM_TIMEOUT", "2.5")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.ses_mode is SesMode.AWS
    assert settings.dns_nameservers == [("127.0.0.1", 5353), ("192.0.2.1", 53), ("::1", 53)]
    assert settings.upstream_timeout == 2.5


@pytest.mark.parametrize("value", ["host:port", "host:0", "host:70000", ":53"])
def test_bad_nameservers_are_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("EMAIL_CHANNELS_DNS_NAMESERVERS", value)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("EMAIL_CHANNELS_AWS_REGION=eu-west-1\n")
    monkeypatch.chdir(tmp_path)
    assert Settings().aws_region == "eu-west-1"


def test_publisher_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_CHANNELS_DNS_PUBLISHER", "powerdns")
    monkeypatch.setenv("EMAIL_CHANNELS_POWERDNS_API_URL", "http://127.0.0.1:8081")
    monkeypatch.setenv("EMAIL_CHANNELS_POWERDNS_API_KEY", "sekrit-key")
    monkeypatch.setenv("EMAIL_CHANNELS_DELEGATION_NAMESERVERS", "NS1.Example.NET., ns2.example.net")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.delegation_nameservers == ["ns1.example.net", "ns2.example.net"]
    assert settings.powerdns_server_id == "localhost"
    assert settings.powerdns_api_key is not None
    assert "sekrit-key" not in repr(settings)  # a secret: never shown with the settings


def test_powerdns_publisher_needs_its_api_and_nameservers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_CHANNELS_DNS_PUBLISHER", "powerdns")
    with pytest.raises(ValidationError, match="POWERDNS_API_URL"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_hostile_neighbour_settings_default_to_section_2() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    # Unset, the tag is the installation id the migration made: never a shared default.
    assert settings.deployment_id is None
    assert settings.inflight_horizon == 300.0
    assert settings.event_retention == 2592000.0


def test_hostile_neighbour_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EMAIL_CHANNELS_DEPLOYMENT_ID", "default")
    monkeypatch.setenv("EMAIL_CHANNELS_INFLIGHT_HORIZON", "12.5")
    monkeypatch.setenv("EMAIL_CHANNELS_EVENT_RETENTION", "3600")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.deployment_id == "default"
    assert (settings.inflight_horizon, settings.event_retention) == (12.5, 3600.0)


def test_aws_regions_default_to_aws_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_CHANNELS_AWS_REGION", "eu-central-1")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.offered_regions == ["eu-central-1"]


def test_aws_regions_are_comma_separated_the_first_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EMAIL_CHANNELS_AWS_REGIONS", "eu-west-1, us-east-1,eu-west-1")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.offered_regions == ["eu-west-1", "us-east-1"]


@pytest.mark.parametrize("value", ["EU-WEST-1", "eu-west-1,not a region", "https://x"])
def test_aws_regions_refuse_what_is_no_region(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("EMAIL_CHANNELS_AWS_REGIONS", value)
    with pytest.raises(ValidationError, match="region"):
        Settings(_env_file=None)  # type: ignore[call-arg]
