"""BIND 9 on loopback for S7: one zone holding every setup's records, and a query log.

The zone of S7's setups (`ZONE`) holds the seven records of each setup, exactly as expected,
and `amazonses.com` holds the SPF record that the setups' `include:amazonses.com` names, so a
check ends in one round of record queries and every record `verified`. BIND is both the
resolver the worker asks for the zone (its SOA, NS) and the zone's own server
(DNS_AUTHORITATIVE_PORT): one process, one port. `querylog yes` writes a line per query; the
harness counts them per name to show that each setup was checked exactly once.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode

from bench.processes import HarnessError, stop_process
from email_channels.ses_setups.records import ExpectedRecord

HOST = "127.0.0.1"
ZONE = "s7-bench.example"
SPF_ZONE = "amazonses.com"
# What amazonses.com's SPF record says (its address ranges, no further includes).
SPF_ZONE_RECORD = "v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 ip4:54.240.0.0/18 ~all"
START_DEADLINE = 60.0
_QUERY_LINE = re.compile(r"query: (\S+) IN (\S+) ")


def find_named() -> str:
    """The path of BIND's `named`; a HarnessError when it is not installed."""
    for candidate in (shutil.which("named"), "/usr/sbin/named", "/usr/local/sbin/named"):
        if candidate and Path(candidate).exists():
            return candidate
    raise HarnessError("BIND 9 (named) is not installed: S7 needs it (apt-get install bind9)")


def _value(record: ExpectedRecord) -> str:
    if record.type == "TXT":
        return '"' + record.record.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return record.record.rstrip(".") + "."


def zone_text(origin: str, records: Iterable[ExpectedRecord], *, extra: str = "") -> str:
    """A zone file: SOA, NS, the server's address, then `records` (absolute names)."""
    lines = [
        "$TTL 3600",
        f"@ IN SOA ns.{origin}. hostmaster.{origin}. 1 3600 600 86400 3600",
        f"@ IN NS ns.{origin}.",
        f"ns IN A {HOST}",
        extra,
    ]
    lines += [f"{r.address}. 300 IN {r.type} {_value(r)}" for r in records]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Bind:
    """A running `named`: its port and its query log."""

    port: int
    query_log: Path

    def log_size(self) -> int:
        """Bytes in the query log now: a later `counts(since=...)` reads only what follows."""
        try:
            return self.query_log.stat().st_size
        except FileNotFoundError:
            return 0

    def counts(self, *, since: int = 0) -> Counter[tuple[str, str]]:
        """Queries per (name, type) logged after byte `since`, once every one is logged.

        A marker query is asked last and waited for in the log: BIND logs in arrival order,
        so every query before it is in the file once it is.
        """
        marker = f"log-marker-{time.monotonic_ns()}.{ZONE}"
        query = dns.message.make_query(marker, "TXT")
        dns.query.udp(query, HOST, port=self.port, timeout=5.0)
        deadline = time.monotonic() + 30.0
        while True:
            text = _read_from(self.query_log, since)
            if marker in text:
                break
            if time.monotonic() > deadline:
                raise HarnessError("BIND's query log did not show the marker query")
            time.sleep(0.05)
        counts: Counter[tuple[str, str]] = Counter()
        for match in _QUERY_LINE.finditer(text):
            name = match[1].rstrip(".").lower()
            if not name.startswith("log-marker-"):
                counts[(name, match[2].upper())] += 1
        return counts


def _read_from(path: Path, offset: int) -> str:
    with path.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


def free_port() -> int:
    """A loopback port free for both UDP and TCP right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((HOST, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((HOST, port))
                except OSError:
                    continue
                return port
    raise HarnessError("no free loopback port for BIND")


def _config(directory: Path, port: int) -> str:
    zones = "\n".join(
        f'zone "{origin}" {{ type primary; file "{origin}.db"; }};' for origin in (ZONE, SPF_ZONE)
    )
    return f"""
options {{
    directory "{directory}";
    pid-file "{directory}/named.pid";
    session-keyfile "{directory}/session.key";
    managed-keys-directory "{directory}";
    listen-on port {port} {{ {HOST}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
    querylog yes;
    minimal-responses yes;
    check-names primary ignore;
}};
controls {{ }};
logging {{
    channel queries_file {{ file "{directory}/query.log" size 1g; print-time yes; }};
    channel general_file {{ file "{directory}/named.log"; print-time yes; severity info; }};
    category queries {{ queries_file; }};
    category default {{ general_file; }};
}};
{zones}
"""


def _answers(port: int) -> bool:
    try:
        query = dns.message.make_query(ZONE, "SOA")
        return dns.query.udp(query, HOST, port=port, timeout=0.3).rcode() == dns.rcode.NOERROR
    except (dns.exception.Timeout, OSError):
        return False


@contextmanager
def bind_server(records: Iterable[ExpectedRecord], *, directory: Path) -> Iterator[Bind]:
    """`named` serving `records` in ZONE (and amazonses.com's SPF) until the block ends."""
    named = find_named()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{ZONE}.db").write_text(zone_text(ZONE, records))
    spf = f'@ 3600 IN TXT "{SPF_ZONE_RECORD}"'
    (directory / f"{SPF_ZONE}.db").write_text(zone_text(SPF_ZONE, [], extra=spf))
    port = free_port()
    (directory / "named.conf").write_text(_config(directory, port))
    with (directory / "named.out").open("wb") as output:
        process = subprocess.Popen(
            [named, "-f", "-n", "1", "-c", str(directory / "named.conf")],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_DEADLINE
        while not _answers(port):
            if process.poll() is not None:
                raise HarnessError(f"named exited with {process.returncode} (see {directory})")
            if time.monotonic() > deadline:
                raise HarnessError(f"named did not serve {ZONE} within {START_DEADLINE:.0f} s")
            time.sleep(0.1)
        yield Bind(port=port, query_log=directory / "query.log")
    finally:
        stop_process(process)
