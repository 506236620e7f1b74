"""Neighbours on one SES account: an installation sweeps only what its own tag marks.

Unless DEPLOYMENT_ID is set, the tag is the installation id its first migration made, so a
second database beside the first never deletes the first's resources; `default` (what older
releases tagged with) is swept only where DEPLOYMENT_ID=default is set explicitly. Every
deletion is a warning line naming the resource; every SES read is paced by SES_STATUS_RATE.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from email_channels.db.engine import Database, create_engine
from email_channels.ses_setups import repository
from tests.integration.test_sweep import LONG_AGO, installation_of
from tests.support.fixtures_api import Api
from tests.support.processes import run_cli, service_environment
from tests.support.sandbox import SandboxThread


def _tags(deployment: str) -> list[dict[str, str]]:
    return [
        {"Key": "email-channels:setup-id", "Value": str(uuid.uuid4())},
        {"Key": "email-channels:deployment", "Value": deployment},
        {"Key": "email-channels:created-at", "Value": LONG_AGO},
    ]


def _plant(sandbox: SandboxThread, name: str, deployment: str) -> None:
    client = sandbox.boto3_client()
    client.create_tenant(TenantName=name, Tags=_tags(deployment))
    client.create_email_identity(EmailIdentity=f"{name}.example.test", Tags=_tags(deployment))


def _names(sandbox: SandboxThread) -> tuple[set[str], set[str]]:
    state = sandbox.state()
    return (
        {tenant["TenantName"] for tenant in state["tenants"]},
        {identity["EmailIdentity"] for identity in state["identities"]},
    )


async def _reconcile(
    sandbox: SandboxThread, database_url: str, cwd: Path, **settings: str
) -> tuple[list[str], list[dict[str, Any]]]:
    """`reconcile --older-than 0` as a process: (stdout lines, its JSON log lines)."""
    env = service_environment(
        database_url=database_url,
        ses_mode="aws",
        ses_endpoint_url=sandbox.endpoint_url,
        log_format="json",
        **settings,
    )
    status, out, err = await run_cli("reconcile", "--older-than", "0", env=env, cwd=cwd)
    assert status == 0, err
    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return sorted(out.splitlines()), logs


def _deletion_warnings(logs: list[dict[str, Any]]) -> list[str]:
    return sorted(
        line["event"]
        for line in logs
        if line.get("level") == "warning" and line["event"].startswith("deleted SES")
    )


async def test_a_second_installation_never_sweeps_the_first_ones_resources(
    api: Api, sandbox: SandboxThread, tmp_path: Path
) -> None:
    first = await api.create_setup(
        await api.key(), tenant_name="first-tenant", domain_identity="first.example.test"
    )
    # The second installation: its own database (migrated by itself), the same SES account.
    second_url = f"sqlite+aiosqlite:///{tmp_path / 'second.db'}"
    env = service_environment(database_url=second_url)
    status, _, err = await run_cli("migrate", env=env, cwd=tmp_path)
    assert status == 0, err
    second = Database(create_engine(second_url))
    try:
        second_id = await installation_of(second)
    finally:
        await second.dispose()
    first_id = await installation_of(api.database)
    assert second_id != first_id
    # Unset DEPLOYMENT_ID: what the first installation creates carries its installation id.
    identity = sandbox.boto3_client().get_email_identity(EmailIdentity="first.example.test")
    assert {"Key": "email-channels:deployment", "Value": first_id} in identity["Tags"]
    _plant(sandbox, "second-orphan", second_id)  # what a crash of the second one left

    out, logs = await _reconcile(sandbox, second_url, tmp_path)

    assert out == [
        "swept\tidentity\tus-east-1\tsecond-orphan.example.test",
        "swept\ttenant\tus-east-1\tsecond-orphan",
    ]
    assert _names(sandbox) == ({"first-tenant"}, {"first.example.test"})
    response = await api.client.get(
        f"/v1/ws1/channels/ses-setup/{first['id']}", headers=await api.key()
    )
    assert response.status_code == 200
    # Each deletion is a warning line with the resource's name, region and tags.
    warnings = _deletion_warnings(logs)
    assert len(warnings) == 2, logs
    for kind, name in (
        ("identity", "second-orphan.example.test"),
        ("tenant", "second-orphan"),
    ):
        [line] = [w for w in warnings if w.startswith(f"deleted SES {kind} {name} ")]
        assert " in us-east-1 " in line
        assert f"email-channels:deployment={second_id}" in line
        assert "email-channels:setup-id=" in line


async def test_resources_tagged_default_are_swept_only_with_deployment_id_default(
    api: Api, sandbox: SandboxThread, database_url: str, tmp_path: Path
) -> None:
    _plant(sandbox, "legacy", "default")  # left by a release that tagged with `default`

    out, logs = await _reconcile(sandbox, database_url, tmp_path)

    assert out == []
    assert _deletion_warnings(logs) == []
    assert _names(sandbox) == ({"legacy"}, {"legacy.example.test"})

    out, logs = await _reconcile(sandbox, database_url, tmp_path, deployment_id="default")

    assert out == [
        "swept\tidentity\tus-east-1\tlegacy.example.test",
        "swept\ttenant\tus-east-1\tlegacy",
    ]
    assert len(_deletion_warnings(logs)) == 2
    assert _names(sandbox) == (set(), set())


async def test_reconcile_logs_each_resource_of_a_stale_row_it_deletes(
    api: Api, sandbox: SandboxThread, caplog: pytest.LogCaptureFixture
) -> None:
    setup = await api.create_setup(
        await api.key(), tenant_name="stale-tenant", domain_identity="stale.example.test"
    )
    async with api.database.transaction() as session:  # a delete whose process died
        await repository.claim_delete(
            session,
            workspace_id="ws1",
            setup_id=uuid.UUID(setup["id"]),
            token=uuid.uuid4(),
            seconds=0,
        )

    report = await api.app.state.ses_setups.reconciler.run(older_than=timedelta(0))

    assert report.deleted == [uuid.UUID(setup["id"])]
    deleted = sorted(
        record.getMessage()
        for record in caplog.records
        if record.levelname == "WARNING" and record.getMessage().startswith("deleted SES")
    )
    assert [line.split(" (tags")[0] for line in deleted] == [
        "deleted SES identity stale.example.test in us-east-1",
        "deleted SES tenant stale-tenant in us-east-1",
    ]
    assert all(f"email-channels:setup-id={setup['id']}" in line for line in deleted)


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    return {"ses_status_rate": 5.0}


async def test_the_sweep_paces_its_ses_reads_by_ses_status_rate(
    api: Api, sandbox: SandboxThread
) -> None:
    for index in range(3):  # another deployment's: read (listed, tags), never deleted
        _plant(sandbox, f"neighbour-{index}", "another-deployment")
    reconciler = api.app.state.ses_setups.reconciler

    started = time.monotonic()
    report = await reconciler.run(older_than=timedelta(0))
    elapsed = time.monotonic() - started

    assert report.swept == []
    # Two list pages and six tag reads at 5 a second: seven gaps of 0.2 s at least.
    assert elapsed >= 7 * 0.2 - 0.05, elapsed
