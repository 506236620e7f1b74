"""The worker writes again a delegated setup's managed record that went missing at PowerDNS."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from email_channels.webhooks.models import Event
from tests.support.fixtures_api import Api
from tests.support.publishers import PowerDns, delegated_body, publisher_settings, zone_at
from tests.support.worker import FAST_WORKER, eventually, running_worker

URL = "/v1/ws1/channels/ses-setup"


@pytest.fixture
def api_overrides(powerdns: PowerDns) -> dict[str, Any]:
    return {
        **publisher_settings(powerdns),
        **FAST_WORKER,
        "dns_authoritative_port": powerdns.dns_port,
    }


def dmarc_at(powerdns: PowerDns, domain: str) -> list[str]:
    zone = zone_at(powerdns, domain) or {"rrsets": []}
    return [
        record["content"]
        for rrset in zone["rrsets"]
        if rrset["name"] == f"_dmarc.{domain}." and rrset["type"] == "TXT"
        for record in rrset["records"]
    ]


async def repaired_events(api: Api) -> list[dict[str, Any]]:
    async with api.database.transaction() as session:
        events = await session.scalars(select(Event).where(Event.type == "ses_setup.repaired"))
        return [event.data for event in events]


async def test_a_managed_record_deleted_behind_our_back_is_written_again_by_the_worker(
    api: Api, powerdns: PowerDns
) -> None:
    headers = await api.key()
    body = delegated_body()
    domain = body["domain_identity"]
    detail = await api.create_setup(headers, **body)
    with powerdns.api() as client:
        client.patch(
            f"/zones/{domain}.",
            json={"rrsets": [{"name": f"_dmarc.{domain}.", "type": "TXT", "changetype": "DELETE"}]},
        ).raise_for_status()

    read = (await api.client.get(f"{URL}/{detail['id']}", headers=headers)).json()
    dmarc = next(r for r in read["dns_records"] if r["purpose"] == "dmarc")
    assert dmarc["status"] == "missing"
    assert dmarc_at(powerdns, domain) == []  # a read never writes the zone
    assert await repaired_events(api) == []

    async with running_worker(api):
        await eventually(
            lambda: _async(dmarc_at(powerdns, domain)), within=20, what="DMARC written again"
        )
        [data] = await eventually(lambda: repaired_events(api), within=10, what="the event")

    assert dmarc_at(powerdns, domain) == ['"v=DMARC1; p=none;"']
    assert data["ses_setup"]["id"] == detail["id"]
    assert data["record"] == {
        "address": f"_dmarc.{domain}",
        "type": "TXT",
        "record": "v=DMARC1; p=none;",
        "purpose": "dmarc",
    }


async def _async(value: Any) -> Any:
    return value
