"""In-flight deletes: a delete SES may still apply keeps its names reserved until the horizon.

The emulator holds a DeleteEmailIdentity (and DeleteTenant) for 6 s and then applies it,
long after the service gave up on it (UPSTREAM_TIMEOUT 1 s): the late delete of issue 18.
A retried DELETE finishes, but until INFLIGHT_HORIZON after the first call was sent, a create
of the same domain or tenant name, in any workspace, is a 409 with `Retry-After`; after it,
the create succeeds and the new owner's identity survives the late delete.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.support.fixtures_api import Api
from tests.support.sandbox import SandboxThread
from tests.support.worker import eventually

LATE = 6.0  # seconds the emulator holds the delete before applying it
SETUPS = "/v1/{}/channels/ses-setup"


@pytest.fixture
def api_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"upstream_timeout": 1.0, **getattr(request, "param", {})}


def _names() -> tuple[str, str]:
    name = uuid.uuid4().hex[:10]
    return f"t-{name}", f"d-{name}.example.test"


async def _delete_in_flight(api: Api, sandbox: SandboxThread, *operations: str) -> dict[str, Any]:
    """A setup of ws1 whose first DELETE timed out while SES still held `operations`, and
    whose retried DELETE then finished; its detail."""
    tenant, domain = _names()
    setup = await api.create_setup(await api.key(), tenant_name=tenant, domain_identity=domain)
    for operation in operations:
        sandbox.add_fault(operation=operation, delay_seconds=LATE, error_code=None)
    url = f"{SETUPS.format('ws1')}/{setup['id']}"

    first = await api.client.delete(url, headers=await api.key())
    assert first.status_code == 504, first.text

    retried = await api.client.delete(url, headers=await api.key())
    assert retried.status_code == 204, retried.text
    return setup


def _assert_in_flight(response: httpx.Response, *, name: str, horizon: float) -> int:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 409
    assert "may still be in flight" in problem["detail"]
    assert repr(name) in problem["detail"]
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= horizon
    return retry_after


async def test_create_of_a_name_whose_delete_may_still_land_is_409_with_retry_after(
    api: Api, sandbox: SandboxThread
) -> None:
    setup = await _delete_in_flight(api, sandbox, "DeleteEmailIdentity", "DeleteTenant")
    ws2 = await api.key("ws2")

    same_domain = await api.client.post(
        SETUPS.format("ws2"),
        json={"tenant_name": _names()[0], "domain_identity": setup["domain_identity"]},
        headers=ws2,
    )
    same_tenant = await api.client.post(
        SETUPS.format("ws2"),
        json={"tenant_name": setup["tenant_name"], "domain_identity": _names()[1]},
        headers=ws2,
    )

    # The default horizon: five minutes from the first DELETE's call, less what went by.
    assert _assert_in_flight(same_domain, name=setup["domain_identity"], horizon=300) > 250
    assert _assert_in_flight(same_tenant, name=setup["tenant_name"], horizon=300) > 250
    assert "tenant name" in same_tenant.json()["detail"]
    # Nothing of either refused create reached SES or stayed behind.
    state = sandbox.state()
    assert state["tenants"] == []
    assert state["identities"] == []
    listed = await api.client.get(SETUPS.format("ws2"), headers=ws2)
    assert listed.json()["items"] == []


async def test_a_delete_refused_before_it_could_apply_reserves_nothing(
    api: Api, sandbox: SandboxThread
) -> None:
    tenant, domain = _names()
    setup = await api.create_setup(await api.key(), tenant_name=tenant, domain_identity=domain)
    sandbox.add_fault(
        operation="DeleteEmailIdentity", error_code="BadRequestException", http_status=400
    )
    url = f"{SETUPS.format('ws1')}/{setup['id']}"
    assert (await api.client.delete(url, headers=await api.key())).status_code >= 400
    assert (await api.client.delete(url, headers=await api.key())).status_code == 204

    await api.create_setup(
        await api.key("ws2"), workspace="ws2", tenant_name=tenant, domain_identity=domain
    )


@pytest.mark.parametrize("api_overrides", [{"inflight_horizon": LATE + 3}], indirect=True)
async def test_after_the_horizon_the_next_owner_gets_the_name_and_survives_the_late_delete(
    api: Api, sandbox: SandboxThread
) -> None:
    horizon = LATE + 3
    sent = time.monotonic()
    setup = await _delete_in_flight(api, sandbox, "DeleteEmailIdentity")
    domain = setup["domain_identity"]
    body = {"tenant_name": _names()[0], "domain_identity": domain}
    # One Idempotency-Key throughout: a 409 that says when to retry is not kept for replays.
    headers = {**await api.key("ws2"), "Idempotency-Key": uuid.uuid4().hex}
    refusals: list[int] = []

    async def create() -> httpx.Response | None:
        response = await api.client.post(SETUPS.format("ws2"), json=body, headers=headers)
        if response.status_code == 201:
            return response
        refusals.append(_assert_in_flight(response, name=domain, horizon=horizon))
        return None

    created = await eventually(create, within=horizon + 10, what="the create after the horizon")

    assert refusals, "the create was never refused within the horizon"
    assert time.monotonic() - sent > LATE  # the late delete has landed by now
    new_id = created.json()["id"]
    identity = sandbox.boto3_client().get_email_identity(EmailIdentity=domain)
    tags = {tag["Key"]: tag["Value"] for tag in identity["Tags"]}
    assert tags["email-channels:setup-id"] == new_id
    assert tags["email-channels:workspace-id"] == "ws2"
    detail = await api.client.get(f"{SETUPS.format('ws2')}/{new_id}", headers=headers)
    assert detail.status_code == 200
