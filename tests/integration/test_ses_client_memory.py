"""The SES adapter drops botocore's endpoint table once its client is built, and still works."""

from __future__ import annotations

from typing import Any

from aiobotocore.session import get_session

from email_channels.integrations.ses.client import AioBotocoreSes
from tests.support.sandbox import SandboxThread

ENDPOINT_TABLE = ("load_data_with_path", "endpoints")


async def test_the_endpoint_table_is_dropped_and_the_client_still_calls(
    sandbox: SandboxThread,
) -> None:
    ses = await sandbox.ses_adapter()
    try:
        assert ENDPOINT_TABLE not in ses._client._loader._cache
        tenant = await ses.create_tenant("memory-acme", tags={})
        assert tenant.name == "memory-acme"
    finally:
        await ses.close()


async def test_the_client_resolves_aws_as_a_default_client_does(monkeypatch: Any) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for region in ("eu-west-1", "us-gov-west-1", "cn-north-1"):
        ses = AioBotocoreSes(region=region, timeout=5.0, credentials=("key", "secret"))
        await ses.open()
        try:
            async with get_session().create_client(
                "sesv2", region_name=region, aws_access_key_id="k", aws_secret_access_key="s"
            ) as reference:
                ours = ses._client.meta
                assert (ours.endpoint_url, ours.region_name, ours.partition) == (
                    reference.meta.endpoint_url,
                    reference.meta.region_name,
                    reference.meta.partition,
                )
                assert ses._client._loader._cache.get(ENDPOINT_TABLE) is None
        finally:
            await ses.close()
