"""The live DNS check through the API, against BIND on loopback."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from email_channels.ses_setups.records import ExpectedRecord, Purpose
from tests.support.bind import ZoneMode
from tests.support.fixtures_api import Api
from tests.support.fixtures_bind import TestZone

URL = "/v1/ws1/channels/ses-setup"
LIFETIME = 2.0


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    return {"dns_timeout": 1.0, "dns_lifetime": LIFETIME}


async def _until(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def _expected(detail: dict[str, Any]) -> list[ExpectedRecord]:
    return [
        ExpectedRecord(Purpose(r["purpose"]), r["type"], r["address"], r["record"])
        for r in detail["dns_records"]
    ]


async def _setup_in(api: Api, zone: TestZone, headers: dict[str, str]) -> dict[str, Any]:
    return await api.create_setup(
        headers, tenant_name=f"t-{uuid.uuid4().hex[:10]}", domain_identity=zone.domain
    )


async def test_published_records_are_verified_and_the_list_caches_it(
    api: Api, dns_zone: TestZone
) -> None:
    headers = await api.key()
    setup = await _setup_in(api, dns_zone, headers)
    dns_zone.publish(_expected(setup))

    detail = (await api.client.get(f"{URL}/{setup['id']}", headers=headers)).json()

    assert detail["dns_verified"] is True
    assert all(r["verified"] and r["status"] == "verified" for r in detail["dns_records"])
    assert all(r["reason"] is None for r in detail["dns_records"])
    assert detail["dns_records"][0]["found"] == [detail["dns_records"][0]["record"]]
    assert detail["dns_checked_at"] is not None
    assert detail["updated_at"] > setup["updated_at"]

    before = dns_zone.query_counts()
    listed = (await api.client.get(URL, headers=headers)).json()["items"]
    assert listed[0]["id"] == setup["id"]
    assert listed[0]["dns_verified"] is True
    assert listed[0]["dns_checked_at"] == detail["dns_checked_at"]
    assert dns_zone.query_counts() == before  # the list looked nothing up


async def test_missing_records_are_reported_and_verify_sees_them_appear(
    api: Api, dns_zone: TestZone
) -> None:
    headers = await api.key()
    setup = await _setup_in(api, dns_zone, headers)

    first = (await api.client.get(f"{URL}/{setup['id']}", headers=headers)).json()
    assert first["dns_verified"] is False
    assert {r["status"] for r in first["dns_records"]} == {"missing"}
    assert all(r["reason"] for r in first["dns_records"])
    assert first["dns_checked_at"] is not None

    dns_zone.publish(_expected(setup))
    verified = await api.client.post(f"{URL}/{setup['id']}/verify", headers=headers)
    assert verified.status_code == 200
    assert verified.json()["dns_verified"] is True


# The seven records a customer publishes; `delegation` belongs to delegated setups.
SEVEN = [purpose for purpose in Purpose if purpose is not Purpose.DELEGATION]


@pytest.mark.parametrize("purpose", SEVEN, ids=[p.value for p in SEVEN])
async def test_a_record_removed_from_dns_is_missing_again_and_the_list_caches_it(
    api: Api, dns_zone: TestZone, purpose: Purpose
) -> None:
    headers = await api.key()
    setup = await _setup_in(api, dns_zone, headers)
    records = _expected(setup)
    assert len(records) == 7
    dns_zone.publish(records)
    good = (await api.client.get(f"{URL}/{setup['id']}", headers=headers)).json()
    assert good["dns_verified"] is True
    removed = next(r for r in records if r.purpose is purpose)

    dns_zone.unpublish(removed)  # an RFC 2136 update: the RRset is gone from the zone
    response = await api.client.get(f"{URL}/{setup['id']}", headers=headers)

    assert response.status_code == 200
    detail = response.json()
    by_address = {(r["address"], r["type"]): r for r in detail["dns_records"]}
    gone = by_address.pop((removed.address, removed.type))
    assert gone["status"] == "missing"
    assert gone["verified"] is False
    assert gone["found"] == []
    assert gone["reason"]
    assert removed.address in gone["reason"]
    assert all(r["status"] == "verified" for r in by_address.values())
    assert detail["dns_verified"] is False
    assert detail["updated_at"] > good["updated_at"]
    assert detail["dns_checked_at"] > good["dns_checked_at"]

    before = dns_zone.query_counts()
    listed = (await api.client.get(URL, headers=headers)).json()["items"]
    assert [(i["id"], i["dns_verified"]) for i in listed] == [(setup["id"], False)]
    assert listed[0]["dns_checked_at"] == detail["dns_checked_at"]
    assert listed[0]["updated_at"] == detail["updated_at"]
    assert dns_zone.query_counts() == before  # the list looked nothing up


@pytest.mark.parametrize("outage", ["stopped", "paused"])
async def test_a_dns_outage_keeps_verified_and_the_time_of_the_last_real_check(
    api: Api, dns_zone: TestZone, outage: str
) -> None:
    headers = await api.key()
    setup = await _setup_in(api, dns_zone, headers)
    dns_zone.publish(_expected(setup))
    good = (await api.client.get(f"{URL}/{setup['id']}", headers=headers)).json()
    assert good["dns_verified"] is True

    # stopped: nothing listens (refused or timeouts); paused: every query hangs.
    with getattr(dns_zone.server, outage)():
        started = time.monotonic()
        response = await api.client.get(f"{URL}/{setup['id']}", headers=headers)
        elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed < LIFETIME + 0.5
    during = response.json()
    assert {r["status"] for r in during["dns_records"]} == {"unknown"}
    assert all(r["verified"] for r in during["dns_records"])
    assert during["dns_verified"] is True
    assert during["dns_checked_at"] == good["dns_checked_at"]
    assert during["updated_at"] == good["updated_at"]
    assert all(
        "failed" in r["reason"] and "try again" in r["reason"] for r in during["dns_records"]
    )


@pytest.mark.parametrize("mode", [ZoneMode.SERVFAIL, ZoneMode.REFUSED])
async def test_a_failing_zone_gives_unknown_for_its_records_only(
    api: Api, dns_zone: TestZone, mode: ZoneMode
) -> None:
    headers = await api.key()
    setup = await _setup_in(api, dns_zone, headers)
    dns_zone.publish(_expected(setup))
    good = (await api.client.get(f"{URL}/{setup['id']}", headers=headers)).json()
    assert good["dns_verified"] is True
    dns_zone.break_zone(f"bounce.{dns_zone.domain}", mode)

    started = time.monotonic()
    response = await api.client.get(f"{URL}/{setup['id']}", headers=headers)
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed < LIFETIME + 0.5
    detail = response.json()
    statuses = {r["purpose"]: r["status"] for r in detail["dns_records"]}
    assert statuses == {
        "dkim": "verified",
        "mail_from_mx": "unknown",
        "spf": "unknown",
        "inbound_mx": "verified",
        "dmarc": "verified",
    }
    assert all(r["verified"] for r in detail["dns_records"])
    assert detail["dns_verified"] is True
    assert detail["dns_checked_at"] == good["dns_checked_at"]
    failed = [r for r in detail["dns_records"] if r["status"] == "unknown"]
    assert all(mode.name in r["reason"] for r in failed), [r["reason"] for r in failed]


async def test_concurrent_reads_of_one_setup_share_one_set_of_lookups(
    api: Api, dns_zone: TestZone
) -> None:
    headers = await api.key()
    setup = await _setup_in(api, dns_zone, headers)
    dns_zone.publish(_expected(setup))
    before = dns_zone.query_counts()

    with dns_zone.server.paused():
        # While BIND is frozen the first check's queries hang, so all 20 reads overlap it.
        reads = [
            asyncio.ensure_future(api.client.get(f"{URL}/{setup['id']}", headers=headers))
            for _ in range(20)
        ]
        await _until(lambda: api.app.state.ses_setups.checks.callers(uuid.UUID(setup["id"])) == 20)
    responses = await asyncio.gather(*reads)

    assert {r.status_code for r in responses} == {200}
    counts = dns_zone.query_counts() - before
    distinct = {(r["address"], r["type"]) for r in setup["dns_records"]}
    assert set(counts) >= distinct
    assert all(counts[key] == 1 for key in distinct), counts


class TestPoolOfOne:
    @pytest.fixture
    def api_overrides(self) -> dict[str, Any]:
        return {"database_pool_size": 1, "dns_timeout": 1.5, "dns_lifetime": LIFETIME}

    async def test_a_hanging_dns_check_holds_no_database_connection(
        self, api: Api, dns_zone: TestZone
    ) -> None:
        headers = await api.key()
        setup = await _setup_in(api, dns_zone, headers)
        with dns_zone.server.paused():
            check = asyncio.ensure_future(api.client.get(f"{URL}/{setup['id']}", headers=headers))
            await _until(lambda: len(api.app.state.ses_setups.checks) == 1)
            assert not check.done()  # the check is now waiting on DNS
            async with asyncio.timeout(1.0):
                listed = await api.client.get(URL, headers=headers)
            assert listed.status_code == 200
            assert not check.done()
        assert (await check).status_code == 200
