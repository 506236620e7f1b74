"""One record's status from every server of its zone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from email_channels.integrations.dns import Observation, Outcome
from email_channels.integrations.dns.authoritative import REFERRAL
from email_channels.ses_setups.verification import RecordResult, RecordStatus


def combine(
    per_server: Sequence[tuple[str, RecordResult]],
    *,
    zone: str,
    serials: Mapping[str, int],
    fallback: RecordResult | None,
    why_fallback: str,
) -> RecordResult:
    """The record's result: the servers that answered decide, else the resolver's answer."""
    statuses = tuple((name, result.status) for name, result in per_server)
    answered = [(name, r) for name, r in per_server if r.status is not RecordStatus.UNKNOWN]
    if not answered:
        assert fallback is not None  # the check asks the resolver for every such record
        return from_resolver(fallback, why=why_fallback, nameservers=statuses)
    good = [name for name, result in answered if result.status is RecordStatus.VERIFIED]
    lagging = [
        (name, result) for name, result in answered if result.status is not RecordStatus.VERIFIED
    ]
    if not lagging:
        first = next(result for _, result in answered)
        return first.with_reason(None, nameservers=statuses)
    worst = lagging[0][1]
    if not good:
        return worst.with_reason(worst.reason, nameservers=statuses)
    names = [name for name, _ in lagging]
    reason = (
        f"{_listed(names)} {'does' if len(names) == 1 else 'do'} not serve this record as "
        f"expected yet, while {_listed(good)} already {'does' if len(good) == 1 else 'do'}: the "
        f"change has not reached every server of {zone} yet{_serials(names, good, serials)}, so "
        "check again in a few minutes, or publish it again at your DNS provider if it stays so."
    )
    return worst.with_reason(reason, nameservers=statuses)


def from_resolver(
    result: RecordResult, *, why: str, nameservers: tuple[tuple[str, RecordStatus], ...] = ()
) -> RecordResult:
    """The resolver's verdict, with a reason that says why the zone's servers did not decide."""
    if result.status is RecordStatus.VERIFIED or result.reason is None:
        reason = (
            f"Verified only through the resolver, which may answer from an old copy, because {why}."
        )
    else:
        reason = f"{result.reason.rstrip('.')} (the resolver's answer, because {why})."
    return result.with_reason(reason, nameservers=nameservers)


def why_servers_failed(zone: str, primary: Sequence[tuple[str, Observation | None]]) -> str:
    """Why no server of `zone` answered a record: each server and what it did."""
    delegated = [
        detail
        for _, o in primary
        if o is not None and (detail := o.detail or "").startswith(REFERRAL)
    ]
    if delegated and len(delegated) == len(primary):
        return (
            f"the zone's servers did not answer with authority: {zone} delegates this name "
            f"to other servers ({delegated[0].removeprefix(REFERRAL + ' to ')})"
        )
    details = [f"{name} {_failure(observation)}" for name, observation in primary]
    return f"the zone's servers did not answer ({'; '.join(details) or 'none known'})"


def serial_of(observation: Observation | None) -> int | None:
    """The serial of an SOA answer in presentation form (mname rname serial ...)."""
    if observation is None or observation.outcome is not Outcome.ANSWER or not observation.values:
        return None
    fields = observation.values[0].split()
    try:
        return int(fields[2])
    except (IndexError, ValueError):
        return None


def _failure(observation: Observation | None) -> str:
    if observation is None:
        return "was not asked"
    detail = observation.detail or "no answer"
    if detail.startswith("the server's name"):
        return "has no address"
    if detail in ("timed out", "answered without authority"):
        return detail
    return f"answered {detail}"


def _serials(lagging: list[str], good: list[str], serials: Mapping[str, int]) -> str:
    behind = [f"{name} serves serial {serials[name]}" for name in lagging if name in serials]
    ahead = [f"{name} {serials[name]}" for name in good if name in serials]
    if (
        not behind
        or not ahead
        or {serials[n] for n in lagging if n in serials}
        == {serials[n] for n in good if n in serials}
    ):
        return ""
    return f" ({', '.join(behind)}; {', '.join(ahead)})"


def _listed(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
