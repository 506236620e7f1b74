"""`check_records` orchestration with scripted lookups: rounds, deduplication, one deadline."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from email_channels.integrations.dns import Observation, Outcome
from email_channels.ses_setups.dns_check import all_verified, check_complete, check_records
from email_channels.ses_setups.records import ExpectedRecord, expected_records
from email_channels.ses_setups.verification import NOT_CHECKED, RecordResult, RecordStatus

D = "example.com"
RECORDS = expected_records(
    domain=D,
    region="us-east-1",
    mail_from_subdomain="bounce",
    dkim_tokens=["t1", "t2", "t3"],
    signing_hosted_zone="dkim.amazonses.com",
)


def published(records: list[ExpectedRecord]) -> dict[tuple[str, str], tuple[str, ...]]:
    zone: dict[tuple[str, str], tuple[str, ...]] = {}
    for record in records:
        key = (record.address, record.type)
        zone[key] = (*zone.get(key, ()), record.record)
    return zone


class ScriptedLookup:
    """Answers from a dict; names listed in `hang` never answer; counts every query."""

    def __init__(
        self,
        zone: dict[tuple[str, str], tuple[str, ...]],
        *,
        hang: set[tuple[str, str]] | None = None,
        hang_all: bool = False,
    ) -> None:
        self.zone = zone
        self.hang = hang or set()
        self.hang_all = hang_all
        self.queries: Counter[tuple[str, str]] = Counter()
        self.cancelled = 0
        self.all_asked = asyncio.Event()  # set once every distinct record was queried

    async def query(self, name: str, rdtype: str) -> Observation:
        self.queries[(name, rdtype)] += 1
        if len(self.queries) >= len(self.zone):
            self.all_asked.set()
        if self.hang_all or (name, rdtype) in self.hang:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        values = self.zone.get((name, rdtype))
        if values:
            return Observation(name, rdtype, Outcome.ANSWER, values)
        exists = any(n == name for n, _ in self.zone)
        return Observation(name, rdtype, Outcome.NO_DATA if exists else Outcome.NXDOMAIN)


async def test_correct_domain_costs_one_query_per_record() -> None:
    lookup = ScriptedLookup(published(RECORDS))
    results = await check_records(RECORDS, domain=D, lookup=lookup, lifetime=1.0)
    assert [r.status for r in results] == [RecordStatus.VERIFIED] * 7
    assert all_verified(results)
    assert check_complete(results)
    assert lookup.queries == Counter({(r.address, r.type): 1 for r in RECORDS})
    assert len(lookup.queries) == 7  # mail_from_mx and spf share a name, not a type


async def test_duplicate_expected_records_are_queried_once() -> None:
    lookup = ScriptedLookup(published(RECORDS))
    results = await check_records([*RECORDS, *RECORDS], domain=D, lookup=lookup, lifetime=1.0)
    assert len(results) == 14
    assert set(lookup.queries.values()) == {1}


async def test_diagnostics_run_only_for_missing_records() -> None:
    dkim, *rest = RECORDS
    zone = published(rest)
    zone[(f"{dkim.address}.{D}", "CNAME")] = (dkim.record,)  # the domain appended twice
    lookup = ScriptedLookup(zone)
    results = await check_records(RECORDS, domain=D, lookup=lookup, lifetime=1.0)
    assert results[0].status is RecordStatus.MISSING
    assert results[0].reason is not None
    assert "enter only 't1._domainkey'" in results[0].reason
    assert [r.status for r in results[1:]] == [RecordStatus.VERIFIED] * 6
    assert sum(lookup.queries.values()) == 8
    assert lookup.queries[(f"{dkim.address}.{D}", "CNAME")] == 1


async def test_every_query_hanging_returns_within_the_lifetime() -> None:
    lookup = ScriptedLookup(published(RECORDS), hang_all=True)
    previous = [RecordResult(True, RecordStatus.VERIFIED, (), None)] * 7
    started = time.monotonic()
    results = await check_records(RECORDS, domain=D, lookup=lookup, lifetime=0.3, previous=previous)
    assert time.monotonic() - started < 0.3 + 0.2
    assert [r.status for r in results] == [RecordStatus.UNKNOWN] * 7
    assert all(r.verified for r in results)  # a hiccup never un-verifies a domain
    assert all_verified(results)
    assert not check_complete(results)
    assert lookup.cancelled == 7  # nothing keeps running after the check


async def test_hanging_queries_are_unknown_and_the_rest_is_judged() -> None:
    spf = RECORDS[4]
    lookup = ScriptedLookup(published(RECORDS), hang={(spf.address, spf.type)})
    results = await check_records(RECORDS, domain=D, lookup=lookup, lifetime=0.2)
    assert results[4].status is RecordStatus.UNKNOWN
    assert results[4].verified is False
    assert results[4].reason is not None
    assert "timed out" in results[4].reason
    assert [r.status for i, r in enumerate(results) if i != 4] == [RecordStatus.VERIFIED] * 6


async def test_diagnostic_round_shares_the_deadline() -> None:
    dkim = RECORDS[0]
    doubled = (f"{dkim.address}.{D}", "CNAME")
    lookup = ScriptedLookup(published(RECORDS[1:]), hang={doubled})
    started = time.monotonic()
    results = await check_records(RECORDS, domain=D, lookup=lookup, lifetime=0.3)
    assert time.monotonic() - started < 0.3 + 0.2
    # The record's own lookup answered: it is missing, whatever the diagnostic did.
    assert results[0].status is RecordStatus.MISSING


async def test_a_lookup_that_raises_gives_unknown() -> None:
    class Broken:
        async def query(self, name: str, rdtype: str) -> Observation:
            raise RuntimeError("adapter bug")

    previous = [NOT_CHECKED] * 7
    results = await check_records(
        RECORDS, domain=D, lookup=Broken(), lifetime=1.0, previous=previous
    )
    assert {r.status for r in results} == {RecordStatus.UNKNOWN}
    assert results[0].reason is not None
    assert "adapter bug" in results[0].reason


async def test_cancelling_the_check_cancels_its_lookups() -> None:
    lookup = ScriptedLookup(published(RECORDS), hang_all=True)
    check = asyncio.ensure_future(check_records(RECORDS, domain=D, lookup=lookup, lifetime=10))
    await asyncio.wait_for(lookup.all_asked.wait(), timeout=1.0)
    check.cancel()
    with pytest.raises(asyncio.CancelledError):
        await check
    for _ in range(3):
        await asyncio.sleep(0)
    assert lookup.cancelled == 7


@pytest.mark.parametrize(
    ("statuses", "verified", "complete"),
    [
        ([], False, True),
        ([(True, RecordStatus.VERIFIED)] * 2, True, True),
        ([(True, RecordStatus.VERIFIED), (False, RecordStatus.MISSING)], False, True),
        ([(True, RecordStatus.VERIFIED), (True, RecordStatus.UNKNOWN)], True, False),
        ([(False, RecordStatus.UNKNOWN)], False, False),
    ],
)
def test_all_verified_and_check_complete(
    statuses: list[tuple[bool, RecordStatus]], verified: bool, complete: bool
) -> None:
    results = [RecordResult(v, s, (), None) for v, s in statuses]
    assert all_verified(results) is verified
    assert check_complete(results) is complete
