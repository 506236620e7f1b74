"""Sending controls over HTTP: pause, resume, the reputation policy, SES pausing a tenant.

SES's side is read back with boto3 from the emulator, as a separate client would see it.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from email_channels.auth.permissions import Permission
from email_channels.errors import UpstreamUnavailable
from tests.support.fixtures_api import Api
from tests.support.receiver import Receiver, of_type, verified_payload
from tests.support.sandbox import SandboxThread
from tests.support.worker import FAST_WORKER, running_worker

URL = "/v1/ws1/channels/ses-setup"
POLICY_ARN = "arn:aws:ses:us-east-1:aws:reputation-policy/{}"


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    return dict(FAST_WORKER)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def _create(api: Api, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    return await api.create_setup(
        headers,
        tenant_name=_unique("snd"),
        domain_identity=f"{_unique('d')}.example.test",
        **body,
    )


def _entity(sandbox: SandboxThread, tenant_name: str, *, region: str = "us-east-1") -> Any:
    ses = sandbox.boto3_client(region=region)
    arn = ses.get_tenant(TenantName=tenant_name)["Tenant"]["TenantArn"]
    return ses.get_reputation_entity(
        ReputationEntityType="RESOURCE", ReputationEntityReference=arn
    )["ReputationEntity"]


async def test_pause_then_resume_reaches_ses_and_the_detail_agrees_both_idempotent(
    api: Api, sandbox: SandboxThread
) -> None:
    headers = await api.key()
    setup = await _create(api, headers)
    assert setup["sending"] == {
        "status": "enabled",
        "paused_by": None,
        "cause": None,
        "reputation_policy": None,
        "reputation_impact": None,
        "checked_at": None,
    }
    for _ in range(2):  # the second pause changes nothing
        response = await api.client.post(f"{URL}/{setup['id']}/pause", headers=headers)
        assert response.status_code == 200, response.text
        sending = response.json()["sending"]
        assert (sending["status"], sending["paused_by"]) == ("paused", "workspace")
        assert sending["reputation_policy"] == "standard"
        assert sending["checked_at"] is not None
        assert _entity(sandbox, setup["tenant_name"])["CustomerManagedStatus"]["Status"] == (
            "DISABLED"
        )
    detail = (await api.client.get(f"{URL}/{setup['id']}", headers=headers)).json()
    assert detail["sending"]["status"] == "paused"
    for _ in range(2):
        response = await api.client.post(f"{URL}/{setup['id']}/resume", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["sending"]["status"] == "enabled"
        assert response.json()["sending"]["paused_by"] is None
        entity = _entity(sandbox, setup["tenant_name"])
        assert entity["CustomerManagedStatus"]["Status"] == "ENABLED"
        assert entity["SendingStatusAggregate"] == "ENABLED"


@pytest.mark.parametrize("action", ["pause", "resume"])
async def test_pause_and_resume_need_channel_manage_and_leave_ses_untouched(
    api: Api, sandbox: SandboxThread, action: str
) -> None:
    owner = await api.key()
    setup = await _create(api, owner)
    before = _entity(sandbox, setup["tenant_name"])
    viewer = await api.key(permissions=[Permission.CHANNEL_VIEW, Permission.CHANNEL_DELETE])
    refused = await api.client.post(f"{URL}/{setup['id']}/{action}", headers=viewer)
    assert refused.status_code == 403
    stranger = await api.key("ws2")
    foreign = await api.client.post(f"{URL}/{setup['id']}/{action}", headers=stranger)
    assert foreign.status_code == 403
    other_workspace = await api.client.post(
        f"/v1/ws2/channels/ses-setup/{setup['id']}/{action}", headers=stranger
    )
    assert other_workspace.status_code == 404
    patched = await api.client.patch(
        f"{URL}/{setup['id']}", json={"reputation_policy": "strict"}, headers=viewer
    )
    assert patched.status_code == 403
    assert _entity(sandbox, setup["tenant_name"]) == before


async def test_policy_on_create_and_by_patch_reaches_ses(api: Api, sandbox: SandboxThread) -> None:
    headers = await api.key()
    setup = await _create(api, headers, reputation_policy="strict")
    assert setup["sending"]["reputation_policy"] == "strict"
    entity = _entity(sandbox, setup["tenant_name"])
    assert entity["ReputationManagementPolicy"] == POLICY_ARN.format("strict")
    response = await api.client.patch(
        f"{URL}/{setup['id']}", json={"reputation_policy": "none"}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["sending"]["reputation_policy"] == "none"
    entity = _entity(sandbox, setup["tenant_name"])
    assert entity["ReputationManagementPolicy"] == POLICY_ARN.format("none")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reputation_policy": "lenient"}, "reputation_policy"),
        ({"reputation_policy": "strict", "sending": "paused"}, "sending"),
        ({}, "reputation_policy"),
        ({"reputation_policy": None}, "reputation_policy"),
    ],
)
async def test_patch_refuses_bad_values_and_unknown_fields(
    api: Api, sandbox: SandboxThread, body: dict[str, Any], field: str
) -> None:
    headers = await api.key()
    setup = await _create(api, headers)
    response = await api.client.patch(f"{URL}/{setup['id']}", json=body, headers=headers)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]
    entity = _entity(sandbox, setup["tenant_name"])
    assert entity["ReputationManagementPolicy"] == POLICY_ARN.format("standard")


async def test_create_refuses_an_unknown_policy_before_ses(
    api: Api, sandbox: SandboxThread
) -> None:
    headers = await api.key()
    body = {
        "tenant_name": _unique("snd"),
        "domain_identity": f"{_unique('d')}.example.test",
        "reputation_policy": "lax",
    }
    response = await api.client.post(URL, json=body, headers=headers)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["reputation_policy"]
    assert sandbox.state()["tenants"] == []


@pytest.mark.parametrize(
    ("fault", "status"),
    [({"error_code": "ServiceUnavailable", "http_status": 503, "times": 4}, 502)],
)
async def test_a_pause_whose_ses_call_fails_changes_nothing(
    api: Api, sandbox: SandboxThread, fault: dict[str, Any], status: int
) -> None:
    headers = await api.key()
    setup = await _create(api, headers)
    sandbox.add_fault(operation="UpdateReputationEntityCustomerManagedStatus", **fault)
    response = await api.client.post(f"{URL}/{setup['id']}/pause", headers=headers)
    assert response.status_code == status
    problem = response.json()
    assert "Amazon SES" in problem["detail"]
    detail = (await api.client.get(f"{URL}/{setup['id']}", headers=headers)).json()
    assert detail["sending"] == setup["sending"]
    assert _entity(sandbox, setup["tenant_name"])["CustomerManagedStatus"]["Status"] == "ENABLED"


async def test_a_pause_that_times_out_is_a_504_and_changes_nothing(
    api: Api, sandbox: SandboxThread
) -> None:
    headers = await api.key()
    setup = await _create(api, headers)
    sandbox.add_fault(operation="UpdateReputationEntityCustomerManagedStatus", hang=True)
    response = await api.client.post(f"{URL}/{setup['id']}/pause", headers=headers)
    assert response.status_code == 504
    detail = (await api.client.get(f"{URL}/{setup['id']}", headers=headers)).json()
    assert detail["sending"] == setup["sending"]


async def test_a_refresh_that_fails_keeps_the_last_sending(
    api: Api, sandbox: SandboxThread
) -> None:
    headers = await api.key()
    setup = await _create(api, headers)
    paused = (await api.client.post(f"{URL}/{setup['id']}/pause", headers=headers)).json()
    sandbox.add_fault(operation="GetReputationEntity", error_code="InternalFailure", times=10)
    service = api.app.state.ses_setups
    stored = await service._visible(workspace_id="ws1", setup_id=uuid.UUID(setup["id"]))
    with pytest.raises(UpstreamUnavailable):
        await service.sending.refresh(stored)
    detail = (await api.client.get(f"{URL}/{setup['id']}", headers=headers)).json()
    assert detail["sending"] == paused["sending"]


async def test_ses_pausing_a_tenant_reaches_a_webhook_and_the_detail(
    api: Api, sandbox: SandboxThread, caplog: pytest.LogCaptureFixture
) -> None:
    headers = await api.key()
    with Receiver() as receiver:
        response = await api.client.post(
            "/v1/ws1/webhooks",
            json={
                "url": receiver.url(),
                "events": ["ses_setup.sending_paused", "ses_setup.sending_resumed"],
            },
            headers=headers,
        )
        assert response.status_code == 201, response.text
        hook = response.json()
        setup = await _create(api, headers)
        paused = sandbox.set_reputation(
            tenant_name=setup["tenant_name"],
            ses_managed_status="DISABLED",
            cause="Complaint rate above the policy's threshold",
            impact="HIGH",
        )
        assert paused.status_code == 204
        with caplog.at_level(logging.WARNING, logger="email_channels.ses_setups.sending"):
            async with running_worker(api):
                received = await receiver.wait_for(
                    of_type("ses_setup.sending_paused"), within=15, what="sending_paused"
                )
                payload = verified_payload(hook["secret"], received[-1])
                assert payload["data"]["by"] == "ses"
                assert payload["data"]["cause"] == "Complaint rate above the policy's threshold"
                assert payload["data"]["ses_setup"]["id"] == setup["id"]
                detail = (await api.client.get(f"{URL}/{setup['id']}", headers=headers)).json()
                assert detail["sending"]["status"] == "paused"
                assert detail["sending"]["paused_by"] == "ses"
                assert detail["sending"]["cause"] == "Complaint rate above the policy's threshold"
                assert detail["sending"]["reputation_impact"] == "high"

                sandbox.set_reputation(
                    tenant_name=setup["tenant_name"], ses_managed_status="ENABLED"
                )
                received = await receiver.wait_for(
                    of_type("ses_setup.sending_resumed"), within=15, what="sending_resumed"
                )
        resumed = verified_payload(hook["secret"], received[-1])
        assert resumed["data"]["by"] == "ses"
    types = [item.json()["type"] for item in received]
    assert types == ["ses_setup.sending_paused", "ses_setup.sending_resumed"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "paused" in r.message]
    assert len(warnings) == 1
    assert setup["id"] in warnings[0].message
    assert "ws1" in warnings[0].message
