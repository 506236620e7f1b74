"""Section 11's pure parts: hosts, providers, per-server verdicts, S9's round count."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.first_check import first_check_round_trips

from email_channels.integrations.dns import Observation, Outcome
from email_channels.ses_setups.mistakes import Place, host_of, judge, relative_to_setup
from email_channels.ses_setups.providers import PROVIDERS, provider_of
from email_channels.ses_setups.records import ExpectedRecord, Purpose
from email_channels.ses_setups.source_verdict import combine, from_resolver
from email_channels.ses_setups.verification import RecordResult, RecordStatus

VERIFIED, MISSING, UNKNOWN = RecordStatus.VERIFIED, RecordStatus.MISSING, RecordStatus.UNKNOWN
MAIL_FROM = ExpectedRecord(
    Purpose.MAIL_FROM_MX, "MX", "bounce.mail.acme.com", "10 feedback-smtp.us-east-1.amazonses.com"
)
INBOUND = ExpectedRecord(
    Purpose.INBOUND_MX, "MX", "mail.acme.com", "10 inbound-smtp.us-east-1.amazonaws.com"
)
PLACE = Place(domain="mail.acme.com", zone="acme.com", organisational="acme.com")


@pytest.mark.parametrize(
    ("address", "zone", "host"),
    [
        ("bounce.mail.acme.com", "acme.com", "bounce.mail"),
        ("mail.acme.com", "acme.com", "mail"),
        ("acme.com", "acme.com", "@"),
        ("_dmarc.acme.com.", "ACME.com", "_dmarc"),
    ],
)
def test_host_is_the_address_relative_to_the_zone(address: str, zone: str, host: str) -> None:
    assert host_of(address, zone) == host


def test_relative_to_the_setup_lands_in_the_zone_instead() -> None:
    assert relative_to_setup(MAIL_FROM, PLACE) == "bounce.acme.com"
    assert relative_to_setup(INBOUND, PLACE) == "acme.com"
    apex = Place(domain="acme.com", zone="acme.com")
    assert relative_to_setup(MAIL_FROM, apex) is None


@pytest.mark.parametrize(
    ("servers", "provider"),
    [
        (["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"], "Cloudflare"),
        (["ns-1536.awsdns-00.co.uk", "ns-512.awsdns-64.net"], "Amazon Route 53"),
        (["ns-cloud-a1.googledomains.com"], "Google Cloud DNS"),
        (["ns1-01.azure-dns.com", "ns2-01.azure-dns.net"], "Azure DNS"),
        (["ns01.domaincontrol.com"], "GoDaddy"),
        (["dns1.registrar-servers.com"], "Namecheap"),
        (["ns1.digitalocean.com"], "DigitalOcean"),
        (["dns200.anycast.me", "ns200.anycast.me"], None),
        (["ns-110-a.gandi.net"], "Gandi"),
        (["hydrogen.ns.hetzner.com", "helium.ns.hetzner.de"], "Hetzner"),
        (["curitiba.ns.porkbun.com"], "Porkbun"),
        (["ns1.dnsimple.com", "ns3.dnsimple-edge.net"], "DNSimple"),
        (["dns1.p01.nsone.net"], "NS1"),
        (["dns10.ovh.net", "ns10.ovh.net"], "OVHcloud"),
        (["ada.ns.cloudflare.com", "ns1.acme.com"], None),  # split between two: none named
    ],
)
def test_provider_is_recognised_from_every_server_name(
    servers: list[str], provider: str | None
) -> None:
    assert provider_of(tuple(servers)) == provider


def test_every_provider_of_the_contract_has_a_pattern() -> None:
    names = {name for name, _ in PROVIDERS}
    assert {"Cloudflare", "Amazon Route 53", "Google Cloud DNS", "Azure DNS", "GoDaddy"} <= names
    assert {"Namecheap", "DigitalOcean", "OVHcloud", "Gandi", "Hetzner", "Porkbun"} <= names
    assert {"DNSimple", "NS1"} <= names
    docs = Path(__file__).parents[2] / "docs" / "dns-verification.md"
    assert all(name in docs.read_text() for name in names)


def test_a_missing_record_gives_the_host_to_type() -> None:
    observed = {
        ("bounce.mail.acme.com", "MX"): Observation("bounce.mail.acme.com", "MX", Outcome.NXDOMAIN)
    }
    result = judge(MAIL_FROM, observed, PLACE)
    assert result.status is MISSING
    assert result.reason is not None
    assert "host bounce.mail" in result.reason


def test_one_server_lagging_is_named_and_the_record_stays_missing() -> None:
    good = RecordResult(True, VERIFIED, ("10 x",), None)
    lacking = RecordResult(False, MISSING, (), "No MX record exists at bounce.mail.acme.com.")
    result = combine(
        [("ns1.acme.com", good), ("ns2.acme.com", lacking)],
        zone="acme.com",
        serials={"ns1.acme.com": 5, "ns2.acme.com": 4},
        fallback=None,
        why_fallback="",
    )
    assert result.status is MISSING
    assert result.verified is False
    assert result.nameservers == (("ns1.acme.com", VERIFIED), ("ns2.acme.com", MISSING))
    assert result.reason is not None
    assert result.reason.startswith("ns2.acme.com does not serve")
    assert "ns2.acme.com serves serial 4" in result.reason


def test_servers_that_did_not_answer_are_left_out() -> None:
    good = RecordResult(True, VERIFIED, ("10 x",), None)
    silent = RecordResult(False, UNKNOWN, (), "timed out")
    result = combine(
        [("ns1.acme.com", silent), ("ns2.acme.com", good)],
        zone="acme.com",
        serials={},
        fallback=None,
        why_fallback="",
    )
    assert result.status is VERIFIED
    assert result.reason is None
    assert result.nameservers == (("ns1.acme.com", UNKNOWN), ("ns2.acme.com", VERIFIED))


def test_the_resolvers_verdict_says_why_it_decided() -> None:
    verified = RecordResult(True, VERIFIED, ("10 x",), None)
    result = from_resolver(verified, why="the zone's servers did not answer (ns1 timed out)")
    assert result.verified is True
    assert result.reason is not None
    assert "did not answer" in result.reason


def test_first_check_round_trips_are_counted_from_arrival_times(tmp_path: Path) -> None:
    log = tmp_path / "queries.log"
    log.write_text(
        "10.000 acme.com SOA\n"
        "10.051 acme.com NS\n"
        "10.102 ns1.acme.com A\n10.102 ns1.acme.com AAAA\n"
        "10.153 acme.com SOA\n10.153 t._domainkey.acme.com CNAME\n10.154 acme.com MX\n"
        "11.000 t._domainkey.acme.com CNAME\n"
    )
    assert first_check_round_trips(log, delay=0.05) == 3
    assert first_check_round_trips(tmp_path / "none.log", delay=0.05) is None
