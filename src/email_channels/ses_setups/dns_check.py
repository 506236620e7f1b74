"""One live DNS check of a setup's records: concurrent lookups under one deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from email_channels.integrations.dns import DnsLookup, Observation, Outcome
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

# How long cancelled lookups get to unwind once the deadline has passed; this bounds the
# overshoot past `lifetime` and is well inside the half-second margin the contract allows.
_CANCEL_GRACE = 0.1


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
    observations = await _observe([primary_query(r) for r in expected], lookup, deadline)
    # A second round only for records that were not found, to name the likely mistake; a fully
    # correct domain never gets here, so it costs exactly one query per record.
    diagnostics = [
        query
        for record in expected
        for query in diagnostic_queries(record, observations[primary_query(record)], domain=domain)
    ]
    observations |= await _observe(
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


async def _observe(
    queries: Iterable[Query], lookup: DnsLookup, deadline: float
) -> dict[Query, Observation]:
    """Run the distinct queries concurrently; those unanswered at the deadline are failures."""
    distinct = list(dict.fromkeys(queries))
    if not distinct:
        return {}
    loop = asyncio.get_running_loop()
    tasks = {query: asyncio.ensure_future(_query(lookup, query)) for query in distinct}
    try:
        remaining = deadline - loop.time()
        if remaining > 0:
            await asyncio.wait(tasks.values(), timeout=remaining)
    finally:  # also when the caller is cancelled: no lookup outlives its check
        pending = [task for task in tasks.values() if not task.done()]
        for task in pending:
            task.cancel()
    if pending:
        # Give cancelled lookups a moment to close their sockets, but never wait on them.
        await asyncio.wait(pending, timeout=_CANCEL_GRACE)
    return {query: _result(query, task) for query, task in tasks.items()}


async def _query(lookup: DnsLookup, query: Query) -> Observation:
    name, rdtype = query
    try:
        return await lookup.query(name, rdtype)
    except Exception as error:  # a broken adapter must not break the read of a setup
        return Observation(name, rdtype, Outcome.FAILURE, detail=f"lookup error: {error!r}")


def _result(query: Query, task: asyncio.Future[Observation]) -> Observation:
    if task.done() and not task.cancelled():
        return task.result()
    return Observation(*query, Outcome.FAILURE, detail="timed out")


def _previous(previous: Sequence[RecordResult] | None, index: int) -> RecordResult | None:
    if previous is None or index >= len(previous):
        return None
    return previous[index]
