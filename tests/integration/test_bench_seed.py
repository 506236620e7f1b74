"""The bench's seeded setups are rows the service itself could have left (bench/database.py)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

from bench.database import _insert, _setup_rows
from sqlalchemy import delete, select

from email_channels.db.engine import Database
from email_channels.ses_setups.models import SesSetup


async def test_seeded_verified_setups_have_announced_it(database: Database) -> None:
    # A verified setup whose verification was never announced is a row only the seed could
    # make: its first read then writes a late `ses_setup.verified` event, and S4's first pass
    # measured those writes instead of the reads (bench/README.md).
    workspace = f"seed-{uuid.uuid4().hex[:8]}"
    rows = _setup_rows(workspace, 60, now=datetime.now(UTC), rng=random.Random(7))
    await _insert(database, rows)
    try:
        async with database.read() as connection:
            seeded = (
                await connection.execute(
                    select(SesSetup.dns_verified, SesSetup.announced_verified).where(
                        SesSetup.workspace_id == workspace
                    )
                )
            ).all()
        assert len(seeded) == 60
        assert {verified for verified, _ in seeded} == {True, False}  # both kinds are seeded
        assert all(announced == verified for verified, announced in seeded)
    finally:
        async with database.transaction() as session:
            await session.execute(delete(SesSetup).where(SesSetup.workspace_id == workspace))
