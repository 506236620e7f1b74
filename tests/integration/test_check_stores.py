"""The worker's re-checks are stored in groups, and each row ends as a check on its own leaves it.

On PostgreSQL a background check that announces nothing hands its row to the process's
group of stores (ses_setups/check_stores.py): the checks that finish together share one
UPDATE. A check whose row the group cannot store (it must announce) takes the transaction
with its event, as on its own; a failed statement reaches every check of its group. SQLite
takes the transactions: both leave the same rows behind.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from email_channels.db.clock import database_now
from email_channels.ses_setups import repository
from email_channels.ses_setups.check_stores import CheckStores
from email_channels.ses_setups.models import SesSetup
from email_channels.webhooks.models import Event
from tests.support.fixtures_api import Api
from tests.support.fixtures_bind import TestZone

VERIFIED_INTERVAL = 86400.0
SETUPS = 8


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    return {"check_interval_min": 60.0, "verified_check_interval": VERIFIED_INTERVAL}


def _on_postgresql(api: Api) -> bool:
    return api.database.engine.dialect.name == "postgresql"


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each group `repository.store_checks_driver` is called with."""
    sizes: list[int] = []
    original: Callable[..., Any] = repository.store_checks_driver

    async def counted(driver: Any, checks: Any) -> Any:
        sizes.append(len(checks))
        return await original(driver, checks)

    monkeypatch.setattr(repository, "store_checks_driver", counted)
    return sizes


async def _rows(api: Api, ids: list[str]) -> list[SesSetup]:
    async with api.database.read() as connection:
        found = (
            await connection.execute(
                select(SesSetup.__table__).where(SesSetup.id.in_([uuid.UUID(i) for i in ids]))
            )
        ).all()
    by_id = {str(row.id): SesSetup(**row._asdict()) for row in found}
    return [by_id[i] for i in ids]


async def _verified_setups(api: Api, dns_zone: TestZone, count: int) -> list[str]:
    """`count` setups with every record published, read once (announced verified)."""
    headers = await api.key()
    ids = []
    for number in range(count):
        setup = await api.create_setup(
            headers,
            tenant_name=f"g-{uuid.uuid4().hex[:10]}",
            domain_identity=f"g{number}.{dns_zone.domain}",
        )
        dns_zone.publish_api_records(setup["dns_records"])
        ids.append(setup["id"])
    for setup_id in ids:
        read = await api.client.get(f"/v1/ws1/channels/ses-setup/{setup_id}", headers=headers)
        assert read.json()["dns_verified"] is True, read.text
    return ids


async def _seconds_until(api: Api, moment: Any) -> float:
    async with api.database.transaction() as session:
        now = await session.scalar(select(database_now()))
    assert now is not None
    return float((moment - now) / timedelta(seconds=1))


async def _events(api: Api) -> list[str]:
    async with api.database.transaction() as session:
        return list((await session.execute(select(Event.type).order_by(Event.seq))).scalars())


async def test_background_checks_that_finish_together_share_a_statement(
    api: Api, dns_zone: TestZone, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _verified_setups(api, dns_zone, SETUPS)
    # Half of them broken in the row (claimed, counted, announced off): the check mends it.
    async with api.database.transaction() as session:
        await session.execute(
            update(SesSetup)
            .where(SesSetup.id.in_([uuid.UUID(i) for i in ids[: SETUPS // 2]]))
            .values(failed_checks=2, check_claimed_until=SesSetup.created_at)
        )
    events_before = await _events(api)
    sizes = _counting(monkeypatch)
    service = api.app.state.ses_setups

    await asyncio.gather(*(service.check_in_background(row) for row in await _rows(api, ids)))

    if _on_postgresql(api):
        assert sum(sizes) == SETUPS
        assert len(sizes) < SETUPS  # grouped: the first alone, the rest together
    else:
        assert sizes == []  # SQLite: each check's own transaction
    for row in await _rows(api, ids):
        assert row.dns_verified is True
        assert [r["status"] for r in row.dns_results] == ["verified"] * len(row.dns_results)
        assert row.failed_checks == 0
        assert row.check_claimed_until is None
        assert row.dns_zone is not None
        seconds = await _seconds_until(api, row.next_check_at)
        assert VERIFIED_INTERVAL - 60 < seconds <= VERIFIED_INTERVAL
    assert await _events(api) == events_before  # nothing to announce


async def test_a_check_that_must_announce_leaves_its_group_for_the_transaction(
    api: Api, dns_zone: TestZone, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _verified_setups(api, dns_zone, 4)
    async with api.database.transaction() as session:  # the first two: never announced
        await session.execute(
            update(SesSetup)
            .where(SesSetup.id.in_([uuid.UUID(i) for i in ids[:2]]))
            .values(announced_verified=False)
        )
    # The group is asked to store them all (as if the flag changed after the check read it):
    # it stores the two it may, and the two others take the long way and announce.
    rows = await _rows(api, ids)
    for row in rows:
        row.announced_verified = True
    sizes = _counting(monkeypatch)
    events_before = await _events(api)
    service = api.app.state.ses_setups

    await asyncio.gather(*(service.check_in_background(row) for row in rows))

    if _on_postgresql(api):
        assert sum(sizes) == len(ids)
    after = await _rows(api, ids)
    assert all(row.announced_verified for row in after)
    assert all(row.dns_verified for row in after)
    announced = (await _events(api))[len(events_before) :]
    assert announced == ["ses_setup.verified", "ses_setup.verified"]


async def test_a_failed_statement_reaches_every_check_of_its_group(
    api: Api, dns_zone: TestZone, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not _on_postgresql(api):
        pytest.skip("SQLite stores each check in its own transaction: there are no groups")
    ids = await _verified_setups(api, dns_zone, 3)
    before = await _rows(api, ids)

    async def broken(driver: Any, checks: Any) -> Any:
        raise ConnectionResetError("the database went away")

    monkeypatch.setattr(repository, "store_checks_driver", broken)
    service = api.app.state.ses_setups
    outcomes = await asyncio.gather(
        *(service.check_in_background(row) for row in before), return_exceptions=True
    )

    assert all(isinstance(outcome, ConnectionResetError) for outcome in outcomes)
    after = await _rows(api, ids)
    assert [row.next_check_at for row in after] == [row.next_check_at for row in before]
    monkeypatch.undo()  # the next group stores again
    await asyncio.gather(*(service.check_in_background(row) for row in after))
    assert all(
        later.next_check_at > earlier.next_check_at
        for later, earlier in zip(await _rows(api, ids), after, strict=True)
    )


async def test_a_caller_that_gives_up_leaves_the_statement_to_the_others(
    api: Api, dns_zone: TestZone
) -> None:
    if not _on_postgresql(api):
        pytest.skip("the groups are the driver's (PostgreSQL)")
    ids = await _verified_setups(api, dns_zone, 3)
    driver = api.app.state.database.driver
    stores = CheckStores(driver)
    checks = [
        repository.CheckToStore(
            setup_id=row.id,
            dns_results=row.dns_results,
            dns_verified=True,
            dns_checked_at=None,
            updated_at=None,
            due_in=123.0,
            interval=60.0,
            dns_zone=None,
        )
        for row in await _rows(api, ids)
    ]
    first = asyncio.create_task(stores.store(checks[0]))
    rest = [asyncio.create_task(stores.store(check)) for check in checks[1:]]
    await asyncio.sleep(0)
    first.cancel()

    assert await asyncio.gather(*rest) == [True, True]
    with pytest.raises(asyncio.CancelledError):
        await first
    assert stores.statements == 1  # all three went in the statement the first one started
    for row in await _rows(api, ids):
        assert 60 < await _seconds_until(api, row.next_check_at) <= 123.0
