"""SPF and DMARC judged as receivers judge them (RFC 7208, RFC 7489), against a real BIND 9."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pytest

from email_channels.integrations.dns import Observation, Query
from email_channels.integrations.dns.resolver import DnsPythonLookup
from email_channels.ses_setups.dns_check import check_records
from email_channels.ses_setups.verification import RecordResult, RecordStatus
from tests.support.bind import BindServer, txt_value
from tests.support.fixtures_bind import TestZone

pytestmark = pytest.mark.bind

VERIFIED, MISMATCH, UNKNOWN = RecordStatus.VERIFIED, RecordStatus.MISMATCH, RecordStatus.UNKNOWN
SPF, DMARC = 4, 6


async def check_with(
    zone: TestZone,
    lookup: DnsPythonLookup | PausesBindBeforeAsking,
    *,
    index: int,
    value: str,
    previous: Sequence[RecordResult] | None = None,
) -> list[RecordResult]:
    """Publish the seven records with `value` at record `index`, then check them."""
    records = zone.expected_records()
    zone.publish(records)
    zone.replace(records[index].address, "TXT", txt_value(value))
    return await check_records(
        records, domain=zone.domain, lookup=lookup, lifetime=1.0, previous=previous
    )


def assert_only(results: list[RecordResult], index: int, status: RecordStatus) -> RecordResult:
    """Record `index` has `status`, every other record is verified; returns that record."""
    assert results[index].status is status, results[index]
    assert [r.status for i, r in enumerate(results) if i != index] == [VERIFIED] * 6
    return results[index]


def spf_record(zone: TestZone) -> str:
    return f"bounce.{zone.domain}"


async def test_unknown_mechanism_beside_the_right_include_is_a_permerror(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    value = "v=spf1 inclde:amazonses.com include:amazonses.com ~all"
    result = assert_only(
        await check_with(dns_zone, dns_lookup, index=SPF, value=value), SPF, MISMATCH
    )
    assert result.reason is not None
    assert "inclde:amazonses.com is not an SPF mechanism or modifier" in result.reason
    assert "correct that term or remove it" in result.reason
    assert f"every receiver now fails SPF for {spf_record(dns_zone)}" in result.reason


async def test_malformed_ip4_address_is_a_permerror(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    value = "v=spf1 ip4:192.0.2.300 include:amazonses.com ~all"
    result = assert_only(
        await check_with(dns_zone, dns_lookup, index=SPF, value=value), SPF, MISMATCH
    )
    assert result.reason is not None
    assert "ip4:192.0.2.300 is not a valid IPv4 address" in result.reason
    assert f"every receiver now fails SPF for {spf_record(dns_zone)}" in result.reason


async def test_eleven_dns_querying_terms_are_a_permerror(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    # Ten other senders' records, each an include, and the include of Amazon SES: eleven.
    includes = [f"_s{n}.{dns_zone.domain}" for n in range(10)]
    for name in includes:
        dns_zone.add(name, "TXT", txt_value("v=spf1 ip4:198.51.100.0/24 ~all"))
    value = " ".join(["v=spf1", *(f"include:{n}" for n in includes), "include:amazonses.com ~all"])
    result = assert_only(
        await check_with(dns_zone, dns_lookup, index=SPF, value=value), SPF, MISMATCH
    )
    assert result.reason is not None
    assert "include:amazonses.com is DNS-querying term number 11" in result.reason
    assert f"every receiver now fails SPF for {spf_record(dns_zone)}" in result.reason
    assert "replace an include by the addresses it stands for" in result.reason


async def test_eleven_dns_querying_terms_counted_through_an_include(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    # The include and the eight mx terms of its record are nine, the mx here ten, and
    # include:amazonses.com eleven.
    other = f"_spf.{dns_zone.domain}"
    dns_zone.add(other, "TXT", txt_value("v=spf1 " + " ".join(["mx"] * 8) + " ~all"))
    dns_zone.add(other, "MX", f"10 mx.{dns_zone.domain}")
    value = f"v=spf1 include:{other} mx include:amazonses.com ~all"
    result = assert_only(
        await check_with(dns_zone, dns_lookup, index=SPF, value=value), SPF, MISMATCH
    )
    assert result.reason is not None
    assert "include:amazonses.com is DNS-querying term number 11" in result.reason


async def test_redirect_to_a_record_that_includes_amazon_ses_is_verified(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    target = f"_spf.{dns_zone.domain}"
    dns_zone.add(target, "TXT", txt_value("v=spf1 include:amazonses.com -all"))
    value = f"v=spf1 redirect={target}"
    result = assert_only(
        await check_with(dns_zone, dns_lookup, index=SPF, value=value), SPF, VERIFIED
    )
    assert (result.found, result.reason) == ((value,), None)


async def test_include_of_a_record_that_includes_amazon_ses_is_verified(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    target = f"_spf.{dns_zone.domain}"
    dns_zone.add(target, "TXT", txt_value("v=spf1 ip4:192.0.2.0/24 include:amazonses.com -all"))
    value = f"v=spf1 include:{target} ~all"
    result = assert_only(
        await check_with(dns_zone, dns_lookup, index=SPF, value=value), SPF, VERIFIED
    )
    assert result.reason is None


async def test_redirect_is_ignored_when_the_record_has_all(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    target = f"_spf.{dns_zone.domain}"
    dns_zone.add(target, "TXT", txt_value("v=spf1 include:amazonses.com -all"))
    value = f"v=spf1 redirect={target} ~all"
    result = assert_only(
        await check_with(dns_zone, dns_lookup, index=SPF, value=value), SPF, MISMATCH
    )
    assert result.reason is not None
    assert "does not include amazonses.com" in result.reason


async def test_dmarc_with_invalid_sp_and_no_rua_is_a_mismatch_naming_sp(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    value = "v=DMARC1; p=reject; sp=block"
    results = await check_with(dns_zone, dns_lookup, index=DMARC, value=value)
    result = assert_only(results, DMARC, MISMATCH)
    assert result.reason is not None
    assert "sp=block is not a DMARC policy" in result.reason
    assert "receivers apply no DMARC at all" in result.reason


async def test_dmarc_with_invalid_sp_and_a_rua_is_a_mismatch_downgraded_to_none(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    value = "v=DMARC1; p=reject; sp=block; rua=mailto:reports@example.net"
    results = await check_with(dns_zone, dns_lookup, index=DMARC, value=value)
    result = assert_only(results, DMARC, MISMATCH)
    assert result.reason is not None
    assert "sp=block is not a DMARC policy, so receivers act as if it said p=none" in result.reason


class PausesBindBeforeAsking:
    """The production lookup, with BIND frozen just before `name` is asked: it times out."""

    def __init__(self, lookup: DnsPythonLookup, server: BindServer, name: str) -> None:
        self.lookup, self.server, self.name = lookup, server, name
        self.asked: Counter[Query] = Counter()
        self.rounds: list[list[Query]] = []

    def _before(self, queries: Sequence[Query]) -> None:
        self.asked.update(queries)
        if any(name == self.name for name, _ in queries):
            self.server.pause()

    async def query(self, name: str, rdtype: str) -> Observation:
        self._before([(name, rdtype)])
        return await self.lookup.query(name, rdtype)

    async def query_all(self, queries: Sequence[Query], *, deadline: float) -> list[Observation]:
        self.rounds.append(list(queries))
        self._before(queries)
        return await self.lookup.query_all(queries, deadline=deadline)


async def test_include_whose_lookup_times_out_is_unknown_not_mismatch(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    target = f"_spf.{dns_zone.domain}"
    dns_zone.add(target, "TXT", txt_value("v=spf1 include:amazonses.com -all"))
    value = f"v=spf1 include:{target} ~all"
    verified = await check_with(dns_zone, dns_lookup, index=SPF, value=value)
    assert_only(verified, SPF, VERIFIED)
    pausing = PausesBindBeforeAsking(dns_lookup, dns_zone.server, target)
    try:
        results = await check_with(dns_zone, pausing, index=SPF, value=value, previous=verified)
    finally:
        dns_zone.server.resume()
    assert pausing.asked[(target, "TXT")] == 1  # asked, and BIND frozen when it was
    result = assert_only(results, SPF, UNKNOWN)
    assert result.verified is True  # a lookup that did not answer never flips the verdict
    assert result.found == (value,)
    assert result.reason is not None
    assert f"lookup of {target}, which include:{target}" in result.reason
    assert "timed out" in result.reason


async def test_default_records_cost_no_query_beyond_their_own(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    records = dns_zone.expected_records()
    dns_zone.publish(records)
    before = dns_zone.query_counts()
    results = await check_records(records, domain=dns_zone.domain, lookup=dns_lookup, lifetime=1.0)
    assert [r.status for r in results] == [VERIFIED] * 7
    asked = dns_zone.query_counts() - before
    assert asked == Counter({(r.address, r.type): 1 for r in records})


async def test_includes_are_asked_together_one_level_per_round(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    first, second = f"_a.{dns_zone.domain}", f"_b.{dns_zone.domain}"
    dns_zone.add(first, "TXT", txt_value("v=spf1 ip4:198.51.100.0/24 ~all"))
    dns_zone.add(second, "TXT", txt_value("v=spf1 include:amazonses.com ~all"))
    counting = PausesBindBeforeAsking(dns_lookup, dns_zone.server, "nothing.invalid")
    value = f"v=spf1 include:{first} include:{second} ~all"
    results = await check_with(dns_zone, counting, index=SPF, value=value)
    assert_only(results, SPF, VERIFIED)
    assert counting.asked[(first, "TXT")] == counting.asked[(second, "TXT")] == 1
    assert [(first, "TXT"), (second, "TXT")] in counting.rounds  # one round, concurrently
    assert len(counting.rounds) == 2  # the records, then both includes
