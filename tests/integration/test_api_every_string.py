"""Every string (section 13): a control character in any text field of any body is a 422 on
that field, on SQLite and PostgreSQL alike; bound parameters never reach a log line."""

from __future__ import annotations

import base64
import logging
import os
import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from email_channels.config import LogFormat
from email_channels.console.session import CSRF_FIELD, csrf_token_for
from email_channels.db.base import utc_now
from email_channels.observability.logs import _formatter
from email_channels.webhooks.models import Webhook
from tests.e2e.test_console_security import browser_like, sign_in
from tests.support.fixtures_api import Api

SETUP = "/v1/{ws}/channels/ses-setup"
USE_CASES = "/v1/{ws}/use-cases"
WEBHOOKS = "/v1/{ws}/webhooks"
# One valid body per create; each text field in turn gets a control character.
VALID: dict[str, dict[str, Any]] = {
    SETUP: {"tenant_name": "acme", "domain_identity": "mail.example.com"},
    USE_CASES: {"name": "Password resets", "ses_setup_id": str(uuid.uuid4())},
    WEBHOOKS: {
        "url": "https://hooks.example.com/in",
        "description": "Production receiver",
        "events": ["ses_setup.created"],
    },
}
TEXT_FIELDS = [
    (SETUP, "tenant_name"),
    (SETUP, "domain_identity"),
    (USE_CASES, "name"),
    (WEBHOOKS, "url"),
    (WEBHOOKS, "description"),
    (WEBHOOKS, "events"),
]
CONTROL_CHARACTERS = ["\x00", "\x1b", "\x7f", "\x85"]


def with_character(path: str, field: str, character: str) -> dict[str, Any]:
    body = dict(VALID[path])
    if field == "events":
        body[field] = [f"ses_setup.created{character}"]
    else:
        value = str(body[field])
        body[field] = value[:3] + character + value[3:]
    return body


@pytest.mark.parametrize("character", CONTROL_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize(("path", "field"), TEXT_FIELDS)
async def test_a_control_character_in_any_text_field_is_a_422_on_that_field(
    api: Api, path: str, field: str, character: str
) -> None:
    headers = await api.key("strings")
    response = await api.client.post(
        path.format(ws="strings"), json=with_character(path, field, character), headers=headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert [error["field"] for error in errors] == [field]
    assert "control characters" in errors[0]["message"]


@pytest.mark.parametrize(("path", "field"), TEXT_FIELDS)
async def test_a_lone_surrogate_in_any_text_field_is_a_422_on_that_field(
    api: Api, path: str, field: str
) -> None:
    headers = await api.key("strings")
    # JSON may spell a surrogate half that no UTF-8 text (nor PostgreSQL) can hold.
    raw = httpx.Request("POST", "/", json=with_character(path, field, "\x01")).content
    raw = raw.replace(b"\\u0001", b"\\ud800")
    assert b"\\ud800" in raw
    response = await api.client.post(
        path.format(ws="strings"),
        content=raw,
        headers={**headers, "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]


@pytest.mark.parametrize("field", ["tenant_name", "domain_identity"])
async def test_a_nul_in_a_console_form_field_shows_that_fields_message(
    api: Api, field: str
) -> None:
    headers = await api.key("strings")
    secret = headers["Authorization"].removeprefix("Bearer ")
    values = {"tenant_name": "acme", "domain_identity": "mail.example.com", field: "ac\x00me"}
    async with browser_like(api) as client:
        await sign_in(client, secret)
        posted = await client.post(
            "/console/setups", data={**values, CSRF_FIELD: csrf_token_for(secret)}
        )
        # Post/Redirect/Get: the form again, with the field's message beside it.
        assert (posted.status_code, posted.headers["location"]) == (303, "/console/setups/new")
        form = await client.get("/console/setups/new")
    assert form.status_code == 200
    assert form.headers["content-type"].startswith("text/html")
    assert form.text.count('class="field-error"') == 1
    assert "control characters" in form.text


async def test_a_failing_statement_never_logs_its_bound_parameters(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    row = {
        "id": uuid.uuid4(),
        "workspace_id": "strings",
        "url": "https://hooks.example.com/in",
        "events": ["ses_setup.created"],
        "description": "kept",
        "secret": secret,
        "created_at": utc_now(),
    }
    async with api.database.transaction() as session:
        await session.execute(insert(Webhook).values(**row))
    caplog.set_level(logging.ERROR)
    logger = logging.getLogger("email_channels.problems")
    with pytest.raises(IntegrityError) as failure:  # the same id again: a key violation
        async with api.database.transaction() as session:
            await session.execute(insert(Webhook).values(**row))
    # Logged as the error handlers log an unexpected error: the message and its traceback.
    logger.error("unhandled error", exc_info=failure.value)
    [record] = [r for r in caplog.records if r.name == "email_channels.problems"]
    line = _formatter(LogFormat.JSON).format(record)
    assert "INSERT INTO webhooks" in line  # the statement is there, so the test looks at it
    assert secret not in line
    assert not re.search(r"whsec_[A-Za-z0-9+/=]+", line)
