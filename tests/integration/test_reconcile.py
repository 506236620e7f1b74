"""`reconcile` rolls back creates and finishes deletes that stopped half-way."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from email_channels.ses_setups import background_repository, repository
from email_channels.ses_setups.models import SesSetup
from email_channels.webhooks.models import Event
from tests.support.fixtures_api import Api
from tests.support.processes import run_cli, service_environment

URL = "/v1/ws1/channels/ses-setup"
EMPTY = {"tenants": [], "identities": [], "associations": []}


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    return {"upstream_timeout": 1.0}


def _body() -> dict[str, str]:
    name = uuid.uuid4().hex[:10]
    return {"tenant_name": f"t-{name}", "domain_identity": f"d-{name}.example.test"}


async def _states(api: Api) -> list[str]:
    async with api.database.transaction() as session:
        return list(await session.scalars(select(SesSetup.state)))


async def _half_created(api: Api, sandbox: Any, body: dict[str, str]) -> None:
    """A create whose association hung and whose undo then failed: SES keeps the pieces."""
    sandbox.add_fault(operation="CreateTenantResourceAssociation", hang=True, times=10)
    for operation in ("DeleteTenantResourceAssociation", "DeleteEmailIdentity", "DeleteTenant"):
        sandbox.add_fault(operation=operation, http_status=503, times=100)
    response = await api.client.post(URL, json=body, headers=await api.key())
    assert response.status_code == 504
    sandbox.clear_faults()
    assert len(sandbox.state()["tenants"]) == 1
    assert await _states(api) == ["provisioning"]


async def test_reconcile_rolls_back_a_create_whose_undo_failed(api: Api, sandbox: Any) -> None:
    body = _body()
    await _half_created(api, sandbox, body)
    # The names stay reserved while SES may hold the resources.
    blocked = await api.client.post(URL, json=body, headers=await api.key())
    assert blocked.status_code == 409

    report = await api.app.state.ses_setups.reconciler.run(older_than=timedelta(0))

    assert len(report.rolled_back) == 1
    assert report.failed == []
    assert sandbox.state() == EMPTY
    assert await _states(api) == []
    await api.create_setup(await api.key(), **body)


async def test_reconcile_leaves_recent_work_alone(api: Api, sandbox: Any) -> None:
    await _half_created(api, sandbox, _body())

    report = await api.app.state.ses_setups.reconciler.run(older_than=timedelta(minutes=5))

    assert report.rolled_back == report.deleted == report.failed == []
    assert len(sandbox.state()["tenants"]) == 1


async def _events(api: Api, setup_id: str) -> list[str]:
    async with api.database.transaction() as session:
        return list(
            await session.scalars(
                select(Event.type).where(Event.setup_id == uuid.UUID(setup_id)).order_by(Event.seq)
            )
        )


async def test_reconcile_finishes_an_interrupted_delete(api: Api, sandbox: Any) -> None:
    headers = await api.key()
    setup = await api.create_setup(headers, **_body())
    async with api.database.transaction() as session:  # a process died after this step
        await repository.claim_delete(
            session,
            workspace_id="ws1",
            setup_id=uuid.UUID(setup["id"]),
            token=uuid.uuid4(),
            seconds=-1,  # and its lease has run out since
        )

    report = await api.app.state.ses_setups.reconciler.run(older_than=timedelta(0))

    assert report.deleted == [uuid.UUID(setup["id"])]
    assert sandbox.state() == EMPTY
    assert (await api.client.get(f"{URL}/{setup['id']}", headers=headers)).status_code == 404
    assert await _events(api, setup["id"]) == ["ses_setup.created", "ses_setup.deleted"]


async def _expiry_that_died(api: Api, headers: dict[str, str]) -> str:
    """A setup whose expiry the worker claimed and then died, its lease run out; its id."""
    setup = await api.create_setup(headers, **_body())
    async with api.database.transaction() as session:
        expired, referenced = await background_repository.claim_expired(
            session, ttl=0, token=uuid.uuid4(), seconds=-1
        )
    assert expired is not None
    assert str(expired.id) == setup["id"]
    assert not referenced
    return str(setup["id"])


async def test_reconcile_finishes_an_interrupted_expiry_as_an_expiry(
    api: Api, sandbox: Any
) -> None:
    setup_id = await _expiry_that_died(api, await api.key())

    report = await api.app.state.ses_setups.reconciler.run(older_than=timedelta(0))

    assert report.deleted == [uuid.UUID(setup_id)]
    assert sandbox.state() == EMPTY
    assert await _events(api, setup_id) == ["ses_setup.created", "ses_setup.expired"]


async def test_a_delete_that_takes_over_a_dead_expiry_is_the_clients_delete(
    api: Api, sandbox: Any
) -> None:
    headers = await api.key()
    setup_id = await _expiry_that_died(api, headers)

    response = await api.client.delete(f"{URL}/{setup_id}", headers=headers)

    assert response.status_code == 204
    assert sandbox.state() == EMPTY
    assert await _events(api, setup_id) == ["ses_setup.created", "ses_setup.deleted"]


async def test_reconcile_reports_what_it_could_not_finish(api: Api, sandbox: Any) -> None:
    await _half_created(api, sandbox, _body())
    sandbox.add_fault(operation="DeleteTenant", http_status=503, times=100)

    report = await api.app.state.ses_setups.reconciler.run(older_than=timedelta(0))

    assert len(report.failed) == 1
    assert await _states(api) == ["provisioning"]


async def test_reconcile_command(api: Api, sandbox: Any, database_url: str, tmp_path: Path) -> None:
    await _half_created(api, sandbox, _body())
    env = service_environment(
        database_url=database_url, ses_mode="aws", ses_endpoint_url=sandbox.endpoint_url
    )
    status, out, err = await run_cli("reconcile", "--older-than", "0", env=env, cwd=tmp_path)

    assert status == 0, err
    label, setup_id = out.strip().split("\t")
    assert label == "rolled back"
    uuid.UUID(setup_id)
    assert sandbox.state() == EMPTY
