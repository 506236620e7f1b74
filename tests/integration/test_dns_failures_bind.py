"""Failed lookups against a real BIND 9: unknown, previous verdict kept, bounded in time."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from email_channels.integrations.dns.resolver import DnsPythonLookup
from email_channels.ses_setups.dns_check import all_verified, check_complete, check_records
from email_channels.ses_setups.records import expected_records
from email_channels.ses_setups.verification import NOT_CHECKED, RecordResult, RecordStatus
from tests.support.bind import BindServer, ZoneMode
from tests.support.fixtures_bind import DKIM_TOKENS, TestZone

pytestmark = pytest.mark.bind

LIFETIME = 1.5
MARGIN = 0.5
MAIL_FROM_MX, SPF = 3, 4


async def timed_check(
    zone: TestZone,
    lookup: DnsPythonLookup,
    previous: list[RecordResult] | None = None,
    *,
    domain: str | None = None,
) -> tuple[list[RecordResult], float]:
    domain = domain or zone.domain
    records = expected_records(
        domain=domain,
        region="us-east-1",
        mail_from_subdomain="bounce",
        dkim_tokens=DKIM_TOKENS,
        signing_hosted_zone="dkim.amazonses.com",
    )
    started = time.monotonic()
    results = await check_records(
        records, domain=domain, lookup=lookup, lifetime=LIFETIME, previous=previous
    )
    return results, time.monotonic() - started


async def verified_zone(zone: TestZone, lookup: DnsPythonLookup) -> list[RecordResult]:
    zone.publish(zone.expected_records())
    results, _ = await timed_check(zone, lookup)
    assert all_verified(results)
    return results


def assert_unknown(result: RecordResult, *, verified: bool, detail: str) -> None:
    assert result.status is RecordStatus.UNKNOWN
    assert result.verified is verified
    assert result.found == ()
    assert result.reason is not None
    assert f"failed ({detail})" in result.reason
    assert "nothing was changed" in result.reason


@pytest.fixture
def slow_lookup(bind_server: BindServer) -> DnsPythonLookup:
    """A resolver whose own limits exceed the check's: only the check's deadline can stop it."""
    return DnsPythonLookup(nameservers=bind_server.nameservers, timeout=5.0, lifetime=10.0)


async def test_bind_stopped_gives_unknown_and_keeps_verified(
    dns_zone: TestZone, bind_server: BindServer, dns_lookup: DnsPythonLookup
) -> None:
    previous = await verified_zone(dns_zone, dns_lookup)
    with bind_server.stopped():
        results, elapsed = await timed_check(dns_zone, dns_lookup, previous)
    assert elapsed < LIFETIME + MARGIN
    for result in results:
        assert_unknown(result, verified=True, detail="timed out")
    assert all_verified(results)
    assert not check_complete(results)


async def test_every_query_hanging_returns_within_the_lifetime(
    dns_zone: TestZone, bind_server: BindServer, slow_lookup: DnsPythonLookup
) -> None:
    previous = await verified_zone(dns_zone, slow_lookup)
    with bind_server.paused():
        results, elapsed = await timed_check(dns_zone, slow_lookup, previous)
    assert LIFETIME - 0.1 < elapsed < LIFETIME + MARGIN
    for result in results:
        assert_unknown(result, verified=True, detail="timed out")


async def test_never_verified_records_stay_unverified_when_bind_is_stopped(
    dns_zone: TestZone, bind_server: BindServer, dns_lookup: DnsPythonLookup
) -> None:
    dns_zone.publish(dns_zone.expected_records())
    with bind_server.stopped():
        results, elapsed = await timed_check(dns_zone, dns_lookup, [NOT_CHECKED] * 7)
    assert elapsed < LIFETIME + MARGIN
    for result in results:
        assert_unknown(result, verified=False, detail="timed out")


async def test_servfail_zone_gives_unknown_for_the_records_in_it(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    previous = await verified_zone(dns_zone, dns_lookup)
    dns_zone.break_zone(f"bounce.{dns_zone.domain}", ZoneMode.SERVFAIL)
    results, elapsed = await timed_check(dns_zone, dns_lookup, previous)
    assert elapsed < LIFETIME + MARGIN
    assert_unknown(results[MAIL_FROM_MX], verified=True, detail="SERVFAIL")
    assert_unknown(results[SPF], verified=True, detail="SERVFAIL")
    others = [r for i, r in enumerate(results) if i not in (MAIL_FROM_MX, SPF)]
    assert [r.status for r in others] == [RecordStatus.VERIFIED] * 5


async def test_servfail_without_previous_result_is_unverified(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    dns_zone.publish(dns_zone.expected_records())
    dns_zone.break_zone(dns_zone.domain, ZoneMode.SERVFAIL)
    results, elapsed = await timed_check(dns_zone, dns_lookup)
    assert elapsed < LIFETIME + MARGIN
    for result in results:
        assert_unknown(result, verified=False, detail="SERVFAIL")


async def test_refusing_zone_gives_unknown_and_keeps_verified(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    previous = await verified_zone(dns_zone, dns_lookup)
    dns_zone.break_zone(dns_zone.domain, ZoneMode.REFUSED)
    results, elapsed = await timed_check(dns_zone, dns_lookup, previous)
    assert elapsed < LIFETIME + MARGIN
    for result in results:
        assert_unknown(result, verified=True, detail="REFUSED")


async def test_name_outside_every_zone_is_refused(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    outside = dns_zone.domain.replace("example.test", "not-served.example")
    results, elapsed = await timed_check(dns_zone, dns_lookup, domain=outside)
    assert elapsed < LIFETIME + MARGIN
    for result in results:
        assert_unknown(result, verified=False, detail="REFUSED")


async def test_records_verify_again_once_bind_answers(
    dns_zone: TestZone, bind_server: BindServer, dns_lookup: DnsPythonLookup
) -> None:
    previous = await verified_zone(dns_zone, dns_lookup)
    with bind_server.stopped():
        failed, _ = await timed_check(dns_zone, dns_lookup, previous)
    results, _ = await timed_check(dns_zone, dns_lookup, failed)
    assert [r.status for r in results] == [RecordStatus.VERIFIED] * 7
    assert check_complete(results)


async def test_correct_domain_costs_one_query_per_record_at_the_server(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    records = dns_zone.expected_records()
    dns_zone.publish(records)
    assert dns_zone.query_counts() == Counter()
    results, _ = await timed_check(dns_zone, dns_lookup)
    assert all_verified(results)
    assert dns_zone.query_counts() == Counter({(r.address, r.type): 1 for r in records})


async def test_missing_record_costs_its_diagnostics_only(
    dns_zone: TestZone, dns_lookup: DnsPythonLookup
) -> None:
    records = dns_zone.expected_records()
    dns_zone.publish(records[1:])
    await timed_check(dns_zone, dns_lookup)
    expected = Counter({(r.address, r.type): 1 for r in records})
    expected[(f"{records[0].address}.{dns_zone.domain}", "CNAME")] = 1
    assert dns_zone.query_counts() == expected
