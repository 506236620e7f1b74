"""X-Request-ID taken or made, echoed; one access line per request with the section 10 fields."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from email_channels.auth.permissions import Permission
from email_channels.auth.service import create_key
from tests.support.fixtures_api import Api

ACCESS_LOGGER = "email_channels.access"
ACCESS_FIELDS = {
    "request_id",
    "method",
    "route",
    "status",
    "duration_ms",
    "workspace_id",
    "api_key_id",
}


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The access lines' event dicts, as structlog handed them to the standard library."""
    return [
        record.msg
        for record in caplog.records
        if record.name == ACCESS_LOGGER and isinstance(record.msg, dict)
    ]


@pytest.mark.parametrize("request_id", ["abc-123", "x" * 128, "with spaces and ~!@#$%^&*()"])
async def test_a_valid_request_id_is_echoed(api: Api, request_id: str) -> None:
    response = await api.client.get("/healthz", headers={"X-Request-ID": request_id})

    assert response.headers["X-Request-ID"] == request_id


@pytest.mark.parametrize("request_id", ["", "x" * 129, "tab\there", "caf\u00e9"])
async def test_an_invalid_request_id_is_replaced_by_a_new_one(api: Api, request_id: str) -> None:
    headers = {"X-Request-ID": request_id.encode("latin-1")}

    response = await api.client.get("/healthz", headers=headers)  # type: ignore[arg-type]

    assert str(uuid.UUID(response.headers["X-Request-ID"])) == response.headers["X-Request-ID"]


async def test_each_request_without_an_id_gets_its_own(api: Api) -> None:
    first = await api.client.get("/healthz")
    second = await api.client.get("/healthz")

    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


async def test_one_access_line_per_request_names_the_key_by_id_never_by_secret(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    key, secret = await create_key(
        api.database, workspace_id="ws1", permissions=[Permission.CHANNEL_VIEW], name="logged"
    )
    setup_id = uuid.uuid4()
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)

    response = await api.client.get(
        f"/v1/ws1/channels/ses-setup/{setup_id}",
        headers={"Authorization": f"Bearer {secret}", "X-Request-ID": "req-42"},
    )

    assert response.status_code == 404
    [line] = access_lines(caplog)
    assert set(line) >= ACCESS_FIELDS
    assert line["request_id"] == "req-42"
    assert line["method"] == "GET"
    assert line["route"] == "/v1/{workspace_id}/channels/ses-setup/{setup_id}"
    assert line["status"] == 404
    assert line["duration_ms"] >= 0
    assert line["workspace_id"] == "ws1"
    assert line["api_key_id"] == str(key.id)
    assert secret not in repr(line)
    assert str(setup_id) not in repr(line)


async def test_an_unauthenticated_request_is_logged_without_a_key(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)

    response = await api.client.get(
        "/v1/ws1/channels/ses-setup", headers={"Authorization": "Bearer wrong-secret"}
    )

    assert response.status_code == 401
    [line] = access_lines(caplog)
    assert line["status"] == 401
    assert line["api_key_id"] is None
    assert "wrong-secret" not in repr(line)
