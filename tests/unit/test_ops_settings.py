"""The settings of DESIGN.md section 10 and the SES outcome labels."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError

from email_channels.config import LogFormat, Settings
from email_channels.errors import (
    Conflict,
    UpstreamTimeout,
    UpstreamUnavailable,
    UpstreamUnreachable,
)
from email_channels.observability.metrics import ses_outcome
from email_channels.observability.middleware import valid_request_id


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(f"EMAIL_CHANNELS_{name.upper()}", value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_defaults_are_those_of_section_2(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = settings(monkeypatch)

    assert defaults.log_format is LogFormat.TEXT
    assert defaults.rate_limit == 600
    assert defaults.rate_limit_storage_uri == "memory://"


def test_the_environment_sets_them(monkeypatch: pytest.MonkeyPatch) -> None:
    configured = settings(
        monkeypatch, log_format="json", rate_limit="0", rate_limit_storage_uri="redis://r:6379/1"
    )

    assert configured.log_format is LogFormat.JSON
    assert configured.rate_limit == 0
    assert configured.rate_limit_storage_uri == "redis://r:6379/1"


@pytest.mark.parametrize(("name", "value"), [("log_format", "xml"), ("rate_limit", "-1")])
def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    with pytest.raises(ValidationError):
        settings(monkeypatch, **{name: value})


def _client_error(code: str, status: int) -> Exception:
    error = UpstreamUnavailable("failed")
    error.__cause__ = ClientError(
        {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "CreateTenant"
    )
    return error


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, "ok"),
        (UpstreamTimeout("late"), "timeout"),
        (UpstreamUnreachable("refused"), "unreachable"),
        (_client_error("TooManyRequestsException", 429), "throttled"),
        (_client_error("ServiceUnavailable", 503), "unavailable"),
        (_client_error("AccessDeniedException", 403), "error"),
        (Conflict("exists"), "error"),
    ],
)
def test_ses_outcomes(error: Exception | None, outcome: str) -> None:
    assert ses_outcome(error) == outcome


@pytest.mark.parametrize(
    ("value", "valid"),
    [("a", True), ("x" * 128, True), ("", False), ("x" * 129, False), ("a\nb", False)],
)
def test_request_id_rule(value: str, valid: bool) -> None:
    assert valid_request_id(value) is valid
