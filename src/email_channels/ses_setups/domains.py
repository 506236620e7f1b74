"""Domain identities as customers type them, normalised and validated."""

from __future__ import annotations

import ipaddress
import re
from functools import cache, lru_cache

import idna
from publicsuffixlist import PublicSuffixList

MAX_TYPED_LENGTH = 255
MAX_LABEL_LENGTH = 63
DNS_NAME_LIMIT = 253  # characters of a DNS name in presentation form, without the final dot
DKIM_PREFIX_LENGTH = len(f"{'t' * 32}._domainkey.")  # the longest prefix of a setup's records
# 209: the longest domain whose DKIM record names still fit in a DNS name.
MAX_DOMAIN_LENGTH = DNS_NAME_LIMIT - DKIM_PREFIX_LENGTH

_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


class InvalidDomain(ValueError):
    """The text is not a domain identity SES can verify; the message says why."""


def normalise_domain(raw: str) -> str:
    """The canonical A-label form of a typed domain, or `InvalidDomain` saying what is wrong."""
    if len(raw) > MAX_TYPED_LENGTH:
        raise InvalidDomain(f"must be at most {MAX_TYPED_LENGTH} characters long")
    text = raw.strip().lower()
    _refuse_ip_address(text)
    try:
        # UTS-46 mapping first: it folds case and width and turns ideographic full stops into
        # dots, so labels can only be split after it. STD3 rules stay off here so that the
        # checks below can name the offending character instead of a generic IDNA error.
        text = idna.uts46_remap(text, std3_rules=False, transitional=False)
    except idna.IDNAError as error:
        raise InvalidDomain(f"is not a valid internationalised domain name: {error}") from None
    text = text.removesuffix(".")  # after remapping, which turns "。" into "."
    if not text:
        raise InvalidDomain("must not be empty")
    _refuse_ip_address(text)  # full-width digits map to an IP address only after remapping
    labels = text.split(".")
    if "*" in text:
        raise InvalidDomain("must not contain a wildcard (*): enter the domain itself")
    if "_" in text:
        raise InvalidDomain("must not contain underscores: they are not allowed in host names")
    if any(not label for label in labels):
        raise InvalidDomain("must not contain empty labels (two dots in a row, or a leading dot)")
    name = ".".join(_a_label(label) for label in labels)
    if len(name) > MAX_DOMAIN_LENGTH:
        raise InvalidDomain(
            f"is {len(name)} characters long in its DNS form; the limit is {MAX_DOMAIN_LENGTH}, "
            f"so that the DKIM record names (<32-character token>._domainkey.<domain>) stay "
            f"within the {DNS_NAME_LIMIT} characters DNS allows"
        )
    if len(labels) < 2:
        raise InvalidDomain("must have at least two labels, such as example.com")
    if labels[-1].isdigit():
        raise InvalidDomain("must not end in an all-digit label: IP addresses are not accepted")
    if _public_suffixes().is_public(name):
        raise InvalidDomain(
            f"'{name}' is a public suffix that many owners share; enter your own domain under it"
        )
    return name


def _refuse_ip_address(text: str) -> None:
    try:
        ipaddress.ip_address(text.removeprefix("[").removesuffix("]"))
    except ValueError:
        return
    raise InvalidDomain("must be a domain name, not an IP address")


def _a_label(label: str) -> str:
    """One label in its ASCII (A-label) form, checked against the host name rules."""
    if label.isascii():
        if label.startswith("xn--"):
            try:
                idna.ulabel(label)  # a hand-typed A-label must decode to a valid U-label
            except idna.IDNAError:
                raise InvalidDomain(f"label '{label}' is not a valid IDNA A-label") from None
        # ASCII labels are already in DNS form; IDNA 2008 would also refuse "ab--cd", which is
        # a valid host name label that exists in the wild, so only the host name rules apply.
        ascii_label = label
    else:
        try:
            ascii_label = idna.alabel(label).decode("ascii")
        except idna.IDNAError as error:
            raise InvalidDomain(
                f"label '{label}' is not a valid international label: {error}"
            ) from None
    if len(ascii_label) > MAX_LABEL_LENGTH:
        raise InvalidDomain(
            f"label '{ascii_label[:20]}...' is {len(ascii_label)} characters long; "
            f"the limit is {MAX_LABEL_LENGTH}"
        )
    if not _HOST_LABEL.fullmatch(ascii_label):
        if ascii_label.startswith("-") or ascii_label.endswith("-"):
            raise InvalidDomain(f"label '{label}' must not start or end with a hyphen")
        bad = next(c for c in ascii_label if not (c.isascii() and (c.isalnum() or c == "-")))
        raise InvalidDomain(
            f"label '{label}' contains {bad!r}: only letters, digits and hyphens are allowed"
        )
    return ascii_label


@cache
def _public_suffixes() -> PublicSuffixList:
    # The list bundled with the package, loaded once on first use; never fetched at run time.
    # Private suffixes (github.io, herokuapp.com, s3.amazonaws.com) count too: each is shared by
    # many unrelated owners who publish under it, just like com or co.uk, so no single customer
    # can prove it as a sending domain, and DMARC's organisational domain uses the whole list.
    # Unknown top-level domains count as public as well (the implicit "*" rule).
    return PublicSuffixList(accept_unknown=True, only_icann=False)


@lru_cache(maxsize=4096)  # a check asks it of its setup's domain every time
def organisational_domain(domain: str) -> str | None:
    """The registrable domain of `domain` (RFC 7489's organisational domain), or None."""
    found = _public_suffixes().privatesuffix(domain)
    return str(found) if found else None


def delegation_problem(domain: str) -> str | None:
    """Why `domain` cannot be delegated to this service, or None when it can."""
    registrable = _public_suffixes().privatesuffix(domain)
    if registrable is None:
        return (
            "its registrable domain cannot be told from the public suffix list, so there is "
            "no zone above it in which to publish the NS records"
        )
    if registrable == domain:
        return (
            f"'{domain}' is a registrable domain (an apex): its name servers are set at the "
            f"domain's registrar, not in a zone you edit; delegate a subdomain such as "
            f"mail.{domain} instead"
        )
    return None
