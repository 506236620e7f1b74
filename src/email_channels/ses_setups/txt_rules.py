"""The SPF and DMARC rules of a setup's records: parsing the TXT values that were found."""

from __future__ import annotations

import re

from email_channels.ses_setups.records import SPF_INCLUDE, ExpectedRecord

# RFC 7208 4.5: "v=spf1" in any case, then a space or the end of the record.
_SPF_RECORD = re.compile(r"v=spf1(?: |$)", re.IGNORECASE)
# "+" is the default qualifier; only a passing include lets amazonses.com send.
_SPF_INCLUDE = re.compile(rf"\+?{re.escape(SPF_INCLUDE)}\.?", re.IGNORECASE)
_SPF_ALL = re.compile(r"[-+~?]?all", re.IGNORECASE)

# RFC 7489: the tag name is case-insensitive, the version "DMARC1" is not.
_DMARC_RECORD = re.compile(r"[vV][ \t]*=[ \t]*DMARC1[ \t]*(?:;|$)")
DMARC_POLICIES = ("none", "quarantine", "reject")


def spf_problem(expected: ExpectedRecord, found: tuple[str, ...], domain: str) -> str | None:
    """Why the TXT values at the MAIL FROM name do not let SES send, or None when they do."""
    records = [value for value in found if _SPF_RECORD.match(value)]
    if not records:
        return (
            f"None of the TXT records at {expected.address} is an SPF record (found "
            f"{_quoted(found)}): add a TXT record with the value {expected.record}."
        )
    if len(records) > 1:
        return (
            f"{expected.address} has {len(records)} SPF records ({_quoted(records)}), which "
            "receivers treat as a permanent error: merge them into one that contains "
            f"{SPF_INCLUDE}."
        )
    terms = records[0].split()[1:]
    include = next((i for i, term in enumerate(terms) if _SPF_INCLUDE.fullmatch(term)), None)
    final = next((i for i, term in enumerate(terms) if _SPF_ALL.fullmatch(term)), None)
    if include is not None and (final is None or include < final):
        return None
    if include is not None and final is not None:
        return (
            f"The SPF record at {expected.address} ({_quoted(records)}) has {terms[include]} "
            f"after its {terms[final]} term, and receivers never evaluate the terms after all: "
            f"move {SPF_INCLUDE} before {terms[final]}."
        )
    return (
        f"The SPF record at {expected.address} ({_quoted(records)}) does not include "
        f"amazonses.com: add {SPF_INCLUDE} to it, before its all term."
    )


def dmarc_problem(expected: ExpectedRecord, found: tuple[str, ...], domain: str) -> str | None:
    """Why the TXT values at `_dmarc` are not one DMARC policy record, or None when they are."""
    records = [value for value in found if _DMARC_RECORD.match(value)]
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
    policies = _dmarc_tags(records[0]).get("p", [])
    where = f"{expected.address} ({_quoted(records)})"
    if not policies:
        return (
            f"The DMARC record at {where} has no p= policy tag: add p=none (or quarantine/reject)."
        )
    if len(policies) > 1:
        # RFC 6376 3.2, whose tag lists DMARC uses: a repeated tag makes the record invalid.
        shown = " and ".join(f"p={policy}" for policy in policies)
        return f"The DMARC record at {where} has {shown}: keep only one p= tag."
    if policies[0].lower() not in DMARC_POLICIES:
        return (
            f"In the DMARC record at {where}, p={policies[0]} is not a DMARC policy: use none, "
            "quarantine or reject."
        )
    return None


def _dmarc_tags(record: str) -> dict[str, list[str]]:
    """Tag name (lower case) to its values, in order; white space around ";" and "=" ignored."""
    tags: dict[str, list[str]] = {}
    for spec in record.split(";"):
        name, equals, value = spec.partition("=")
        if equals:
            tags.setdefault(name.strip(" \t").lower(), []).append(value.strip(" \t"))
    return tags


def _quoted(values: list[str] | tuple[str, ...]) -> str:
    if not values:
        return "nothing"
    return ", ".join(f'"{value}"' for value in values)
