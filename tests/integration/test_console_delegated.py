"""The console's delegated setups: the choice on "New SES setup", NS first, the reminder."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.support.fixtures_api import Api
from tests.support.publishers import DELEGATION_NAMESERVERS, PowerDns, publisher_settings, zone_at

CHOICE = "Delegate this subdomain to us (recommended)"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def api_overrides(powerdns: PowerDns) -> dict[str, Any]:
    return publisher_settings(powerdns)


def csrf(page: httpx.Response) -> str:
    match = _CSRF.search(page.text)
    assert match is not None, page.text
    return match.group(1)


async def signed_in(api: Api) -> httpx.AsyncClient:
    client = api.client
    secret = (await api.key())["Authorization"].removeprefix("Bearer ")
    form = await client.get("/console")
    answer = await client.post(
        "/console/sign-in", data={"api_key": secret, "csrf_token": csrf(form)}
    )
    assert answer.status_code == 303
    return client


async def test_new_setup_offers_delegation_checked_where_a_publisher_is_configured(
    api: Api,
) -> None:
    client = await signed_in(api)
    page = await client.get("/console/setups/new")
    assert page.status_code == 200
    assert CHOICE in page.text
    assert re.search(r'id="dns_mode"[^>]*checked', page.text, re.DOTALL)


@pytest.mark.parametrize("api_overrides", [{}])
async def test_new_setup_offers_no_delegation_without_a_publisher(api: Api) -> None:
    client = await signed_in(api)
    page = await client.get("/console/setups/new")
    assert page.status_code == 200
    assert CHOICE not in page.text


async def test_a_delegated_setup_shows_ns_first_and_its_delete_reminds_to_remove_them(
    api: Api, powerdns: PowerDns
) -> None:
    client = await signed_in(api)
    new = await client.get("/console/setups/new")
    domain = f"mail-{uuid.uuid4().hex[:8]}.example.test"
    created = await client.post(
        "/console/setups",
        data={
            "tenant_name": f"console-{uuid.uuid4().hex[:8]}",
            "domain_identity": domain,
            "dns_mode": "delegated",
            "csrf_token": csrf(new),
        },
    )
    assert created.status_code == 303, created.text
    page = await client.get(created.headers["location"])
    assert "Publish the NS records first" in page.text
    first_rows = re.findall(r'<td data-label="Type">(\w+)</td>', page.text)
    assert first_rows[:2] == ["NS", "NS"]
    assert DELEGATION_NAMESERVERS[0] in page.text.replace("<wbr>", "")

    deleted = await client.post(
        f"{created.headers['location']}/delete", data={"csrf_token": csrf(page)}
    )
    assert deleted.status_code == 303
    listing = await client.get(deleted.headers["location"])
    assert f"Now remove the NS records of {domain}" in listing.text
    assert zone_at(powerdns, domain) is None
