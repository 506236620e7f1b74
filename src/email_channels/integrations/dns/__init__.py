"""The DNS port: what the service needs from a resolver, as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


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


class DnsLookup(Protocol):
    """One DNS query; never raises for DNS outcomes, only returns an Observation."""

    async def query(self, name: str, rdtype: str) -> Observation: ...
