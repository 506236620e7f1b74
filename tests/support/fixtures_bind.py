"""BIND 9 fixtures: one `named` per session, a fresh domain per test, publish helpers."""

from __future__ import annotations

import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pytest

from email_channels.integrations.dns.resolver import DnsPythonLookup
from email_channels.ses_setups.records import ExpectedRecord, Purpose, expected_records
from tests.support.bind import BindServer, ZoneMode, find_named, txt_value

PARENT_ZONE = "example.test"
DKIM_TOKENS = ("tokenone", "tokentwo", "tokenthree")
SIGNING_ZONE = "dkim.amazonses.com"
REGION = "us-east-1"
MAIL_FROM = "bounce"


def record_value(record: ExpectedRecord) -> str:
    """An expected record's value as BIND takes it in an update."""
    if record.type.upper() == "TXT":
        return txt_value(record.record)
    return record.record


class TestZone:
    """A unique domain on the test BIND, with helpers to publish and break its records."""

    __test__ = False  # not a test class, despite the name

    def __init__(self, server: BindServer, domain: str) -> None:
        self.server = server
        self.domain = domain
        self._added_zones: list[str] = []

    def expected_records(
        self,
        *,
        dkim_tokens: Sequence[str] = DKIM_TOKENS,
        region: str = REGION,
        mail_from_subdomain: str = MAIL_FROM,
        signing_hosted_zone: str = SIGNING_ZONE,
    ) -> list[ExpectedRecord]:
        """The seven records SES would ask for this domain."""
        return expected_records(
            domain=self.domain,
            region=region,
            mail_from_subdomain=mail_from_subdomain,
            dkim_tokens=dkim_tokens,
            signing_hosted_zone=signing_hosted_zone,
        )

    def publish(self, records: Iterable[ExpectedRecord]) -> None:
        """Publish records exactly as expected: each (address, type) RRset is replaced."""
        rrsets: dict[tuple[str, str], list[str]] = defaultdict(list)
        for record in records:
            rrsets[(record.address, record.type)].append(record_value(record))
        self.server.replace_rrsets(rrsets)

    def publish_api_records(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Publish the `dns_records` of an API Detail exactly as the API asks for them."""
        self.publish(
            ExpectedRecord(Purpose(r["purpose"]), r["type"], r["address"], r["record"])
            for r in records
        )

    def add(self, name: str, rdtype: str, *values: str) -> None:
        """Add records at `name` (absolute; values in presentation form)."""
        self.server.add(name, rdtype, *values)

    def replace(self, name: str, rdtype: str, *values: str) -> None:
        """Make `values` the whole RRset of `rdtype` at `name`."""
        self.server.replace(name, rdtype, *values)

    def delete(self, name: str, rdtype: str | None = None) -> None:
        """Delete one RRset at `name`, or every record there."""
        self.server.delete(name, rdtype)

    def unpublish(self, record: ExpectedRecord) -> None:
        """Remove the RRset an expected record lives in."""
        self.server.delete(record.address, record.type)

    def break_zone(self, origin: str, mode: ZoneMode) -> None:
        """Make BIND answer SERVFAIL or REFUSED for `origin` and the names under it."""
        self.server.add_zone(origin, mode=mode)
        self._added_zones.append(origin)

    def query_counts(self) -> Counter[tuple[str, str]]:
        """Queries the server received so far for names in this domain, per (name, type)."""
        return self.server.query_counts(under=self.domain)

    def close(self) -> None:
        """Drop the zones this test added, so they do not leak into later tests."""
        for origin in self._added_zones:
            self.server.remove_zone(origin)
        self._added_zones.clear()


@pytest.fixture(scope="session")
def bind_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BindServer]:
    """BIND 9 on 127.0.0.1 at a free port, authoritative for example.test, for the session."""
    named = find_named()
    if named is None:
        message = "BIND 9 (named) is not installed; `./dev test` installs it"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    server = BindServer(tmp_path_factory.mktemp("bind"), named=named, zones=[PARENT_ZONE])
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dns_nameservers(bind_server: BindServer) -> str:
    """The test BIND as `127.0.0.1:PORT`, the value of EMAIL_CHANNELS_DNS_NAMESERVERS."""
    return bind_server.address


@pytest.fixture
def dns_zone(bind_server: BindServer) -> Iterator[TestZone]:
    """A fresh, empty domain under example.test for one test, on a running server."""
    bind_server.ensure_running()
    # 11 hex digits: twelve are all decimal in about one zone of 280, and the answers' leak
    # check (tests/support/leaks.py) takes any twelve digits in a row for an AWS account id.
    zone = TestZone(bind_server, f"t{uuid.uuid4().hex[:11]}.{PARENT_ZONE}")
    try:
        yield zone
    finally:
        bind_server.ensure_running()
        zone.close()


@pytest.fixture
def dns_lookup(bind_server: BindServer) -> DnsPythonLookup:
    """The production DNS adapter pointed at the test BIND."""
    return DnsPythonLookup(nameservers=bind_server.nameservers, timeout=1.0, lifetime=2.0)
