"""One live DNS check of a setup's records: concurrent lookups under one deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from email_channels.integrations.dns import (
    DnsBatchLookup,
    DnsLookup,
    Observation,
    Outcome,
    lookup_error,
    observe_concurrently,
)
from email_channels.observability.metrics import DNS_CHECKS_IN_FLIGHT
from email_channels.ses_setups.records import ExpectedRecord, Purpose
from email_channels.ses_setups.txt_rules import spf_lookups, spf_needs_lookups
from email_channels.ses_setups.verification import (
    Query,
    RecordResult,
    RecordStatus,
    diagnostic_queries,
    evaluate,
    primary_query,
)

SPF = Purpose.SPF


async def check_records(
    expected: Sequence[ExpectedRecord],
    *,
    domain: str,
    lookup: DnsLookup,
    lifetime: float,
    previous: Sequence[RecordResult] | None = None,
) -> list[RecordResult]:
    """Look up every record once, concurrently, and judge each; results in `expected` order."""
    with DNS_CHECKS_IN_FLIGHT.track_inprogress():
        return await _check_records(
            expected, domain=domain, lookup=lookup, lifetime=lifetime, previous=previous
        )


async def _check_records(
    expected: Sequence[ExpectedRecord],
    *,
    domain: str,
    lookup: DnsLookup,
    lifetime: float,
    previous: Sequence[RecordResult] | None,
) -> list[RecordResult]:
    deadline = asyncio.get_running_loop().time() + lifetime
    observations = await observe([primary_query(r) for r in expected], lookup, deadline)
    # A second round only for records that were not found, to name the likely mistake; a fully
    # correct domain never gets here, so it costs exactly one query per record.
    diagnostics = [
        query
        for record in expected
        for query in diagnostic_queries(record, observations[primary_query(record)], domain=domain)
    ]
    unasked = [q for q in diagnostics if q not in observations]
    # The includes and redirect of an SPF record, asked beside the diagnostics: the default
    # record has none, so a correct domain still costs one query per record.
    spf = [r for r in expected if r.purpose is SPF and spf_needs_more(r, observations)]
    if unasked or spf:
        for answers in await asyncio.gather(
            observe(unasked, lookup, deadline),
            *(spf_answers(record, observations, lookup, deadline) for record in spf),
        ):
            observations |= answers
    return [
        evaluate(record, observations, domain=domain, previous=_previous(previous, index))
        for index, record in enumerate(expected)
    ]


def all_verified(results: Sequence[RecordResult]) -> bool:
    """True when there are records and every one counts as verified."""
    return bool(results) and all(result.verified for result in results)


def check_complete(results: Sequence[RecordResult]) -> bool:
    """True when every lookup got an answer (no `unknown`): the check observed the records."""
    return all(result.status is not RecordStatus.UNKNOWN for result in results)


async def observe(
    queries: Iterable[Query], lookup: DnsLookup, deadline: float
) -> dict[Query, Observation]:
    """Ask the distinct queries together; those unanswered at the deadline are failures."""
    distinct = list(dict.fromkeys(queries))
    if not distinct:
        return {}
    if isinstance(lookup, DnsBatchLookup):
        try:
            observations = await lookup.query_all(distinct, deadline=deadline)
        except Exception as error:
            observations = [lookup_error(query, error) for query in distinct]
    else:
        observations = await observe_concurrently(lookup.query, distinct, deadline)
    return dict(zip(distinct, observations, strict=True))


def spf_needs_more(record: ExpectedRecord, known: dict[Query, Observation]) -> bool:
    """True when the SPF record found for `record` has includes or terms to look up."""
    primary = known.get(primary_query(record))
    if primary is None or primary.outcome is not Outcome.ANSWER:
        return False
    return spf_needs_lookups(primary.values, address=record.address)


async def spf_answers(
    record: ExpectedRecord, known: dict[Query, Observation], lookup: DnsLookup, deadline: float
) -> dict[Query, Observation]:
    """What the includes, redirect and mechanisms of the SPF record need, asked concurrently."""
    primary = known[primary_query(record)]

    async def ask(queries: list[Query]) -> dict[Query, Observation]:
        answered = {query: known[query] for query in queries if query in known}
        rest = [query for query in queries if query not in answered]
        return answered | await observe(rest, lookup, deadline)

    return await spf_lookups(primary.values, address=record.address, ask=ask)


def _previous(previous: Sequence[RecordResult] | None, index: int) -> RecordResult | None:
    if previous is None or index >= len(previous):
        return None
    return previous[index]
