"""`reconcile` sweeps this deployment's SES resources that no row knows, and nothing else."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from email_channels.db.engine import Database
from email_channels.db.installation import installation_id
from email_channels.ses_setups import repository
from tests.support.fixtures_api import Api
from tests.support.processes import run_cli, service_environment
from tests.support.sandbox import SandboxThread

LONG_AGO = "2020-01-01T00:00:00+00:00"


def _tags(*, deployment: str | None, created_at: str | None = LONG_AGO) -> Any:
    tags = [{"Key": "email-channels:setup-id", "Value": str(uuid.uuid4())}]
    if deployment is not None:
        tags.append({"Key": "email-channels:deployment", "Value": deployment})
    if created_at is not None:
        tags.append({"Key": "email-channels:created-at", "Value": created_at})
    return tags


async def installation_of(database: Database) -> str:
    """The installation id the migration made for `database`."""
    async with database.read() as connection:
        return await installation_id(connection)


def _plant(sandbox: SandboxThread, name: str, tags: Any) -> None:
    """A tenant `name` and an identity `name.example.test`, as a crashed process left them."""
    client = sandbox.boto3_client()
    client.create_tenant(TenantName=name, Tags=tags)
    client.create_email_identity(EmailIdentity=f"{name}.example.test", Tags=tags)


def _names(sandbox: SandboxThread) -> tuple[set[str], set[str]]:
    state = sandbox.state()
    return (
        {tenant["TenantName"] for tenant in state["tenants"]},
        {
            identity["EmailIdentity"].removesuffix(".example.test")
            for identity in state["identities"]
        },
    )


async def _reconcile(
    sandbox: SandboxThread, database_url: str, cwd: Path, *args: str
) -> tuple[int, list[str]]:
    env = service_environment(
        database_url=database_url, ses_mode="aws", ses_endpoint_url=sandbox.endpoint_url
    )
    status, out, err = await run_cli("reconcile", *args, env=env, cwd=cwd)
    assert status == 0, err
    return status, sorted(out.splitlines())


async def test_sweep_removes_only_old_untracked_resources_of_this_deployment(
    api: Api, sandbox: SandboxThread, database_url: str, tmp_path: Path
) -> None:
    tracked = await api.create_setup(
        await api.key(), tenant_name="tracked", domain_identity="tracked.example.test"
    )
    ours = await installation_of(api.database)
    _plant(sandbox, "orphan", _tags(deployment=ours))
    # A missing created-at counts as old; so does an unreadable one.
    _plant(sandbox, "undated", _tags(deployment=ours, created_at=None))
    _plant(sandbox, "garbled", _tags(deployment=ours, created_at="yesterday"))
    _plant(sandbox, "young", _tags(deployment=ours, created_at=datetime.now(UTC).isoformat()))
    _plant(sandbox, "foreign", _tags(deployment="another-deployment"))
    _plant(sandbox, "untagged", [])
    everything = {"tracked", "orphan", "undated", "garbled", "young", "foreign", "untagged"}
    assert _names(sandbox) == (everything, everything)

    _, dry = await _reconcile(sandbox, database_url, tmp_path, "--dry-run", "--older-than", "3600")

    swept = ("orphan", "undated", "garbled")
    assert dry == sorted(
        [f"would sweep\ttenant\tus-east-1\t{name}" for name in swept]
        + [f"would sweep\tidentity\tus-east-1\t{name}.example.test" for name in swept]
    )
    assert _names(sandbox) == (everything, everything)  # a dry run changes nothing

    _, done = await _reconcile(sandbox, database_url, tmp_path, "--older-than", "3600")

    assert done == [line.removeprefix("would sweep").join(["swept", ""]) for line in dry]
    left = everything - set(swept)
    assert _names(sandbox) == (left, left)

    # With no grace period the young orphan goes too; what a row knows never does.
    _, done = await _reconcile(sandbox, database_url, tmp_path, "--older-than", "0")

    assert done == [
        "swept\tidentity\tus-east-1\tyoung.example.test",
        "swept\ttenant\tus-east-1\tyoung",
    ]
    assert _names(sandbox) == ({"tracked", "foreign", "untagged"},) * 2
    response = await api.client.get(
        f"/v1/ws1/channels/ses-setup/{tracked['id']}", headers=await api.key()
    )
    assert response.status_code == 200


async def test_reconcile_spares_a_setup_another_process_is_deleting(
    api: Api, sandbox: SandboxThread
) -> None:
    setup = await api.create_setup(
        await api.key(), tenant_name="kept", domain_identity="kept.example.test"
    )
    async with api.database.transaction() as session:  # a live delete elsewhere holds it
        await repository.claim_delete(
            session,
            workspace_id="ws1",
            setup_id=uuid.UUID(setup["id"]),
            token=uuid.uuid4(),
            seconds=600,
        )
    before = sandbox.state()

    report = await api.app.state.ses_setups.reconciler.run(older_than=timedelta(0))

    assert (report.deleted, report.failed, report.swept) == ([], [], [])
    assert sandbox.state() == before
