"""The SPF and DMARC rules of a setup's check: what the TXT values that were found mean."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from email_channels.integrations.dns import Observation
from email_channels.ses_setups.dmarc import dmarc_fault, is_dmarc_record
from email_channels.ses_setups.records import SPF_INCLUDE, ExpectedRecord
from email_channels.ses_setups.spf import Query, SpfEvaluation, evaluate_spf, follow
from email_channels.ses_setups.spf_syntax import Kind, is_spf_record, parse_record


@dataclass(frozen=True, slots=True)
class SpfVerdict:
    """`problem` None: verified; else a mismatch, or unknown when `undecided`."""

    problem: str | None
    undecided: bool = False


def spf_needs_lookups(found: tuple[str, ...], *, address: str) -> bool:
    """True when the one SPF record in `found` has includes, a redirect or terms to look up."""
    records = [value for value in found if is_spf_record(value)]
    if len(records) != 1:
        return False
    return bool(evaluate_spf(records[0], domain=_name(address), answers={}).pending)


async def spf_lookups(
    found: tuple[str, ...],
    *,
    address: str,
    ask: Callable[[list[Query]], Awaitable[Mapping[Query, Observation]]],
) -> dict[Query, Observation]:
    """The lookups that the includes and redirect of the one SPF record in `found` need."""
    records = [value for value in found if is_spf_record(value)]
    if len(records) != 1:
        return {}
    return await follow(records[0], domain=_name(address), ask=ask)


def spf_verdict(
    expected: ExpectedRecord, found: tuple[str, ...], answers: Mapping[Query, Observation]
) -> SpfVerdict:
    """Whether the TXT values at the MAIL FROM name let SES send, as receivers see them."""
    records = [value for value in found if is_spf_record(value)]
    if not records:
        return SpfVerdict(
            f"None of the TXT records at {expected.address} is an SPF record (found "
            f"{_quoted(found)}): add a TXT record with the value {expected.record}."
        )
    where = f"{expected.address} ({_quoted(records)})"
    if len(records) > 1:
        return SpfVerdict(
            f"{expected.address} has {len(records)} SPF records ({_quoted(records)}), which "
            f"receivers treat as a permanent error, so every receiver now fails SPF for "
            f"{expected.address}: merge them into one that contains {SPF_INCLUDE}."
        )
    evaluation = evaluate_spf(records[0], domain=_name(expected.address), answers=answers)
    if evaluation.permerror is not None:
        fix = (
            "remove the terms you no longer need, or replace an include by the addresses it "
            "stands for"
            if evaluation.over_limit
            else "correct that term or remove it"
        )
        return SpfVerdict(
            f"In the SPF record at {where}, {evaluation.permerror}: a permanent error, so "
            f"every receiver now fails SPF for {expected.address}: {fix}."
        )
    undecided = _undecided(evaluation, where=where)
    if undecided is not None:
        return SpfVerdict(undecided, undecided=True)
    if evaluation.authorises_ses:
        return SpfVerdict(None)
    return SpfVerdict(_not_authorised(records[0], where=where))


def _undecided(evaluation: SpfEvaluation, *, where: str) -> str | None:
    if evaluation.failed_lookup is not None:
        term, name, detail = evaluation.failed_lookup
        return (
            f"The DNS lookup of {name}, which {term} in the SPF record at {where} needs, failed "
            f"({detail}), so nothing was changed: try again in a few minutes."
        )
    if evaluation.pending:
        names = ", ".join(name for name, _ in evaluation.pending)
        return (
            f"The SPF record at {where} needs lookups of {names} that were not made, so "
            "nothing was changed: try again in a few minutes."
        )
    return None


def _not_authorised(record: str, *, where: str) -> str:
    terms = parse_record(record)
    final = next((i for i, term in enumerate(terms) if term.kind is Kind.ALL), None)
    late = next(
        (
            term
            for term in terms[(final or 0) + 1 :]
            if term.kind is Kind.INCLUDE and term.target == "amazonses.com"
        ),
        None,
    )
    if final is not None and late is not None:
        return (
            f"The SPF record at {where} has {late.text} after its {terms[final].text} term, and "
            f"receivers never evaluate the terms after all: move {SPF_INCLUDE} before "
            f"{terms[final].text}."
        )
    return (
        f"The SPF record at {where} does not include amazonses.com, directly or through its "
        f"includes or redirect: add {SPF_INCLUDE} to it, before its all term."
    )


def dmarc_problem(expected: ExpectedRecord, found: tuple[str, ...], domain: str) -> str | None:
    """Why the TXT values at `_dmarc` are not one DMARC policy record, or None when they are."""
    records = [value for value in found if is_dmarc_record(value)]
    if not records:
        return (
            f"None of the TXT records at {expected.address} is a DMARC record (found "
            f"{_quoted(found)}): add a TXT record with the value {expected.record}."
        )
    if len(records) > 1:
        return (
            f"{expected.address} has {len(records)} DMARC records ({_quoted(records)}), "
            "so receivers ignore DMARC for your domain: delete all but one."
        )
    fault = dmarc_fault(records[0])
    if fault is None:
        return None
    return (
        f"The DMARC record at {expected.address} ({_quoted(records)}) {fault.problem}: {fault.fix}."
    )


def _name(name: str) -> str:
    return name.rstrip(".").lower()


def _quoted(values: list[str] | tuple[str, ...]) -> str:
    if not values:
        return "nothing"
    return ", ".join(f'"{value}"' for value in values)
