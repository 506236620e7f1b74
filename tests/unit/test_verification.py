"""The verification rules of DESIGN.md section 4, table-driven, without any DNS."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from email_channels.integrations.dns import Observation, Outcome
from email_channels.ses_setups.records import ExpectedRecord, Purpose, expected_records
from email_channels.ses_setups.verification import (
    NOT_CHECKED,
    RecordResult,
    RecordStatus,
    diagnostic_queries,
    evaluate,
)

D = "example.com"
RECORDS = expected_records(
    domain=D,
    region="us-east-1",
    mail_from_subdomain="bounce",
    dkim_tokens=["t1", "t2", "t3"],
    signing_hosted_zone="dkim.amazonses.com",
)
DKIM, MAIL_FROM_MX, SPF, INBOUND_MX, DMARC = RECORDS[0], *RECORDS[3:]
BY_PURPOSE = {Purpose.DKIM: DKIM, Purpose.MAIL_FROM_MX: MAIL_FROM_MX, Purpose.SPF: SPF}
BY_PURPOSE |= {Purpose.INBOUND_MX: INBOUND_MX, Purpose.DMARC: DMARC}
FEEDBACK = "feedback-smtp.us-east-1.amazonses.com"
INBOUND = "inbound-smtp.us-east-1.amazonaws.com"


def answer(name: str, rdtype: str, *values: str) -> Observation:
    return Observation(name, rdtype, Outcome.ANSWER, values)


def nxdomain(name: str, rdtype: str) -> Observation:
    return Observation(name, rdtype, Outcome.NXDOMAIN)


def no_data(name: str, rdtype: str) -> Observation:
    return Observation(name, rdtype, Outcome.NO_DATA)


def failure(name: str, rdtype: str, detail: str = "timed out") -> Observation:
    return Observation(name, rdtype, Outcome.FAILURE, detail=detail)


def at(record: ExpectedRecord, *values: str) -> Observation:
    return answer(record.address, record.type, *values)


@dataclass(frozen=True)
class Case:
    id: str
    purpose: Purpose
    seen: tuple[Observation, ...]
    status: RecordStatus
    found: tuple[str, ...] = ()
    reason_has: tuple[str, ...] = ()


V, MISSING, MISMATCH = RecordStatus.VERIFIED, RecordStatus.MISSING, RecordStatus.MISMATCH
A_DKIM = DKIM.address
A_BOUNCE = MAIL_FROM_MX.address
A_DMARC = DMARC.address
SPF_OK = "v=spf1 include:amazonses.com ~all"

CASES = [
    # dkim
    Case("dkim right", Purpose.DKIM, (at(DKIM, "t1.dkim.amazonses.com"),), V,
         ("t1.dkim.amazonses.com",)),
    Case("dkim target upper case with final dot", Purpose.DKIM,
         (at(DKIM, "T1.DKIM.AmazonSES.com."),), V, ("T1.DKIM.AmazonSES.com.",)),
    Case("dkim other target", Purpose.DKIM, (at(DKIM, "t1.dkim.example.net"),), MISMATCH,
         ("t1.dkim.example.net",), ("t1.dkim.example.net", "change its value to t1.dkim")),
    Case("dkim value with the domain appended", Purpose.DKIM,
         (at(DKIM, f"t1.dkim.amazonses.com.{D}"),), MISMATCH, (f"t1.dkim.amazonses.com.{D}",),
         ("appended your domain to the value", "final dot")),
    Case("dkim missing", Purpose.DKIM, (nxdomain(A_DKIM, "CNAME"),), MISSING, (),
         ("No CNAME record exists at t1._domainkey.example.com", "t1.dkim.amazonses.com")),
    Case("dkim published with the domain twice", Purpose.DKIM,
         (nxdomain(A_DKIM, "CNAME"), answer(f"{A_DKIM}.{D}", "CNAME", "t1.dkim.amazonses.com")),
         MISSING, (), (f"{A_DKIM}.{D}", "enter only 't1._domainkey'")),
    Case("dkim proxied: A records", Purpose.DKIM,
         (no_data(A_DKIM, "CNAME"), answer(A_DKIM, "A", "104.16.1.1"), no_data(A_DKIM, "AAAA")),
         MISMATCH, (), ("104.16.1.1", "turn off the proxy")),
    Case("dkim flattened: AAAA only", Purpose.DKIM,
         (no_data(A_DKIM, "CNAME"), nxdomain(A_DKIM, "A"), answer(A_DKIM, "AAAA", "2001:db8::1")),
         MISMATCH, (), ("2001:db8::1", "turn off the proxy")),
    Case("dkim name without any address record", Purpose.DKIM,
         (no_data(A_DKIM, "CNAME"), no_data(A_DKIM, "A"), no_data(A_DKIM, "AAAA")),
         MISSING, (), ("No CNAME record",)),
    Case("dkim missing, diagnostics failed", Purpose.DKIM,
         (no_data(A_DKIM, "CNAME"), failure(A_DKIM, "A"), failure(f"{A_DKIM}.{D}", "CNAME")),
         MISSING, (), ("No CNAME record",)),
    # mail_from_mx
    Case("mail from mx right", Purpose.MAIL_FROM_MX, (at(MAIL_FROM_MX, f"10 {FEEDBACK}"),), V,
         (f"10 {FEEDBACK}",)),
    Case("mail from mx other preference", Purpose.MAIL_FROM_MX,
         (at(MAIL_FROM_MX, f"20 {FEEDBACK.upper()}"),), V, (f"20 {FEEDBACK.upper()}",)),
    Case("mail from mx with an extra mx", Purpose.MAIL_FROM_MX,
         (at(MAIL_FROM_MX, f"10 {FEEDBACK}", "20 mx.example.net"),), MISMATCH,
         (f"10 {FEEDBACK}", "20 mx.example.net"), ("exactly one MX", "20 mx.example.net")),
    Case("mail from mx twice", Purpose.MAIL_FROM_MX,
         (at(MAIL_FROM_MX, f"10 {FEEDBACK}", f"20 {FEEDBACK}"),), MISMATCH,
         (f"10 {FEEDBACK}", f"20 {FEEDBACK}"), ("exactly one MX", f"20 {FEEDBACK}")),
    Case("mail from mx elsewhere", Purpose.MAIL_FROM_MX, (at(MAIL_FROM_MX, "10 mx.example.net"),),
         MISMATCH, ("10 mx.example.net",), ("10 mx.example.net instead of", FEEDBACK)),
    Case("mail from mx with the domain twice", Purpose.MAIL_FROM_MX,
         (nxdomain(A_BOUNCE, "MX"), answer(f"{A_BOUNCE}.{D}", "MX", f"10 {FEEDBACK}")),
         MISSING, (), ("enter only 'bounce'",)),
    # spf
    Case("spf right", Purpose.SPF, (at(SPF, SPF_OK),), V, (SPF_OK,)),
    Case("spf with other includes", Purpose.SPF,
         (at(SPF, "v=spf1 include:_spf.google.com include:amazonses.com ~all"),
          answer("_spf.google.com", "TXT", "v=spf1 ip4:192.0.2.0/24 ~all")), V,
         ("v=spf1 include:_spf.google.com include:amazonses.com ~all",)),
    Case("spf upper case", Purpose.SPF, (at(SPF, "V=SPF1 +INCLUDE:AMAZONSES.COM -ALL"),), V,
         ("V=SPF1 +INCLUDE:AMAZONSES.COM -ALL",)),
    Case("spf beside other txt records", Purpose.SPF,
         (at(SPF, "google-site-verification=abc", SPF_OK),), V,
         ("google-site-verification=abc", SPF_OK)),
    Case("spf without the include", Purpose.SPF,
         (at(SPF, "v=spf1 mx -all"), at(MAIL_FROM_MX, f"10 {FEEDBACK}")), MISMATCH,
         ("v=spf1 mx -all",), ('"v=spf1 mx -all"', "add include:amazonses.com")),
    Case("spf with a look-alike include", Purpose.SPF,
         (at(SPF, "v=spf1 include:amazonses.com.evil.example ~all"),
          answer("amazonses.com.evil.example", "TXT", "v=spf1 -all")), MISMATCH,
         ("v=spf1 include:amazonses.com.evil.example ~all",), ("does not include",)),
    Case("spf twice", Purpose.SPF, (at(SPF, SPF_OK, "v=spf1 include:_spf.google.com ~all"),),
         MISMATCH, (SPF_OK, "v=spf1 include:_spf.google.com ~all"),
         ("2 SPF records", "merge them into one")),
    Case("spf include with a final dot", Purpose.SPF,
         (at(SPF, "v=spf1 include:amazonses.com. -all"),), V,
         ("v=spf1 include:amazonses.com. -all",)),
    Case("spf without an all term", Purpose.SPF, (at(SPF, "v=spf1 include:amazonses.com"),), V,
         ("v=spf1 include:amazonses.com",)),
    Case("spf with a redirect after the include", Purpose.SPF,
         (at(SPF, "v=spf1 include:amazonses.com redirect=_spf.example.net"),
          answer("_spf.example.net", "TXT", "v=spf1 -all")), V,
         ("v=spf1 include:amazonses.com redirect=_spf.example.net",)),
    *[Case(f"spf include after {term}", Purpose.SPF,
           (at(SPF, f"v=spf1 mx {term} include:amazonses.com"), at(MAIL_FROM_MX, f"10 {FEEDBACK}")),
           MISMATCH,
           (f"v=spf1 mx {term} include:amazonses.com",),
           (f"include:amazonses.com after its {term} term", "never evaluate",
            f"move include:amazonses.com before {term}"))
      for term in ("-all", "~all", "?all", "+all", "all", "-ALL")],
    Case("spf include after all, with a final dot", Purpose.SPF,
         (at(SPF, "v=spf1 -all include:amazonses.com."),), MISMATCH,
         ("v=spf1 -all include:amazonses.com.",), ("include:amazonses.com. after its -all",)),
    Case("spf include that fails", Purpose.SPF, (at(SPF, "v=spf1 -include:amazonses.com ~all"),),
         MISMATCH, ("v=spf1 -include:amazonses.com ~all",), ("does not include",)),
    Case("spf all-like words are not all", Purpose.SPF,
         (at(SPF, "v=spf1 a:all.example.net include:amazonses.com ~all"),
          answer("all.example.net", "A", "192.0.2.1")), V,
         ("v=spf1 a:all.example.net include:amazonses.com ~all",)),
    Case("spf version alone", Purpose.SPF, (at(SPF, "v=spf1"),), MISMATCH, ("v=spf1",),
         ("does not include amazonses.com", "before its all term")),
    Case("spf version followed by a tab is no spf record", Purpose.SPF,
         (at(SPF, "v=spf1\tinclude:amazonses.com"),), MISMATCH,
         ("v=spf1\tinclude:amazonses.com",), ("None of the TXT records",)),
    Case("two spf records, one in upper case", Purpose.SPF,
         (at(SPF, SPF_OK, "V=SPF1 -all"),), MISMATCH, (SPF_OK, "V=SPF1 -all"),
         ("2 SPF records", "merge them into one")),
    Case("txt but no spf", Purpose.SPF, (at(SPF, "v=spf10 include:amazonses.com"),), MISMATCH,
         ("v=spf10 include:amazonses.com",), ("None of the TXT records", SPF_OK)),
    Case("spf with a term that is no mechanism", Purpose.SPF,
         (at(SPF, "v=spf1 inclde:amazonses.com include:amazonses.com ~all"),), MISMATCH,
         ("v=spf1 inclde:amazonses.com include:amazonses.com ~all",),
         ("inclde:amazonses.com is not an SPF mechanism", "every receiver now fails SPF")),
    Case("spf include whose lookup failed", Purpose.SPF,
         (at(SPF, "v=spf1 include:_spf.example.net include:amazonses.com ~all"),
          failure("_spf.example.net", "TXT")), RecordStatus.UNKNOWN,
         ("v=spf1 include:_spf.example.net include:amazonses.com ~all",),
         ("lookup of _spf.example.net", "include:_spf.example.net", "timed out")),
    Case("spf include not looked up", Purpose.SPF,
         (at(SPF, "v=spf1 include:_spf.example.net include:amazonses.com ~all"),),
         RecordStatus.UNKNOWN, ("v=spf1 include:_spf.example.net include:amazonses.com ~all",),
         ("needs lookups of _spf.example.net",)),
    Case("spf missing", Purpose.SPF, (no_data(A_BOUNCE, "TXT"),), MISSING, (),
         ("No TXT record exists at bounce.example.com", f'"{SPF_OK}"')),
    # inbound_mx
    Case("inbound mx right", Purpose.INBOUND_MX, (at(INBOUND_MX, f"10 {INBOUND}"),), V,
         (f"10 {INBOUND}",)),
    Case("inbound mx with a backup behind it", Purpose.INBOUND_MX,
         (at(INBOUND_MX, f"10 {INBOUND}", "20 backup.example.net"),), V,
         (f"10 {INBOUND}", "20 backup.example.net")),
    Case("inbound mx tied for lowest", Purpose.INBOUND_MX,
         (at(INBOUND_MX, "5 other.example.net", f"5 {INBOUND}"),), V,
         ("5 other.example.net", f"5 {INBOUND}")),
    Case("inbound mx behind a lower preference", Purpose.INBOUND_MX,
         (at(INBOUND_MX, "5 mx.example.net", f"10 {INBOUND}"),), MISMATCH,
         ("5 mx.example.net", f"10 {INBOUND}"), ("5 mx.example.net", "lower preference")),
    Case("inbound mx elsewhere", Purpose.INBOUND_MX, (at(INBOUND_MX, "10 mx.example.net"),),
         MISMATCH, ("10 mx.example.net",), ("10 mx.example.net instead of",)),
    Case("inbound mx with the domain twice", Purpose.INBOUND_MX,
         (no_data(D, "MX"), answer(f"{D}.{D}", "MX", f"10 {INBOUND}")), MISSING, (),
         ("enter @ or leave the name empty",)),
    # dmarc
    Case("dmarc right", Purpose.DMARC, (at(DMARC, "v=DMARC1; p=none;"),), V,
         ("v=DMARC1; p=none;",)),
    Case("dmarc reject", Purpose.DMARC, (at(DMARC, "v=DMARC1; p=reject; rua=mailto:d@x.example"),),
         V, ("v=DMARC1; p=reject; rua=mailto:d@x.example",)),
    Case("dmarc with spaces", Purpose.DMARC, (at(DMARC, "v = DMARC1 ; p=none"),), V,
         ("v = DMARC1 ; p=none",)),
    Case("dmarc twice", Purpose.DMARC, (at(DMARC, "v=DMARC1; p=none;", "v=DMARC1; p=reject"),),
         MISMATCH, ("v=DMARC1; p=none;", "v=DMARC1; p=reject"),
         ("2 DMARC records", "delete all but one")),
    Case("dmarc quarantine", Purpose.DMARC, (at(DMARC, "v=DMARC1; p=quarantine; pct=50"),), V,
         ("v=DMARC1; p=quarantine; pct=50",)),
    Case("dmarc policy and tag name in any case", Purpose.DMARC,
         (at(DMARC, "v=DMARC1; P=Reject"),), V, ("v=DMARC1; P=Reject",)),
    Case("dmarc white space around separators", Purpose.DMARC,
         (at(DMARC, "v=DMARC1 ;\tp = quarantine ; rua=mailto:d@x.example"),), V,
         ("v=DMARC1 ;\tp = quarantine ; rua=mailto:d@x.example",)),
    Case("dmarc without p", Purpose.DMARC, (at(DMARC, "v=DMARC1; rua=mailto:d@x.example"),),
         MISMATCH, ("v=DMARC1; rua=mailto:d@x.example",),
         ("has no p= policy tag", "add p=none (or quarantine/reject)")),
    Case("dmarc version alone", Purpose.DMARC, (at(DMARC, "v=DMARC1"),), MISMATCH,
         ("v=DMARC1",), ("has no p= policy tag",)),
    Case("dmarc sp is not p", Purpose.DMARC, (at(DMARC, "v=DMARC1; sp=reject"),), MISMATCH,
         ("v=DMARC1; sp=reject",), ("has no p= policy tag",)),
    Case("dmarc bogus policy", Purpose.DMARC, (at(DMARC, "v=DMARC1; p=bogus"),), MISMATCH,
         ("v=DMARC1; p=bogus",),
         ('"v=DMARC1; p=bogus"', "p=bogus is not a DMARC policy",
          "use none, quarantine or reject")),
    Case("dmarc empty policy", Purpose.DMARC, (at(DMARC, "v=DMARC1; p=; rua=mailto:d@x.example"),),
         MISMATCH, ("v=DMARC1; p=; rua=mailto:d@x.example",), ("p= is not a DMARC policy",)),
    Case("dmarc policy twice", Purpose.DMARC, (at(DMARC, "v=DMARC1; p=none; p=reject"),),
         MISMATCH, ("v=DMARC1; p=none; p=reject",), ("p=none and p=reject", "only one p=")),
    Case("dmarc beside another txt record", Purpose.DMARC,
         (at(DMARC, "some-verification=abc", "v=DMARC1; p=none"),), V,
         ("some-verification=abc", "v=DMARC1; p=none")),
    Case("dmarc invalid sp without rua", Purpose.DMARC,
         (at(DMARC, "v=DMARC1; p=reject; sp=block"),), MISMATCH, ("v=DMARC1; p=reject; sp=block",),
         ("sp=block is not a DMARC policy", "receivers apply no DMARC at all", "set sp=")),
    Case("dmarc invalid sp with a rua that is no uri", Purpose.DMARC,
         (at(DMARC, "v=DMARC1; p=reject; sp=block; rua=reports"),), MISMATCH,
         ("v=DMARC1; p=reject; sp=block; rua=reports",), ("receivers apply no DMARC at all",)),
    Case("dmarc invalid sp with rua", Purpose.DMARC,
         (at(DMARC, "v=DMARC1; p=reject; sp=block; rua=mailto:d@x.example"),), MISMATCH,
         ("v=DMARC1; p=reject; sp=block; rua=mailto:d@x.example",),
         ("sp=block is not a DMARC policy, so receivers act as if it said p=none",)),
    Case("dmarc valid sp", Purpose.DMARC, (at(DMARC, "v=DMARC1; p=none; sp=Reject"),), V,
         ("v=DMARC1; p=none; sp=Reject",)),
    Case("dmarc sp twice", Purpose.DMARC, (at(DMARC, "v=DMARC1; p=none; sp=none; sp=reject"),),
         MISMATCH, ("v=DMARC1; p=none; sp=none; sp=reject",),
         ("sp=none and sp=reject", "repeated tag", "keep only one sp= tag")),
    Case("dmarc malformed optional tags fall back to defaults", Purpose.DMARC,
         (at(DMARC, "v=DMARC1; p=none; pct=150; fo=2; adkim=x; rua=reports"),), V,
         ("v=DMARC1; p=none; pct=150; fo=2; adkim=x; rua=reports",)),
    Case("dmarc tag without a value", Purpose.DMARC, (at(DMARC, "v=DMARC1; p=none; oops"),),
         MISMATCH, ("v=DMARC1; p=none; oops",), ('"oops", which is not a tag=value pair',)),
    Case("dmarc version in lower case", Purpose.DMARC, (at(DMARC, "v=dmarc1; p=none"),),
         MISMATCH, ("v=dmarc1; p=none",), ("None of the TXT records", '"v=dmarc1; p=none"')),
    Case("an answer without values counts as missing", Purpose.INBOUND_MX, (at(INBOUND_MX),),
         MISSING, (), ("No MX record exists at example.com",)),
    Case("dmarc missing", Purpose.DMARC, (nxdomain(A_DMARC, "TXT"),), MISSING, (),
         ("No TXT record exists at _dmarc.example.com",)),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule(case: Case) -> None:
    observations = {(o.name, o.rdtype): o for o in case.seen}
    result = evaluate(BY_PURPOSE[case.purpose], observations, domain=D)
    assert result.status is case.status
    assert result.verified is (case.status is V)
    assert result.found == case.found
    if case.status is V:
        assert result.reason is None
    else:
        assert result.reason is not None
        for text in case.reason_has:
            assert text in result.reason
        assert result.reason.endswith(".")


@pytest.mark.parametrize(
    ("previous", "verified"),
    [(None, False), (NOT_CHECKED, False), (RecordResult(True, V, ("x",), None), True)],
)
@pytest.mark.parametrize("detail", ["timed out", "SERVFAIL", "REFUSED", "no nameservers"])
def test_failed_lookup_is_unknown_and_keeps_verified(
    previous: RecordResult | None, verified: bool, detail: str
) -> None:
    for record in RECORDS:
        seen = failure(record.address, record.type, detail)
        result = evaluate(record, {(seen.name, seen.rdtype): seen}, domain=D, previous=previous)
        assert result.status is RecordStatus.UNKNOWN
        assert result.verified is verified
        assert result.found == ()
        assert result.reason is not None
        assert f"lookup of {record.address} failed ({detail})" in result.reason
        assert "nothing was changed" in result.reason


def test_record_not_looked_up_is_unknown() -> None:
    result = evaluate(SPF, {}, domain=D, previous=RecordResult(True, V, (), None))
    assert (result.status, result.verified) == (RecordStatus.UNKNOWN, True)


@pytest.mark.parametrize(
    ("record", "primary", "queries"),
    [
        (DKIM, at(DKIM, "t1.dkim.amazonses.com"), ()),
        (DKIM, failure(A_DKIM, "CNAME"), ()),
        (DKIM, nxdomain(A_DKIM, "CNAME"), ((f"{A_DKIM}.{D}", "CNAME"),)),
        (
            DKIM,
            no_data(A_DKIM, "CNAME"),
            ((f"{A_DKIM}.{D}", "CNAME"), (A_DKIM, "A"), (A_DKIM, "AAAA")),
        ),
        (MAIL_FROM_MX, no_data(A_BOUNCE, "MX"), ((f"{A_BOUNCE}.{D}", "MX"),)),
        (SPF, nxdomain(A_BOUNCE, "TXT"), ((f"{A_BOUNCE}.{D}", "TXT"),)),
        (INBOUND_MX, nxdomain(D, "MX"), ((f"{D}.{D}", "MX"),)),
        (DMARC, at(DMARC, "v=spf1"), ()),
    ],
)
def test_diagnostic_queries_only_for_missing_records(
    record: ExpectedRecord, primary: Observation, queries: tuple[tuple[str, str], ...]
) -> None:
    assert diagnostic_queries(record, primary, domain=D) == queries


def test_not_checked() -> None:
    assert (NOT_CHECKED.verified, NOT_CHECKED.status) == (False, RecordStatus.UNKNOWN)
    assert (NOT_CHECKED.found, NOT_CHECKED.reason) == ((), "Not checked yet")


@pytest.mark.parametrize(
    "result",
    [
        NOT_CHECKED,
        RecordResult(True, V, ("v=spf1 include:amazonses.com ~all",), None),
        RecordResult(False, MISMATCH, ("10 a.example", "20 b.example"), "Remove b."),
    ],
)
def test_json_round_trip(result: RecordResult) -> None:
    stored = result.to_json()
    assert stored["status"] == result.status.value
    assert RecordResult.from_json(stored) == result


@pytest.mark.parametrize(
    "stored",
    [
        {"verified": "yes", "status": "verified", "found": [], "reason": None},
        {"verified": True, "status": "fine", "found": [], "reason": None},
        {"verified": True, "status": "verified", "found": "x", "reason": None},
        {"verified": True, "status": "verified", "found": [1], "reason": None},
        {"verified": True, "status": "verified", "found": [], "reason": 3},
    ],
)
def test_from_json_refuses_bad_shapes(stored: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"RecordResult|not a valid"):
        RecordResult.from_json(stored)


def test_a_name_too_long_for_dns_is_missing_with_a_reason_not_unknown() -> None:
    domain = ("a" * 62 + ".") * 3 + "b" * 20 + ".example.com"
    record = ExpectedRecord(Purpose.DKIM, "CNAME", f"{'t' * 32}._domainkey.{domain}", "t.z")
    assert len(domain) == 221  # a valid domain; the DKIM name, 265 characters, is not
    failure = Observation(record.address, "CNAME", Outcome.FAILURE, detail="not a valid DNS name")
    result = evaluate(record, {(record.address, "CNAME"): failure}, domain=domain)
    assert result.status is RecordStatus.MISSING
    assert result.verified is False
    assert result.reason is not None
    assert "shorter domain" in result.reason
