"""The mistakes section 11 names, the providers it recognises, the bad input of real zones."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.test_dns_source_bind import (
    DKIM,
    DMARC,
    INBOUND_MX,
    MAIL_FROM_MX,
    SPF,
    api_overrides,
    create,
    expected,
    read,
    servers,
)
from tests.support.bind import ZoneMode, txt_value
from tests.support.fixtures_api import Api
from tests.support.source_dns import SourceDns, SourceZone

pytestmark = pytest.mark.bind
__all__ = ["api_overrides"]  # the module's settings: the resolver and port of source_dns


async def test_host_typed_relative_to_the_setup_instead_of_the_zone_is_named(
    api: Api, source_zone: SourceZone
) -> None:
    headers = await api.key()
    setup = await create(api, headers, f"mail.{source_zone.name}")
    records = expected(setup)
    source_zone.publish([r for i, r in enumerate(records) if i != MAIL_FROM_MX])
    source_zone.add(f"bounce.{source_zone.name}", "MX", records[MAIL_FROM_MX].record)

    record = (await read(api, headers, setup))["dns_records"][MAIL_FROM_MX]

    assert record["status"] == "missing"
    assert record["found_at"] == f"bounce.{source_zone.name}"
    assert record["found"] == [records[MAIL_FROM_MX].record]
    assert "host bounce.mail" in record["reason"]
    assert f"relative to mail.{source_zone.name}" in record["reason"]


async def test_zone_appended_by_the_provider_is_named(api: Api, source_zone: SourceZone) -> None:
    headers = await api.key()
    setup = await create(api, headers, f"mail.{source_zone.name}")
    records = expected(setup)
    source_zone.publish([r for i, r in enumerate(records) if i != SPF])
    doubled = f"{records[SPF].address}.{source_zone.name}"
    source_zone.add(doubled, "TXT", txt_value(records[SPF].record))

    record = (await read(api, headers, setup))["dns_records"][SPF]

    assert record["status"] == "missing"
    assert record["found_at"] == doubled
    assert f"adds {source_zone.name}" in record["reason"]
    assert "type only the host bounce.mail" in record["reason"]


async def test_inbound_mx_at_the_zone_apex_warns_about_the_whole_domains_mail(
    api: Api, source_zone: SourceZone
) -> None:
    headers = await api.key()
    setup = await create(api, headers, f"mail.{source_zone.name}")
    records = expected(setup)
    source_zone.publish([r for i, r in enumerate(records) if i != INBOUND_MX])
    source_zone.add(source_zone.name, "MX", records[INBOUND_MX].record)

    record = (await read(api, headers, setup))["dns_records"][INBOUND_MX]

    assert record["status"] == "missing"
    assert record["found_at"] == source_zone.name
    assert f"whole domain {source_zone.name}" in record["reason"]
    assert "Amazon SES" in record["reason"]
    assert "host mail." in record["reason"]


async def test_organisational_dmarc_record_counts_as_verified(
    api: Api, source_zone: SourceZone
) -> None:
    headers = await api.key()
    setup = await create(api, headers, f"mail.{source_zone.name}")
    records = expected(setup)
    source_zone.publish([r for i, r in enumerate(records) if i != DMARC])
    source_zone.add(f"_dmarc.{source_zone.name}", "TXT", txt_value("v=DMARC1; p=reject"))

    detail = await read(api, headers, setup)
    record = detail["dns_records"][DMARC]

    assert record["status"] == "verified"
    assert record["verified"] is True
    assert record["found"] == ["v=DMARC1; p=reject"]
    assert record["found_at"] == f"_dmarc.{source_zone.name}"
    assert detail["dns_verified"] is True


async def test_cloudflare_and_route_53_are_recognised_and_a_proxied_dkim_name_says_dns_only(
    api: Api, source_dns: SourceDns
) -> None:
    source_dns.ensure_running()
    tag = uuid.uuid4().hex[:6]
    flare = source_dns.new_zone(
        names=[f"ada{tag}.ns.cloudflare.com", f"bob{tag}.ns.cloudflare.com"]
    )
    route53 = source_dns.new_zone(names=["ns-1536.awsdns-00.co.uk", "ns-512.awsdns-64.net"])
    headers = await api.key()
    proxied = await create(api, headers, flare.name)
    other = await create(api, headers, route53.name)
    records = expected(proxied)
    flare.publish(records[1:])
    flare.add(records[DKIM].address, "A", "104.16.1.1")

    at_cloudflare = await read(api, headers, proxied)
    at_route53 = await read(api, headers, other)

    assert at_cloudflare["dns_zone"]["provider"] == "Cloudflare"
    assert at_route53["dns_zone"]["provider"] == "Amazon Route 53"
    dkim = at_cloudflare["dns_records"][DKIM]
    assert dkim["status"] == "mismatch"
    assert '"DNS only"' in dkim["reason"]
    assert f"host {records[DKIM].address.removesuffix('.' + flare.name)}" in dkim["reason"]


async def test_a_server_name_without_addresses_is_unknown_and_the_others_decide(
    api: Api, source_dns: SourceDns
) -> None:
    source_dns.ensure_running()
    name = f"z{uuid.uuid4().hex[:10]}.test"
    ghost = f"ghost-{uuid.uuid4().hex[:6]}.example.invalid"
    zone = source_dns.new_zone(served_by=["ns1"], names=[f"ns1.{name}", ghost], name=name)
    headers = await api.key()
    setup = await create(api, headers, zone.name)
    zone.publish(expected(setup), on=["ns1"])

    detail = await read(api, headers, setup)

    assert detail["dns_verified"] is True
    for record in detail["dns_records"]:
        assert servers(record) == [(ghost, "unknown"), (f"ns1.{name}", "verified")]


async def test_a_cname_at_the_setups_domain_is_named(api: Api, source_zone: SourceZone) -> None:
    headers = await api.key()
    domain = f"mail.{source_zone.name}"
    setup = await create(api, headers, domain)
    records = expected(setup)
    source_zone.publish([r for i, r in enumerate(records) if i != INBOUND_MX])
    source_zone.add(domain, "CNAME", "elsewhere.example.net.")
    source_zone.dns.resolver.add(domain, "CNAME", "elsewhere.example.net.")

    detail = await read(api, headers, setup)
    record = detail["dns_records"][INBOUND_MX]

    assert detail["dns_zone"]["name"] == source_zone.name
    assert record["status"] == "missing"
    assert "CNAME to elsewhere.example.net" in record["reason"]
    assert "(host mail)" in record["reason"]


async def test_a_zone_whose_soa_the_resolver_cannot_give_is_unknown_with_a_reason(
    api: Api, source_zone: SourceZone
) -> None:
    headers = await api.key()
    setup = await create(api, headers, source_zone.name)
    source_zone.publish(expected(setup))
    source_zone.dns.resolver.remove_zone(source_zone.name)  # a reload keeps a loaded copy
    source_zone.dns.resolver.add_zone(source_zone.name, mode=ZoneMode.SERVFAIL)

    response = await api.client.get(f"/v1/ws1/channels/ses-setup/{setup['id']}", headers=headers)

    assert response.status_code == 200
    detail = response.json()
    assert detail["dns_zone"] is None
    for record in detail["dns_records"]:
        assert record["status"] == "unknown"
        assert record["verified"] is False
        assert "no zone found" in record["reason"]
        assert record["host"] is None


async def test_a_delegation_below_the_setups_domain_is_named(
    api: Api, source_zone: SourceZone
) -> None:
    headers = await api.key()
    domain = f"mail.{source_zone.name}"
    setup = await create(api, headers, domain)
    source_zone.publish(expected(setup)[3:])
    delegated = f"_domainkey.{domain}"
    source_zone.add(delegated, "NS", "ns.elsewhere.example.net.")
    source_zone.dns.resolver.add(delegated, "NS", "ns.elsewhere.example.net.")

    detail = await read(api, headers, setup)

    for record in detail["dns_records"][:3]:
        assert record["status"] in ("missing", "unknown")
        assert [status for _, status in servers(record)] == ["unknown", "unknown"]
        assert "delegates this name" in record["reason"]
        assert "ns.elsewhere.example.net" in record["reason"]
    assert all(r["status"] == "verified" for r in detail["dns_records"][3:])
