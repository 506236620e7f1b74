"""The DNS provider of a zone, recognised from its servers' names (docs/dns-verification.md)."""

from __future__ import annotations

import re
from functools import lru_cache

# (provider, pattern of a server name): the first provider whose pattern matches every server
# of the zone wins, so a zone split between two providers names none. Keep this list and the
# table in docs/dns-verification.md the same.
PROVIDERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (provider, re.compile(pattern))
    for provider, pattern in (
        ("Cloudflare", r"[a-z0-9-]+\.ns\.cloudflare\.com"),
        ("Amazon Route 53", r"ns-\d+\.awsdns-\d+\.(com|net|org|co\.uk)"),
        ("Google Cloud DNS", r"ns-cloud-[a-z]\d+\.googledomains\.com"),
        ("Azure DNS", r"ns\d+-\d+\.azure-dns\.(com|net|org|info)"),
        ("GoDaddy", r"ns\d+\.domaincontrol\.com"),
        ("Namecheap", r"dns\d+\.registrar-servers\.com"),
        ("DigitalOcean", r"ns\d+\.digitalocean\.com"),
        ("OVHcloud", r"(dns|ns)\d*\.ovh\.(net|ca)|dns\d+\.ovh\.net"),
        ("Gandi", r"ns-\d+-[a-z]\.gandi\.net"),
        ("Hetzner", r"(hydrogen|oxygen|helium)\.ns\.hetzner\.(com|de)|ns\d+\.first-ns\.de"),
        ("Porkbun", r"[a-z]+\.ns\.porkbun\.com"),
        ("DNSimple", r"ns\d+\.dnsimple(-edge)?\.(com|net|org|info)"),
        ("NS1", r"dns\d+\.p\d+\.nsone\.net"),
    )
)

CLOUDFLARE = "Cloudflare"


@lru_cache(maxsize=1024)  # asked at every check of a zone whose servers rarely change
def provider_of(nameservers: tuple[str, ...]) -> str | None:
    """The provider that runs every one of `nameservers`, or None."""
    names = [name.rstrip(".").lower() for name in nameservers]
    if not names:
        return None
    for provider, pattern in PROVIDERS:
        if all(pattern.fullmatch(name) for name in names):
            return provider
    return None
