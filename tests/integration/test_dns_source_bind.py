"""Verification at the source (DESIGN.md section 11) through the API, against several BIND 9.

Each test zone has its own servers (ns1, ns2: one `named` each, on their own loopback address)
and a resolver (a third `named`) that holds a copy of the zone, stale where a test says so.
"""

from __future__ import annotations

import uuid
from typing import Any

import dns.message
import dns.query
import dns.rcode
import pytest

from email_channels.ses_setups.records import ExpectedRecord, Purpose
from tests.support.fixtures_api import Api
from tests.support.source_dns import SourceDns, SourceZone

pytestmark = pytest.mark.bind

URL = "/v1/ws1/channels/ses-setup"
DKIM, MAIL_FROM_MX, SPF, INBOUND_MX, DMARC = 0, 3, 4, 5, 6


@pytest.fixture
def api_overrides(source_dns: SourceDns) -> dict[str, Any]:
    return {
        "dns_nameservers": source_dns.resolver_address,
        "dns_authoritative_port": source_dns.port,
        "dns_timeout": 1.0,
        "dns_lifetime": 2.0,
    }


def expected(detail: dict[str, Any]) -> list[ExpectedRecord]:
    return [
        ExpectedRecord(Purpose(r["purpose"]), r["type"], r["address"], r["record"])
        for r in detail["dns_records"]
    ]


async def create(api: Api, headers: dict[str, str], domain: str) -> dict[str, Any]:
    return await api.create_setup(
        headers, tenant_name=f"t-{uuid.uuid4().hex[:10]}", domain_identity=domain
    )


async def read(api: Api, headers: dict[str, str], setup: dict[str, Any]) -> dict[str, Any]:
    response = await api.client.get(f"{URL}/{setup['id']}", headers=headers)
    assert response.status_code == 200, response.text
    detail: dict[str, Any] = response.json()
    return detail


def servers(record: dict[str, Any]) -> list[tuple[str, str]]:
    return [(entry["name"], entry["status"]) for entry in record["nameservers"]]


async def test_subdomain_setup_names_its_zone_and_every_host(
    api: Api, source_zone: SourceZone
) -> None:
    headers = await api.key()
    setup = await create(api, headers, f"mail.{source_zone.name}")
    source_zone.publish(expected(setup))

    detail = await read(api, headers, setup)

    assert detail["dns_zone"] == {
        "name": source_zone.name,
        "nameservers": sorted(source_zone.servers),
        "provider": None,
        "negative_ttl": 30,
    }
    hosts = [r["host"] for r in detail["dns_records"]]
    tokens = [r["address"].split(".")[0] for r in detail["dns_records"][:3]]
    assert hosts == [
        *(f"{token}._domainkey.mail" for token in tokens),
        "bounce.mail",
        "bounce.mail",
        "mail",
        "_dmarc.mail",
    ]
    assert detail["dns_verified"] is True
    for record in detail["dns_records"]:
        assert record["status"] == "verified", record
        assert record["reason"] is None
        assert record["found_at"] is None
        assert servers(record) == [(name, "verified") for name in sorted(source_zone.servers)]


async def test_setup_at_the_zone_apex_has_the_host_at_sign(
    api: Api, source_zone: SourceZone
) -> None:
    headers = await api.key()
    setup = await create(api, headers, source_zone.name)
    source_zone.publish(expected(setup))

    detail = await read(api, headers, setup)

    assert detail["dns_zone"]["name"] == source_zone.name
    assert [r["host"] for r in detail["dns_records"][3:]] == ["bounce", "bounce", "@", "_dmarc"]
    assert detail["dns_verified"] is True


async def test_records_on_one_of_two_servers_are_missing_and_name_the_lagging_server(
    api: Api, source_zone: SourceZone, source_dns: SourceDns
) -> None:
    headers = await api.key()
    setup = await create(api, headers, f"mail.{source_zone.name}")
    ns1, ns2 = sorted(source_zone.servers)
    source_zone.publish(expected(setup), on=["ns1"])

    lagging = await read(api, headers, setup)

    assert lagging["dns_verified"] is False
    for record in lagging["dns_records"]:
        assert record["status"] == "missing", record
        assert servers(record) == [(ns1, "verified"), (ns2, "missing")]
        assert ns2 in record["reason"]
        assert "not reached every server" in record["reason"]
        assert "serial" in record["reason"]  # the servers disagree on the zone's serial

    source_zone.publish(expected(setup), on=["ns2"])
    everywhere = await read(api, headers, setup)

    assert everywhere["dns_verified"] is True
    assert all(r["status"] == "verified" for r in everywhere["dns_records"])
    # ... although the resolver's copy of the zone has none of them.
    query = dns.message.make_query(f"bounce.mail.{source_zone.name}", "MX")
    address, port = source_dns.resolver_address.split(":")
    answer = dns.query.udp(query, address, port=int(port), timeout=2.0)
    assert answer.rcode() == dns.rcode.NXDOMAIN


async def test_a_stale_wrong_value_at_the_resolver_never_decides(
    api: Api, source_zone: SourceZone
) -> None:
    headers = await api.key()
    setup = await create(api, headers, f"mail.{source_zone.name}")
    records = expected(setup)
    source_zone.publish(records)
    source_zone.publish_stale([records[MAIL_FROM_MX]], value="10 old-mx.example.net")
    source_zone.publish_stale([records[SPF], records[DMARC]], value='"v=spf1 -all"')
    source_zone.publish_stale(records[:3], value="stale.example.net")

    detail = await read(api, headers, setup)

    assert detail["dns_verified"] is True
    assert [r["found"] for r in detail["dns_records"]] == [[r.record] for r in records]


async def test_the_zones_only_server_silent_gives_the_resolvers_answer(
    api: Api, source_dns: SourceDns
) -> None:
    source_dns.ensure_running()
    zone = source_dns.new_zone(served_by=["ns1"])
    headers = await api.key()
    setup = await create(api, headers, f"mail.{zone.name}")
    zone.publish_stale(expected(setup))  # the resolver's copy has every record

    with zone.own("ns1").paused():
        detail = await read(api, headers, setup)

    (ns1,) = zone.servers
    for record in detail["dns_records"]:
        assert record["status"] == "verified", record
        assert servers(record) == [(ns1, "unknown")]
        assert "did not answer" in record["reason"]
        assert ns1 in record["reason"]


async def test_a_hiccup_of_every_server_and_the_resolver_flips_nothing(
    api: Api, source_zone: SourceZone, source_dns: SourceDns
) -> None:
    headers = await api.key()
    setup = await create(api, headers, f"mail.{source_zone.name}")
    source_zone.publish(expected(setup))
    assert (await read(api, headers, setup))["dns_verified"] is True

    ns1, ns2 = source_dns.own["ns1"], source_dns.own["ns2"]
    with ns1.paused(), ns2.paused(), source_dns.resolver.paused():
        detail = await read(api, headers, setup)

    assert detail["dns_verified"] is True
    for record in detail["dns_records"]:
        assert record["status"] == "unknown", record
        assert record["verified"] is True
        assert [status for _, status in servers(record)] == ["unknown", "unknown"]
    assert detail["dns_zone"]["name"] == source_zone.name  # the zone found before is kept


async def test_verify_get_and_the_stored_check_show_the_same_zone_and_hosts(
    api: Api, source_zone: SourceZone
) -> None:
    headers = await api.key()
    setup = await create(api, headers, f"mail.{source_zone.name}")
    source_zone.publish(expected(setup), on=["ns1"])

    verified = await api.client.post(f"{URL}/{setup['id']}/verify", headers=headers)
    read_back = await read(api, headers, setup)
    stored = await api.app.state.ses_setups.get_stored(
        workspace_id="ws1", setup_id=uuid.UUID(setup["id"])
    )

    assert verified.status_code == 200
    assert verified.json()["dns_zone"]["name"] == source_zone.name
    for detail in (verified.json(), read_back, stored):
        assert detail["dns_zone"] == read_back["dns_zone"]
        shown = [(r["host"], r["nameservers"], r["found_at"]) for r in detail["dns_records"]]
        assert shown == [
            (r["host"], r["nameservers"], r["found_at"]) for r in read_back["dns_records"]
        ]
    # The list item stays as it was: no zone, no records.
    items = (await api.client.get(URL, headers=headers)).json()["items"]
    assert "dns_zone" not in items[0]


async def test_a_known_zone_costs_one_round_of_queries_and_nothing_at_the_resolver(
    api: Api, source_zone: SourceZone, source_dns: SourceDns
) -> None:
    headers = await api.key()
    setup = await create(api, headers, f"mail.{source_zone.name}")
    source_zone.publish(expected(setup))
    await read(api, headers, setup)  # the first check finds the zone and keeps it
    resolver_before = source_dns.resolver.query_counts(under=source_zone.name)
    own_before = source_dns.own["ns1"].query_counts(under=source_zone.name)

    assert (await read(api, headers, setup))["dns_verified"] is True

    assert source_dns.resolver.query_counts(under=source_zone.name) == resolver_before
    asked = source_dns.own["ns1"].query_counts(under=source_zone.name) - own_before
    records = {(r.address, r.type) for r in expected(setup)}
    assert set(asked) == records | {(source_zone.name, "SOA")}
    assert all(count == 1 for count in asked.values())
