"""Real DNS publishers for tests: PowerDNS Authoritative and moto's Route 53, on loopback.

PowerDNS runs with its own SQLite database (made from the schema its Debian package ships),
DNS and its HTTP API on loopback at free ports, and an empty `security-poll-suffix` (else it
asks a public DNS name at start). moto serves the Route 53 API only: it answers no DNS.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from email_channels.integrations.dns_publisher import ZoneRecord
from email_channels.integrations.ses import TAG_CREATED_AT, TAG_DEPLOYMENT, TAG_SETUP_ID
from email_channels.ses_setups.models import SesSetup
from tests.support.bind import BindServer, wait_until
from tests.support.fixtures_api import Api
from tests.support.processes import HOST, ROOT, free_port

SCHEMA_PATHS = (
    Path("/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql"),
    Path("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"),
)
START_TIMEOUT_SECONDS = 30.0
MOTO_CREDENTIALS = ("testing", "testing")
# PowerDNS answers DNS on this loopback address at the test BIND's port, so that one
# DNS_AUTHORITATIVE_PORT reaches both the zone above (BIND, 127.0.0.1) and the delegated zones
# (PowerDNS); BIND's example.test says that these names are PowerDNS's address.
PDNS_DNS_HOST = "127.0.0.2"
DELEGATION_NAMESERVERS = ("ns1.pdns.example.test", "ns2.pdns.example.test")


def setup_records(domain: str) -> list[ZoneRecord]:
    """A setup's seven records, grouped by name and type as a zone holds them."""
    return [
        *(
            ZoneRecord(f"t{n}._domainkey.{domain}", "CNAME", (f"t{n}.dkim.amazonses.com",))
            for n in (1, 2, 3)
        ),
        ZoneRecord(f"bounce.{domain}", "MX", ("10 feedback-smtp.us-east-1.amazonses.com",)),
        ZoneRecord(f"bounce.{domain}", "TXT", ("v=spf1 include:amazonses.com ~all",)),
        ZoneRecord(domain, "MX", ("10 inbound-smtp.us-east-1.amazonaws.com",)),
        ZoneRecord(f"_dmarc.{domain}", "TXT", ("v=DMARC1; p=none;",)),
    ]


def fence(setup_id: str) -> dict[str, str]:
    return {
        TAG_SETUP_ID: setup_id,
        TAG_DEPLOYMENT: "test-deployment",
        TAG_CREATED_AT: "2026-12-07T04:00:00+00:00",
    }


def delegated_body(**fields: str) -> dict[str, str]:
    name = uuid.uuid4().hex[:10]
    body = {
        "tenant_name": f"t-{name}",
        "domain_identity": f"mail-{name}.example.test",
        "dns_mode": "delegated",
    }
    body.update(fields)
    return body


def nothing_in_ses(sandbox: Any, domain: str) -> bool:
    state = sandbox.state()
    return not state["tenants"] and all(i["EmailIdentity"] != domain for i in state["identities"])


async def rows(api: Api) -> list[SesSetup]:
    async with api.database.transaction() as session:
        return list(await session.scalars(select(SesSetup)))


@dataclass(frozen=True, slots=True)
class PowerDns:
    """A running pdns_server: its API, its key and where it answers DNS."""

    api_url: str
    api_key: str
    dns_host: str
    dns_port: int

    @property
    def api_port(self) -> int:
        """The port of the HTTP API."""
        return int(self.api_url.rsplit(":", 1)[1])

    def api(self) -> httpx.Client:
        """A client of the HTTP API, with the key."""
        return httpx.Client(
            base_url=f"{self.api_url}/api/v1/servers/localhost",
            headers={"X-API-Key": self.api_key},
            timeout=5.0,
            trust_env=False,
        )


def _missing(what: str) -> None:
    message = f"{what} is not installed; `./dev test` installs it"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _api_answers(url: str, key: str) -> bool:
    try:
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            return client.get(url, headers={"X-API-Key": key}).status_code == 200
    except httpx.TransportError:
        return False


def publisher_settings(powerdns: PowerDns, *, api_url: str | None = None) -> dict[str, Any]:
    return {
        "dns_publisher": "powerdns",
        "powerdns_api_url": api_url or powerdns.api_url,
        "powerdns_api_key": powerdns.api_key,
        "delegation_nameservers": ",".join(DELEGATION_NAMESERVERS),
        "upstream_timeout": 2.0,
        # The session's PowerDNS keeps earlier tests' zones: each test sweeps only its own.
        "deployment_id": f"test-{uuid.uuid4().hex[:8]}",
    }


def zone_at(powerdns: PowerDns, domain: str) -> dict[str, Any] | None:
    """The zone as PowerDNS's own API shows it; None when it has none."""
    with powerdns.api() as api:
        response = api.get(f"/zones/{domain}.")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    zone: dict[str, Any] = response.json()
    return zone


@pytest.fixture(scope="session")
def powerdns(
    tmp_path_factory: pytest.TempPathFactory, bind_server: BindServer
) -> Iterator[PowerDns]:
    """pdns_server with the gsqlite3 backend, for the session, beside the test BIND."""
    binary = shutil.which("pdns_server") or "/usr/sbin/pdns_server"
    schema = next((path for path in SCHEMA_PATHS if path.is_file()), None)
    if not os.access(binary, os.X_OK) or schema is None:
        _missing("PowerDNS (pdns-server, pdns-backend-sqlite3)")
    assert schema is not None
    home = tmp_path_factory.mktemp("powerdns")
    database = home / "pdns.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.executescript(schema.read_text())
    key = secrets.token_hex(16)
    dns_port, api_port = bind_server.port, free_port()
    settings = {
        "launch": "gsqlite3",
        "gsqlite3-database": str(database),
        "local-address": PDNS_DNS_HOST,
        "local-port": str(dns_port),
        "api": "yes",
        "api-key": key,
        "webserver": "yes",
        "webserver-address": HOST,
        "webserver-port": str(api_port),
        "webserver-allow-from": HOST,
        "security-poll-suffix": "",
        "socket-dir": str(home),
        "guardian": "no",
        "daemon": "no",
        "disable-syslog": "yes",
    }
    (home / "pdns.conf").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    log = (home / "pdns.log").open("ab")
    process = subprocess.Popen(
        [binary, f"--config-dir={home}"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api_url = f"http://{HOST}:{api_port}"
    try:
        wait_until(
            lambda: (
                process.poll() is None and _api_answers(f"{api_url}/api/v1/servers/localhost", key)
            ),
            timeout=START_TIMEOUT_SECONDS,
            what=f"PowerDNS to answer (log: {home / 'pdns.log'})",
        )
        for name in DELEGATION_NAMESERVERS:
            bind_server.replace(name, "A", PDNS_DNS_HOST)
        yield PowerDns(api_url=api_url, api_key=key, dns_host=PDNS_DNS_HOST, dns_port=dns_port)
    finally:
        process.terminate()
        process.wait(15)
        log.close()


@pytest.fixture(scope="session")
def moto_route53(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto in server mode on a loopback port, for the session: the Route 53 endpoint URL."""
    binary = ROOT / ".venv" / "bin" / "moto_server"
    if not binary.exists():
        _missing("moto[server]")
    port = free_port()
    home = tmp_path_factory.mktemp("moto")
    log = (home / "moto.log").open("ab")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    process = subprocess.Popen(
        [str(binary), "-H", HOST, "-p", str(port)],
        cwd=home,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://{HOST}:{port}"

    def answers() -> bool:
        assert process.poll() is None, "moto_server exited"
        try:
            with httpx.Client(timeout=1.0, trust_env=False) as client:
                return client.get(f"{url}/moto-api/").status_code < 500
        except httpx.TransportError:
            return False

    try:
        wait_until(answers, timeout=START_TIMEOUT_SECONDS, what="moto_server to answer")
        yield url
    finally:
        process.terminate()
        process.wait(15)
        log.close()
