"""The webhook URL guard: globally routable addresses only, in every spelling; sane URLs."""

from __future__ import annotations

import ipaddress

import pytest

from email_channels.webhooks.addresses import is_public
from email_channels.webhooks.url_guard import UnsafeUrl, check_url, parse_url, pinned

NOT_GLOBAL = [
    # IPv4 special-purpose blocks
    "0.1.2.3",
    "100.100.0.1",
    "192.0.0.8",
    "192.0.2.1",
    "192.88.99.1",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.9",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    # IPv4-mapped and IPv4-compatible spellings, public or not inside
    "::ffff:169.254.169.254",
    "::ffff:8.8.8.8",
    "::127.0.0.1",
    "::169.254.169.254",
    "::8.8.8.8",
    "::",
    # NAT64: the well-known prefix judged by the IPv4 inside, local-use NAT64 never
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::7f00:1",
    "64:ff9b::a00:1",
    "64:ff9b:1::808:808",
    # 6to4 leading to private or link-local IPv4
    "2002:a9fe:a9fe::1",
    "2002:7f00:1::1",
    "2002:c0a8:101::1",
    # Teredo and the rest of the IETF protocol assignments
    "2001::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "2001:2::1",
    # site-local, unique local, link-local, multicast, discard, documentation, SRv6
    "fec0::1",
    "feff::1",
    "fd00::1",
    "fe80::1",
    "ff02::1",
    "100::1",
    "2001:db8::1",
    "3fff::1",
    "5f00::1",
]

GLOBAL = [
    "8.8.8.8",
    "93.184.216.34",
    "2606:4700::1111",
    "2a00:1450:4001:80b::200e",
    "64:ff9b::808:808",  # NAT64 to a public IPv4
    "2002:808:808::1",  # 6to4 of a public IPv4
    "2001:4:112::1",  # AS112-v6, globally reachable inside 2001::/23
]


@pytest.mark.parametrize("address", NOT_GLOBAL)
def test_addresses_not_globally_routable_are_refused_in_every_spelling(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", GLOBAL)
def test_globally_routable_addresses_are_accepted(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/a b",
        "https://hooks .example.com/",
        "https://hooks.example.com/\x00",
        "https://hooks.exa\x07mple.com/",
        "https://hooks.example.com/\r\nX-Injected: 1",
        "https://hooks.example.com/\u200b",
        "https://hooks..example.com/",
        "https://-hooks.example.com/",
        "https://hooks.example.com:99999/",
        "https://[::1/",
        "https://%31%32%37.0.0.1/",
        "https://exa$mple.com/",
    ],
)
def test_urls_with_control_characters_spaces_or_unparsable_hosts_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl) as refused:
        parse_url(url, allow_private=True)
    assert refused.value.permanent


def test_an_internationalised_host_is_connected_to_by_its_idna_form() -> None:
    parsed = parse_url("https://Bücher.example:8443/in?x=1", allow_private=False)
    assert parsed.host == "xn--bcher-kva.example"
    target, host, server_name = pinned(parsed, ipaddress.ip_address("93.184.216.34"))
    assert target == "https://93.184.216.34:8443/in?x=1"
    assert host == "xn--bcher-kva.example:8443"
    assert server_name == "xn--bcher-kva.example"


async def test_a_refusal_never_names_the_address_a_host_resolved_to() -> None:
    async def internal(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        return [ipaddress.ip_address("10.20.30.40"), ipaddress.ip_address("fd12:3456::7")]

    with pytest.raises(UnsafeUrl) as refused:
        await check_url("https://intranet.example.com/", allow_private=False, resolver=internal)
    assert "10.20.30.40" not in str(refused.value)
    assert "fd12" not in str(refused.value)
    assert not refused.value.permanent


async def test_localhost_names_are_loopback_without_asking_any_resolver() -> None:
    parsed, addresses = await check_url("http://xn--bcher-kva.localhost:8080/", allow_private=True)
    assert parsed.host == "xn--bcher-kva.localhost"
    assert all(address.is_loopback for address in addresses)
    with pytest.raises(UnsafeUrl):
        await check_url("https://anything.localhost/", allow_private=False)
