"""One live DNS check of a setup's records: concurrent lookups under one deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from email_channels.integrations.dns import (
    DnsBatchLookup,
    DnsLookup,
    Observation,
    lookup_error,
    observe_concurrently,
)
from email_channels.observability.metrics import DNS_CHECKS_IN_FLIGHT
from email_channels.ses_setups.records import ExpectedRecord
from email_channels.ses_setups.verification import (
    Query,
    RecordResult,
    RecordStatus,
    diagnostic_queries,
    evaluate,
    primary_query,
)


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
    observations |= await observe(
        [q for q in diagnostics if q not in observations], lookup, deadline
    )
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


def _previous(previous: Sequence[RecordResult] | None, index: int) -> RecordResult | None:
    if previous is None or index >= len(previous):
        return None
    return previous[index]
