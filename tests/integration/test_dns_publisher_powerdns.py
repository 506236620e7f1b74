"""The PowerDNS publisher against a real pdns_server: zones, fences, repairs and failures."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import AsyncIterator, Iterator

import dns.message
import dns.query
import dns.rdatatype
import pytest

from email_channels.integrations.dns_publisher import (
    PublisherTimeout,
    PublisherUnavailable,
    ZoneTaken,
)
from email_channels.integrations.dns_publisher.powerdns import PowerDnsPublisher
from email_channels.integrations.ses import TAG_DEPLOYMENT, maybe_applied
from tests.support.processes import HOST, free_port
from tests.support.publishers import DELEGATION_NAMESERVERS, PowerDns, fence, setup_records


def ask(server: PowerDns, name: str, rdtype: str) -> list[str]:
    """What the publisher's own DNS server answers, asked directly, without recursion."""
    query = dns.message.make_query(name, rdtype)
    query.flags &= ~dns.flags.RD
    answer = dns.query.udp(query, server.dns_host, port=server.dns_port, timeout=2.0)
    wanted = dns.rdatatype.from_text(rdtype)
    return sorted(
        item.to_text() for rrset in answer.answer if rrset.rdtype == wanted for item in rrset
    )


@pytest.fixture
async def publisher(powerdns: PowerDns) -> AsyncIterator[PowerDnsPublisher]:
    adapter = PowerDnsPublisher(
        api_url=powerdns.api_url,
        api_key=powerdns.api_key,
        server_id="localhost",
        nameservers=DELEGATION_NAMESERVERS,
        timeout=5.0,
    )
    yield adapter
    await adapter.close()


@pytest.fixture
def domain() -> str:
    return f"mail-{uuid.uuid4().hex[:10]}.acme.test"


async def test_zone_made_native_with_the_records_and_delegation_nameservers(
    publisher: PowerDnsPublisher, powerdns: PowerDns, domain: str
) -> None:
    setup_id = str(uuid.uuid4())
    zone = await publisher.create_zone(domain, records=setup_records(domain), tags=fence(setup_id))
    assert zone.name == domain
    assert zone.setup_id == setup_id
    assert ask(powerdns, domain, "NS") == [f"{name}." for name in DELEGATION_NAMESERVERS]
    assert ask(powerdns, f"t2._domainkey.{domain}", "CNAME") == ["t2.dkim.amazonses.com."]
    assert ask(powerdns, f"bounce.{domain}", "TXT") == ['"v=spf1 include:amazonses.com ~all"']
    assert ask(powerdns, domain, "MX") == ["10 inbound-smtp.us-east-1.amazonaws.com."]
    with powerdns.api() as api:
        raw = api.get(f"/zones/{domain}.").json()
    assert raw["kind"] == "Native"
    assert raw["account"] == setup_id
    found = await publisher.find_zone(domain)
    assert found is not None
    assert dict(found.tags) == fence(setup_id)
    assert found.nameservers == DELEGATION_NAMESERVERS
    held = await publisher.zone_records(domain)
    assert held is not None
    assert set(setup_records(domain)) <= set(held)


async def test_create_again_for_the_same_setup_finds_the_zone_made_before(
    publisher: PowerDnsPublisher, domain: str
) -> None:
    setup_id = str(uuid.uuid4())
    first = await publisher.create_zone(domain, records=setup_records(domain), tags=fence(setup_id))
    again = await publisher.create_zone(domain, records=setup_records(domain), tags=fence(setup_id))
    assert again.name == first.name
    assert again.setup_id == setup_id


async def test_zone_held_for_another_setup_is_taken_and_left_alone(
    publisher: PowerDnsPublisher, domain: str
) -> None:
    owner = str(uuid.uuid4())
    await publisher.create_zone(domain, records=setup_records(domain), tags=fence(owner))
    with pytest.raises(ZoneTaken) as taken:
        await publisher.create_zone(
            domain, records=setup_records(domain), tags=fence(str(uuid.uuid4()))
        )
    assert taken.value.status == 409
    assert not maybe_applied(taken.value)
    assert await publisher.delete_zone(domain, setup_id=str(uuid.uuid4())) is True
    still = await publisher.find_zone(domain)
    assert still is not None
    assert still.setup_id == owner


async def test_zone_made_by_someone_else_is_taken(
    publisher: PowerDnsPublisher, powerdns: PowerDns, domain: str
) -> None:
    with powerdns.api() as api:
        api.post(
            "/zones", json={"name": f"{domain}.", "kind": "Native", "nameservers": ["ns.other."]}
        ).raise_for_status()
    with pytest.raises(ZoneTaken):
        await publisher.create_zone(
            domain, records=setup_records(domain), tags=fence(str(uuid.uuid4()))
        )


async def test_delete_removes_the_setups_zone_and_is_idempotent(
    publisher: PowerDnsPublisher, powerdns: PowerDns, domain: str
) -> None:
    setup_id = str(uuid.uuid4())
    await publisher.create_zone(domain, records=setup_records(domain), tags=fence(setup_id))
    assert await publisher.delete_zone(domain, setup_id=setup_id) is False
    assert await publisher.find_zone(domain) is None
    assert await publisher.delete_zone(domain, setup_id=setup_id) is False
    assert ask(powerdns, domain, "NS") == []


async def test_put_records_writes_a_record_deleted_behind_our_back(
    publisher: PowerDnsPublisher, powerdns: PowerDns, domain: str
) -> None:
    setup_id = str(uuid.uuid4())
    records = setup_records(domain)
    await publisher.create_zone(domain, records=records, tags=fence(setup_id))
    dmarc = records[-1]
    with powerdns.api() as api:
        api.patch(
            f"/zones/{domain}.",
            json={"rrsets": [{"name": f"_dmarc.{domain}.", "type": "TXT", "changetype": "DELETE"}]},
        ).raise_for_status()
    assert ask(powerdns, f"_dmarc.{domain}", "TXT") == []
    await publisher.put_records(domain, records=[dmarc])
    assert ask(powerdns, f"_dmarc.{domain}", "TXT") == ['"v=DMARC1; p=none;"']


async def test_zones_lists_every_zone_with_its_fence(
    publisher: PowerDnsPublisher, domain: str
) -> None:
    setup_id = str(uuid.uuid4())
    await publisher.create_zone(domain, records=setup_records(domain), tags=fence(setup_id))
    listed = {zone.name: zone async for zone in publisher.zones()}
    assert listed[domain].setup_id == setup_id
    assert listed[domain].tags[TAG_DEPLOYMENT] == "test-deployment"


async def test_wrong_api_key_is_a_502_in_our_words(powerdns: PowerDns, domain: str) -> None:
    adapter = PowerDnsPublisher(
        api_url=powerdns.api_url,
        api_key="not-the-key",
        server_id="localhost",
        nameservers=DELEGATION_NAMESERVERS,
        timeout=5.0,
    )
    try:
        with pytest.raises(PublisherUnavailable) as refused:
            await adapter.find_zone(domain)
    finally:
        await adapter.close()
    assert refused.value.status == 502
    assert not maybe_applied(refused.value)
    assert "not-the-key" not in refused.value.detail
    assert powerdns.api_url not in refused.value.detail


async def test_publisher_not_listening_is_a_502_not_applied(domain: str) -> None:
    adapter = PowerDnsPublisher(
        api_url=f"http://{HOST}:{free_port()}",
        api_key="key",
        server_id="localhost",
        nameservers=DELEGATION_NAMESERVERS,
        timeout=5.0,
    )
    try:
        with pytest.raises(PublisherUnavailable) as refused:
            await adapter.create_zone(
                domain, records=setup_records(domain), tags=fence(str(uuid.uuid4()))
            )
    finally:
        await adapter.close()
    assert refused.value.status == 502
    assert not maybe_applied(refused.value)
    assert "127.0.0.1" not in json.dumps(refused.value.detail)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback port that accepts connections and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((HOST, 0))
        listener.listen(8)
        yield f"http://{HOST}:{listener.getsockname()[1]}"


async def test_publisher_that_never_answers_is_a_504_maybe_applied(
    silent_server: str, domain: str
) -> None:
    adapter = PowerDnsPublisher(
        api_url=silent_server,
        api_key="key",
        server_id="localhost",
        nameservers=DELEGATION_NAMESERVERS,
        timeout=0.5,
    )
    try:
        with pytest.raises(PublisherTimeout) as late:
            await adapter.find_zone(domain)
    finally:
        await adapter.close()
    assert late.value.status == 504
    assert maybe_applied(late.value)
