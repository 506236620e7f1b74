"""Zones with their own servers (DESIGN.md section 11): several BIND 9, each on its own address.

Two `named` processes are the own servers of every test zone (`ns1`, `ns2`), on two loopback
addresses at one port (so that DNS_AUTHORITATIVE_PORT reaches both); a third, on a third
address at the same port, plays the resolver: it serves a copy of each zone (SOA, NS and the
servers' addresses, plus whatever stale records a test puts there) and the provider zones whose
server names a test uses. The addresses are 127.X.Y.1-3 with X and Y drawn per test session, so
that sessions running at the same time never share one; Linux answers all of 127/8 on `lo`,
but `named` listens only on addresses an interface holds, so they are added (and removed after).
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pytest

from email_channels.ses_setups.records import ExpectedRecord
from tests.support.bind import BindServer, find_named
from tests.support.fixtures_bind import record_value

PARENT = "src.test"


class SourceZone:
    """One test zone: its name, its servers, and helpers to publish where a test says."""

    __test__ = False

    def __init__(self, dns: SourceDns, name: str, servers: Sequence[str]) -> None:
        self.dns = dns
        self.name = name
        self.servers = list(servers)  # NS host names, as the zone names them

    def own(self, which: str) -> BindServer:
        """The BIND behind server `ns1` or `ns2`."""
        return self.dns.own[which]

    def publish(
        self, records: Iterable[ExpectedRecord], *, on: Sequence[str] = ("ns1", "ns2")
    ) -> None:
        """Publish records as expected on the named own servers (one atomic update each)."""
        rrsets: dict[tuple[str, str], list[str]] = {}
        for record in records:
            rrsets.setdefault((record.address, record.type), []).append(record_value(record))
        for which in on:
            self.dns.own[which].replace_rrsets(rrsets)

    def publish_stale(self, records: Iterable[ExpectedRecord], *, value: str | None = None) -> None:
        """Put records in the resolver's copy only, with `value` instead when given."""
        rrsets: dict[tuple[str, str], list[str]] = {}
        for record in records:
            shown = value if value is not None else record_value(record)
            rrsets.setdefault((record.address, record.type), []).append(shown)
        self.dns.resolver.replace_rrsets(rrsets)

    def add(self, name: str, rdtype: str, *values: str, on: Sequence[str] = ("ns1", "ns2")) -> None:
        """Add records at `name` on the named own servers."""
        for which in on:
            self.dns.own[which].add(name, rdtype, *values)


class SourceDns:
    """The own servers and the resolver of the test zones, for a session."""

    def __init__(self, workdir: Path, *, named: str, prefix: str, port: int) -> None:
        self.prefix = prefix
        self.port = port
        self.addresses = {"ns1": f"{prefix}.1", "ns2": f"{prefix}.2", "resolver": f"{prefix}.3"}
        for which in self.addresses:
            (workdir / which).mkdir(parents=True, exist_ok=True)
        # Provider zones on the resolver (e.g. ns.cloudflare.com) and the server names in them.
        self._providers: dict[str, list[str]] = {}
        self.own = {
            which: BindServer(
                workdir / which, named=named, zones=[PARENT], host=self.addresses[which], port=port
            )
            for which in ("ns1", "ns2")
        }
        self.resolver = BindServer(
            workdir / "resolver",
            named=named,
            zones=[PARENT],
            host=self.addresses["resolver"],
            port=port,
        )

    @property
    def resolver_address(self) -> str:
        """The resolver as DNS_NAMESERVERS spells it."""
        return f"{self.addresses['resolver']}:{self.port}"

    def start(self) -> None:
        for server in (*self.own.values(), self.resolver):
            server.start()

    def stop(self) -> None:
        for server in (*self.own.values(), self.resolver):
            server.stop()

    def ensure_running(self) -> None:
        for server in (*self.own.values(), self.resolver):
            server.ensure_running()

    def new_zone(
        self,
        *,
        served_by: Sequence[str] = ("ns1", "ns2"),
        names: Sequence[str] | None = None,
        name: str | None = None,
    ) -> SourceZone:
        """A fresh zone served by `served_by`, whose NS records are `names` (default ns1/ns2.zone).

        Server names outside the zone (a provider's) get their addresses in a zone of their
        own on the resolver; a server in `names` beyond `served_by` has no address at all (it
        must be outside the zone: BIND refuses to load a zone whose own NS name has none).
        """
        # Right under a top-level label, so that the zone is its names' organisational domain.
        zone = name or f"z{uuid.uuid4().hex[:10]}.test"
        hosts = list(names) if names is not None else [f"{w}.{zone}" for w in served_by]
        lines = ["$TTL 60", f"@ IN SOA {hosts[0]}. hostmaster.{zone}. 1 60 60 600 30"]
        lines += [f"@ IN NS {host}." for host in hosts]
        glue: list[str] = []
        for host, which in zip(hosts, served_by, strict=False):
            address = self.addresses[which]
            if host.endswith("." + zone):
                glue.append(f"{host}. IN A {address}")
            else:
                self._provider_address(host, address)
        text = "\n".join([*lines, *glue]) + "\n"
        for which in served_by:
            self.own[which].add_zone(zone, zone_text=text)
        self.resolver.add_zone(zone, zone_text=text)
        return SourceZone(self, zone, hosts)

    def _provider_address(self, host: str, address: str) -> None:
        provider = host.split(".", 1)[1]
        if provider in self._providers:
            # An update, not a new file: a file rewritten within the second of its last load
            # may look unchanged to BIND's reload.
            self.resolver.add(host, "A", address)
            return
        self._providers[provider] = [host]
        text = (
            f"$TTL 60\n@ IN SOA ns.{provider}. hostmaster.{provider}. 1 60 60 600 60\n"
            f"@ IN NS ns.provider.invalid.\n{host}. IN A {address}\n"
        )
        self.resolver.add_zone(provider, zone_text=text)


def _held_addresses() -> set[str]:
    out = subprocess.run(
        ["ip", "-o", "-4", "addr", "show", "dev", "lo"], capture_output=True, text=True
    )
    return {
        line.split()[3].split("/")[0] for line in out.stdout.splitlines() if len(line.split()) > 3
    }


def _free_port_on(addresses: Sequence[str]) -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((addresses[0], 0))
            port = int(probe.getsockname()[1])
        try:
            for address in addresses:
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    with socket.socket(socket.AF_INET, kind) as sock:
                        sock.bind((address, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on every test address")


@contextlib.contextmanager
def loopback_addresses(count: int) -> Iterator[str]:
    """A fresh 127.X.Y prefix whose .1-.`count` addresses `lo` holds for the block."""
    rng = random.Random(os.urandom(8))
    prefix = f"127.{rng.randint(100, 250)}.{rng.randint(1, 250)}"
    wanted = [f"{prefix}.{n}" for n in range(1, count + 1)]
    added: list[str] = []
    try:
        held = _held_addresses()
        for address in wanted:
            if address in held:
                continue
            done = subprocess.run(
                ["ip", "addr", "add", f"{address}/32", "dev", "lo"], capture_output=True, text=True
            )
            if done.returncode != 0 and "File exists" not in done.stderr:
                pytest.skip(f"cannot add {address} to lo ({done.stderr.strip()}): run as root")
            added.append(address)
        yield prefix
    finally:
        for address in added:
            subprocess.run(["ip", "addr", "del", f"{address}/32", "dev", "lo"], capture_output=True)


@pytest.fixture(scope="session")
def source_dns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SourceDns]:
    """Two own servers and a resolver, each a `named` on its own loopback address, one port."""
    named = find_named()
    if named is None:
        pytest.skip("BIND 9 (named) is not installed; `./dev test` installs it")
    with loopback_addresses(3) as prefix:
        port = _free_port_on([f"{prefix}.{n}" for n in (1, 2, 3)])
        dns = SourceDns(
            tmp_path_factory.mktemp("source-dns"), named=named, prefix=prefix, port=port
        )
        dns.start()
        try:
            yield dns
        finally:
            dns.stop()


@pytest.fixture
def source_zone(source_dns: SourceDns) -> SourceZone:
    """A fresh zone served by ns1 and ns2 (the resolver holds a copy)."""
    source_dns.ensure_running()
    return source_dns.new_zone()
