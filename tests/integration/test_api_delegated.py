"""Delegated setups through the API, with PowerDNS as the publisher: the zone step of the saga."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from email_channels.ses_setups.models import SesSetup
from tests.support.bind import BindServer
from tests.support.fixtures_api import Api
from tests.support.processes import HOST
from tests.support.publishers import (
    DELEGATION_NAMESERVERS,
    PowerDns,
    delegated_body,
    nothing_in_ses,
    publisher_settings,
    rows,
    zone_at,
)
from tests.support.tcp_proxy import TcpProxy

URL = "/v1/ws1/channels/ses-setup"
SEVEN = ["dkim"] * 3 + ["mail_from_mx", "spf", "inbound_mx", "dmarc"]


@pytest.fixture
async def publisher_proxy(
    request: pytest.FixtureRequest, powerdns: PowerDns
) -> AsyncIterator[TcpProxy]:
    """The publisher's API through a proxy the test can stop (faults as `request.param`)."""
    faults: dict[str, Any] = getattr(request, "param", {})
    proxy = TcpProxy(target_host=HOST, target_port=powerdns.api_port, **faults)
    await proxy.start()
    yield proxy
    await proxy.stop()


@pytest.fixture
def api_overrides(powerdns: PowerDns, publisher_proxy: TcpProxy) -> dict[str, Any]:
    # The zones' own servers (BIND above, PowerDNS below) answer at the test BIND's port.
    return {
        **publisher_settings(powerdns, api_url=publisher_proxy.url),
        "dns_authoritative_port": powerdns.dns_port,
    }


async def test_delegated_create_serves_the_seven_records_and_answers_ns_first(
    api: Api, powerdns: PowerDns
) -> None:
    body = delegated_body()
    domain = body["domain_identity"]
    detail = await api.create_setup(await api.key(), **body)

    assert detail["dns_mode"] == "delegated"
    records = detail["dns_records"]
    assert [r["purpose"] for r in records] == ["delegation"] * 2 + SEVEN
    assert [(r["type"], r["address"], r["record"]) for r in records[:2]] == [
        ("NS", domain, name) for name in DELEGATION_NAMESERVERS
    ]
    assert [r["managed"] for r in records] == [False] * 2 + [True] * 7
    zone = zone_at(powerdns, domain)
    assert zone is not None
    assert zone["kind"] == "Native"
    served = {(s["name"], s["type"]): s["records"] for s in zone["rrsets"]}
    for record in records[2:]:
        contents = [r["content"] for r in served[(f"{record['address']}.", record["type"])]]
        assert any(record["record"].split()[-1] in content for content in contents), record
    assert sorted(r["content"] for r in served[(f"{domain}.", "NS")]) == [
        f"{name}." for name in DELEGATION_NAMESERVERS
    ]


async def test_managed_records_verified_at_the_publisher_and_delegation_missing_until_published(
    api: Api, bind_server: BindServer
) -> None:
    headers = await api.key()
    body = delegated_body()
    domain = body["domain_identity"]
    detail = await api.create_setup(headers, **body)
    url = f"{URL}/{detail['id']}"

    before = (await api.client.get(url, headers=headers)).json()

    statuses = [(r["purpose"], r["status"]) for r in before["dns_records"]]
    assert statuses == [("delegation", "missing")] * 2 + [(p, "verified") for p in SEVEN]
    assert before["dns_verified"] is False

    bind_server.replace(domain, "NS", *(f"{name}." for name in DELEGATION_NAMESERVERS))
    after = (await api.client.get(url, headers=headers)).json()

    assert [r["status"] for r in after["dns_records"]] == ["verified"] * 9
    assert after["dns_verified"] is True


async def test_a_delegation_to_other_servers_is_a_mismatch_that_names_them(
    api: Api, bind_server: BindServer
) -> None:
    headers = await api.key()
    body = delegated_body()
    domain = body["domain_identity"]
    detail = await api.create_setup(headers, **body)
    bind_server.replace(domain, "NS", "ns1.elsewhere.example.", "ns2.elsewhere.example.")

    checked = (await api.client.get(f"{URL}/{detail['id']}", headers=headers)).json()

    for record in checked["dns_records"][:2]:
        assert record["status"] == "mismatch"
        assert record["found"] == ["ns1.elsewhere.example", "ns2.elsewhere.example"]
        assert "ns1.elsewhere.example" in record["reason"]
    assert checked["dns_verified"] is False


async def test_customer_setup_has_every_record_unmanaged(api: Api) -> None:
    body = delegated_body(dns_mode="customer")
    detail = await api.create_setup(await api.key(), **body)
    assert detail["dns_mode"] == "customer"
    assert [r["purpose"] for r in detail["dns_records"]] == SEVEN
    assert not any(r["managed"] for r in detail["dns_records"])


async def test_zone_export_of_a_delegated_setup_holds_only_the_ns_records(api: Api) -> None:
    headers = await api.key()
    body = delegated_body()
    domain = body["domain_identity"]
    detail = await api.create_setup(headers, **body)

    bind = await api.client.get(f"{URL}/{detail['id']}/zone", headers=headers)
    assert bind.status_code == 200
    lines = [line.split() for line in bind.text.splitlines() if line and not line.startswith(";")]
    assert lines == [
        [f"{domain}.", "3600", "IN", "NS", f"{name}."] for name in DELEGATION_NAMESERVERS
    ]
    csv = await api.client.get(f"{URL}/{detail['id']}/zone?format=csv", headers=headers)
    assert csv.status_code == 200
    assert csv.text.splitlines()[1:] == [f"NS,{domain},{name}" for name in DELEGATION_NAMESERVERS]


async def test_delete_removes_the_ses_resources_and_the_zone(
    api: Api, powerdns: PowerDns, sandbox: Any
) -> None:
    headers = await api.key()
    body = delegated_body()
    domain = body["domain_identity"]
    detail = await api.create_setup(headers, **body)
    assert zone_at(powerdns, domain) is not None

    response = await api.client.delete(f"{URL}/{detail['id']}", headers=headers)

    assert response.status_code == 204
    assert zone_at(powerdns, domain) is None
    assert nothing_in_ses(sandbox, domain)
    assert await rows(api) == []


async def test_an_apex_domain_cannot_be_delegated(api: Api, sandbox: Any) -> None:
    response = await api.client.post(
        URL, json=delegated_body(domain_identity="acme-apex.test"), headers=await api.key()
    )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "domain_identity"
    assert "apex" in error["message"]
    assert "mail.acme-apex.test" in error["message"]
    assert nothing_in_ses(sandbox, "acme-apex.test")


async def test_an_unknown_dns_mode_is_refused(api: Api, sandbox: Any) -> None:
    response = await api.client.post(
        URL, json=delegated_body(dns_mode="registrar"), headers=await api.key()
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["dns_mode"]
    assert sandbox.state()["tenants"] == []


@pytest.mark.parametrize("api_overrides", [{}])
async def test_delegated_refused_where_the_deployment_has_no_publisher(
    api: Api, sandbox: Any
) -> None:
    response = await api.client.post(URL, json=delegated_body(), headers=await api.key())
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "dns_mode"
    assert "does not offer" in error["message"]
    assert sandbox.state()["tenants"] == []


async def test_a_zone_the_publisher_holds_for_someone_else_is_a_409_with_nothing_in_ses(
    api: Api, powerdns: PowerDns, sandbox: Any
) -> None:
    body = delegated_body()
    domain = body["domain_identity"]
    with powerdns.api() as client:
        client.post(
            "/zones", json={"name": f"{domain}.", "kind": "Native", "nameservers": ["ns.other."]}
        ).raise_for_status()

    response = await api.client.post(URL, json=body, headers=await api.key())

    assert response.status_code == 409
    assert domain in response.json()["detail"]
    assert nothing_in_ses(sandbox, domain)
    assert await rows(api) == []
    zone = zone_at(powerdns, domain)
    assert zone is not None
    assert zone["account"] == ""  # the other zone is left as it was


async def test_the_sweep_deletes_a_zone_no_row_knows(api: Api, powerdns: PowerDns) -> None:
    headers = await api.key()
    body = delegated_body()
    domain = body["domain_identity"]
    await api.create_setup(headers, **body)
    async with api.database.transaction() as session:
        for setup in await session.scalars(select(SesSetup)):
            await session.delete(setup)  # the row is lost; the zone is not

    dry = await api.app.state.ses_setups.reconciler.run(older_than=timedelta(0), dry_run=True)
    assert [(r.kind, r.name) for r in dry.swept if r.kind == "zone"] == [("zone", domain)]
    assert zone_at(powerdns, domain) is not None
    report = await api.app.state.ses_setups.reconciler.run(older_than=timedelta(0))
    assert [(r.kind, r.name) for r in report.swept if r.kind == "zone"] == [("zone", domain)]
    assert zone_at(powerdns, domain) is None


async def test_publisher_down_after_ses_is_a_502_with_ses_rolled_back(
    api: Api, sandbox: Any, powerdns: PowerDns, publisher_proxy: TcpProxy
) -> None:
    await publisher_proxy.stop()
    body = delegated_body()
    response = await api.client.post(URL, json=body, headers=await api.key())

    assert response.status_code == 502
    problem = response.json()
    assert problem["title"] == "DNS service unavailable"
    assert "PowerDNS" in problem["detail"]
    assert powerdns.api_key not in response.text
    assert publisher_proxy.url not in response.text
    assert nothing_in_ses(sandbox, body["domain_identity"])
    assert await rows(api) == []
    assert zone_at(powerdns, body["domain_identity"]) is None


@pytest.mark.parametrize(
    "publisher_proxy", [{"trip_status": 201, "lose_answer": True}], indirect=True
)
async def test_zone_made_but_its_answer_lost_leaves_nothing_after_one_reconcile(
    api: Api, sandbox: Any, powerdns: PowerDns, publisher_proxy: TcpProxy
) -> None:
    body = delegated_body()
    domain = body["domain_identity"]
    response = await api.client.post(URL, json=body, headers=await api.key())

    # PowerDNS made the zone; its answer was lost and the publisher then went away, so the
    # create's undo could not reach it: the row keeps what may exist, for reconcile.
    assert response.status_code == 502
    assert publisher_proxy.tripped.is_set()
    assert zone_at(powerdns, domain) is not None
    [row] = await rows(api)
    assert row.state == "provisioning"
    assert "zone" in row.provisioning_steps

    await publisher_proxy.start()  # the publisher is back
    report = await api.app.state.ses_setups.reconciler.run(older_than=timedelta(0))

    assert report.rolled_back == [row.id]
    assert zone_at(powerdns, domain) is None
    assert nothing_in_ses(sandbox, domain)
    assert await rows(api) == []
