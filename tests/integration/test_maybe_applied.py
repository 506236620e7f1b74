"""An SES call that was applied, answered 500, and then found the upstream gone.

Every attempt counts: one that may have reached SES makes the step "maybe applied", whatever
the last attempt saw (here: connection refused). Nothing is left in SES after the 502 and
one reconcile, and no row remains.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from email_channels.ses_setups.models import SesSetup
from tests.support.fixtures_api import Api
from tests.support.sandbox import SandboxThread
from tests.support.tcp_proxy import TcpProxy

URL = "/v1/ws1/channels/ses-setup"
EMPTY = {"tenants": [], "identities": [], "associations": []}
CREATE_STEPS = [
    "CreateTenant",
    "CreateEmailIdentity",
    "PutEmailIdentityMailFromAttributes",
    "CreateTenantResourceAssociation",
]


@pytest.fixture
async def proxy(sandbox: SandboxThread) -> AsyncIterator[TcpProxy]:
    """The emulator behind a proxy that refuses every connection after the first 500."""
    target = urlsplit(sandbox.endpoint_url)
    assert target.hostname is not None
    assert target.port is not None
    running = TcpProxy(target_host=target.hostname, target_port=target.port, trip_status=500)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
def api_overrides(proxy: TcpProxy) -> dict[str, Any]:
    # Refusals fail at once: the deadline only has to outlast a slow machine.
    return {"ses_endpoint_url": proxy.url, "upstream_timeout": 10.0}


@pytest.mark.parametrize("operation", CREATE_STEPS)
async def test_an_applied_step_then_refusals_leaves_nothing_after_reconcile(
    api: Api, sandbox: SandboxThread, proxy: TcpProxy, operation: str
) -> None:
    sandbox.add_fault(
        operation=operation, after_apply=True, error_code="InternalFailure", http_status=500
    )
    name = uuid.uuid4().hex[:10]
    body = {"tenant_name": f"t-{name}", "domain_identity": f"d-{name}.example.test"}

    response = await api.client.post(URL, json=body, headers=await api.key())

    assert proxy.tripped.is_set()
    assert response.status_code == 502, response.text
    await proxy.start()  # SES is back
    report = await api.app.state.ses_setups.reconciler.run(older_than=timedelta(0))
    assert report.failed == []
    assert len(report.rolled_back) == 1
    assert report.swept == []  # the row knew every step: nothing was left for the sweep
    assert sandbox.state() == EMPTY
    async with api.database.transaction() as session:
        assert list(await session.scalars(select(SesSetup.id))) == []
    # The names are free again.
    await api.create_setup(await api.key(), **body)
