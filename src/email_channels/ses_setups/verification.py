"""Expected records against DNS observations, as pure functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from email_channels.integrations.dns import Observation, Outcome
from email_channels.ses_setups.records import ExpectedRecord, Purpose
from email_channels.ses_setups.txt_rules import dmarc_problem, spf_verdict

Query = tuple[str, str]  # (name, rdtype): lower case, no trailing dot


class RecordStatus(StrEnum):
    VERIFIED = "verified"
    MISSING = "missing"
    MISMATCH = "mismatch"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What the last check concluded about one expected record."""

    verified: bool
    status: RecordStatus
    found: tuple[str, ...]
    reason: str | None
    # Where `found` was seen when that is not the record's address (section 11), else None.
    found_at: str | None = None
    # Each of the zone's servers and its status for this record; empty: the resolver alone.
    nameservers: tuple[tuple[str, RecordStatus], ...] = ()

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict, for storing the last result."""
        stored: dict[str, object] = {
            "verified": self.verified,
            "status": self.status.value,
            "found": list(self.found),
            "reason": self.reason,
        }
        if self.found_at is not None:
            stored["found_at"] = self.found_at
        if self.nameservers:
            stored["nameservers"] = [[name, status.value] for name, status in self.nameservers]
        return stored

    def with_reason(
        self,
        reason: str | None,
        *,
        verified: bool | None = None,
        nameservers: tuple[tuple[str, RecordStatus], ...] | None = None,
    ) -> RecordResult:
        """This result with another reason (and its verified flag or servers, when given).

        Built directly: `dataclasses.replace` cost a tenth of a check's CPU (bench/README.md).
        """
        return RecordResult(
            self.verified if verified is None else verified,
            self.status,
            self.found,
            reason,
            self.found_at,
            self.nameservers if nameservers is None else nameservers,
        )

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> RecordResult:
        """The result stored by `to_json`; `ValueError` when the shape is wrong."""
        verified, found, reason = data.get("verified"), data.get("found"), data.get("reason")
        if not isinstance(verified, bool):
            raise ValueError("RecordResult.verified must be a bool")
        if not isinstance(found, list) or not all(isinstance(v, str) for v in found):
            raise ValueError("RecordResult.found must be a list of strings")
        if reason is not None and not isinstance(reason, str):
            raise ValueError("RecordResult.reason must be a string or null")
        found_at, servers = data.get("found_at"), data.get("nameservers") or []
        if found_at is not None and not isinstance(found_at, str):
            raise ValueError("RecordResult.found_at must be a string or null")
        if not isinstance(servers, list):
            raise ValueError("RecordResult.nameservers must be a list")
        nameservers = tuple((str(name), RecordStatus(str(status))) for name, status in servers)
        status = RecordStatus(str(data.get("status")))
        return cls(verified, status, tuple(found), reason, found_at, nameservers)


NOT_CHECKED = RecordResult(
    verified=False, status=RecordStatus.UNKNOWN, found=(), reason="Not checked yet"
)


MAX_NAME_LENGTH = 253  # characters of a DNS name in presentation form, without the final dot


def primary_query(expected: ExpectedRecord) -> Query:
    """The one lookup that decides a record's status."""
    return (normalised_name(expected.address), expected.type.upper())


def doubled_name(expected: ExpectedRecord, *, domain: str) -> str:
    """Where a record lands when the DNS provider appends the domain to a full name."""
    return f"{normalised_name(expected.address)}.{normalised_name(domain)}"


def diagnostic_queries(
    expected: ExpectedRecord, primary: Observation, *, domain: str
) -> tuple[Query, ...]:
    """Lookups that explain a missing record; none for a record that was found or failed."""
    if primary.outcome not in (Outcome.NXDOMAIN, Outcome.NO_DATA):
        return ()
    queries: list[Query] = [(doubled_name(expected, domain=domain), expected.type.upper())]
    # An existing name without a CNAME is what a proxied or flattened CNAME looks like.
    if expected.purpose is Purpose.DKIM and primary.outcome is Outcome.NO_DATA:
        queries += [
            (normalised_name(expected.address), "A"),
            (normalised_name(expected.address), "AAAA"),
        ]
    return tuple(queries)


def evaluate(
    expected: ExpectedRecord,
    observations: Mapping[Query, Observation],
    *,
    domain: str,
    previous: RecordResult | None = None,
) -> RecordResult:
    """The result for one record from the lookups of one check."""
    if len(normalised_name(expected.address)) > MAX_NAME_LENGTH:
        # No DNS provider can publish it; saying "lookup failed" forever would hide that.
        return RecordResult(False, RecordStatus.MISSING, (), _name_too_long(expected))
    key = primary_query(expected)
    primary = observations.get(key) or Observation(*key, Outcome.FAILURE, detail="not looked up")
    if primary.outcome is Outcome.FAILURE:
        # A resolver hiccup never flips a record: it keeps the verdict of the last real check.
        was_verified = previous.verified if previous is not None else False
        reason = _lookup_failed(expected, primary.detail)
        return RecordResult(was_verified, RecordStatus.UNKNOWN, (), reason)
    if primary.outcome is not Outcome.ANSWER or not primary.values:
        return _missing(expected, observations, domain=domain)
    if expected.purpose is Purpose.SPF:
        return _spf(expected, primary.values, observations, previous=previous)
    problem = _RULES[expected.purpose](expected, primary.values, domain)
    if problem is None:
        return RecordResult(True, RecordStatus.VERIFIED, primary.values, None)
    return RecordResult(False, RecordStatus.MISMATCH, primary.values, problem)


def _spf(
    expected: ExpectedRecord,
    found: tuple[str, ...],
    observations: Mapping[Query, Observation],
    *,
    previous: RecordResult | None,
) -> RecordResult:
    verdict = spf_verdict(expected, found, observations)
    if verdict.undecided:
        # An include that did not answer is a resolver hiccup too: the verdict stands.
        was_verified = previous.verified if previous is not None else False
        return RecordResult(was_verified, RecordStatus.UNKNOWN, found, verdict.problem)
    if verdict.problem is None:
        return RecordResult(True, RecordStatus.VERIFIED, found, None)
    return RecordResult(False, RecordStatus.MISMATCH, found, verdict.problem)


def _missing(
    expected: ExpectedRecord, observations: Mapping[Query, Observation], *, domain: str
) -> RecordResult:
    if expected.purpose is Purpose.DKIM:
        addresses = answered_values(observations, (normalised_name(expected.address), "A"))
        addresses += answered_values(observations, (normalised_name(expected.address), "AAAA"))
        if addresses:
            reason = _cname_replaced_by_addresses(expected, addresses)
            return RecordResult(False, RecordStatus.MISMATCH, (), reason)
    doubled = doubled_name(expected, domain=domain)
    if answered_values(observations, (doubled, expected.type.upper())):
        reason = _domain_appended_twice(expected, doubled=doubled, domain=normalised_name(domain))
        return RecordResult(False, RecordStatus.MISSING, (), reason)
    return RecordResult(False, RecordStatus.MISSING, (), _missing_reason(expected))


def answered_values(observations: Mapping[Query, Observation], key: Query) -> tuple[str, ...]:
    observation = observations.get(key)
    if observation is None or observation.outcome is not Outcome.ANSWER:
        return ()
    return observation.values


def normalised_name(name: str) -> str:
    """A name as compared: no trailing dot, lower case."""
    return name.rstrip(".").lower()


# The rules, one per purpose: why the found values are wrong, or None when they are right.


def _dkim(expected: ExpectedRecord, found: tuple[str, ...], domain: str) -> str | None:
    target = normalised_name(expected.record)
    targets = [normalised_name(value) for value in found]
    if target in targets:
        return None
    if f"{target}.{normalised_name(domain)}" in targets:
        return (
            f"The CNAME at {expected.address} points to {_shown(found)} because your DNS "
            f"provider appended your domain to the value: enter it as {target}. with a final dot."
        )
    return (
        f"The CNAME at {expected.address} points to {_shown(found)} instead of {target}: "
        f"change its value to {target}."
    )


def _mail_from_mx(expected: ExpectedRecord, found: tuple[str, ...], domain: str) -> str | None:
    exchange = _mx(expected.record)[1]
    exchanges = [_mx(value)[1] for value in found]
    if exchanges == [exchange]:
        return None
    if exchange in exchanges:
        extra = [v for v in found if _mx(v)[1] != exchange] or list(found[1:])
        return (
            f"SES needs exactly one MX record at {expected.address}, but it also has "
            f"{_shown(extra)}: remove the extra MX record."
        )
    return (
        f"The MX record at {expected.address} is {_shown(found)} instead of "
        f"{expected.record}: change it to {expected.record}."
    )


def _inbound_mx(expected: ExpectedRecord, found: tuple[str, ...], domain: str) -> str | None:
    exchange = _mx(expected.record)[1]
    records = [_mx(value) for value in found]
    lowest = min(preference for preference, _ in records)
    if (lowest, exchange) in records:
        return None
    if exchange in (host for _, host in records):
        front = [value for value in found if _mx(value)[0] == lowest]
        return (
            f"The MX record {_shown(front)} at {expected.address} has a lower preference than "
            f"{exchange}, so mail goes there first: give {exchange} the lowest preference "
            "number, or remove the other MX record."
        )
    return (
        f"The MX record at {expected.address} is {_shown(found)} instead of "
        f"{expected.record}: add {expected.record} with the lowest preference number."
    )


def _delegation(expected: ExpectedRecord, found: tuple[str, ...], domain: str) -> str | None:
    servers = [normalised_name(value) for value in found]
    if normalised_name(expected.record) in servers:
        return None
    return (
        f"The NS records of {normalised_name(expected.address)} point at other name servers "
        f"({_shown(servers)}): replace them with the NS records listed here, one per server."
    )


_RULES: dict[Purpose, Callable[[ExpectedRecord, tuple[str, ...], str], str | None]] = {
    Purpose.DKIM: _dkim,
    Purpose.MAIL_FROM_MX: _mail_from_mx,
    Purpose.INBOUND_MX: _inbound_mx,
    Purpose.DMARC: dmarc_problem,
    Purpose.DELEGATION: _delegation,
}


# Reasons for the records that were not found or not looked up.


def _missing_reason(expected: ExpectedRecord) -> str:
    value = f'"{expected.record}"' if expected.type.upper() == "TXT" else expected.record
    return (
        f"No {expected.type} record exists at {expected.address}: add one with the value {value}."
    )


def _domain_appended_twice(expected: ExpectedRecord, *, doubled: str, domain: str) -> str:
    address = normalised_name(expected.address)
    host = address.removesuffix(f".{domain}") if address != domain else "@"
    where = f"enter only {host!r} as the name" if host != "@" else "enter @ or leave the name empty"
    return (
        f"The record was published at {doubled}, because your DNS provider adds {domain} to the "
        f"name you type: {where}."
    )


def _cname_replaced_by_addresses(expected: ExpectedRecord, addresses: tuple[str, ...]) -> str:
    return (
        f"{expected.address} answers with A/AAAA records ({_shown(addresses)}) instead of a "
        f"CNAME, as a proxied or flattened record does: turn off the proxy (DNS only) so the "
        f"CNAME to {normalised_name(expected.record)} is published as it is."
    )


def _name_too_long(expected: ExpectedRecord) -> str:
    length = len(normalised_name(expected.address))
    return (
        f"{expected.address} is {length} characters long, more than the "
        f"{MAX_NAME_LENGTH} DNS allows, so it cannot be published: use a shorter domain."
    )


def _lookup_failed(expected: ExpectedRecord, detail: str | None) -> str:
    return (
        f"The DNS lookup of {expected.address} failed ({detail or 'no answer'}), so nothing "
        "was changed: try again in a few minutes."
    )


def _mx(value: str) -> tuple[int, str]:
    preference, _, exchange = value.strip().partition(" ")
    try:
        return int(preference), normalised_name(exchange.strip())
    except ValueError:  # not "preference exchange": rank it last, compare it as a whole
        return 65536, normalised_name(value)


def _shown(values: list[str] | tuple[str, ...]) -> str:
    if not values:
        return "nothing"
    return ", ".join(values)
