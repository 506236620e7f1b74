"""Uniqueness and the use-case reference hold under concurrent requests (both databases)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.support.fixtures_api import Api

URL = "/v1/ws1/channels/ses-setup"


async def test_concurrent_creates_of_one_tenant_name_make_exactly_one_setup(
    api: Api, sandbox: Any
) -> None:
    headers = await api.key()
    name = f"t-{uuid.uuid4().hex[:10]}"
    bodies = [
        {"tenant_name": name, "domain_identity": f"d{i}-{uuid.uuid4().hex[:6]}.example.test"}
        for i in range(8)
    ]

    responses = await asyncio.gather(
        *(api.client.post(URL, json=body, headers=headers) for body in bodies)
    )

    assert sorted(r.status_code for r in responses) == [201] + [409] * 7
    state = sandbox.state()
    assert [t["TenantName"] for t in state["tenants"]] == [name]
    assert len(state["identities"]) == 1


async def test_a_use_case_racing_a_delete_never_outlives_its_setup(api: Api, sandbox: Any) -> None:
    headers = await api.key()
    for _ in range(5):
        name = uuid.uuid4().hex[:10]
        setup = await api.create_setup(
            headers, tenant_name=f"t-{name}", domain_identity=f"d-{name}.example.test"
        )
        deleted, created = await asyncio.gather(
            api.client.delete(f"{URL}/{setup['id']}", headers=headers),
            api.client.post(
                "/v1/ws1/use-cases",
                json={"name": "race", "ses_setup_id": setup["id"]},
                headers=headers,
            ),
        )
        outcome = (deleted.status_code, created.status_code)
        assert outcome in {(204, 422), (409, 201)}, outcome
        if outcome == (409, 201):  # the use case won: the setup and its SES resources stay
            assert (
                await api.client.get(f"{URL}/{setup['id']}", headers=headers)
            ).status_code == 200
            assert setup["tenant_name"] in [t["TenantName"] for t in sandbox.state()["tenants"]]
        else:
            assert setup["tenant_name"] not in [t["TenantName"] for t in sandbox.state()["tenants"]]
