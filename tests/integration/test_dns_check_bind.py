"""DESIGN.md section 4 against a real BIND 9: records published by RFC 2136 updates."""

from __future__ import annotations

import dns.message
import dns.query
import dns.rdtypes.ANY.TXT
import pytest

from email_channels.integrations.dns.resolver import DnsPythonLookup
from email_channels.ses_setups.dns_check import all_verified, check_complete, check_records
from email_channels.ses_setups.records import Purpose
from email_channels.ses_setups.verification import RecordResult, RecordStatus
from tests.support.bind import txt_value
from tests.support.fixtures_bind import TestZone

pytestmark = pytest.mark.bind

VERIFIED, MISSING = RecordStatus.VERIFIED, RecordStatus.MISSING
MISMATCH = RecordStatus.MISMATCH
DKIM, MAIL_FROM_MX, SPF, INBOUND_MX, DMARC = 0, 3, 4, 5, 6
FEEDBACK = "feedback-smtp.us-east-1.amazonses.com"
INBOUND = "inbound-smtp.us-east-1.amazonaws.com"


async def check(zone: TestZone, lookup: DnsPythonLookup) -> list[RecordResult]:
    return await check_records(
        zone.expected_records(), domain=zone.domain, lookup=lookup, lifetime=2.0
    )


def assert_result(
    result: RecordResult,
    status: RecordStatus,
    found: tuple[str, ...] = (),
    *reason_has: str,
) -> None:
    assert result.status is status, result
    assert result.verified is (status is VERIFIED)
    assert result.found == found
    if status is VERIFIED:
        assert result.reason is None
        return
    assert result.reason is not None
    for text in reason_has:
        assert text in result.reason, result.reason


def assert_others_verified(results: list[RecordResult], *but: int) -> None:
    assert [r.status for i, r in enumerate(results) if i not in but] == [VERIFIED] * (7 - len(but))


async def test_all_seven_records_right(dns_zone: TestZone, dns_lookup: DnsPythonLookup) -> None:
    records = dns_zone.expected_records()
    dns_zone.publish(records)
    results = await check(dns_zone, dns_lookup)
    for record, result in zip(records, results, strict=True):
        assert_result(result, VERIFIED, (record.record,))
    assert all_verified(results)
    assert check_complete(results)


@pytest.mark.parametrize("missing", range(7), ids=lambda i: f"record{i}")
async def test_each_record_missing_in_turn(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup, missing: int
) -> None:
    records = dns_zone.expected_records()
    dns_zone.publish(r for i, r in enumerate(records) if i != missing)
    results = await check(dns_zone, dns_lookup)
    gone = records[missing]
    assert_result(results[missing], MISSING, (), f"No {gone.type} record exists at {gone.address}")
    assert_others_verified(results, missing)
    assert not all_verified(results)
    assert check_complete(results)


async def test_txt_value_split_into_character_strings(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    records = dns_zone.expected_records()
    other = _publish_other_spf(dns_zone)
    terms = ["v=spf1", f"include:{other}", "include:amazonses.com"]
    terms += [f"ip4:192.0.2.{n}" for n in range(1, 18)]
    padding = 400 - len(" ".join([*terms, f"a:.{dns_zone.domain}", "~all"]))
    host = f"{'h' * padding}.{dns_zone.domain}"
    dns_zone.add(host, "A", "192.0.2.1")
    value = " ".join([*terms, f"a:{host}", "~all"])
    assert len(value) == 400
    dns_zone.publish(records[:SPF] + records[SPF + 1 :])
    dns_zone.replace(records[SPF].address, "TXT", txt_value(value, chunk=150))
    served = _raw_txt(dns_zone, records[SPF].address)
    assert [len(s) for s in served] == [150, 150, 100]  # really three character-strings
    results = await check(dns_zone, dns_lookup)
    assert_result(results[SPF], VERIFIED, (value,))
    assert_others_verified(results, SPF)


async def test_spf_with_other_includes_is_verified(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    records = dns_zone.expected_records()
    dns_zone.publish(records)
    value = f"v=spf1 include:{_publish_other_spf(dns_zone)} include:amazonses.com ~all"
    dns_zone.replace(records[SPF].address, "TXT", txt_value(value))
    results = await check(dns_zone, dns_lookup)
    assert_result(results[SPF], VERIFIED, (value,))


async def test_two_spf_records(dns_zone: TestZone, dns_lookup: DnsPythonLookup) -> None:
    records = dns_zone.expected_records()
    dns_zone.publish(records)
    other = "v=spf1 include:_spf.google.com ~all"
    dns_zone.add(records[SPF].address, "TXT", txt_value(other))
    results = await check(dns_zone, dns_lookup)
    found = tuple(sorted([records[SPF].record, other]))
    assert_result(results[SPF], MISMATCH, found, "2 SPF records", "merge them into one")
    assert_others_verified(results, SPF)


async def test_spf_without_the_include(dns_zone: TestZone, dns_lookup: DnsPythonLookup) -> None:
    records = dns_zone.expected_records()
    dns_zone.publish(records)
    value = f"v=spf1 include:{_publish_other_spf(dns_zone)} ~all"
    dns_zone.replace(records[SPF].address, "TXT", txt_value(value))
    results = await check(dns_zone, dns_lookup)
    assert_result(results[SPF], MISMATCH, (value,), f'"{value}"', "add include:amazonses.com")


def _publish_other_spf(zone: TestZone) -> str:
    """Another sender's SPF record, in the test's own domain, for an include to name."""
    name = f"_spf.{zone.domain}"
    zone.add(name, "TXT", txt_value("v=spf1 ip4:198.51.100.0/24 ~all"))
    return name


async def test_dkim_target_in_upper_case_with_final_dot_is_verified(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    records = dns_zone.expected_records()
    dns_zone.publish(records)
    dkim = records[DKIM]
    dns_zone.replace(dkim.address.upper(), "CNAME", dkim.record.upper() + ".")
    results = await check(dns_zone, dns_lookup)
    assert_result(results[DKIM], VERIFIED, (dkim.record,))
    assert all_verified(results)


async def test_dkim_name_published_with_the_domain_twice(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    records = dns_zone.expected_records()
    dkim = records[DKIM]
    dns_zone.publish(records[1:])
    doubled = f"{dkim.address}.{dns_zone.domain}"
    dns_zone.replace(doubled, "CNAME", dkim.record)
    results = await check(dns_zone, dns_lookup)
    assert_result(results[DKIM], MISSING, (), doubled, "enter only 'tokenone._domainkey'")
    assert_others_verified(results, DKIM)


async def test_a_record_where_the_cname_belongs(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    records = dns_zone.expected_records()
    dkim = records[DKIM]
    dns_zone.publish(records[1:])
    dns_zone.replace(dkim.address, "A", "104.16.132.229")
    dns_zone.replace(dkim.address, "AAAA", "2606:4700::6810:84e5")
    results = await check(dns_zone, dns_lookup)
    assert_result(
        results[DKIM], MISMATCH, (), "104.16.132.229", "2606:4700::6810:84e5", "turn off the proxy"
    )


async def test_extra_mx_at_the_mail_from_name(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    records = dns_zone.expected_records()
    dns_zone.publish(records)
    dns_zone.add(records[MAIL_FROM_MX].address, "MX", "20 mx.other.example")
    results = await check(dns_zone, dns_lookup)
    assert_result(
        results[MAIL_FROM_MX],
        MISMATCH,
        (f"10 {FEEDBACK}", "20 mx.other.example"),
        "exactly one MX",
        "20 mx.other.example",
    )
    assert_others_verified(results, MAIL_FROM_MX)


async def test_inbound_mx_behind_a_lower_preference_mx(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    records = dns_zone.expected_records()
    dns_zone.publish(records)
    dns_zone.add(dns_zone.domain, "MX", "5 mx.other.example")
    results = await check(dns_zone, dns_lookup)
    assert_result(
        results[INBOUND_MX],
        MISMATCH,
        ("5 mx.other.example", f"10 {INBOUND}"),
        "5 mx.other.example",
        "lower preference",
    )
    assert_others_verified(results, INBOUND_MX)


async def test_dmarc_missing(dns_zone: TestZone, dns_lookup: DnsPythonLookup) -> None:
    records = dns_zone.expected_records()
    dns_zone.publish(records[:DMARC])
    results = await check(dns_zone, dns_lookup)
    assert_result(results[DMARC], MISSING, (), f"No TXT record exists at _dmarc.{dns_zone.domain}")


async def test_dmarc_with_reject_policy_is_verified(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    records = dns_zone.expected_records()
    dns_zone.publish(records)
    value = "v=DMARC1; p=reject; rua=mailto:dmarc@other.example"
    dns_zone.replace(records[DMARC].address, "TXT", txt_value(value))
    results = await check(dns_zone, dns_lookup)
    assert_result(results[DMARC], VERIFIED, (value,))
    assert all_verified(results)


async def test_dmarc_duplicated(dns_zone: TestZone, dns_lookup: DnsPythonLookup) -> None:
    records = dns_zone.expected_records()
    dns_zone.publish(records)
    dns_zone.add(records[DMARC].address, "TXT", txt_value("v=DMARC1; p=quarantine"))
    results = await check(dns_zone, dns_lookup)
    assert_result(
        results[DMARC],
        MISMATCH,
        ("v=DMARC1; p=none;", "v=DMARC1; p=quarantine"),
        "2 DMARC records",
        "delete all but one",
    )


def test_expected_records_cover_every_purpose(dns_zone: TestZone) -> None:
    purposes = [r.purpose for r in dns_zone.expected_records()]
    assert purposes == [Purpose.DKIM] * 3 + [
        Purpose.MAIL_FROM_MX,
        Purpose.SPF,
        Purpose.INBOUND_MX,
        Purpose.DMARC,
    ]


def _raw_txt(zone: TestZone, name: str) -> list[bytes]:
    """The character-strings BIND serves at `name`, as they are on the wire."""
    query = dns.message.make_query(name + ".", "TXT")
    response = dns.query.udp(query, zone.server.host, port=zone.server.port, timeout=2.0)
    rdata = response.answer[0][0]
    assert isinstance(rdata, dns.rdtypes.ANY.TXT.TXT)
    return list(rdata.strings)
