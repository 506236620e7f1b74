"""HTTPS deliveries: sent to the address the guard checked, with the URL's name for Host, SNI
and the certificate check (section 8). The receiver is on 127.0.0.1 (`localhost`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from email_channels.db.engine import Database
from email_channels.webhooks.delivery import Deliverer
from tests.support.receiver import Receiver, trusting_the_test_ca

BODY = b'{"type": "ses_setup.created"}'


@pytest.fixture
async def deliverer() -> AsyncIterator[Deliverer]:
    # One attempt's POST (`_post`) touches no database; the Deliverer still wants one.
    engine = create_async_engine("sqlite+aiosqlite://")
    deliverer = Deliverer(
        db=Database(engine),
        timeout=5.0,
        retry_scale=1.0,
        allow_private=True,  # the receiver is on loopback
        verify=trusting_the_test_ca(),
    )
    yield deliverer
    await deliverer.close()
    await engine.dispose()


async def test_an_https_delivery_verifies_the_urls_name_at_the_checked_address(
    deliverer: Deliverer,
) -> None:
    with Receiver(certificate="localhost") as receiver:
        url = receiver.url()  # https://localhost:PORT/hook
        outcome = await deliverer._post(url, body=BODY, headers={"webhook-id": "evt_1"})

    assert (outcome.status_code, outcome.error) == (204, None)
    [received] = receiver.received
    assert received.body == BODY
    assert received.headers["host"] == url.removeprefix("https://").removesuffix("/hook")
    # The certificate names only `localhost` (no IP address): it was checked against the name,
    # which the TLS handshake also carried, though the connection went to 127.0.0.1.
    assert receiver.server_names == ["localhost"]


async def test_an_https_receiver_whose_certificate_names_another_host_gets_nothing(
    deliverer: Deliverer,
) -> None:
    with Receiver(certificate="elsewhere.test") as receiver:
        outcome = await deliverer._post(receiver.url(), body=BODY, headers={"webhook-id": "evt_2"})

    status, error = outcome.status_code, outcome.error
    assert status is None
    assert error is not None
    assert error.startswith("Request failed: ConnectError")
    assert "certificate" in error.lower()
    assert receiver.received == []


async def test_connections_are_pooled_per_url_host_never_shared_between_two_names(
    deliverer: Deliverer,
) -> None:
    with Receiver(keep_alive=True) as receiver:
        port = receiver.url().split(":")[2].split("/")[0]
        # Both names are loopback (RFC 6761): one address, two hosts.
        for url in (
            f"http://localhost:{port}/first",
            f"http://other.localhost:{port}/second",
            f"http://localhost:{port}/third",
        ):
            outcome = await deliverer._post(url, body=BODY, headers={"webhook-id": "evt_3"})
            assert outcome.error is None, outcome
    first, second, third = (receiver.on(path)[0] for path in ("/first", "/second", "/third"))
    assert first.peer == third.peer  # the name's connection was kept and used again
    assert second.peer != first.peer  # but never for another name at the same address
    assert second.headers["host"] == f"other.localhost:{port}"
