"""The sandbox's SQLite state: durable at acknowledgement, and the old JSON state migrated."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from email_channels.sandbox.store import StateStore
from tests.support.processes import free_port, stop
from tests.support.sandbox import SandboxThread
from tests.support.sandbox_process import sandbox_state_when_up, serve_sandbox, ses_client

IDENTITY_ARN = "arn:aws:ses:us-east-1:000000000000:identity/example.com"


def test_sigkill_right_after_an_acknowledged_change_loses_nothing(tmp_path: Path) -> None:
    state_path = tmp_path / "sandbox.sqlite3"
    port = free_port()
    process = serve_sandbox(tmp_path, port, state_path)
    try:
        sandbox_state_when_up(process, port)
        ses = ses_client(port)
        for index in range(20):
            ses.create_tenant(TenantName=f"tenant-{index}")
        ses.create_email_identity(EmailIdentity="example.com")
        ses.create_tenant_resource_association(TenantName="tenant-19", ResourceArn=IDENTITY_ARN)
        ses.delete_tenant(TenantName="tenant-3")
        process.send_signal(signal.SIGKILL)  # no shutdown of any kind
        process.wait(10)
    finally:
        stop(process)

    port = free_port()
    again = serve_sandbox(tmp_path, port, state_path)
    try:
        state = sandbox_state_when_up(again, port)
    finally:
        stop(again)
    expected = [f"tenant-{index}" for index in range(20) if index != 3]
    assert [tenant["TenantName"] for tenant in state["tenants"]] == expected
    assert [identity["EmailIdentity"] for identity in state["identities"]] == ["example.com"]
    assert state["associations"] == [{"TenantName": "tenant-19", "ResourceArn": IDENTITY_ARN}]


def _legacy_document() -> dict[str, Any]:
    return {
        "version": 1,
        "tenants": [
            {
                "name": name,
                "tenant_id": f"id-{name}",
                "arn": f"arn:aws:ses:us-east-1:000000000000:tenant/{name}/id-{name}",
                "created_at": 1700000000.0,
                "tags": [["email-channels:setup-id", name]],
                "suppression_attributes": None,
            }
            for name in ("zeta", "alpha")
        ],
        "identities": [
            {
                "name": "example.com",
                "arn": IDENTITY_ARN,
                "identity_type": "DOMAIN",
                "created_at": 1700000000.0,
                "dkim_tokens": ["t1", "t2", "t3"],
                "signing_hosted_zone": "dkim.amazonses.com",
                "next_signing_key_length": "RSA_2048_BIT",
                "tags": [],
                "configuration_set_name": None,
                "mail_from_domain": "bounce.example.com",
                "behavior_on_mx_failure": "USE_DEFAULT_VALUE",
            }
        ],
        "associations": [
            {"tenant_name": "zeta", "resource_arn": IDENTITY_ARN, "created_at": 1700000000.0}
        ],
    }


@pytest.mark.parametrize("configured", ["sandbox.json", "sandbox.sqlite3"])
def test_a_json_state_file_is_migrated_on_first_start(tmp_path: Path, configured: str) -> None:
    # Today's users have `sandbox.json` (the old default, or their own path): both the old
    # path and the new default next to it find it.
    legacy = tmp_path / "sandbox.json"
    legacy.write_text(json.dumps(_legacy_document()))
    server = SandboxThread(state_path=str(tmp_path / configured)).start()
    try:
        state = server.state()
        identity = server.boto3_client().get_email_identity(EmailIdentity="example.com")
        server.boto3_client().create_tenant(TenantName="new")
    finally:
        server.stop()

    assert [tenant["TenantName"] for tenant in state["tenants"]] == ["zeta", "alpha"]
    assert identity["DkimAttributes"]["Tokens"] == ["t1", "t2", "t3"]
    assert identity["MailFromAttributes"]["MailFromDomain"] == "bounce.example.com"
    assert state["associations"] == [{"TenantName": "zeta", "ResourceArn": IDENTITY_ARN}]
    assert not legacy.exists()
    assert (tmp_path / "sandbox.json.migrated").exists()  # kept, never read again

    again = SandboxThread(state_path=str(tmp_path / configured)).start()
    try:
        names = [tenant["TenantName"] for tenant in again.state()["tenants"]]
    finally:
        again.stop()
    assert names == ["zeta", "alpha", "new"]


def test_the_import_commits_with_an_fsync_before_the_json_file_is_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The store's commits skip the fsync (a kill -9 loses nothing without it); the import
    # must not, since the rename after it forgets the JSON file for good.
    statements: list[str] = []
    connect = StateStore._connect

    def traced(store: StateStore) -> sqlite3.Connection:
        connection = connect(store)
        connection.set_trace_callback(statements.append)
        return connection

    def renamed(source: Any, target: Any) -> None:
        statements.append(f"rename {Path(source).name}")
        os.rename(source, target)

    monkeypatch.setattr(StateStore, "_connect", traced)
    monkeypatch.setattr("email_channels.sandbox.store.os.replace", renamed)
    legacy = tmp_path / "sandbox.json"
    legacy.write_text(json.dumps(_legacy_document()))
    store = StateStore(str(legacy))
    try:
        assert len(store.load().tenants) == 2
        synchronous = store._connect().execute("PRAGMA synchronous").fetchone()[0]
    finally:
        store.close()

    steps = [s for s in statements if s.startswith(("PRAGMA synchronous=", "COMMIT", "rename"))]
    assert steps[-4:] == [
        "PRAGMA synchronous=FULL",
        "COMMIT",
        "PRAGMA synchronous=NORMAL",
        "rename sandbox.json",
    ]
    assert synchronous == 1  # NORMAL again for every later write


def test_a_failed_operation_changes_nothing_stored(tmp_path: Path) -> None:
    state_path = str(tmp_path / "sandbox.sqlite3")
    server = SandboxThread(state_path=state_path).start()
    try:
        ses = server.boto3_client()
        ses.create_tenant(TenantName="acme")
        with pytest.raises(ses.exceptions.AlreadyExistsException):
            ses.create_tenant(TenantName="acme")
        before = server.state()
    finally:
        server.stop()
    again = SandboxThread(state_path=state_path).start()
    try:
        assert again.state() == before
    finally:
        again.stop()
