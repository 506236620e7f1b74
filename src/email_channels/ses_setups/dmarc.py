"""A DMARC record as receivers read it (RFC 7489 sections 6.3, 6.4 and 6.6.3), pure functions.

Only what decides whether receivers apply the policy is a fault here: the version, `p`, `sp`,
repeated tags (RFC 6376 section 3.2, whose tag lists DMARC uses, makes the whole list invalid),
and `rua` where section 6.6.3 lets it rescue an invalid policy. Section 6.3 has receivers discard
any other malformed value in favour of its default, so a bad `pct` or `adkim` is no fault.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# Section 6.4: "v" in any case, optional white space around "=", then "DMARC1" exactly.
DMARC_VERSION = re.compile(r"[vV][ \t]*=[ \t]*DMARC1[ \t]*(?:;|$)")
POLICIES = ("none", "quarantine", "reject")
# Section 6.4, dmarc-uri: an RFC 3986 URI (a scheme, ":" and more), then an optional size limit.
_REPORT_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s!,;]+(?:![0-9]+[kmgtKMGT]?)?")
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class DmarcFault:
    """What makes receivers ignore (part of) the record, and what to do about it."""

    tag: str
    problem: str
    fix: str


def is_dmarc_record(value: str) -> bool:
    """True when the TXT value starts with a DMARC version 1 tag."""
    return DMARC_VERSION.match(value) is not None


@functools.lru_cache(maxsize=1024)  # a check judges the same record every time
def dmarc_fault(record: str) -> DmarcFault | None:
    """Why receivers do not apply the record's policy as published, or None when they do."""
    tags: dict[str, list[str]] = {}
    for spec in record.split(";")[1:]:
        if not spec.strip(" \t"):
            continue  # section 6.4 allows a final ";" and empty specs between separators
        name, equals, value = spec.partition("=")
        name, written = name.strip(" \t"), spec.strip(" \t")
        if not equals or not _TAG_NAME.fullmatch(name):
            return DmarcFault(
                written,
                f'has "{written}", which is not a tag=value pair, so receivers discard the record',
                "write it as tag=value or remove it",
            )
        tags.setdefault(name.lower(), []).append(value.strip(" \t"))
    for name, values in tags.items():
        if len(values) > 1:
            shown = " and ".join(f"{name}={value}" for value in values)
            return DmarcFault(
                name,
                f"has {shown}, and a repeated tag makes receivers discard the whole record",
                f"keep only one {name}= tag",
            )
    return _policy_fault(tags)


def _policy_fault(tags: dict[str, list[str]]) -> DmarcFault | None:
    policy = tags.get("p", [None])[0]
    if policy is None:
        return DmarcFault(
            "p", "has no p= policy tag", "add p=none (or quarantine/reject) after v=DMARC1"
        )
    rescued = any(_REPORT_URI.fullmatch(uri.strip(" \t")) for uri in _uris(tags))
    # Section 6.6.3: with an invalid p or sp, a valid rua downgrades the record to p=none;
    # without one, receivers apply no DMARC at all.
    effect = (
        "so receivers act as if it said p=none"
        if rescued
        else "and with no valid rua= address receivers apply no DMARC at all"
    )
    if policy.lower() not in POLICIES:
        return DmarcFault(
            "p",
            f"has p={policy}; p={policy} is not a DMARC policy, {effect}",
            "use none, quarantine or reject",
        )
    subdomain_policy = tags.get("sp", [None])[0]
    if subdomain_policy is not None and subdomain_policy.lower() not in POLICIES:
        return DmarcFault(
            "sp",
            f"has sp={subdomain_policy}; sp={subdomain_policy} is not a DMARC policy, {effect}",
            "set sp= to none, quarantine or reject, or remove it",
        )
    return None


def _uris(tags: dict[str, list[str]]) -> list[str]:
    values = tags.get("rua", [])
    return [uri for value in values for uri in value.split(",")]
