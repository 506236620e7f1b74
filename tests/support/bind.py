"""A real BIND 9 on loopback for tests: authoritative zones, RFC 2136 updates, a query log."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from enum import StrEnum
from pathlib import Path

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.update

# One way to find a port free for UDP and TCP on loopback, shared with the bench's BIND.
from bench.bind import free_port

HOST = "127.0.0.1"
_QUERY_LINE = re.compile(r"query: (\S+) IN (\S+) ")


class ZoneMode(StrEnum):
    SERVING = "serving"  # a normal primary zone that accepts updates from loopback
    SERVFAIL = "servfail"  # its file fails to load, so BIND answers SERVFAIL for every name
    REFUSED = "refused"  # loaded, but `allow-query { none; }`: BIND answers REFUSED


def find_named() -> str | None:
    """The path of BIND's `named`, or None when it is not installed."""
    return shutil.which("named") or next(
        (p for p in ("/usr/sbin/named", "/usr/local/sbin/named") if os.access(p, os.X_OK)), None
    )


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll `condition` until it holds; `TimeoutError` naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def txt_value(value: str, *, chunk: int = 255) -> str:
    """A TXT value in presentation form, split into character-strings of at most `chunk` bytes."""
    data = value.encode()
    parts = [data[i : i + chunk] for i in range(0, len(data), chunk)] or [b""]
    return " ".join('"' + _escape(part) + '"' for part in parts)


def _escape(part: bytes) -> str:
    return "".join(
        "\\" + chr(b) if b in b'"\\' else chr(b) if 32 <= b < 127 else f"\\{b:03d}" for b in part
    )


class BindServer:
    """One `named` process serving test zones on a loopback address (127.0.0.1) at a port."""

    def __init__(
        self,
        workdir: Path,
        *,
        named: str,
        zones: Iterable[str] = ("example.test",),
        host: str = HOST,
        port: int | None = None,
    ):
        self.workdir = workdir
        self.named = named
        self.host = host
        self.port = port or free_port()
        self._zones: dict[str, ZoneMode] = dict.fromkeys(zones, ZoneMode.SERVING)
        self._process: subprocess.Popen[bytes] | None = None
        self._paused = False
        self._markers = 0
        for origin in self._zones:
            self._write_zone_file(origin, ZoneMode.SERVING)

    @property
    def address(self) -> str:
        """`127.0.0.1:PORT`, the form of EMAIL_CHANNELS_DNS_NAMESERVERS."""
        return f"{self.host}:{self.port}"

    @property
    def nameservers(self) -> list[tuple[str, int]]:
        """The (host, port) list that `Settings.dns_nameservers` and `DnsPythonLookup` take."""
        return [(self.host, self.port)]

    @property
    def query_log(self) -> Path:
        return self.workdir / "query.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- process control ---------------------------------------------------------------

    def start(self, *, timeout: float = 20.0) -> None:
        """Start `named` (same port as before) and wait until every serving zone answers."""
        if self.running:
            return
        self._write_config()
        log = (self.workdir / "named.out").open("ab")
        # Linux sends the parent-death signal when the starting *thread* ends, so only the main
        # thread (which lives as long as the test process) may ask for it.
        on_main_thread = threading.current_thread() is threading.main_thread()
        # -f, not -g: -g would force every log to stderr, and the query log must be its own file.
        self._process = subprocess.Popen(
            [self.named, "-f", "-n", "2", "-c", str(self.workdir / "named.conf")],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if on_main_thread else None,
        )
        log.close()
        self._paused = False
        for origin, mode in self._zones.items():
            self._wait_for_zone(origin, mode, timeout=timeout)

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop `named`: queries then time out, as with a dead resolver."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        if self._paused:
            process.send_signal(signal.SIGCONT)
            self._paused = False
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def pause(self) -> None:
        """Freeze `named` (SIGSTOP): its socket stays bound and every query hangs.

        Returns once every thread of it has stopped: the signal is delivered asynchronously,
        and a worker thread running on another core could otherwise still answer the queries
        sent right after it.
        """
        if self._process is not None and not self._paused:
            self._process.send_signal(signal.SIGSTOP)
            self._paused = True
            _wait_until_stopped(self._process.pid)

    def resume(self) -> None:
        """Let a paused `named` answer again."""
        if self._process is not None and self._paused:
            self._process.send_signal(signal.SIGCONT)
            self._paused = False

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """BIND stopped for the duration of the block, started again afterwards."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """BIND frozen for the duration of the block: every query hangs until it ends."""
        self.pause()
        try:
            yield
        finally:
            self.resume()

    def ensure_running(self) -> None:
        """Undo what a failed test may have left: a paused or stopped server."""
        self.resume()
        if not self.running:
            self.start()

    # -- zones ---------------------------------------------------------------------------

    def add_zone(
        self, origin: str, *, mode: ZoneMode = ZoneMode.SERVING, zone_text: str | None = None
    ) -> None:
        """Serve `origin` as its own zone (it hides the same names in a parent zone).

        `zone_text`: the zone file to serve instead of the usual SOA, NS and A.
        """
        origin = _name(origin)
        self._zones[origin] = mode
        self._write_zone_file(origin, mode)
        if zone_text is not None:
            (self.workdir / f"{origin}.db").write_text(zone_text)
        self._reload()
        self._wait_for_zone(origin, mode, timeout=10.0)

    def remove_zone(self, origin: str) -> None:
        """Stop serving a zone added with `add_zone`."""
        if self._zones.pop(_name(origin), None) is not None:
            self._reload()

    def zone_of(self, name: str) -> str:
        """The deepest serving zone that contains `name`."""
        labels = _name(name).split(".")
        for start in range(len(labels)):
            candidate = ".".join(labels[start:])
            if self._zones.get(candidate) is ZoneMode.SERVING:
                return candidate
        raise ValueError(f"{name} is in no serving zone of this server")

    # -- records (RFC 2136) --------------------------------------------------------------

    def add(self, name: str, rdtype: str, *values: str, ttl: int = 60) -> None:
        """Add records (presentation form; names in values are absolute) to an RRset."""
        self._update(name, lambda u, n: u.add(n, ttl, *_rdatas(rdtype, values)))

    def replace(self, name: str, rdtype: str, *values: str, ttl: int = 60) -> None:
        """Make `values` the whole RRset of `rdtype` at `name`."""
        self._update(name, lambda u, n: u.replace(n, ttl, *_rdatas(rdtype, values)))

    def delete(self, name: str, rdtype: str | None = None) -> None:
        """Delete the RRset of `rdtype` at `name`, or every record there when `rdtype` is None."""
        self._update(name, lambda u, n: u.delete(n) if rdtype is None else u.delete(n, rdtype))

    def replace_rrsets(
        self, rrsets: Mapping[tuple[str, str], Sequence[str]], ttl: int = 60
    ) -> None:
        """Replace several RRsets, one atomic update per zone: {(name, type): [values]}."""
        by_zone: dict[str, dns.update.UpdateMessage] = {}
        for (name, rdtype), values in rrsets.items():
            zone = self.zone_of(name)
            update = by_zone.setdefault(zone, dns.update.UpdateMessage(zone))
            update.replace(dns.name.from_text(_name(name)), ttl, *_rdatas(rdtype, values))
        for zone, update in by_zone.items():
            self._send(update, what=zone)

    def _update(
        self, name: str, change: Callable[[dns.update.UpdateMessage, dns.name.Name], object]
    ) -> None:
        update = dns.update.UpdateMessage(self.zone_of(name))
        change(update, dns.name.from_text(_name(name)))
        self._send(update, what=name)

    def _send(self, update: dns.update.UpdateMessage, *, what: str) -> None:
        response = dns.query.tcp(update, self.host, port=self.port, timeout=5.0)
        if response.rcode() != dns.rcode.NOERROR:
            raise RuntimeError(f"update of {what} refused: {dns.rcode.to_text(response.rcode())}")

    # -- queries -------------------------------------------------------------------------

    def rcode(self, name: str, rdtype: str = "SOA", *, timeout: float = 0.5) -> str:
        """The response code BIND gives for one query (for readiness polls and assertions)."""
        query = dns.message.make_query(_name(name) + ".", rdtype)
        response = dns.query.udp(query, self.host, port=self.port, timeout=timeout)
        return dns.rcode.to_text(response.rcode())

    def query_counts(self, *, under: str | None = None) -> Counter[tuple[str, str]]:
        """Queries received so far per (name, type), optionally only names under `under`."""
        self._markers += 1
        marker = f"log-marker-{os.getpid()}-{self._markers}.{next(iter(self._zones))}"
        # The marker is answered only after every earlier query was logged, so once it shows
        # up in the log, the counts are complete: no sleeping and hoping.
        self.rcode(marker, "TXT", timeout=2.0)
        wait_until(lambda: marker in self._read_query_log(), timeout=5.0, what="the query log")
        counts: Counter[tuple[str, str]] = Counter()
        suffix = None if under is None else _name(under)
        for match in _QUERY_LINE.finditer(self._read_query_log()):
            name, rdtype = _name(match[1]), match[2].upper()
            if suffix is None or name == suffix or name.endswith("." + suffix):
                counts[(name, rdtype)] += 1
        return counts

    def _read_query_log(self) -> str:
        try:
            return self.query_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- configuration -------------------------------------------------------------------

    def _reload(self) -> None:
        self._write_config()
        if self.running:
            assert self._process is not None
            self.resume()
            before = self._log_text().count("all zones loaded")
            self._process.send_signal(signal.SIGHUP)
            wait_until(
                lambda: self._log_text().count("all zones loaded") > before,
                timeout=10.0,
                what="BIND to reload its configuration",
            )

    def _wait_for_zone(self, origin: str, mode: ZoneMode, *, timeout: float) -> None:
        expected = {ZoneMode.SERVING: "NOERROR", ZoneMode.SERVFAIL: "SERVFAIL"}.get(mode, "REFUSED")

        def answers() -> bool:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"named exited: {self._log_tail()}")
            try:
                return self.rcode(origin, timeout=0.2) == expected
            except (dns.exception.Timeout, OSError):
                return False

        wait_until(answers, timeout=timeout, what=f"zone {origin} to answer {expected}")

    def _write_config(self) -> None:
        d = self.workdir
        zones = "\n".join(_zone_clause(origin, mode) for origin, mode in self._zones.items())
        (d / "named.conf").write_text(f"""
options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    managed-keys-directory "{d}";
    listen-on port {self.port} {{ {self.host}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
    querylog yes;
    minimal-responses yes;
    // Tests publish what customers publish, mistakes included: no integrity checks on updates.
    check-integrity no;
    check-mx ignore;
    check-names primary ignore;
}};
controls {{ }};
logging {{
    channel queries_file {{ file "{d}/query.log"; print-time yes; }};
    channel general_file {{ file "{d}/named.log"; print-time yes; severity info; }};
    category queries {{ queries_file; }};
    category default {{ general_file; }};
}};
{zones}
""")

    def _write_zone_file(self, origin: str, mode: ZoneMode) -> None:
        path = self.workdir / f"{origin}.db"
        for stale in (path, path.with_name(path.name + ".jnl")):
            stale.unlink(missing_ok=True)
        if mode is ZoneMode.SERVFAIL:
            path.write_text("this is not a zone file\n")
            return
        path.write_text(
            f"$TTL 60\n@ IN SOA ns.{origin}. hostmaster.{origin}. 1 60 60 600 60\n"
            f"@ IN NS ns.{origin}.\nns IN A {self.host}\n"
        )

    def _log_text(self) -> str:
        try:
            return (self.workdir / "named.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _log_tail(self) -> str:
        out = (self.workdir / "named.out").read_text(errors="replace")
        return (out + self._log_text())[-2000:]


def _zone_clause(origin: str, mode: ZoneMode) -> str:
    extra = "allow-query { none; };" if mode is ZoneMode.REFUSED else ""
    return (
        f'zone "{origin}" {{ type primary; file "{origin}.db"; '
        f"allow-update {{ 127.0.0.0/8; }}; {extra} }};"
    )


def _rdatas(rdtype: str, values: Iterable[str]) -> list[dns.rdata.Rdata]:
    # Relative to the root, so "host.example" in a value is absolute without a final dot.
    return [
        dns.rdata.from_text(
            dns.rdataclass.IN, rdtype, value, origin=dns.name.root, relativize=False
        )
        for value in values
    ]


def _name(name: str) -> str:
    return name.rstrip(".").lower()


def _die_with_parent() -> None:
    """In the child before exec: have Linux stop `named` if the test process dies uncleanly."""
    # Not Linux: no prctl, and the fixture's own teardown still stops named.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _wait_until_stopped(pid: int, *, within: float = 5.0) -> None:
    """Until every thread of `pid` is in the stopped state (`T` in /proc)."""
    deadline = time.monotonic() + within
    while True:
        states = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                stat = (task / "stat").read_text()
            except OSError:
                continue  # a thread that ended meanwhile
            states.append(stat.rsplit(")", 1)[1].split()[0])
        if all(state in ("T", "t") for state in states):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"named (pid {pid}) did not stop: thread states {states}")
        time.sleep(0.001)
