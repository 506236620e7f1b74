"""DNS_CHECK=resolver: section 4's check through DNS_NAMESERVERS alone, as before section 11."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from email_channels.ses_setups.records import ExpectedRecord, Purpose
from tests.support.fixtures_api import Api
from tests.support.fixtures_bind import TestZone

pytestmark = pytest.mark.bind


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    return {"dns_check": "resolver", "dns_timeout": 1.0, "dns_lifetime": 2.0}


async def test_resolver_mode_asks_no_zone_and_names_no_host(api: Api, dns_zone: TestZone) -> None:
    headers = await api.key()
    setup = await api.create_setup(
        headers, tenant_name=f"t-{uuid.uuid4().hex[:10]}", domain_identity=dns_zone.domain
    )
    dns_zone.publish(
        ExpectedRecord(Purpose(r["purpose"]), r["type"], r["address"], r["record"])
        for r in setup["dns_records"]
    )

    response = await api.client.get(f"/v1/ws1/channels/ses-setup/{setup['id']}", headers=headers)

    detail = response.json()
    assert detail["dns_verified"] is True
    assert detail["dns_zone"] is None
    for record in detail["dns_records"]:
        assert record["status"] == "verified"
        assert record["reason"] is None
        assert record["host"] is None
        assert record["nameservers"] == []
    assert "SOA" not in {rdtype for _, rdtype in dns_zone.query_counts()}
