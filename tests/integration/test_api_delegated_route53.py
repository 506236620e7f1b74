"""Delegated setups through the API with Amazon Route 53 (moto in server mode) as publisher."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from tests.support.fixtures_api import Api
from tests.support.publishers import MOTO_CREDENTIALS, delegated_body, nothing_in_ses, rows

URL = "/v1/ws1/channels/ses-setup"


@pytest.fixture
def api_overrides(moto_route53: str) -> dict[str, Any]:
    return {
        "dns_publisher": "route53",
        "route53_endpoint_url": moto_route53,
        "deployment_id": f"test-{uuid.uuid4().hex[:8]}",
    }


@pytest.fixture
def route53(moto_route53: str) -> Any:
    return boto3.client(
        "route53",
        region_name="us-east-1",
        endpoint_url=moto_route53,
        aws_access_key_id=MOTO_CREDENTIALS[0],
        aws_secret_access_key=MOTO_CREDENTIALS[1],
    )


def hosted_zones(route53: Any, domain: str) -> list[Any]:
    zones = route53.list_hosted_zones_by_name(DNSName=f"{domain}.")["HostedZones"]
    return [zone for zone in zones if zone["Name"] == f"{domain}."]


async def test_delegated_create_makes_a_hosted_zone_whose_ns_are_answered_then_deletes_it(
    api: Api, route53: Any, sandbox: Any
) -> None:
    headers = await api.key()
    body = delegated_body()
    domain = body["domain_identity"]
    detail = await api.create_setup(headers, **body)

    [zone] = hosted_zones(route53, domain)
    zone_id = zone["Id"].rsplit("/", 1)[-1]
    assigned = route53.get_hosted_zone(Id=zone_id)["DelegationSet"]["NameServers"]
    delegation = [r for r in detail["dns_records"] if r["purpose"] == "delegation"]
    assert detail["dns_records"][: len(delegation)] == delegation
    assert [r["record"] for r in delegation] == sorted(n.rstrip(".") for n in assigned)
    assert all(r["type"] == "NS" and r["address"] == domain for r in delegation)
    sets = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    served = {(s["Name"].rstrip("."), s["Type"]) for s in sets}
    managed = [r for r in detail["dns_records"] if r["managed"]]
    assert len(managed) == 7
    assert {(r["address"], r["type"]) for r in managed} <= served

    response = await api.client.delete(f"{URL}/{detail['id']}", headers=headers)

    assert response.status_code == 204
    assert hosted_zones(route53, domain) == []
    assert nothing_in_ses(sandbox, domain)


async def test_a_hosted_zone_of_someone_else_is_a_409_with_nothing_in_ses(
    api: Api, route53: Any, sandbox: Any
) -> None:
    body = delegated_body()
    domain = body["domain_identity"]
    route53.create_hosted_zone(Name=f"{domain}.", CallerReference=str(uuid.uuid4()))

    response = await api.client.post(URL, json=body, headers=await api.key())

    assert response.status_code == 409
    assert nothing_in_ses(sandbox, domain)
    assert await rows(api) == []
    assert len(hosted_zones(route53, domain)) == 1
