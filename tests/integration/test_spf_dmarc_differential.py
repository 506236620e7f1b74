"""Our SPF and DMARC verdicts against checkdmarc's, record by record, both reading one BIND 9.

checkdmarc is a maintained evaluator no one here wrote. Where it and we disagree, the case is
listed in EXCEPTIONS with the RFC text that decides it; any other difference fails the test,
and so does a listed exception that no longer differs.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import checkdmarc.dmarc
import checkdmarc.spf
import dns.nameserver
import dns.resolver
import pytest

from email_channels.integrations.dns import Observation, Outcome, Query
from email_channels.integrations.dns.resolver import DnsPythonLookup
from email_channels.ses_setups.records import ExpectedRecord, Purpose
from email_channels.ses_setups.spf import evaluate_spf
from email_channels.ses_setups.spf_syntax import is_spf_record
from email_channels.ses_setups.txt_rules import dmarc_problem, spf_lookups
from tests.support.bind import BindServer, find_named
from tests.support.spf_dmarc_corpus import (
    AMAZON,
    CORPUS,
    DMARC_CASES,
    SPF_CASES,
    Case,
    amazon_zone_text,
    dmarc_domain,
    dmarc_name,
    spf_name,
    zone_text,
)

pytestmark = pytest.mark.bind

# Where checkdmarc's verdict differs from RFC 7208 / RFC 7489, and so from ours: case id to why.
EXCEPTIONS: dict[str, str] = {
    # checkdmarc stricter than the RFC
    "V=SPF1 INCLUDE:AMAZONSES.COM ~ALL": (
        "checkdmarc takes the version in capitals for no SPF record. RFC 7208 section 12 writes "
        'it as the ABNF string version = "v=spf1", and RFC 5234 section 2.3 makes ABNF strings '
        "case-insensitive; section 4.6.1 says the same of mechanism names."
    ),
    "DMARC beside other TXT": (
        "checkdmarc fails a DMARC record that has other TXT records beside it. RFC 7489 section "
        '6.6.3 step 3: "Records that do not start with a "v=" tag that identifies the current '
        'version of DMARC are discarded", and the one DMARC record left applies.'
    ),
    "rua that is no URI": (
        'checkdmarc fails the record for a malformed rua=. RFC 7489 section 6.3: "Syntax errors '
        "in the remainder of the record SHOULD be discarded in favor of default values (if any) "
        'or ignored outright"; only an invalid p= or sp= changes what receivers do (6.6.3).'
    ),
    "invalid fo": "As for rua: RFC 7489 section 6.3 has receivers discard the malformed fo=.",
    "invalid np": (
        "np= is no RFC 7489 tag (RFC 9989 added it), and RFC 7489 section 6.3 says "
        '"Unknown tags MUST be ignored"; a malformed value is discarded besides (6.3).'
    ),
    # checkdmarc more lenient than the RFC
    "syntax error after all": (
        'checkdmarc ignores the text after the first all. RFC 7208 section 4.6: "If there are '
        "any syntax errors anywhere in the record, check_host() returns immediately with the "
        'result "permerror", without further interpretation or evaluation."'
    ),
    "tab between terms": (
        "checkdmarc splits terms on any white space. RFC 7208 section 12: terms = *( 1*SP "
        "( directive / modifier ) ), spaces only, so a tab is inside a term, which then is no "
        "mechanism or modifier: a syntax error, permerror (section 4.6)."
    ),
    "three, no data": (
        "checkdmarc asks A and AAAA for an a mechanism and counts a void lookup only when both "
        'are empty. RFC 7208 section 5.3 looks up "the type of lookup (A or AAAA) appropriate '
        'for the connection type"; Amazon SES connects over IPv4 (amazonses.com authorises only '
        "ip4: ranges), so a name with only AAAA records is a void A lookup (section 4.6.4): "
        "three, more than the two allowed."
    ),
    "no p": (
        "checkdmarc follows RFC 9989, where p= defaults to none. RFC 7489 section 6.3: "
        '"p: Requested Mail Receiver policy (plain-text; REQUIRED for policy records)", and '
        "without a valid p= and rua= receivers apply no DMARC (section 6.6.3)."
    ),
    "no p, with rua": (
        "checkdmarc follows RFC 9989, where p= defaults to none. RFC 7489 section 6.3 makes "
        "p= REQUIRED; section 6.6.3 only has receivers fall back to p=none for a record that "
        "lacks it, which is not the policy the customer meant to publish."
    ),
}


@pytest.fixture(scope="module")
def corpus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BindServer]:
    """A BIND of its own serving corpus.test and a copy of amazonses.com's SPF record."""
    named = find_named()
    if named is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("BIND 9 (named) is not installed")
        pytest.skip("BIND 9 (named) is not installed")
    # Both zones are added after the start: a zone file rewritten in the second it was first
    # loaded would keep its old contents (BIND compares modification times).
    workdir = Path(tmp_path_factory.mktemp("corpus"))
    server = BindServer(workdir, named=named, zones=["start.test"])
    server.start()
    try:
        server.add_zone(CORPUS, zone_text=zone_text())
        server.add_zone(AMAZON, zone_text=amazon_zone_text())
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lookup(corpus_server: BindServer) -> DnsPythonLookup:
    return DnsPythonLookup(nameservers=corpus_server.nameservers, timeout=1.0, lifetime=2.0)


def their_resolver(
    server: BindServer,
) -> tuple[list[dns.nameserver.Nameserver], dns.resolver.Resolver]:
    """checkdmarc pointed at the corpus BIND: a port of its own, so a Nameserver object."""
    nameservers: list[dns.nameserver.Nameserver] = [
        dns.nameserver.Do53Nameserver(server.host, server.port)
    ]
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = list(nameservers)
    resolver.timeout, resolver.lifetime, resolver.cache = 1.0, 2.0, None
    return nameservers, resolver


async def our_spf(lookup: DnsPythonLookup, name: str) -> tuple[bool, int | None]:
    """Whether every receiver accepts the SPF record at `name`, and its DNS-querying terms."""
    seen = await lookup.query(name, "TXT")
    found = seen.values if seen.outcome is Outcome.ANSWER else ()
    records = [value for value in found if is_spf_record(value)]
    if len(records) != 1:
        return False, None
    deadline = asyncio.get_running_loop().time() + 2.0

    async def ask(queries: list[Query]) -> Mapping[Query, Observation]:
        return dict(zip(queries, await lookup.query_all(queries, deadline=deadline), strict=True))

    answers = await spf_lookups(found, address=name, ask=ask)
    evaluation = evaluate_spf(records[0], domain=name, answers=answers)
    assert (evaluation.failed_lookup, evaluation.pending) == (None, ())  # BIND answered all
    return evaluation.permerror is None, evaluation.dns_terms


def their_spf(server: BindServer, name: str) -> tuple[bool, int | None, str]:
    nameservers, resolver = their_resolver(server)
    result = checkdmarc.spf.check_spf(
        name, nameservers=nameservers, resolver=resolver, timeout=1.0, retries=0
    )
    return bool(result["valid"]), result.get("dns_lookups"), str(result.get("error", ""))


async def our_dmarc(lookup: DnsPythonLookup, domain: str) -> bool:
    seen = await lookup.query(f"_dmarc.{domain}", "TXT")
    found = seen.values if seen.outcome is Outcome.ANSWER else ()
    expected = ExpectedRecord(Purpose.DMARC, "TXT", f"_dmarc.{domain}", "v=DMARC1; p=none;")
    return dmarc_problem(expected, found, domain) is None


def their_dmarc(server: BindServer, domain: str) -> tuple[bool, str]:
    nameservers, resolver = their_resolver(server)
    result = checkdmarc.dmarc.check_dmarc(
        domain, nameservers=nameservers, resolver=resolver, timeout=1.0, retries=0
    )
    return bool(result["valid"]), str(result.get("error", ""))


def assert_agree(case: Case, ours: bool, theirs: bool, why: str) -> None:
    assert ours is case.valid, f"our verdict on {case.id!r} changed"
    if case.id in EXCEPTIONS:
        assert ours is not theirs, f"{case.id!r} is listed as an exception but both agree"
    else:
        assert ours is theirs, f"{case.id!r}: ours valid={ours}, checkdmarc valid={theirs} {why}"


@pytest.mark.parametrize("index", range(len(SPF_CASES)), ids=[c.id for c in SPF_CASES])
async def test_spf_verdict_agrees_with_checkdmarc(
    corpus_server: BindServer, lookup: DnsPythonLookup, index: int
) -> None:
    case, name = SPF_CASES[index], spf_name(index)
    ours, our_terms = await our_spf(lookup, name)
    theirs, their_terms, error = await asyncio.to_thread(their_spf, corpus_server, name)
    assert_agree(case, ours, theirs, error)
    if ours and theirs:
        assert our_terms == their_terms, "the DNS-querying terms are counted alike"


@pytest.mark.parametrize("index", range(len(DMARC_CASES)), ids=[c.id for c in DMARC_CASES])
async def test_dmarc_verdict_agrees_with_checkdmarc(
    corpus_server: BindServer, lookup: DnsPythonLookup, index: int
) -> None:
    case, domain = DMARC_CASES[index], dmarc_domain(index)
    assert dmarc_name(index) == f"_dmarc.{domain}"
    ours = await our_dmarc(lookup, domain)
    theirs, error = await asyncio.to_thread(their_dmarc, corpus_server, domain)
    assert_agree(case, ours, theirs, error)


def test_corpus_is_large_enough() -> None:
    assert len(SPF_CASES) >= 60
    assert len(DMARC_CASES) >= 30
    assert len({c.id for c in SPF_CASES}) == len(SPF_CASES)
    assert len({c.id for c in DMARC_CASES}) == len(DMARC_CASES)
