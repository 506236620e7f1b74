"""Which addresses may receive webhooks: globally routable unicast ones, in every spelling.

The tables follow the IANA IPv4 and IPv6 special-purpose address registries. IPv6 is judged
by allow-list (only global unicast, 2000::/3, is ever routable on the Internet), and the
spellings that embed an IPv4 address (NAT64's well-known prefix, 6to4) are judged by the
IPv4 address they lead to: `64:ff9b::a9fe:a9fe` reaches 169.254.169.254 through NAT64.
"""

from __future__ import annotations

import ipaddress

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# IPv4 blocks whose addresses are not globally reachable (IANA, RFC 6890 and successors).
NOT_GLOBAL_V4 = tuple(
    _V4(block)
    for block in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, cloud metadata services
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation (TEST-NET-1)
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the limited broadcast 255.255.255.255
    )
)

GLOBAL_UNICAST_V6 = _V6("2000::/3")
NAT64_WELL_KNOWN = _V6("64:ff9b::/96")  # globally routable; its low 32 bits are the target
SIX_TO_FOUR = _V6("2002::/16")  # bits 16-47 are the IPv4 address of the 6to4 site

# Blocks inside 2000::/3 that are not globally reachable.
NOT_GLOBAL_V6 = tuple(
    _V6(block)
    for block in (
        "2001::/23",  # IETF protocol assignments, Teredo (2001::/32) among them
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
    )
)
# The few globally reachable service blocks inside 2001::/23 (anycast services).
GLOBAL_INSIDE_V6 = tuple(
    _V6(block)
    for block in (
        "2001:1::1/128",  # port control protocol anycast
        "2001:1::2/128",  # TURN anycast
        "2001:1::3/128",  # DNS-SD SRP anycast
        "2001:3::/32",  # AMT
        "2001:4:112::/48",  # AS112-v6
        "2001:20::/28",  # ORCHIDv2
        "2001:30::/28",  # drone remote ID
    )
)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address that a NAT64 or 6to4 address leads to; None for any other."""
    if address in NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in SIX_TO_FOUR:
        return ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF)
    return None


def _ipv4_is_public(address: ipaddress.IPv4Address) -> bool:
    return not any(address in block for block in NOT_GLOBAL_V4)


def _ipv6_is_public(address: ipaddress.IPv6Address) -> bool:
    inner = embedded_ipv4(address)
    if inner is not None:
        return _ipv4_is_public(inner)
    # Everything outside global unicast: IPv4-mapped (::ffff:0:0/96), IPv4-compatible
    # (::/96), local-use NAT64 (64:ff9b:1::/48), discard, ULA, link- and site-local
    # (fec0::/10), multicast, loopback, unspecified and the unallocated rest.
    if address not in GLOBAL_UNICAST_V6:
        return False
    if any(address in block for block in GLOBAL_INSIDE_V6):
        return True
    return not any(address in block for block in NOT_GLOBAL_V6)


def is_public(address: IpAddress) -> bool:
    """Whether `address` is a globally routable unicast address (the only kind hooks reach)."""
    if isinstance(address, ipaddress.IPv4Address):
        return _ipv4_is_public(address)
    return _ipv6_is_public(address)
