"""The Route 53 publisher against moto in server mode: hosted zones, fences, deletes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import boto3
import pytest

from email_channels.integrations.dns_publisher import PublisherUnavailable, ZoneRecord, ZoneTaken
from email_channels.integrations.dns_publisher.route53 import Route53Publisher
from email_channels.integrations.ses import TAG_DEPLOYMENT, maybe_applied
from tests.support.processes import HOST, free_port
from tests.support.publishers import MOTO_CREDENTIALS, fence, setup_records


@pytest.fixture
async def publisher(moto_route53: str) -> AsyncIterator[Route53Publisher]:
    adapter = Route53Publisher(
        timeout=10.0, endpoint_url=moto_route53, credentials=MOTO_CREDENTIALS
    )
    yield adapter
    await adapter.close()


@pytest.fixture
def route53(moto_route53: str) -> Any:
    """A plain boto3 client of the same Route 53, to look behind the adapter's back."""
    return boto3.client(
        "route53",
        region_name="us-east-1",
        endpoint_url=moto_route53,
        aws_access_key_id=MOTO_CREDENTIALS[0],
        aws_secret_access_key=MOTO_CREDENTIALS[1],
    )


@pytest.fixture
def domain() -> str:
    return f"mail-{uuid.uuid4().hex[:10]}.acme.test"


def hosted_zones(route53: Any, domain: str) -> list[Any]:
    zones = route53.list_hosted_zones_by_name(DNSName=f"{domain}.")["HostedZones"]
    return [zone for zone in zones if zone["Name"] == f"{domain}."]


async def test_hosted_zone_made_with_its_nameservers_records_and_tags(
    publisher: Route53Publisher, route53: Any, domain: str
) -> None:
    setup_id = str(uuid.uuid4())
    zone = await publisher.create_zone(domain, records=setup_records(domain), tags=fence(setup_id))
    assert zone.setup_id == setup_id
    assert zone.nameservers, "Route 53 assigns the zone's name servers"
    [raw] = hosted_zones(route53, domain)
    zone_id = raw["Id"].rsplit("/", 1)[-1]
    assigned = route53.get_hosted_zone(Id=zone_id)["DelegationSet"]["NameServers"]
    assert sorted(name.rstrip(".") for name in assigned) == list(zone.nameservers)
    tags = route53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id)
    assert {t["Key"]: t["Value"] for t in tags["ResourceTagSet"]["Tags"]} == fence(setup_id)
    held = await publisher.zone_records(domain)
    assert held is not None
    assert set(setup_records(domain)) <= set(held)
    apex_ns = [record for record in held if record.type == "NS" and record.name == domain]
    assert sorted(apex_ns[0].values) == list(zone.nameservers)


async def test_create_again_for_the_same_setup_makes_no_second_zone(
    publisher: Route53Publisher, route53: Any, domain: str
) -> None:
    setup_id = str(uuid.uuid4())
    await publisher.create_zone(domain, records=setup_records(domain), tags=fence(setup_id))
    again = await publisher.create_zone(domain, records=setup_records(domain), tags=fence(setup_id))
    assert again.setup_id == setup_id
    assert len(hosted_zones(route53, domain)) == 1


async def test_zone_held_by_someone_else_is_taken_and_left_alone(
    publisher: Route53Publisher, route53: Any, domain: str
) -> None:
    route53.create_hosted_zone(Name=f"{domain}.", CallerReference=str(uuid.uuid4()))
    with pytest.raises(ZoneTaken) as taken:
        await publisher.create_zone(
            domain, records=setup_records(domain), tags=fence(str(uuid.uuid4()))
        )
    assert taken.value.status == 409
    assert len(hosted_zones(route53, domain)) == 1
    assert await publisher.delete_zone(domain, setup_id=str(uuid.uuid4())) is True
    assert len(hosted_zones(route53, domain)) == 1


async def test_delete_empties_and_removes_the_setups_zone(
    publisher: Route53Publisher, route53: Any, domain: str
) -> None:
    setup_id = str(uuid.uuid4())
    await publisher.create_zone(domain, records=setup_records(domain), tags=fence(setup_id))
    assert await publisher.delete_zone(domain, setup_id=setup_id) is False
    assert hosted_zones(route53, domain) == []
    assert await publisher.find_zone(domain) is None
    assert await publisher.delete_zone(domain, setup_id=setup_id) is False


async def test_put_records_writes_a_record_deleted_behind_our_back(
    publisher: Route53Publisher, domain: str
) -> None:
    setup_id = str(uuid.uuid4())
    records = setup_records(domain)
    await publisher.create_zone(domain, records=records, tags=fence(setup_id))
    spf = ZoneRecord(f"bounce.{domain}", "TXT", ("v=spf1 include:amazonses.com ~all",))
    await publisher.put_records(domain, records=[spf])
    held = await publisher.zone_records(domain)
    assert held is not None
    assert spf in held


async def test_zones_lists_the_fence_of_each_zone(publisher: Route53Publisher, domain: str) -> None:
    setup_id = str(uuid.uuid4())
    await publisher.create_zone(domain, records=setup_records(domain), tags=fence(setup_id))
    listed = {zone.name: zone async for zone in publisher.zones()}
    assert listed[domain].setup_id == setup_id
    assert listed[domain].tags[TAG_DEPLOYMENT] == "test-deployment"


async def test_route53_not_listening_is_a_502_not_applied(domain: str) -> None:
    adapter = Route53Publisher(
        timeout=5.0, endpoint_url=f"http://{HOST}:{free_port()}", credentials=MOTO_CREDENTIALS
    )
    try:
        with pytest.raises(PublisherUnavailable) as refused:
            await adapter.find_zone(domain)
    finally:
        await adapter.close()
    assert refused.value.status == 502
    assert not maybe_applied(refused.value)
    assert HOST not in refused.value.detail
