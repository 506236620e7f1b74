"""SES failures: 502 and 504, and nothing left behind in SES or the database."""

from __future__ import annotations

import socket
import uuid
from typing import Any

import pytest

from email_channels.db.base import utc_now
from email_channels.ses_setups.models import SesSetup
from tests.support.fixtures_api import Api

URL = "/v1/ws1/channels/ses-setup"
EMPTY = {"tenants": [], "identities": [], "associations": []}


def _body() -> dict[str, str]:
    name = uuid.uuid4().hex[:10]
    return {"tenant_name": f"t-{name}", "domain_identity": f"d-{name}.example.test"}


async def _stored_setup(api: Api) -> SesSetup:
    """An active setup written straight to the database (SES is out of reach here)."""
    now = utc_now()
    name = uuid.uuid4().hex[:10]
    setup = SesSetup(
        id=uuid.uuid4(),
        workspace_id="ws1",
        tenant_name=f"t-{name}",
        domain_identity=f"d-{name}.example.test",
        region="us-east-1",
        mail_from_domain=f"bounce.d-{name}.example.test",
        state="active",
        state_changed_at=now,
        tenant_arn=f"arn:aws:ses:us-east-1:000000000000:tenant/t-{name}/tn-1",
        identity_arn=f"arn:aws:ses:us-east-1:000000000000:identity/d-{name}.example.test",
        dkim_tokens=["a", "b", "c"],
        signing_hosted_zone="dkim.amazonses.com",
        provisioning_steps=["tenant", "identity", "association"],
        dns_verified=False,
        dns_results=[],
        created_at=now,
        updated_at=now,
    )
    async with api.database.transaction() as session:
        session.add(setup)
    return setup


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    return {"upstream_timeout": 1.5}


@pytest.mark.parametrize(
    "operation",
    [
        "CreateTenant",
        "CreateEmailIdentity",
        "PutEmailIdentityMailFromAttributes",
        "CreateTenantResourceAssociation",
    ],
)
async def test_create_answers_502_when_ses_keeps_failing_and_leaves_nothing(
    api: Api, sandbox: Any, operation: str
) -> None:
    sandbox.add_fault(
        operation=operation, error_code="ServiceUnavailable", http_status=503, times=10
    )
    body = _body()

    response = await api.client.post(URL, json=body, headers=await api.key())

    assert response.status_code == 502, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert sandbox.state() == EMPTY
    sandbox.clear_faults()
    # The names were released: the same create now succeeds.
    await api.create_setup(await api.key(), **body)


async def test_create_answers_502_on_throttling(api: Api, sandbox: Any) -> None:
    sandbox.add_fault(
        operation="CreateTenant", error_code="TooManyRequestsException", http_status=429, times=10
    )
    response = await api.client.post(URL, json=_body(), headers=await api.key())
    assert response.status_code == 502
    assert sandbox.state() == EMPTY


async def test_a_single_transient_failure_is_retried(api: Api, sandbox: Any) -> None:
    sandbox.add_fault(operation="CreateTenant", error_code="ServiceUnavailable", http_status=503)
    await api.create_setup(await api.key(), **_body())
    assert len(sandbox.state()["tenants"]) == 1


@pytest.mark.parametrize("operation", ["CreateTenant", "CreateTenantResourceAssociation"])
async def test_create_answers_504_when_ses_hangs_and_leaves_nothing(
    api: Api, sandbox: Any, operation: str
) -> None:
    sandbox.add_fault(operation=operation, hang=True, times=10)

    response = await api.client.post(URL, json=_body(), headers=await api.key())

    assert response.status_code == 504, response.text
    assert sandbox.state() == EMPTY


async def test_create_undoes_an_operation_whose_answer_was_lost(api: Api, sandbox: Any) -> None:
    # SES applied CreateEmailIdentity but the answer never came back.
    sandbox.add_fault(operation="CreateEmailIdentity", hang=True, after_apply=True, times=10)

    response = await api.client.post(URL, json=_body(), headers=await api.key())

    assert response.status_code == 504
    assert sandbox.state() == EMPTY


async def test_delete_failure_keeps_the_setup_readable_until_a_retry_succeeds(
    api: Api, sandbox: Any
) -> None:
    headers = await api.key()
    setup = await api.create_setup(headers, **_body())
    sandbox.add_fault(
        operation="DeleteTenant", error_code="InternalFailure", http_status=500, times=10
    )

    failed = await api.client.delete(f"{URL}/{setup['id']}", headers=headers)

    assert failed.status_code == 502
    listed = (await api.client.get(URL, headers=headers)).json()["items"]
    assert [item["id"] for item in listed] == [setup["id"]]
    assert listed[0]["updated_at"] == setup["updated_at"]
    sandbox.clear_faults()
    assert (await api.client.delete(f"{URL}/{setup['id']}", headers=headers)).status_code == 204
    assert sandbox.state() == EMPTY


async def test_delete_answers_504_when_ses_hangs(api: Api, sandbox: Any) -> None:
    headers = await api.key()
    setup = await api.create_setup(headers, **_body())
    sandbox.add_fault(operation="DeleteEmailIdentity", hang=True, times=10)

    response = await api.client.delete(f"{URL}/{setup['id']}", headers=headers)

    assert response.status_code == 504
    sandbox.clear_faults()
    assert (await api.client.delete(f"{URL}/{setup['id']}", headers=headers)).status_code == 204


class TestEmulatorDown:
    @pytest.fixture
    def api_overrides(self) -> dict[str, Any]:
        return {"ses_endpoint_url": f"http://127.0.0.1:{_closed_port()}", "upstream_timeout": 3.0}

    async def test_delete_answers_502_when_ses_is_unreachable(self, api: Api) -> None:
        setup = await _stored_setup(api)
        headers = await api.key()
        response = await api.client.delete(f"{URL}/{setup.id}", headers=headers)
        assert response.status_code == 502
        listed = (await api.client.get(URL, headers=headers)).json()["items"]
        assert [item["id"] for item in listed] == [str(setup.id)]

    async def test_create_answers_502_when_ses_is_unreachable(self, api: Api) -> None:
        body = _body()
        response = await api.client.post(URL, json=body, headers=await api.key())
        assert response.status_code == 502, response.text
        listed = await api.client.get(URL, headers=await api.key())
        assert listed.json()["items"] == []


@pytest.mark.parametrize(
    "operation", ["CreateTenant", "CreateEmailIdentity", "CreateTenantResourceAssociation"]
)
async def test_a_step_applied_but_answered_with_a_5xx_is_not_mistaken_for_a_conflict(
    api: Api, sandbox: Any, operation: str
) -> None:
    # SES applied the step and then failed to answer; the retry sees AlreadyExists.
    sandbox.add_fault(operation=operation, http_status=503, after_apply=True)
    body = _body()

    setup = await api.create_setup(await api.key(), **body)

    state = sandbox.state()
    assert [t["TenantName"] for t in state["tenants"]] == [body["tenant_name"]]
    identity = state["identities"][0]
    assert identity["EmailIdentity"] == body["domain_identity"]
    assert [r["address"].split(".")[0] for r in setup["dns_records"][:3]] == identity["DkimTokens"]
    assert len(state["associations"]) == 1


async def test_not_found_from_ses_during_a_create_is_a_502_and_leaves_nothing(
    api: Api, sandbox: Any
) -> None:
    sandbox.add_fault(
        operation="CreateTenantResourceAssociation",
        error_code="NotFoundException",
        http_status=404,
        times=10,
    )
    response = await api.client.post(URL, json=_body(), headers=await api.key())
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    assert sandbox.state() == EMPTY


BAD_REQUEST = {"error_code": "BadRequestException", "http_status": 400}


@pytest.mark.parametrize(
    "faults",
    [
        [{"operation": "CreateEmailIdentity", **BAD_REQUEST}],
        # Both steps of the second round fail: MAIL FROM's refusal is the one answered.
        [
            {"operation": "PutEmailIdentityMailFromAttributes", **BAD_REQUEST},
            {"operation": "CreateTenantResourceAssociation", "http_status": 503, "times": 10},
        ],
    ],
    ids=["identity", "mail-from-beside-a-failing-association"],
)
async def test_a_bad_request_from_ses_is_a_422_naming_the_field(
    api: Api, sandbox: Any, faults: list[dict[str, Any]]
) -> None:
    for fault in faults:
        sandbox.add_fault(**fault)
    response = await api.client.post(URL, json=_body(), headers=await api.key())
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["domain_identity"]
    assert sandbox.state() == EMPTY


async def test_a_delete_that_fails_half_way_is_finished_by_a_retry(api: Api, sandbox: Any) -> None:
    headers = await api.key()
    setup = await api.create_setup(headers, **_body())
    sandbox.add_fault(
        operation="DeleteTenant", error_code="InternalFailure", http_status=500, times=10
    )

    failed = await api.client.delete(f"{URL}/{setup['id']}", headers=headers)

    assert failed.status_code == 502
    state = sandbox.state()
    assert state["identities"] == []  # half of it is gone from SES
    assert len(state["tenants"]) == 1
    # Still readable, but no new use case may lean on a half-deleted setup.
    assert (await api.client.get(f"{URL}/{setup['id']}", headers=headers)).status_code == 200
    use_case = await api.client.post(
        "/v1/ws1/use-cases", json={"name": "late", "ses_setup_id": setup["id"]}, headers=headers
    )
    assert use_case.status_code == 422
    sandbox.clear_faults()
    assert (await api.client.delete(f"{URL}/{setup['id']}", headers=headers)).status_code == 204
    assert sandbox.state() == EMPTY


async def test_an_ses_quota_is_not_retried_and_answered_in_our_words(
    api: Api, sandbox: Any
) -> None:
    sandbox.add_fault(
        operation="CreateTenant",
        error_code="LimitExceededException",
        http_status=400,
        times=2,
    )

    response = await api.client.post(URL, json=_body(), headers=await api.key())

    assert response.status_code == 502
    detail = response.json()["detail"]
    assert "quota" in detail
    assert "Injected fault" not in detail  # the upstream message stays in the log
    assert len(sandbox.pending_faults()) == 1  # one attempt: a retry cannot help
    assert sandbox.state() == EMPTY


async def test_upstream_messages_never_reach_the_answer(api: Api, sandbox: Any) -> None:
    sandbox.add_fault(
        operation="CreateEmailIdentity",
        error_code="BadRequestException",
        http_status=400,
    )

    response = await api.client.post(URL, json=_body(), headers=await api.key())

    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"] == [
        {"field": "domain_identity", "message": "Amazon SES rejected this value."}
    ]
    assert "Injected fault" not in response.text
    assert sandbox.state() == EMPTY
