"""Fault injection through `/_sandbox/faults`, observed by a real boto3 client."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from tests.support.sandbox import SandboxThread

HANG_READ_TIMEOUT = 0.5


@pytest.fixture
def ses(sandbox: SandboxThread) -> Any:
    return sandbox.boto3_client()


def tenant_names(sandbox: SandboxThread) -> list[str]:
    return [tenant["TenantName"] for tenant in sandbox.state()["tenants"]]


def test_fault_defaults_are_filled_in(sandbox: SandboxThread) -> None:
    assert sandbox.add_fault(operation="CreateTenant") == {
        "operation": "CreateTenant",
        "error_code": "ServiceUnavailable",
        "http_status": 503,
        "delay_seconds": 0.0,
        "hang": False,
        "times": 1,
        "after_apply": False,
    }


def test_error_fault_fails_once_without_applying(sandbox: SandboxThread, ses: Any) -> None:
    sandbox.add_fault(operation="CreateTenant")

    with pytest.raises(ClientError) as info:
        ses.create_tenant(TenantName="acme")

    assert info.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert tenant_names(sandbox) == []
    ses.create_tenant(TenantName="acme")
    assert tenant_names(sandbox) == ["acme"]


def test_error_fault_uses_the_given_code_and_status(sandbox: SandboxThread, ses: Any) -> None:
    sandbox.add_fault(operation="GetTenant", error_code="InternalFailure", http_status=500)
    ses.create_tenant(TenantName="acme")

    with pytest.raises(ClientError) as info:
        ses.get_tenant(TenantName="acme")

    assert info.value.response["Error"]["Code"] == "InternalFailure"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_fault_applies_only_to_its_operation(sandbox: SandboxThread, ses: Any) -> None:
    sandbox.add_fault(operation="DeleteTenant")
    ses.create_tenant(TenantName="acme")
    assert ses.get_tenant(TenantName="acme")["Tenant"]["TenantName"] == "acme"
    assert len(sandbox.pending_faults()) == 1


def test_delay_then_error(sandbox: SandboxThread, ses: Any) -> None:
    sandbox.add_fault(operation="CreateTenant", delay_seconds=0.3)
    started = time.monotonic()
    with pytest.raises(ClientError):
        ses.create_tenant(TenantName="acme")
    assert time.monotonic() - started >= 0.3
    assert tenant_names(sandbox) == []


def test_null_error_code_delays_then_answers_normally(sandbox: SandboxThread, ses: Any) -> None:
    sandbox.add_fault(operation="CreateTenant", error_code=None, delay_seconds=0.3)
    started = time.monotonic()

    created = ses.create_tenant(TenantName="acme")

    assert time.monotonic() - started >= 0.3
    assert created["TenantName"] == "acme"
    assert tenant_names(sandbox) == ["acme"]


def test_hang_never_answers_and_does_not_apply(sandbox: SandboxThread) -> None:
    sandbox.add_fault(operation="CreateTenant", hang=True)
    impatient = sandbox.boto3_client(read_timeout=HANG_READ_TIMEOUT)

    with pytest.raises(ReadTimeoutError):
        impatient.create_tenant(TenantName="acme")

    assert tenant_names(sandbox) == []
    assert sandbox.pending_faults() == []


def test_after_apply_error_performs_the_operation(sandbox: SandboxThread, ses: Any) -> None:
    sandbox.add_fault(
        operation="CreateTenant", after_apply=True, error_code="InternalFailure", http_status=500
    )

    with pytest.raises(ClientError) as info:
        ses.create_tenant(TenantName="acme")

    assert info.value.response["Error"]["Code"] == "InternalFailure"
    assert tenant_names(sandbox) == ["acme"]


def test_after_apply_hang_is_a_lost_response(sandbox: SandboxThread) -> None:
    sandbox.add_fault(operation="CreateEmailIdentity", after_apply=True, hang=True)
    impatient = sandbox.boto3_client(read_timeout=HANG_READ_TIMEOUT)

    with pytest.raises(ReadTimeoutError):
        impatient.create_email_identity(EmailIdentity="example.com")

    assert [item["EmailIdentity"] for item in sandbox.state()["identities"]] == ["example.com"]


def test_after_apply_still_reports_the_operations_own_error(
    sandbox: SandboxThread, ses: Any
) -> None:
    sandbox.add_fault(operation="GetTenant", after_apply=True)
    with pytest.raises(ClientError) as info:
        ses.get_tenant(TenantName="ghost")
    assert info.value.response["Error"]["Code"] == "NotFoundException"


def test_times_counts_down(sandbox: SandboxThread, ses: Any) -> None:
    sandbox.add_fault(operation="GetTenant", times=2)
    ses.create_tenant(TenantName="acme")

    for remaining in (1, 0):
        with pytest.raises(ClientError):
            ses.get_tenant(TenantName="acme")
        assert [fault["times"] for fault in sandbox.pending_faults()] == [remaining] * remaining

    assert ses.get_tenant(TenantName="acme")["Tenant"]["TenantName"] == "acme"


def test_faults_of_one_operation_apply_in_the_order_added(sandbox: SandboxThread, ses: Any) -> None:
    sandbox.add_fault(operation="GetTenant", error_code="First", http_status=500)
    sandbox.add_fault(operation="GetTenant", error_code="Second", http_status=502)
    codes = []
    for _ in range(2):
        with pytest.raises(ClientError) as info:
            ses.get_tenant(TenantName="acme")
        codes.append(info.value.response["Error"]["Code"])
    assert codes == ["First", "Second"]


def test_delete_faults_clears_them(sandbox: SandboxThread, ses: Any) -> None:
    sandbox.add_fault(operation="CreateTenant", times=5)
    sandbox.clear_faults()
    ses.create_tenant(TenantName="acme")
    assert tenant_names(sandbox) == ["acme"]


def test_reset_empties_state_and_faults(sandbox: SandboxThread, ses: Any) -> None:
    ses.create_tenant(TenantName="acme")
    sandbox.add_fault(operation="GetTenant")

    sandbox.reset()

    assert sandbox.state() == {"tenants": [], "identities": [], "associations": []}
    assert sandbox.pending_faults() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "operation"),
        ({"operation": "SendEmail"}, "operation"),
        ({"operation": "CreateTenant", "times": 0}, "times"),
        ({"operation": "CreateTenant", "times": "2"}, "times"),
        ({"operation": "CreateTenant", "hang": "yes"}, "hang"),
        ({"operation": "CreateTenant", "after_apply": 1}, "after_apply"),
        ({"operation": "CreateTenant", "http_status": 200}, "http_status"),
        ({"operation": "CreateTenant", "delay_seconds": -1}, "delay_seconds"),
        ({"operation": "CreateTenant", "error_code": 5}, "error_code"),
        ({"operation": "CreateTenant", "colour": "red"}, "colour"),
    ],
)
def test_invalid_fault_is_422_naming_the_field(
    sandbox: SandboxThread, body: dict[str, Any], field: str
) -> None:
    with httpx.Client(trust_env=False) as client:
        response = client.post(f"{sandbox.endpoint_url}/_sandbox/faults", json=body)
    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["errors"]]
    assert field in response.json()["message"]
    assert sandbox.pending_faults() == []


def test_malformed_fault_json_is_422(sandbox: SandboxThread) -> None:
    with httpx.Client(trust_env=False) as client:
        response = client.post(f"{sandbox.endpoint_url}/_sandbox/faults", content=b"{oops")
    assert response.status_code == 422
    assert "JSON" in response.json()["message"]
