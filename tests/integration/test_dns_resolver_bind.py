"""The dnspython adapter against a real BIND 9: outcomes, normalised values, no cache."""

from __future__ import annotations

import time

import pytest

from email_channels.integrations.dns import Observation, Outcome
from email_channels.integrations.dns.resolver import DnsPythonLookup
from tests.support.bind import BindServer, ZoneMode, txt_value
from tests.support.fixtures_bind import TestZone

pytestmark = pytest.mark.bind


async def test_name_that_does_not_exist_is_nxdomain(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    seen = await dns_lookup.query(f"nothing.{dns_zone.domain}", "TXT")
    assert seen == Observation(f"nothing.{dns_zone.domain}", "TXT", Outcome.NXDOMAIN)


async def test_name_without_the_type_is_no_data(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    dns_zone.add(f"www.{dns_zone.domain}", "A", "192.0.2.1")
    seen = await dns_lookup.query(f"www.{dns_zone.domain}.", "mx")
    assert (seen.name, seen.rdtype) == (f"www.{dns_zone.domain}", "MX")
    assert (seen.outcome, seen.values) == (Outcome.NO_DATA, ())


async def test_cname_target_is_lower_case_without_final_dot(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    name = f"Sel._DomainKey.{dns_zone.domain}"
    dns_zone.add(name, "CNAME", "Sel.DKIM.AmazonSES.com.")
    seen = await dns_lookup.query(name.upper(), "CNAME")
    assert seen.name == name.lower()
    assert (seen.outcome, seen.values) == (Outcome.ANSWER, ("sel.dkim.amazonses.com",))


async def test_mx_values_sorted_by_preference(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    dns_zone.add(dns_zone.domain, "MX", "20 B.example.", "5 z.example", "10 a.example")
    seen = await dns_lookup.query(dns_zone.domain, "MX")
    assert seen.values == ("5 z.example", "10 a.example", "20 b.example")


async def test_txt_strings_of_one_record_joined_and_records_kept_apart(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    name = f"txt.{dns_zone.domain}"
    dns_zone.add(name, "TXT", '"v=spf1 " "include:amazonses.com" " ~all"', '"second record"')
    seen = await dns_lookup.query(name, "TXT")
    assert seen.values == ("second record", "v=spf1 include:amazonses.com ~all")


async def test_txt_bytes_decoded_as_utf8_with_replacement(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    name = f"bytes.{dns_zone.domain}"
    dns_zone.add(name, "TXT", txt_value("café"), '"bad \\255 byte"')
    seen = await dns_lookup.query(name, "TXT")
    assert seen.values == ("bad \ufffd byte", "café")


async def test_address_records(dns_zone: TestZone, dns_lookup: DnsPythonLookup) -> None:
    name = f"host.{dns_zone.domain}"
    dns_zone.add(name, "A", "192.0.2.2", "192.0.2.1")
    dns_zone.add(name, "AAAA", "2001:DB8:0:0::1")
    assert (await dns_lookup.query(name, "A")).values == ("192.0.2.1", "192.0.2.2")
    assert (await dns_lookup.query(name, "AAAA")).values == ("2001:db8::1",)


async def test_lookups_are_live_not_cached(dns_zone: TestZone, dns_lookup: DnsPythonLookup) -> None:
    name = f"_dmarc.{dns_zone.domain}"
    assert (await dns_lookup.query(name, "TXT")).outcome is Outcome.NXDOMAIN
    dns_zone.add(name, "TXT", txt_value("v=DMARC1; p=none;"))
    assert (await dns_lookup.query(name, "TXT")).values == ("v=DMARC1; p=none;",)
    dns_zone.replace(name, "TXT", txt_value("v=DMARC1; p=reject;"))
    assert (await dns_lookup.query(name, "TXT")).values == ("v=DMARC1; p=reject;",)


@pytest.mark.parametrize(
    ("mode", "detail"), [(ZoneMode.SERVFAIL, "SERVFAIL"), (ZoneMode.REFUSED, "REFUSED")]
)
async def test_server_errors_are_failures_with_the_rcode(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup, mode: ZoneMode, detail: str
) -> None:
    dns_zone.break_zone(dns_zone.domain, mode)
    seen = await dns_lookup.query(dns_zone.domain, "MX")
    assert (seen.outcome, seen.values, seen.detail) == (Outcome.FAILURE, (), detail)


async def test_stopped_server_is_a_timeout_within_the_lifetime(
    dns_zone: TestZone, bind_server: BindServer
) -> None:
    lookup = DnsPythonLookup(nameservers=bind_server.nameservers, timeout=0.3, lifetime=0.6)
    with bind_server.stopped():
        started = time.monotonic()
        seen = await lookup.query(dns_zone.domain, "MX")
        elapsed = time.monotonic() - started
    assert (seen.outcome, seen.detail) == (Outcome.FAILURE, "timed out")
    assert elapsed < 0.6 + 0.5


async def test_nameserver_given_by_host_name(dns_zone: TestZone, bind_server: BindServer) -> None:
    dns_zone.add(dns_zone.domain, "MX", "10 mx.example")
    lookup = DnsPythonLookup(nameservers=[("localhost", bind_server.port)], timeout=1, lifetime=2)
    seen = await lookup.query(dns_zone.domain, "MX")
    assert seen.values == ("10 mx.example",)


async def test_name_that_cannot_be_in_dns_is_a_failure(dns_lookup: DnsPythonLookup) -> None:
    seen = await dns_lookup.query("a" * 64 + ".example.test", "TXT")
    assert (seen.outcome, seen.detail) == (Outcome.FAILURE, "not a valid DNS name")
