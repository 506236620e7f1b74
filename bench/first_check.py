"""S9: the round trips of a setup's first check in a zone not yet known, counted at the server.

The bench's DNS server (dns_server.py) is both the resolver and the zone's own server, and
logs when each of its first queries arrived. Every answer comes DNS_DELAY late, so queries
sent together arrive together and the next round arrives a delay later: the round trips
before the records are the groups of zone queries (SOA, NS, A, AAAA) that arrived before the
first record query's round.
"""

from __future__ import annotations

from pathlib import Path

QUERY_LOG = "dns-queries.log"
RECORD_TYPES = frozenset({"CNAME", "MX", "TXT"})


def first_check_round_trips(path: Path, *, delay: float) -> int | None:
    """Rounds of zone queries before the first check's record queries; None: none logged."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return None
    queries = []
    for line in lines:
        at, _, rdtype = line.split()
        queries.append((float(at), rdtype))
    records = [at for at, rdtype in queries if rdtype in RECORD_TYPES]
    if not records:
        return None
    # The record round's own SOA question may arrive a moment before its first record query.
    start = min(records) - delay / 2
    before = sorted(at for at, rdtype in queries if rdtype not in RECORD_TYPES and at < start)
    rounds = 0
    last: float | None = None
    for at in before:
        if last is None or at - last > delay / 2:
            rounds += 1
        last = at
    return rounds
