"""The syntax of an SPF record (RFC 7208 sections 4.5, 5, 6, 7.1 and 12), as pure functions.

A receiver that finds a syntax error anywhere in a record stops with "permerror" (section 4.6),
terms after `all` included, so every term is checked here before any is evaluated.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum

# Section 4.5: "v=spf1" in any case, then a space or the end of the record.
SPF_VERSION = re.compile(r"v=spf1(?: |$)", re.IGNORECASE)

# Section 12, `qnum`: a decimal 0-255 without leading zeros.
_QNUM = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])"
_IP4_NETWORK = re.compile(rf"{_QNUM}(?:\.{_QNUM}){{3}}")
# Section 12: CIDR lengths are "0" or a number without a leading zero.
_CIDR = r"(?:0|[1-9][0-9]{0,2})"
_DUAL_CIDR = re.compile(rf"(?:/({_CIDR}))?(?://({_CIDR}))?")
_MODIFIER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
# Section 7.1: a macro-expand; the letters c, r and t only in explanation text (section 7.2).
_MACRO = re.compile(r"%(?:\{([a-z])[0-9]*r?[.+,/_=-]*\}|%|_|-)", re.IGNORECASE)
_MACRO_LETTERS = frozenset("slodiphv")
_EXP_ONLY_LETTERS = frozenset("crt")
# Section 12: toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" )
# alphanum ); a top-level label of digits alone is no domain.
_TOPLABEL = re.compile(r"[a-z0-9]*[a-z][a-z0-9]*|[a-z0-9]+-[a-z0-9-]*[a-z0-9]", re.IGNORECASE)
_VISIBLE = re.compile(r"[\x21-\x7e]*")

MAX_LABEL = 63
MAX_NAME = 253
# Parsed records kept: a check parses its record more than once, and most setups publish the
# same few records, so a read of a verified setup costs no parsing in steady state.
RECORDS_KEPT = 1024


class Kind(StrEnum):
    ALL = "all"
    INCLUDE = "include"
    A = "a"
    MX = "mx"
    PTR = "ptr"
    IP4 = "ip4"
    IP6 = "ip6"
    EXISTS = "exists"
    REDIRECT = "redirect"
    EXP = "exp"
    OTHER_MODIFIER = "modifier"  # unknown modifiers: section 6 says to ignore them


# The terms that make a receiver query DNS, each one of the 10 allowed (section 4.6.4).
DNS_QUERYING = frozenset({Kind.INCLUDE, Kind.A, Kind.MX, Kind.PTR, Kind.EXISTS, Kind.REDIRECT})
_MECHANISMS = {kind.value: kind for kind in Kind if kind not in (Kind.REDIRECT, Kind.EXP)}
_MECHANISMS.pop(Kind.OTHER_MODIFIER.value)


@dataclass(frozen=True, slots=True)
class Term:
    """One term of a record: a mechanism with its qualifier, or a modifier."""

    text: str  # as written
    kind: Kind
    qualifier: str  # "+", "-", "~" or "?"; "" for a modifier
    target: str | None  # the domain-spec, lower case and without a final dot
    has_macro: bool = False

    @property
    def passes(self) -> bool:
        """True when a match of this mechanism makes the result "pass"."""
        return self.qualifier == "+"


class SpfSyntaxError(ValueError):
    """A term that is not valid RFC 7208 syntax; `problem` says what is wrong with it."""

    def __init__(self, term: str, problem: str) -> None:
        super().__init__(f"{term}: {problem}")
        self.term = term
        self.problem = problem


def is_spf_record(value: str) -> bool:
    """True when the TXT value is an SPF version 1 record (section 4.5)."""
    return SPF_VERSION.match(value) is not None


@functools.lru_cache(maxsize=RECORDS_KEPT)
def parse_record(value: str) -> tuple[Term, ...]:
    """The terms after the version, in order; `SpfSyntaxError` for the first invalid one."""
    # Section 12: terms are separated by spaces only; a tab is part of a term, and invalid.
    terms = tuple(_term(text) for text in value.split(" ")[1:] if text)
    for kind in (Kind.REDIRECT, Kind.EXP):
        repeated = [term for term in terms if term.kind is kind]
        if len(repeated) > 1:
            raise SpfSyntaxError(repeated[1].text, f"repeats the {kind} modifier (section 6)")
    return terms


def _term(text: str) -> Term:
    name_end = re.search(r"[:=/]", text)
    name = text[: name_end.start()] if name_end else text
    if name_end is not None and text[name_end.start()] == "=":
        return _modifier(text, name, text[name_end.start() + 1 :])
    qualifier = name[0] if name[:1] in ("+", "-", "~", "?") else ""
    kind = _MECHANISMS.get(name[len(qualifier) :].lower())
    if kind is None:
        raise SpfSyntaxError(text, "is not an SPF mechanism or modifier")
    rest = text[len(name) :]
    target = _mechanism_target(text, kind, rest)
    macro = target is not None and "%" in target
    return Term(text, kind, qualifier or "+", _normalised(target), has_macro=macro)


def _modifier(text: str, name: str, value: str) -> Term:
    if not _MODIFIER_NAME.fullmatch(name):
        raise SpfSyntaxError(text, "is not an SPF mechanism or modifier")
    kind = {"redirect": Kind.REDIRECT, "exp": Kind.EXP}.get(name.lower(), Kind.OTHER_MODIFIER)
    if kind is Kind.OTHER_MODIFIER:
        _check_macro_string(text, value, exp=False)
        return Term(text, kind, "", None)
    _check_domain_spec(text, value, exp=kind is Kind.EXP)
    return Term(text, kind, "", _normalised(value), has_macro="%" in value)


def _mechanism_target(text: str, kind: Kind, rest: str) -> str | None:
    """The domain-spec of the mechanism, after checking everything that follows its name."""
    if kind is Kind.ALL:
        if rest:
            raise SpfSyntaxError(text, "has a value, and the all mechanism takes none")
        return None
    if kind in (Kind.IP4, Kind.IP6):
        _check_ip_network(text, kind, rest)
        return None
    domain, cidr = rest, ""
    if kind in (Kind.A, Kind.MX):
        domain, cidr = _split_cidr(rest)
        match = _DUAL_CIDR.fullmatch(cidr)
        if match is None or any(
            n is not None and int(n) > top for n, top in zip(match.groups(), (32, 128), strict=True)
        ):
            raise SpfSyntaxError(text, "has a malformed CIDR prefix length")
    if kind in (Kind.INCLUDE, Kind.EXISTS) and not domain.startswith(":"):
        raise SpfSyntaxError(text, f"has no domain after {kind}:")
    if not domain:
        return None
    if not domain.startswith(":"):
        raise SpfSyntaxError(text, "is not an SPF mechanism or modifier")
    _check_domain_spec(text, domain[1:], exp=False)
    return domain[1:]


def _split_cidr(rest: str) -> tuple[str, str]:
    """`:domain/24//64` into the domain part and the CIDR part (macros never contain "/")."""
    # A macro delimiter may be "/", so the CIDR starts at the first "/" outside a macro.
    depth = 0
    for index, char in enumerate(rest):
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        elif char == "/" and depth == 0:
            return rest[:index], rest[index:]
    return rest, ""


def _check_ip_network(text: str, kind: Kind, rest: str) -> None:
    if not rest.startswith(":") or not rest[1:]:
        raise SpfSyntaxError(text, f"has no address after {kind}:")
    address, slash, length = rest[1:].partition("/")
    top = 32 if kind is Kind.IP4 else 128
    if slash and (not re.fullmatch(_CIDR, length) or int(length) > top):
        raise SpfSyntaxError(text, f"has a malformed CIDR prefix length (0 to {top})")
    if kind is Kind.IP4:
        valid = _IP4_NETWORK.fullmatch(address) is not None
    else:
        try:
            valid = "%" not in address and bool(ipaddress.IPv6Address(address).exploded)
        except ValueError:
            valid = False
    if not valid:
        version = "IPv4" if kind is Kind.IP4 else "IPv6"
        raise SpfSyntaxError(text, f"is not a valid {version} address")


def _check_domain_spec(text: str, spec: str, *, exp: bool) -> None:
    """Section 12: domain-spec = macro-string domain-end; domain-end = "." toplabel ["."]."""
    if not spec:
        raise SpfSyntaxError(text, "has no domain")
    _check_macro_string(text, spec, exp=exp)
    last = list(_MACRO.finditer(spec))
    if last and last[-1].end() == len(spec) and last[-1].group(1) is not None:
        return  # the domain-end is a macro-expand
    literal = spec.rstrip(".") if spec.endswith(".") and not spec.endswith("..") else spec
    labels = literal.split(".")
    if len(labels) < 2 or not _TOPLABEL.fullmatch(labels[-1]):
        raise SpfSyntaxError(text, "does not name a valid domain (it needs a top-level label)")
    if "%" not in literal and (
        any(not label or len(label) > MAX_LABEL for label in labels) or len(literal) > MAX_NAME
    ):
        raise SpfSyntaxError(text, "does not name a valid domain")


def _check_macro_string(text: str, value: str, *, exp: bool) -> None:
    """Section 7.1: visible characters; every "%" starts a valid macro-expand."""
    if not _VISIBLE.fullmatch(value):
        raise SpfSyntaxError(text, "contains a character SPF does not allow")
    position = 0
    while (percent := value.find("%", position)) >= 0:
        match = _MACRO.match(value, percent)
        if match is None:
            raise SpfSyntaxError(text, "has a malformed macro (section 7.1)")
        letter = (match.group(1) or "").lower()
        allowed = _MACRO_LETTERS | (_EXP_ONLY_LETTERS if exp else frozenset())
        if letter and letter not in allowed:
            raise SpfSyntaxError(text, f"uses the macro letter {letter!r}, not allowed here")
        position = match.end()


def _normalised(target: str | None) -> str | None:
    if target is None:
        return None
    return target.lower().removesuffix(".")
