"""RFC 7208 as receivers apply it, without DNS: syntax of every term, limits, includes, redirect."""

from __future__ import annotations

import pytest

from email_channels.integrations.dns import Observation, Outcome
from email_channels.ses_setups.spf import Query, SpfEvaluation, evaluate_spf, follow
from email_channels.ses_setups.spf_syntax import Kind, SpfSyntaxError, parse_record

D = "bounce.example.com"

VALID = [
    "v=spf1",
    "v=spf1 include:amazonses.com ~all",
    "V=SPF1 +INCLUDE:AmazonSES.com. -ALL",
    "v=spf1  ip4:192.0.2.0/24   ip6:2001:db8::/32 include:amazonses.com ?all ",
    "v=spf1 ip4:0.0.0.0/0 ip6:::1 ip6:::ffff:192.0.2.1 -all",
    "v=spf1 a a/24 a//64 a/24//64 a:mail.example.com/32 mx:example.com/0 -all",
    "v=spf1 ptr ptr:example.org exists:%{i}.bl.example.org -all",
    "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} include:%{d2}.example.net -all",
    "v=spf1 exists:%{IR}.%{V}._spf.%{D2} ~all",
    "v=spf1 include:amazonses.com exp=explain.%{d} ~all",
    "v=spf1 include:amazonses.com ra=postmaster rp=100 rr=all foo.bar=%{d}%% -all",
    "v=spf1 include:amazonses.com -all moo=x moo=y",
    "v=spf1 redirect=_spf.example.com",
    "v=spf1 include:_spf.example-host.com include:amazonses.com ~all",
    "v=spf1 include:a.b-c.xn--p1ai ~all",
    "v=spf1 include:example.1-2 ~all",
]


@pytest.mark.parametrize("record", VALID)
def test_valid_syntax(record: str) -> None:
    parse_record(record)


INVALID = [
    ("v=spf1 inclde:amazonses.com include:amazonses.com ~all", "inclde:amazonses.com"),
    ("v=spf1 ip4:192.0.2.300 include:amazonses.com ~all", "ip4:192.0.2.300"),
    ("v=spf1 ip4:192.0.02.1 -all", "ip4:192.0.02.1"),
    ("v=spf1 ip4:192.0.2.0/33 -all", "ip4:192.0.2.0/33"),
    ("v=spf1 ip4:192.0.2.0/024 -all", "ip4:192.0.2.0/024"),
    ("v=spf1 ip4:2001:db8::1 -all", "ip4:2001:db8::1"),
    ("v=spf1 ip6:192.0.2.1 -all", "ip6:192.0.2.1"),
    ("v=spf1 ip6:2001:db8::/129 -all", "ip6:2001:db8::/129"),
    ("v=spf1 ip4 -all", "ip4"),
    ("v=spf1 a/33 -all", "a/33"),
    ("v=spf1 mx//129 -all", "mx//129"),
    ("v=spf1 a: -all", "a:"),
    ("v=spf1 include -all", "include"),
    ("v=spf1 include:localhost -all", "include:localhost"),
    ("v=spf1 include:example.123 -all", "include:example.123"),
    ("v=spf1 include:example.-a -all", "include:example.-a"),
    ("v=spf1 include:example.a- -all", "include:example.a-"),
    ("v=spf1 include:%{d}. -all", "include:%{d}."),
    ("v=spf1 include:bad..example.com -all", "include:bad..example.com"),
    (f"v=spf1 include:{'x' * 64}.example.com -all", f"include:{'x' * 64}.example.com"),
    ("v=spf1 exists:%{x}.example.com -all", "exists:%{x}.example.com"),
    ("v=spf1 exists:%{c}.example.com -all", "exists:%{c}.example.com"),
    ("v=spf1 exists:100%.example.com -all", "exists:100%.example.com"),
    ("v=spf1 exists:%{d.example.com -all", "exists:%{d.example.com"),
    ("v=spf1 +redirect=example.com", "+redirect=example.com"),
    ("v=spf1 redirect=a.example.com redirect=b.example.com", "redirect=b.example.com"),
    ("v=spf1 exp=a.example.com exp=b.example.com -all", "exp=b.example.com"),
    ("v=spf1 redirect= ", "redirect="),
    ("v=spf1 -all include:amazonses.com inclde:x.example.com", "inclde:x.example.com"),
    ("v=spf1 all:example.com", "all:example.com"),
    ("v=spf1 ~", "~"),
    ("v=spf1 ptr/24 -all", "ptr/24"),
    ("v=spf1 1x=y -all", "1x=y"),
    ("v=spf1 a\tmx -all", "a\tmx"),
]


@pytest.mark.parametrize(("record", "term"), INVALID, ids=[r for r, _ in INVALID])
def test_syntax_error_names_the_term(record: str, term: str) -> None:
    with pytest.raises(SpfSyntaxError) as raised:
        parse_record(record)
    assert raised.value.term == term


def answers(
    zone: dict[str, tuple[str, ...]], *, failing: dict[Query, str] | None = None
) -> dict[Query, Observation]:
    """Every (name, type) the walk may ask: TXT, A and MX from `zone` ("name/TYPE" keys)."""
    seen: dict[Query, Observation] = {}
    names = {key.split("/")[0] for key in zone}
    for name in [*names, *(f"missing{i}.example.com" for i in range(5))]:
        for rdtype in ("TXT", "A", "MX"):
            values = zone.get(f"{name}/{rdtype}", ())
            outcome = Outcome.ANSWER if values else Outcome.NO_DATA
            if name not in names:
                outcome = Outcome.NXDOMAIN
            seen[(name, rdtype)] = Observation(name, rdtype, outcome, values)
    for query, detail in (failing or {}).items():
        seen[query] = Observation(*query, Outcome.FAILURE, detail=detail)
    return seen


ZONE = {
    "_spf.example.com/TXT": ("v=spf1 include:amazonses.com -all",),
    "_nested.example.com/TXT": ("v=spf1 include:_spf.example.com -all",),
    "_other.example.com/TXT": ("v=spf1 ip4:192.0.2.1 -all",),
    "_broken.example.com/TXT": ("v=spf1 ip4:192.0.2.1 bogus -all",),
    "_two.example.com/TXT": ("v=spf1 -all", "v=spf1 ~all"),
    "_text.example.com/TXT": ("hello",),
    "_loop.example.com/TXT": ("v=spf1 include:_loop2.example.com -all",),
    "_loop2.example.com/TXT": ("v=spf1 include:_loop.example.com -all",),
    "_redirect.example.com/TXT": ("v=spf1 redirect=_spf.example.com",),
    "_five.example.com/TXT": ("v=spf1 a mx a mx a -all",),
    "host.example.com/A": ("192.0.2.1",),
    "_five.example.com/A": ("192.0.2.1",),
    "_five.example.com/MX": ("10 host.example.com",),
    "_manymx.example.com/MX": tuple(f"{i} mx{i}.example.com" for i in range(11)),
}


def evaluated(record: str, *, failing: dict[Query, str] | None = None) -> SpfEvaluation:
    return evaluate_spf(record, domain=D, answers=answers(ZONE, failing=failing))


@pytest.mark.parametrize(
    ("record", "authorised"),
    [
        ("v=spf1 include:amazonses.com ~all", True),
        ("v=spf1 include:_spf.example.com ~all", True),
        ("v=spf1 include:_nested.example.com ~all", True),
        ("v=spf1 redirect=_spf.example.com", True),
        ("v=spf1 redirect=_redirect.example.com", True),
        ("v=spf1 include:_redirect.example.com -all", True),
        ("v=spf1 -include:amazonses.com ~all", False),
        ("v=spf1 ?include:_spf.example.com ~all", False),
        ("v=spf1 ~all include:amazonses.com", False),
        ("v=spf1 ~all redirect=_spf.example.com", False),  # section 6.1: all wins
        ("v=spf1 include:_other.example.com -all", False),
        ("v=spf1 include:_other.example.com redirect=_spf.example.com", True),
    ],
)
def test_authorisation_through_includes_and_redirect(record: str, authorised: bool) -> None:
    evaluation = evaluated(record)
    assert evaluation.permerror is None, evaluation.permerror
    assert evaluation.failed_lookup is None
    assert evaluation.authorises_ses is authorised


@pytest.mark.parametrize(
    ("record", "names"),
    [
        ("v=spf1 include:_broken.example.com include:amazonses.com -all", ("bogus",)),
        ("v=spf1 include:_two.example.com include:amazonses.com -all", ("2 SPF records",)),
        ("v=spf1 include:_text.example.com include:amazonses.com -all", ("no SPF record",)),
        ("v=spf1 include:missing0.example.com include:amazonses.com -all", ("no SPF record",)),
        ("v=spf1 redirect=missing0.example.com", ("redirect=missing0.example.com",)),
        ("v=spf1 include:_loop.example.com include:amazonses.com -all", ("loops back",)),
        ("v=spf1 include:_manymx.example.com include:amazonses.com -all", ("no SPF record",)),
        ("v=spf1 mx:_manymx.example.com include:amazonses.com -all", ("11 MX records",)),
        (
            "v=spf1 a:missing0.example.com a:missing1.example.com mx:missing2.example.com "
            "include:amazonses.com -all",
            ("mx:missing2.example.com finds nothing", "lookup number 3"),
        ),
        (
            "v=spf1 include:_five.example.com include:_five.example.com include:amazonses.com -all",
            ("mx (in the SPF record of _five.example.com", "term number 11"),
        ),
        (
            "v=spf1 ptr ptr ptr ptr ptr ptr ptr ptr ptr include:amazonses.com a -all",
            ("a is DNS-querying term number 11",),
        ),
    ],
)
def test_permerrors_name_the_term(record: str, names: tuple[str, ...]) -> None:
    evaluation = evaluated(record)
    assert evaluation.permerror is not None
    for name in names:
        assert name in evaluation.permerror


def test_terms_after_all_are_not_counted() -> None:
    record = "v=spf1 include:amazonses.com -all " + " ".join(["a"] * 12)
    evaluation = evaluated(record)
    assert (evaluation.permerror, evaluation.dns_terms, evaluation.authorises_ses) == (
        None,
        1,
        True,
    )


def test_lookups_count_through_includes_and_redirects() -> None:
    evaluation = evaluated("v=spf1 include:_five.example.com redirect=_redirect.example.com")
    # include (1) + its five, redirect (1) + its redirect (1) + include:amazonses.com (1)
    assert (evaluation.dns_terms, evaluation.void_lookups) == (9, 0)
    assert evaluation.permerror is None


def test_failed_include_is_undecided_not_a_permerror() -> None:
    evaluation = evaluated(
        "v=spf1 include:_spf.example.com include:amazonses.com ~all",
        failing={("_spf.example.com", "TXT"): "timed out"},
    )
    assert evaluation.permerror is None
    assert evaluation.failed_lookup == ("include:_spf.example.com", "_spf.example.com", "timed out")


def test_default_record_needs_no_lookup() -> None:
    evaluation = evaluate_spf("v=spf1 include:amazonses.com ~all", domain=D, answers={})
    assert evaluation.pending == ()
    assert evaluation.authorises_ses


async def test_follow_asks_one_level_per_round_concurrently() -> None:
    rounds: list[list[Query]] = []
    zone = answers(ZONE)

    async def ask(queries: list[Query]) -> dict[Query, Observation]:
        rounds.append(queries)
        return {query: zone[query] for query in queries}

    record = "v=spf1 include:_nested.example.com include:_other.example.com mx ~all"
    found = await follow(record, domain="_five.example.com", ask=ask)
    assert rounds == [
        [
            ("_nested.example.com", "TXT"),
            ("_other.example.com", "TXT"),
            ("_five.example.com", "MX"),
        ],
        [("_spf.example.com", "TXT")],
    ]
    evaluation = evaluate_spf(record, domain="_five.example.com", answers=found)
    assert (evaluation.authorises_ses, evaluation.pending) == (True, ())


def test_parse_keeps_kinds_and_targets() -> None:
    terms = parse_record("v=spf1 -A:Mail.Example.COM./24 redirect=X.example.com")
    assert [(t.kind, t.qualifier, t.target) for t in terms] == [
        (Kind.A, "-", "mail.example.com"),
        (Kind.REDIRECT, "", "x.example.com"),
    ]
