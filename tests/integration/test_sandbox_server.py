"""Running the emulator: persistence across restarts, the embedded server, its port."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiobotocore.session import get_session

from email_channels.sandbox.server import EmbeddedSandbox, SandboxStartupError, bind_listener
from tests.support.sandbox import DUMMY_CREDENTIALS, SandboxThread

IDENTITY_ARN = "arn:aws:ses:us-east-1:000000000000:identity/example.com"


def test_state_survives_a_restart_on_the_same_file(tmp_path: Path) -> None:
    state_path = str(tmp_path / "state.json")
    first = SandboxThread(state_path=state_path).start()
    try:
        ses = first.boto3_client()
        tenant = ses.create_tenant(TenantName="acme")
        tokens = ses.create_email_identity(EmailIdentity="example.com")["DkimAttributes"]["Tokens"]
        ses.put_email_identity_mail_from_attributes(
            EmailIdentity="example.com", MailFromDomain="bounce.example.com"
        )
        ses.create_tenant_resource_association(TenantName="acme", ResourceArn=IDENTITY_ARN)
        state_before = first.state()
    finally:
        first.stop()

    second = SandboxThread(state_path=state_path).start()
    try:
        ses = second.boto3_client()
        assert second.state() == state_before
        assert ses.get_tenant(TenantName="acme")["Tenant"]["TenantId"] == tenant["TenantId"]
        identity = ses.get_email_identity(EmailIdentity="example.com")
        assert identity["DkimAttributes"]["Tokens"] == tokens
        assert identity["MailFromAttributes"]["MailFromDomain"] == "bounce.example.com"
        listed = ses.list_tenant_resources(TenantName="acme")["TenantResources"]
        assert [item["ResourceArn"] for item in listed] == [IDENTITY_ARN]
    finally:
        second.stop()


def test_state_is_one_sqlite_database_with_each_change_a_row(tmp_path: Path) -> None:
    server = SandboxThread(state_path=str(tmp_path / "state.json")).start()
    try:
        ses = server.boto3_client()
        for name in ("a", "b", "c"):
            ses.create_tenant(TenantName=name)
        ses.delete_tenant(TenantName="b")
    finally:
        server.stop()

    # A `.json` path names the SQLite file beside it (sandbox/store.py); no JSON is written.
    with closing(sqlite3.connect(tmp_path / "state.sqlite3")) as database:
        rows = database.execute(
            "SELECT key, document FROM regional_records"
            " WHERE region = 'us-east-1' AND kind = 'tenants' ORDER BY seq"
        ).fetchall()
    assert [key for key, _ in rows] == ["a", "c"]
    assert [json.loads(document)["name"] for _, document in rows] == ["a", "c"]
    assert not (tmp_path / "state.json").exists()


def test_a_state_file_from_before_regions_is_moved_into_the_default_region(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.sqlite3"
    tenant = {
        "name": "acme",
        "tenant_id": "tn-0",
        "arn": "arn:aws:ses:us-east-1:000000000000:tenant/acme/tn-0",
        "created_at": 1.0,
        "tags": [],
        "suppression_attributes": None,
    }
    with closing(sqlite3.connect(path)) as database, database:
        database.execute(
            "CREATE TABLE records (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
            " key TEXT NOT NULL, document TEXT NOT NULL, UNIQUE (kind, key))"
        )
        database.execute(
            "INSERT INTO records (kind, key, document) VALUES ('tenants', 'acme', ?)",
            (json.dumps(tenant),),
        )
    server = SandboxThread(state_path=str(path)).start()
    try:
        listed = server.boto3_client().list_tenants()["Tenants"]
        assert [item["TenantName"] for item in listed] == ["acme"]
        assert server.boto3_client(region="eu-west-1").list_tenants()["Tenants"] == []
    finally:
        server.stop()
    with closing(sqlite3.connect(path)) as database:
        tables = {name for (name,) in database.execute("SELECT name FROM sqlite_master")}
    assert "records" not in tables


def test_without_a_state_path_nothing_survives(tmp_path: Path) -> None:
    first = SandboxThread(state_path=None).start()
    try:
        first.boto3_client().create_tenant(TenantName="acme")
    finally:
        first.stop()
    second = SandboxThread(state_path=None).start()
    try:
        assert second.state()["tenants"] == []
    finally:
        second.stop()
    assert list(tmp_path.iterdir()) == []


async def test_start_on_a_taken_port_raises_a_clear_error() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        sandbox = EmbeddedSandbox(host="127.0.0.1", port=port, state_path=None, region="us-east-1")
        with pytest.raises(SandboxStartupError, match=f"127.0.0.1:{port}"):
            await sandbox.start()


def test_listener_is_tcp_so_asyncio_disables_nagle() -> None:
    # A listener with proto 0 made every answer wait 40 ms for a delayed ACK.
    with bind_listener("127.0.0.1", 0) as listener:
        assert listener.proto == socket.IPPROTO_TCP


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[EmbeddedSandbox]:
    sandbox = EmbeddedSandbox(
        host="127.0.0.1", port=0, state_path=str(tmp_path / "state.json"), region="eu-west-1"
    )
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


async def test_embedded_sandbox_serves_in_the_running_loop(embedded: EmbeddedSandbox) -> None:
    async with get_session().create_client(
        "sesv2", endpoint_url=embedded.endpoint_url, region_name="eu-west-1", **DUMMY_CREDENTIALS
    ) as ses:
        tenant = await ses.create_tenant(TenantName="acme")
        identity = await ses.create_email_identity(EmailIdentity="example.com")

    assert tenant["TenantArn"].startswith("arn:aws:ses:eu-west-1:000000000000:tenant/acme/tn-")
    assert identity["DkimAttributes"]["SigningHostedZone"] == "dkim.eu-west-1.amazonses.com"


async def wait_until_consumed(client: httpx.AsyncClient, deadline_seconds: float) -> None:
    deadline = time.monotonic() + deadline_seconds
    while (await client.get("/_sandbox/faults")).json()["faults"]:
        assert time.monotonic() < deadline, "the hanging request never reached the sandbox"
        await asyncio.sleep(0.01)


async def test_stop_releases_a_hanging_request(embedded: EmbeddedSandbox) -> None:
    async with httpx.AsyncClient(base_url=embedded.endpoint_url, trust_env=False) as client:
        await client.post("/_sandbox/faults", json={"operation": "CreateTenant", "hang": True})
        hanging = asyncio.create_task(
            client.post("/v2/email/tenants", json={"TenantName": "acme"}, timeout=30)
        )
        await wait_until_consumed(client, deadline_seconds=5)

        started = time.monotonic()
        await embedded.stop()
        response: Any = await asyncio.wait_for(hanging, timeout=5)

    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.headers["x-amzn-ErrorType"] == "ServiceUnavailable"
