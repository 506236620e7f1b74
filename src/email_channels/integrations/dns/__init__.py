"""The DNS port: what the service needs from a resolver, as plain data."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

Query = tuple[str, str]  # (name, rdtype)

# How long cancelled lookups get to unwind once the deadline has passed; this bounds the
# overshoot past the deadline and is well inside the half-second margin the contract allows.
CANCEL_GRACE = 0.1


class Outcome(StrEnum):
    ANSWER = "answer"  # records of the type were found: see `values`
    NXDOMAIN = "nxdomain"  # the name does not exist
    NO_DATA = "no_data"  # the name exists, without records of this type
    FAILURE = "failure"  # no clear answer: timeout, SERVFAIL, REFUSED, no nameserver


@dataclass(frozen=True, slots=True)
class Observation:
    """What one query saw.

    `values` in presentation form, lower-cased names without a trailing dot:
    CNAME `target`; MX `"preference exchange"`; TXT the character-strings of one record joined
    with no separator (one value per record); A/AAAA the address.
    """

    name: str
    rdtype: str
    outcome: Outcome
    values: tuple[str, ...] = ()
    detail: str | None = None  # for FAILURE: what went wrong, e.g. "timed out", "SERVFAIL"
    # The CNAME target when `name` is an alias and `rdtype` is not CNAME: no other record can
    # live beside it, which is a mistake of its own (a zone's own servers report it).
    alias: str | None = None


class DnsLookup(Protocol):
    """One DNS query; never raises for DNS outcomes, only returns an Observation."""

    async def query(self, name: str, rdtype: str) -> Observation: ...


@runtime_checkable
class DnsBatchLookup(DnsLookup, Protocol):
    """A lookup that also asks many queries together, each answered or failed by a deadline."""

    async def query_all(self, queries: Sequence[Query], *, deadline: float) -> list[Observation]:
        """One Observation per query, in order, by `deadline` (the running loop's clock)."""
        ...


async def observe_concurrently(
    ask: Callable[[str, str], Awaitable[Observation]],
    queries: Sequence[Query],
    deadline: float,
) -> list[Observation]:
    """`ask` every query concurrently; one unanswered at `deadline` fails as timed out.

    No lookup outlives the call: those still running at the deadline are cancelled, also when
    the caller is, and get CANCEL_GRACE to unwind, never more.
    """
    loop = asyncio.get_running_loop()
    tasks = [asyncio.ensure_future(_asked(ask, name, rdtype)) for name, rdtype in queries]
    try:
        remaining = deadline - loop.time()
        if remaining > 0:
            await asyncio.wait(tasks, timeout=remaining)
    finally:
        pending = [task for task in tasks if not task.done()]
        for task in pending:
            task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=CANCEL_GRACE)
    return [_settled(query, task) for query, task in zip(queries, tasks, strict=True)]


def lookup_error(query: Query, error: Exception) -> Observation:
    """A broken adapter must not break the read of a setup: its error is a failed lookup."""
    return Observation(*query, Outcome.FAILURE, detail=f"lookup error: {error!r}")


async def _asked(
    ask: Callable[[str, str], Awaitable[Observation]], name: str, rdtype: str
) -> Observation:
    try:
        return await ask(name, rdtype)
    except Exception as error:
        return lookup_error((name, rdtype), error)


def _settled(query: Query, task: asyncio.Future[Observation]) -> Observation:
    if task.done() and not task.cancelled():
        return task.result()
    return Observation(*query, Outcome.FAILURE, detail="timed out")
