"""SPF at the source: the zone's servers hold the record, the resolver answers its includes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from email_channels.ses_setups.records import ExpectedRecord, Purpose
from tests.support.fixtures_api import Api
from tests.support.fixtures_bind import TestZone

URL = "/v1/ws1/channels/ses-setup"


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    return {"dns_timeout": 1.0, "dns_lifetime": 2.0}


async def _published_with_spf(api: Api, zone: TestZone, spf_target: str) -> dict[str, Any]:
    """A setup whose records are all published, its SPF record an include of `_spf.` + D."""
    headers = await api.key()
    setup = await api.create_setup(
        headers, tenant_name=f"t-{uuid.uuid4().hex[:10]}", domain_identity=zone.domain
    )
    records = [
        ExpectedRecord(Purpose(r["purpose"]), r["type"], r["address"], r["record"])
        for r in setup["dns_records"]
    ]
    zone.publish(records)
    spf = next(r for r in records if r.purpose is Purpose.SPF)
    zone.replace(spf.address, "TXT", f'"v=spf1 include:_spf.{zone.domain} ~all"')
    zone.replace(f"_spf.{zone.domain}", "TXT", f'"{spf_target}"')
    detail = (await api.client.get(f"{URL}/{setup['id']}", headers=headers)).json()
    assert detail["dns_zone"] is not None  # checked at the zone's own servers
    return next(r for r in detail["dns_records"] if r["purpose"] == "spf")


async def test_an_include_of_a_record_that_includes_amazon_ses_is_verified_at_the_source(
    api: Api, dns_zone: TestZone
) -> None:
    spf = await _published_with_spf(api, dns_zone, "v=spf1 include:amazonses.com ~all")
    assert spf["status"] == "verified", spf
    assert all(server["status"] == "verified" for server in spf["nameservers"])


async def test_a_permerror_in_an_included_record_is_a_mismatch_at_the_source(
    api: Api, dns_zone: TestZone
) -> None:
    spf = await _published_with_spf(
        api, dns_zone, "v=spf1 inclde:amazonses.com include:amazonses.com ~all"
    )
    assert spf["status"] == "mismatch", spf
    assert "inclde" in spf["reason"]
