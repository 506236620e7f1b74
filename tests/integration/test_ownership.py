"""One owner at a time: deletes, reconcile and creates on one setup never act twice."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from email_channels.ses_setups import repository
from email_channels.ses_setups.models import SesSetup
from tests.support.fixtures_api import Api
from tests.support.processes import run_cli, service_environment
from tests.support.sandbox import SandboxThread
from tests.support.serve_process import Served, serve

URL = "/v1/{workspace}/channels/ses-setup"
DEADLINE_SECONDS = 20.0


def _body() -> dict[str, str]:
    name = uuid.uuid4().hex[:10]
    return {"tenant_name": f"t-{name}", "domain_identity": f"d-{name}.example.test"}


async def _until_fault_taken(sandbox: SandboxThread) -> None:
    """Wait until the emulator holds a request in its injected delay."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while sandbox.pending_faults():
        assert time.monotonic() < deadline, "the delayed SES call never arrived"
        await asyncio.sleep(0.02)


def _resources(sandbox: SandboxThread) -> tuple[set[str], set[str], set[tuple[str, str]]]:
    state = sandbox.state()
    return (
        {tenant["TenantName"] for tenant in state["tenants"]},
        {identity["EmailIdentity"] for identity in state["identities"]},
        {(link["TenantName"], link["ResourceArn"]) for link in state["associations"]},
    )


@pytest.fixture
def two_processes(
    api: Api, database_url: str, sandbox: SandboxThread, tmp_path: Path, dns_nameservers: str
) -> Iterator[tuple[Served, Served]]:
    """Two `email-channels serve` processes on the test database and the one emulator."""
    settings = {
        "database_url": database_url,
        "ses_mode": "aws",
        "ses_endpoint_url": sandbox.endpoint_url,
        "dns_nameservers": dns_nameservers,
        "upstream_timeout": "5",
    }
    with (
        serve(tmp_path / "first.log", **settings) as first,
        serve(tmp_path / "second.log", **settings) as second,
    ):
        yield first, second


async def test_two_processes_deleting_one_setup_act_once_and_spare_the_next_owner(
    api: Api, sandbox: SandboxThread, two_processes: tuple[Served, Served]
) -> None:
    first, second = two_processes
    headers, other_headers = await api.key("ws1"), await api.key("ws2")
    body = _body()
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
        created = await client.post(
            first.base_url + URL.format(workspace="ws1"), json=body, headers=headers
        )
        assert created.status_code == 201, created.text
        setup_url = URL.format(workspace="ws1") + f"/{created.json()['id']}"
        sandbox.add_fault(
            operation="DeleteTenantResourceAssociation", error_code=None, delay_seconds=2.0
        )

        running = asyncio.ensure_future(client.delete(first.base_url + setup_url, headers=headers))
        await _until_fault_taken(sandbox)
        duplicate = await client.delete(second.base_url + setup_url, headers=headers)
        done = await running

        assert (done.status_code, duplicate.status_code) == (204, 409), duplicate.text
        assert "in progress" in duplicate.json()["detail"]
        # The names are free now; another workspace takes the same domain at once.
        again = {**body, "tenant_name": body["tenant_name"] + "-b"}
        retaken = await client.post(
            second.base_url + URL.format(workspace="ws2"), json=again, headers=other_headers
        )
        assert retaken.status_code == 201, retaken.text

    tenants, identities, associations = _resources(sandbox)
    assert tenants == {again["tenant_name"]}
    assert identities == {body["domain_identity"]}
    assert [name for name, _ in associations] == [again["tenant_name"]]


async def _claim_delete(api: Api, setup_id: str, *, seconds: float) -> None:
    """Another process's delete: claimed, then (seconds < 0) its holder died long ago."""
    async with api.database.transaction() as session:
        await repository.claim_delete(
            session,
            workspace_id="ws1",
            setup_id=uuid.UUID(setup_id),
            token=uuid.uuid4(),
            seconds=seconds,
        )


async def test_delete_while_another_delete_holds_the_lease_is_409(
    api: Api, sandbox: SandboxThread
) -> None:
    headers = await api.key()
    setup = await api.create_setup(headers, **_body())
    await _claim_delete(api, setup["id"], seconds=600)

    response = await api.client.delete(
        URL.format(workspace="ws1") + f"/{setup['id']}", headers=headers
    )

    assert response.status_code == 409
    assert response.json()["detail"] == "A delete of this SES setup is in progress."
    assert len(sandbox.state()["tenants"]) == 1  # nothing was touched


async def test_delete_takes_over_once_the_other_delete_lease_expired(
    api: Api, sandbox: SandboxThread
) -> None:
    headers = await api.key()
    setup = await api.create_setup(headers, **_body())
    await _claim_delete(api, setup["id"], seconds=-1)

    response = await api.client.delete(
        URL.format(workspace="ws1") + f"/{setup['id']}", headers=headers
    )

    assert response.status_code == 204
    assert sandbox.state() == {"tenants": [], "identities": [], "associations": []}


async def test_reconcile_leaves_a_create_that_waits_in_ses_alone(
    api: Api, sandbox: SandboxThread, database_url: str, tmp_path: Path
) -> None:
    headers = await api.key()
    body = _body()
    sandbox.add_fault(
        operation="CreateTenantResourceAssociation", error_code=None, delay_seconds=2.0
    )
    creating = asyncio.ensure_future(
        api.client.post(URL.format(workspace="ws1"), json=body, headers=headers)
    )
    await _until_fault_taken(sandbox)

    env = service_environment(
        database_url=database_url, ses_mode="aws", ses_endpoint_url=sandbox.endpoint_url
    )
    status, out, err = await run_cli("reconcile", "--older-than", "0", env=env, cwd=tmp_path)
    response = await creating

    assert status == 0, err
    assert out == ""  # it took nothing
    assert response.status_code == 201, response.text
    tenants, identities, associations = _resources(sandbox)
    assert tenants == {body["tenant_name"]}
    assert identities == {body["domain_identity"]}
    assert len(associations) == 1
    async with api.database.transaction() as session:
        row = (await session.scalars(select(SesSetup))).one()
    assert (row.state, row.lease_token) == ("active", None)
    assert row.provisioning_steps == ["tenant", "identity", "association"]


async def test_a_create_taken_over_during_its_first_round_stops_and_leaves_nothing_behind(
    api: Api, sandbox: SandboxThread, database_url: str, tmp_path: Path
) -> None:
    """The renewal before the second round finds the lease taken: no association is asked
    for, and the actor that took over undoes what the row recorded."""
    headers = await api.key()
    body = _body()
    sandbox.add_fault(operation="CreateTenant", error_code=None, delay_seconds=1.0)
    creating = asyncio.ensure_future(
        api.client.post(URL.format(workspace="ws1"), json=body, headers=headers)
    )
    await _until_fault_taken(sandbox)
    async with api.database.transaction() as session:
        row = (await session.scalars(select(SesSetup))).one()
        assert row.provisioning_steps == ["tenant", "identity"]
        # Another actor's claim, as after this one's lease had run out.
        await session.execute(
            update(SesSetup)
            .where(SesSetup.id == row.id)
            .values(
                lease_token=uuid.uuid4(),
                lease_expires_at=datetime.now(UTC) - timedelta(hours=1),
            )
        )
    response = await creating
    assert response.status_code == 503, response.text
    assert "taken over" in response.json()["detail"]
    assert _resources(sandbox)[2] == set()  # nothing associated without the lease

    env = service_environment(
        database_url=database_url, ses_mode="aws", ses_endpoint_url=sandbox.endpoint_url
    )
    status, out, err = await run_cli("reconcile", "--older-than", "0", env=env, cwd=tmp_path)
    assert status == 0, err
    assert str(row.id) in out  # reconcile rolled it back
    assert _resources(sandbox) == (set(), set(), set())
    async with api.database.read() as connection:
        assert (await connection.execute(select(SesSetup.id))).first() is None


class RegionSpy:
    """The real per-region SES clients, noting which regions were asked for."""

    def __init__(self, regions: Any) -> None:
        self._regions = regions
        self.asked: list[str] = []

    async def region(self, name: str) -> Any:
        self.asked.append(name)
        return await self._regions.region(name)


async def test_a_setup_is_torn_down_in_the_region_stored_on_its_row(
    api: Api, sandbox: SandboxThread
) -> None:
    from contextlib import AsyncExitStack

    from email_channels.app import create_app
    from email_channels.bootstrap import open_ses

    headers = await api.key()
    setup = await api.create_setup(headers, **_body())
    assert setup["region"] == "us-east-1"
    moved = api.settings.model_copy(update={"aws_region": "eu-west-1"})
    async with AsyncExitStack() as stack:
        spy = RegionSpy(await open_ses(moved, stack))
        app = create_app(moved, ses=spy)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                response = await client.delete(
                    URL.format(workspace="ws1") + f"/{setup['id']}", headers=headers
                )

    assert response.status_code == 204
    assert set(spy.asked) == {"us-east-1"}
    assert sandbox.state()["tenants"] == []
