"""The SPF and DMARC rules of DESIGN.md section 4 against a real BIND 9 (RFC 2136 updates)."""

from __future__ import annotations

import pytest

from email_channels.integrations.dns.resolver import DnsPythonLookup
from email_channels.ses_setups.dns_check import all_verified, check_records
from email_channels.ses_setups.verification import RecordResult, RecordStatus
from tests.support.bind import txt_value
from tests.support.fixtures_bind import TestZone

pytestmark = pytest.mark.bind

VERIFIED, MISMATCH = RecordStatus.VERIFIED, RecordStatus.MISMATCH
SPF, DMARC = 4, 6


async def check_with_txt(
    zone: TestZone, lookup: DnsPythonLookup, *, index: int, values: list[str]
) -> list[RecordResult]:
    """Publish all seven records, replace the TXT RRset of record `index` by `values`, check."""
    records = zone.expected_records()
    zone.publish(records)
    zone.replace(records[index].address, "TXT", *values)
    return await check_records(records, domain=zone.domain, lookup=lookup, lifetime=2.0)


def assert_txt_result(
    results: list[RecordResult], index: int, status: RecordStatus, *reason_has: str
) -> None:
    """Record `index` has `status` and a reason naming each of `reason_has`; the rest verified."""
    result = results[index]
    assert result.status is status, result
    assert result.verified is (status is VERIFIED)
    if status is VERIFIED:
        assert result.reason is None
    else:
        assert result.reason is not None
        for text in reason_has:
            assert text in result.reason, result.reason
    others = [r.status for i, r in enumerate(results) if i != index]
    assert others == [VERIFIED] * 6
    assert all_verified(results) is (status is VERIFIED)


SPF_CASES = [
    ("v=spf1 include:amazonses.com. ~all", VERIFIED, ()),
    ("V=SPF1 ip4:192.0.2.1 +INCLUDE:AmazonSES.com ?all", VERIFIED, ()),
    ("v=spf1 include:_spf.{d} include:amazonses.com", VERIFIED, ()),
    (
        "v=spf1 -all include:amazonses.com",
        MISMATCH,
        ("include:amazonses.com after its -all term", "move include:amazonses.com before -all"),
    ),
    ("v=spf1 mx ~all include:amazonses.com.", MISMATCH, ("after its ~all term",)),
    ("v=spf1 all include:amazonses.com", MISMATCH, ("after its all term",)),
    ("v=spf1 mx -all", MISMATCH, ("does not include amazonses.com",)),
]


@pytest.mark.parametrize(
    ("value", "status", "reason_has"), SPF_CASES, ids=[c[0] for c in SPF_CASES]
)
async def test_spf_rule(
    dns_zone: TestZone,
    dns_lookup: DnsPythonLookup,
    value: str,
    status: RecordStatus,
    reason_has: tuple[str, ...],
) -> None:
    value = value.format(d=dns_zone.domain)
    dns_zone.add(f"_spf.{dns_zone.domain}", "TXT", txt_value("v=spf1 ip4:192.0.2.0/24 ~all"))
    results = await check_with_txt(dns_zone, dns_lookup, index=SPF, values=[txt_value(value)])
    assert results[SPF].found == (value,)
    assert_txt_result(results, SPF, status, f'"{value}"', *reason_has)


async def test_spf_include_after_all_across_character_strings(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    # The strings are joined before the terms are read, so the split hides nothing.
    value = "v=spf1 ?all include:amazonses.com"
    results = await check_with_txt(
        dns_zone, dns_lookup, index=SPF, values=[txt_value(value, chunk=20)]
    )
    assert results[SPF].found == (value,)
    assert_txt_result(results, SPF, MISMATCH, "after its ?all term", "before ?all")


async def test_two_spf_records_in_different_case(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    values = ["V=SPF1 -all", "v=spf1 include:amazonses.com ~all"]
    results = await check_with_txt(
        dns_zone, dns_lookup, index=SPF, values=[txt_value(v) for v in values]
    )
    assert set(results[SPF].found) == set(values)
    assert_txt_result(results, SPF, MISMATCH, "2 SPF records", "merge them into one")


DMARC_CASES = [
    ("v=DMARC1; p=quarantine; pct=50", VERIFIED, ()),
    ("v=DMARC1 ;\tP = Reject ; rua=mailto:dmarc@other.example", VERIFIED, ()),
    (
        "v=DMARC1; rua=mailto:dmarc@other.example",
        MISMATCH,
        ("has no p= policy tag", "add p=none (or quarantine/reject)"),
    ),
    ("v=DMARC1; sp=reject", MISMATCH, ("has no p= policy tag",)),
    (
        "v=DMARC1; p=bogus",
        MISMATCH,
        ("p=bogus is not a DMARC policy", "none, quarantine or reject"),
    ),
    ("v=DMARC1; p=none; p=reject", MISMATCH, ("p=none and p=reject", "only one p= tag")),
]


@pytest.mark.parametrize(
    ("value", "status", "reason_has"), DMARC_CASES, ids=[c[0] for c in DMARC_CASES]
)
async def test_dmarc_rule(
    dns_zone: TestZone,
    dns_lookup: DnsPythonLookup,
    value: str,
    status: RecordStatus,
    reason_has: tuple[str, ...],
) -> None:
    results = await check_with_txt(dns_zone, dns_lookup, index=DMARC, values=[txt_value(value)])
    assert results[DMARC].found == (value,)
    assert_txt_result(results, DMARC, status, f'"{value}"', *reason_has)


async def test_dmarc_policy_checked_beside_other_txt_records(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    values = ["site-verification=abc123", "v=DMARC1; p=bogus"]
    results = await check_with_txt(
        dns_zone, dns_lookup, index=DMARC, values=[txt_value(v) for v in values]
    )
    assert set(results[DMARC].found) == set(values)
    assert_txt_result(results, DMARC, MISMATCH, "p=bogus is not a DMARC policy")
