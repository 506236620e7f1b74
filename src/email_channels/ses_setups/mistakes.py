"""One server's answers judged with the zone in view: section 4's rules, the mistakes named.

Pure functions. What a zone's server says about one record is judged by section 4's rules
(verification.py, txt_rules.py); where the record is not where it belongs, the lookups of the
names a customer most likely typed instead say which mistake it was (docs/dns-verification.md), with
`found_at` and the host to type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from email_channels.integrations.dns import Observation, Outcome
from email_channels.ses_setups.providers import CLOUDFLARE
from email_channels.ses_setups.records import ExpectedRecord, Purpose
from email_channels.ses_setups.txt_rules import dmarc_problem
from email_channels.ses_setups.verification import (
    MAX_NAME_LENGTH,
    Query,
    RecordResult,
    RecordStatus,
    answered_values,
    diagnostic_queries,
    evaluate,
    normalised_name,
    primary_query,
)

_ABSENT = (Outcome.NXDOMAIN, Outcome.NO_DATA)


@dataclass(frozen=True, slots=True)
class Place:
    """Where a setup's records live: its zone, the provider, the organisational domain."""

    domain: str
    zone: str
    provider: str | None = None
    organisational: str | None = None  # the registrable domain of `domain`, when it differs


def host_of(address: str, zone: str) -> str:
    """`address` relative to `zone`, as a provider's host field wants it (`@` at the apex)."""
    address, zone = normalised_name(address), normalised_name(zone)
    if address == zone:
        return "@"
    return address.removesuffix("." + zone) if address.endswith("." + zone) else address


def relative_to_setup(expected: ExpectedRecord, place: Place) -> str | None:
    """Where the record lands when its host is typed relative to the setup's domain."""
    address, domain, zone = normalised_name(expected.address), place.domain, place.zone
    if domain == zone or not domain.endswith("." + zone):
        return None
    if address == domain:
        return zone
    if not address.endswith("." + domain):
        return None
    return f"{address.removesuffix('.' + domain)}.{zone}"


def organisational_dmarc(place: Place) -> str | None:
    """The organisational domain's DMARC name, when receivers would fall back to it."""
    if place.organisational is None or place.organisational == place.domain:
        return None
    return f"_dmarc.{place.organisational}"


def extra_queries(expected: ExpectedRecord, primary: Observation, place: Place) -> list[Query]:
    """The lookups that name the mistake when the record is not where it belongs."""
    without_dmarc = expected.purpose is Purpose.DMARC and not _has_dmarc(primary)
    if primary.outcome not in _ABSENT and not without_dmarc:
        return []
    queries = list(diagnostic_queries(expected, primary, domain=place.zone))
    elsewhere = relative_to_setup(expected, place)
    if elsewhere is not None:
        queries.append((elsewhere, expected.type.upper()))
    organisational = organisational_dmarc(place)
    if expected.purpose is Purpose.DMARC and organisational is not None:
        queries.append((organisational, "TXT"))
    return queries


def judge(
    expected: ExpectedRecord, observations: Mapping[Query, Observation], place: Place
) -> RecordResult:
    """One server's verdict on one record (no `previous`: an unknown is aggregated later)."""
    primary = observations.get(primary_query(expected))
    if primary is not None and (primary.outcome in _ABSENT or not _has_dmarc(primary)):
        named = _named_mistake(expected, primary, observations, place)
        if named is not None:
            return named
    result = evaluate(expected, observations, domain=place.zone)
    host = host_of(expected.address, place.zone)
    if (
        result.status is RecordStatus.MISSING
        and len(normalised_name(expected.address)) <= MAX_NAME_LENGTH
    ):
        value = f'"{expected.record}"' if expected.type == "TXT" else expected.record
        reason = (
            f"No {expected.type} record exists at {expected.address}: add one with the "
            f"host {host} and the value {value}."
        )
        return result.with_reason(reason)
    proxied = _addresses(observations, expected)
    if place.provider == CLOUDFLARE and result.status is RecordStatus.MISMATCH and proxied:
        reason = (
            f"Cloudflare proxies {expected.address} (it answers with {', '.join(proxied)} "
            f"instead of a CNAME): set the proxy status of the CNAME with the host {host} to "
            f'"DNS only" (grey cloud).'
        )
        return result.with_reason(reason)
    return result


def _named_mistake(
    expected: ExpectedRecord,
    primary: Observation,
    observations: Mapping[Query, Observation],
    place: Place,
) -> RecordResult | None:
    host = host_of(expected.address, place.zone)
    kind = expected.type.upper()
    organisational = organisational_dmarc(place)
    if expected.purpose is Purpose.DMARC and organisational is not None:
        found = answered_values(observations, (organisational, "TXT"))
        at_organisation = ExpectedRecord(Purpose.DMARC, "TXT", organisational, expected.record)
        if found and dmarc_problem(at_organisation, found, place.zone) is None:
            return RecordResult(True, RecordStatus.VERIFIED, found, None, organisational)
    if primary.outcome is Outcome.NO_DATA and primary.alias is not None:
        reason = (
            f"{expected.address} is a CNAME to {primary.alias}, and a name with a CNAME can hold "
            f"no other record: remove that CNAME (host {host}) and add the {kind} record "
            f"{expected.record} there."
        )
        return RecordResult(False, RecordStatus.MISSING, (), reason)
    elsewhere = relative_to_setup(expected, place)
    if elsewhere is not None:
        found = answered_values(observations, (elsewhere, kind))
        if expected.purpose is Purpose.INBOUND_MX and _has_exchange(expected, found):
            reason = (
                f"The MX record {expected.record} is published at {place.zone} instead of "
                f"{place.domain}, so all incoming mail of the whole domain {place.zone} now "
                f"goes to Amazon SES: remove it from {place.zone} (host @) and publish it with "
                f"the host {host}."
            )
            return RecordResult(False, RecordStatus.MISSING, found, reason, elsewhere)
        if found and _holds(expected, elsewhere, observations, place):
            reason = (
                f"The record is published at {elsewhere}, because its host was typed relative "
                f"to {place.domain} instead of the zone {place.zone}: publish it with the host "
                f"{host} instead."
            )
            return RecordResult(False, RecordStatus.MISSING, found, reason, elsewhere)
    doubled = f"{normalised_name(expected.address)}.{place.zone}"
    found = answered_values(observations, (doubled, kind))
    if found:
        reason = (
            f"The record is published at {doubled}, because your DNS provider adds {place.zone} "
            f"to the host you type: type only the host {host}."
        )
        return RecordResult(False, RecordStatus.MISSING, found, reason, doubled)
    return None


def _holds(
    expected: ExpectedRecord, name: str, observations: Mapping[Query, Observation], place: Place
) -> bool:
    """Whether the expected value sits at `name` (section 4's rules, applied there)."""
    there = ExpectedRecord(expected.purpose, expected.type, name, expected.record)
    return evaluate(there, observations, domain=place.zone).status is RecordStatus.VERIFIED


def _has_exchange(expected: ExpectedRecord, found: tuple[str, ...]) -> bool:
    exchange = normalised_name(expected.record.split()[-1])
    return any(normalised_name(value.split()[-1]) == exchange for value in found)


def _has_dmarc(observation: Observation) -> bool:
    if observation.outcome is not Outcome.ANSWER or observation.rdtype.upper() != "TXT":
        return True  # not a TXT answer: nothing here says "no DMARC record"
    if not observation.name.startswith("_dmarc."):
        return True
    return any(value.strip().upper().startswith("V=DMARC1") for value in observation.values)


def _addresses(observations: Mapping[Query, Observation], expected: ExpectedRecord) -> list[str]:
    if expected.purpose is not Purpose.DKIM:
        return []
    name = normalised_name(expected.address)
    return [
        *answered_values(observations, (name, "A")),
        *answered_values(observations, (name, "AAAA")),
    ]
