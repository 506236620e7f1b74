"""SPF and DMARC records as customers publish them, right and wrong, for the differential test.

Each case is published at its own name in the zone `corpus.test` (SPF at `sNN`, DMARC at
`_dmarc.dNN`), beside the records its includes, redirects and mechanisms point to, and beside a
copy of the SPF record Amazon SES publishes at `amazonses.com` (address ranges only).
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.support.bind import HOST, txt_value

CORPUS = "corpus.test"
AMAZON = "amazonses.com"
AMAZON_SPF = (
    "v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 ip4:54.240.0.0/18 ip4:69.169.224.0/20 "
    "ip4:23.249.208.0/20 ip4:23.251.224.0/19 ip4:76.223.176.0/20 ip4:54.240.64.0/19 "
    "ip4:54.240.96.0/19 ip4:76.223.128.0/19 ip4:216.221.160.0/19 ip4:206.55.144.0/20 -all"
)
C = CORPUS


@dataclass(frozen=True, slots=True)
class Case:
    """One name's TXT records (each a list of character-strings) and our verdict on them."""

    id: str
    records: tuple[tuple[str, ...], ...]
    valid: bool  # what our rules say: True when every receiver accepts the record


def one(value: str, valid: bool, id: str | None = None) -> Case:
    return Case(id or value, ((value,),), valid)


OK, ERR = True, False
A = f"include:{AMAZON}"

SPF_CASES = [
    # valid, in the forms customers type them
    one(f"v=spf1 {A} ~all", OK),
    one(f"v=spf1 {A} -all", OK),
    one("V=SPF1 INCLUDE:AMAZONSES.COM ~ALL", OK),
    one("v=spf1 +include:amazonses.com. ?all", OK),
    one(f"v=spf1   {A}    ~all  ", OK, "extra spaces"),
    Case("two character-strings", (("v=spf1 include:", "amazonses.com ~all"),), OK),
    Case(
        "a long record in three strings",
        (("v=spf1 " + " ".join(f"ip4:192.0.2.{n}" for n in range(1, 13)), f" {A}", " ~all"),),
        OK,
    ),
    one(f"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 {A} ~all", OK),
    one(f"v=spf1 ip4:192.0.2.1 ip4:192.0.2.2/32 ip6:::1 ip6:::ffff:192.0.2.1 {A} -all", OK),
    one(f"v=spf1 a mx {A} ~all", OK),
    one(f"v=spf1 a/24 mx/24//64 a:host.{C}/32 {A} -all", OK),
    one(f"v=spf1 a:host.{C}//64 {A} ~all", OK),
    one(f"v=spf1 ptr ptr:host.{C} {A} ~all", OK),
    one(f"v=spf1 {A}", OK, "no all"),
    one("v=spf1 -all", OK, "valid, but no include"),
    one(f"v=spf1 ~all {A}", OK, "include after all"),
    one(f"v=spf1 ?{A} ~all", OK),
    one(f"v=spf1 {A} ~all -all", OK, "two all terms"),
    one(f"v=spf1 {A} -all foo=bar", OK, "unknown modifier"),
    one(f"v=spf1 {A} ~all ra=postmaster rp=100 rr=all", OK, "RFC 6652 modifiers"),
    one(f"v=spf1 {A} exp=explain.{C} -all", OK),
    one(f"v=spf1 exp=explain.{C} {A} -all", OK, "exp before the mechanisms"),
    # includes and redirects, nested
    one(f"v=spf1 include:nested.{C} ~all", OK),
    one(f"v=spf1 include:deep.{C} ~all", OK),
    one(f"v=spf1 redirect=ok.{C}", OK),
    one(f"v=spf1 redirect=redir.{C}", OK),
    one(f"v=spf1 include:redir.{C} -all", OK),
    one(f"v=spf1 include:other.{C} {A} -all", OK),
    one(f"v=spf1 {A} redirect=other.{C}", OK),
    one(f"v=spf1 redirect=other.{C} ~all", OK, "redirect ignored beside all"),
    one(f"v=spf1 REDIRECT=OK.{C.upper()}", OK),
    # macros
    one(f"v=spf1 exists:%{{i}}._spf.{C} {A} ~all", OK),
    one(f"v=spf1 exists:%{{l}}.%{{o}}.%{{ir}}.%{{v}}.%{{h}}._spf.{C} {A} ~all", OK),
    one(f"v=spf1 exists:%{{d2}}.%{{l1r-}}._spf.{C} {A} ~all", OK),
    one(f"v=spf1 include:%{{d}}.{C} {A} ~all", OK),
    one(f"v=spf1 redirect=%{{d}}._spf.{C}", OK),
    one(f"v=spf1 exists:%%%_%-.{C} {A} ~all", OK),
    one(f"v=spf1 exists:%{{c}}.{C} {A} ~all", ERR, "macro letter c outside exp"),
    one(f"v=spf1 exists:%{{x}}.{C} {A} ~all", ERR, "unknown macro letter"),
    one(f"v=spf1 exists:50%.{C} {A} ~all", ERR, "bare percent"),
    one(f"v=spf1 exists:%{{d {A} ~all", ERR, "unterminated macro"),
    # lookup limits
    one(f"v=spf1 include:four.{C} {A} ~all", OK, "six lookups"),
    one(f"v=spf1 include:five.{C} a mx a {A} ~all", OK, "exactly ten lookups"),
    one(f"v=spf1 include:four.{C} include:four.{C} {A} ~all", ERR, "eleven, repeated include"),
    one(f"v=spf1 include:five.{C} include:four.{C} ~all", ERR, "eleven through includes"),
    one(f"v=spf1 a mx a mx a mx redirect=four.{C}", ERR, "eleven through a redirect"),
    one(f"v=spf1 mx:mx11.{C} {A} ~all", ERR, "eleven MX names"),
    # void lookups
    one(f"v=spf1 a:nx1.{C} {A} ~all", OK, "one void lookup"),
    one(f"v=spf1 a:nx1.{C} a:nx2.{C} {A} ~all", OK, "two void lookups"),
    one(f"v=spf1 a:nx1.{C} a:nx2.{C} mx:nx3.{C} {A} ~all", ERR, "three void lookups"),
    one(f"v=spf1 include:void2.{C} a:nx3.{C} {A} ~all", ERR, "three, two in an include"),
    one(f"v=spf1 a:empty.{C} mx:empty.{C} a:nx1.{C} {A} ~all", ERR, "three, no data"),
    # syntax errors
    one(f"v=spf1 inclde:amazonses.com {A} ~all", ERR),
    one(f"v=spf1 ip4:192.0.2.300 {A} ~all", ERR),
    one(f"v=spf1 ip4:192.0.2.0/33 {A} ~all", ERR),
    one(f"v=spf1 ip4:192.0.2.1/024 {A} ~all", ERR),
    one(f"v=spf1 ip4:2001:db8::1 {A} ~all", ERR),
    one(f"v=spf1 ip6:192.0.2.1 {A} ~all", ERR),
    one(f"v=spf1 ip6:2001:db8::/129 {A} ~all", ERR),
    one(f"v=spf1 a/33 {A} ~all", ERR),
    one(f"v=spf1 a:host.{C}/ {A} ~all", ERR, "empty CIDR length"),
    one(f"v=spf1 include {A} ~all", ERR),
    one(f"v=spf1 include: {A} ~all", ERR),
    one(f"v=spf1 all:{C} {A}", ERR),
    one(f"v=spf1 +redirect=ok.{C}", ERR),
    one(f"v=spf1 redirect=ok.{C} redirect=other.{C}", ERR),
    one(f"v=spf1 {A} exp=a.{C} exp=b.{C} -all", ERR),
    one(f"v=spf1 {A} -all inclde:x.{C}", ERR, "syntax error after all"),
    one(f"v=spf1 include:localhost {A} ~all", ERR, "domain without a top-level label"),
    one(f"v=spf1 a\tinclude:{AMAZON} ~all", ERR, "tab between terms"),
    # what includes and redirects find
    one(f"v=spf1 include:broken.{C} {A} ~all", ERR, "include of a broken record"),
    one(f"v=spf1 include:two.{C} {A} ~all", ERR, "include of two SPF records"),
    one(f"v=spf1 include:text.{C} {A} ~all", ERR, "include of a name without SPF"),
    one(f"v=spf1 include:nx1.{C} {A} ~all", ERR, "include of a missing name"),
    one(f"v=spf1 redirect=text.{C}", ERR, "redirect to a name without SPF"),
    one(f"v=spf1 redirect=nx1.{C}", ERR, "redirect to a missing name"),
    one(f"v=spf1 include:loop1.{C} {A} ~all", ERR, "include loop"),
    one(f"v=spf1 redirect=rloop.{C}", ERR, "redirect loop"),
    Case("two SPF records", ((f"v=spf1 {A} ~all",), ("v=spf1 -all",)), ERR),
    Case("SPF beside other TXT", (("google-site-verification=abc",), (f"v=spf1 {A} ~all",)), OK),
]

R = f"rua=mailto:reports@{C}"

DMARC_CASES = [
    one("v=DMARC1; p=none;", OK),
    one("v=DMARC1; p=none", OK),
    one("v=DMARC1; p=quarantine; pct=50", OK),
    one(f"v=DMARC1; p=reject; {R}", OK),
    one("v=DMARC1;p=reject;sp=none", OK),
    one("v=DMARC1 ; p = quarantine ; sp = reject", OK, "white space around the separators"),
    one("v = DMARC1; p=none", OK),
    one("V=DMARC1; p=none", OK),
    one("v=DMARC1; p=Reject; sp=QUARANTINE", OK, "policy values in any case"),
    one("v=DMARC1; p=none; adkim=s; aspf=r", OK),
    one(f"v=DMARC1; p=none; fo=1; ruf=mailto:failures@{C}", OK),
    Case("two character-strings", (("v=DMARC1; ", "p=reject;"),), OK),
    one(f"v=DMARC1; p=none; rua=mailto:a@{C},mailto:b@{C}!10m", OK),
    one("v=DMARC1; p=none; foo=bar", OK, "unknown tag"),
    one("v=DMARC1; p=none; pct=150", OK, "pct out of range"),
    one("v=DMARC1; p=none; adkim=x", OK, "invalid adkim"),
    one("v=DMARC1; p=none; sp=block", ERR, "invalid sp without rua"),
    one(f"v=DMARC1; p=reject; sp=block; {R}", ERR, "invalid sp with rua"),
    one("v=DMARC1; p=bogus", ERR),
    one("v=DMARC1; p=", ERR, "empty p"),
    one("v=DMARC1; p=none; p=reject", ERR, "repeated p"),
    one("v=DMARC1; p=none; sp=none; sp=reject", ERR, "repeated sp"),
    one("v=dmarc1; p=none", ERR, "version in lower case"),
    one("v=DMARC2; p=none", ERR),
    one("v=DMARC1 p=none", ERR, "no separator"),
    one("p=none; v=DMARC1", ERR, "version not first"),
    one(" v=DMARC1; p=none", ERR, "leading space"),
    one("v=DMARC1; p=none; foo", ERR, "a tag without a value"),
    Case("two DMARC records", (("v=DMARC1; p=none",), ("v=DMARC1; p=reject",)), ERR),
    Case("no record", (), ERR),
    one("v=DMARC1", ERR, "no p"),
    one(f"v=DMARC1; {R}", ERR, "no p, with rua"),
    Case("DMARC beside other TXT", (("v=DMARC1; p=none",), ("hello",)), OK),
    one("v=DMARC1; p=none; rua=reports@corpus.test", OK, "rua that is no URI"),
    one("v=DMARC1; p=none; fo=2", OK, "invalid fo"),
    one("v=DMARC1; p=none; np=bogus", OK, "invalid np"),
]

HELPERS: dict[str, list[tuple[str, str]]] = {
    "ok": [("TXT", f"v=spf1 {A} ~all")],
    "other": [("TXT", "v=spf1 ip4:198.51.100.0/24 -all")],
    "nested": [("TXT", f"v=spf1 include:ok.{C} ~all")],
    "deep": [("TXT", f"v=spf1 ip4:198.51.100.1 include:nested.{C} -all")],
    "redir": [("TXT", f"v=spf1 redirect=ok.{C}")],
    "broken": [("TXT", "v=spf1 ip4:198.51.100.300 -all")],
    "two": [("TXT", "v=spf1 -all"), ("TXT", "v=spf1 ~all")],
    "text": [("TXT", "hello world")],
    "loop1": [("TXT", f"v=spf1 include:loop2.{C} -all")],
    "loop2": [("TXT", f"v=spf1 include:loop1.{C} -all")],
    "rloop": [("TXT", f"v=spf1 redirect=rloop.{C}")],
    "four": [("TXT", "v=spf1 a mx a mx -all"), ("A", "192.0.2.1"), ("MX", f"10 host.{C}.")],
    "five": [("TXT", "v=spf1 a a a a a -all"), ("A", "192.0.2.1")],
    "void2": [("TXT", f"v=spf1 a:nx1.{C} a:nx2.{C} -all")],
    "host": [("A", "192.0.2.10"), ("AAAA", "2001:db8::10")],
    "empty": [("AAAA", "2001:db8::11")],
    "explain": [("TXT", "%{i} is not one of %{d}'s senders")],
    "mx11": [("MX", f"{n} m{n}.{C}.") for n in range(11)],
    **{f"m{n}": [("A", f"192.0.2.{100 + n}")] for n in range(11)},
}


def zone_text() -> str:
    """The zone file of corpus.test: the helpers, every SPF case at sNN, every DMARC at dNN."""
    lines = [
        "$TTL 60",
        f"@ IN SOA ns.{C}. hostmaster.{C}. 1 60 60 600 60",
        f"@ IN NS ns.{C}.",
        f"ns IN A {HOST}",
    ]
    for name, records in HELPERS.items():
        lines += [f"{name} IN {rdtype} {_rdata(rdtype, value)}" for rdtype, value in records]
    for index, case in enumerate(SPF_CASES):
        name = spf_name(index).removesuffix(f".{C}")
        lines += [f"{name} IN A 192.0.2.1", f"{name} IN MX 10 host.{C}."]
        lines += [f"{name} IN TXT {_strings(strings)}" for strings in case.records]
    for index, case in enumerate(DMARC_CASES):
        name = dmarc_name(index).removesuffix(f".{C}")
        lines += [f"{name} IN TXT {_strings(strings)}" for strings in case.records]
    return "\n".join(lines) + "\n"


def amazon_zone_text() -> str:
    """The zone amazonses.com with the SPF record Amazon publishes at its apex."""
    return (
        f"$TTL 60\n@ IN SOA ns.{AMAZON}. hostmaster.{AMAZON}. 1 60 60 600 60\n"
        f"@ IN NS ns.{AMAZON}.\nns IN A {HOST}\n@ IN TXT {txt_value(AMAZON_SPF)}\n"
    )


def spf_name(index: int) -> str:
    return f"s{index:02d}.{C}"


def dmarc_domain(index: int) -> str:
    return f"d{index:02d}.{C}"


def dmarc_name(index: int) -> str:
    return f"_dmarc.{dmarc_domain(index)}"


def _rdata(rdtype: str, value: str) -> str:
    return txt_value(value) if rdtype == "TXT" else value


def _strings(strings: tuple[str, ...]) -> str:
    return " ".join(txt_value(part) for part in strings)
