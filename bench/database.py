"""The benchmark's database: created fresh, built by the real migrations, seeded, dropped."""

from __future__ import annotations

import asyncio
import random
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import insert, text

from email_channels.auth.permissions import Permission
from email_channels.auth.service import create_key
from email_channels.db.engine import Database, create_engine
from email_channels.db.migrate import migrate
from email_channels.ses_setups.models import SesSetup, SetupState

POSTGRES = "postgres@127.0.0.1:5432"
ADMIN_DSN = f"postgresql://{POSTGRES}/postgres"
WORKSPACE = "bench-acme"
OTHER_WORKSPACES = ("bench-globex", "bench-initech", "bench-umbrella")
REGION = "us-east-1"
SIGNING_ZONE = "dkim.amazonses.com"
INSERT_BATCH = 1000


def new_database_name() -> str:
    return f"email_channels_bench_{secrets.token_hex(6)}"


def database_url(name: str) -> str:
    """The SQLAlchemy URL the service uses for the benchmark database."""
    return f"postgresql+asyncpg://{POSTGRES}/{name}"


async def create_database(name: str) -> None:
    admin = await asyncpg.connect(ADMIN_DSN, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def drop_database(name: str) -> None:
    """Drop it even while a straggler is still connected (PostgreSQL 13+)."""
    admin = await asyncpg.connect(ADMIN_DSN, timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@dataclass(frozen=True, slots=True)
class Seeded:
    workspace_id: str
    api_key: str
    admin_key: str  # every permission: the creates of S3 and S6
    setups: int
    other_setups: int


def _setup_rows(
    workspace_id: str, count: int, *, now: datetime, rng: random.Random
) -> Iterator[dict[str, Any]]:
    """`count` active setups as the create saga leaves them, spread over the last year."""
    for index in range(count):
        domain = f"mail{index}.{workspace_id}-shop.example"
        tenant_name = f"{workspace_id}-{index:06d}"
        created_at = now - timedelta(seconds=rng.uniform(60, 365 * 86400))
        checked = rng.random() < 0.8
        verified = checked and rng.random() < 0.7
        results = [
            {
                "verified": verified,
                "status": "verified" if verified else "missing",
                "found": [SIGNING_ZONE] if verified else [],
                "reason": None if verified else "No record of this type at this address.",
            }
            for _ in range(7)
        ]
        yield {
            "id": uuid.uuid4(),
            "workspace_id": workspace_id,
            "tenant_name": tenant_name,
            "domain_identity": domain,
            "region": REGION,
            "mail_from_domain": f"bounce.{domain}",
            "state": SetupState.ACTIVE.value,
            "state_changed_at": created_at,
            "tenant_arn": f"arn:aws:ses:{REGION}:123456789012:tenant/{tenant_name}/{index}",
            "identity_arn": f"arn:aws:ses:{REGION}:123456789012:identity/{domain}",
            "dkim_tokens": [secrets.token_hex(16) for _ in range(3)],
            "signing_hosted_zone": SIGNING_ZONE,
            "provisioning_steps": ["tenant", "identity", "association"],
            "dns_verified": verified,
            # As the migration left existing rows and the checks leave new ones: a verified
            # setup has announced it. Left false, every verified row's first read wrote a
            # late `ses_setup.verified` event in a transaction (S4's first pass measured that).
            "announced_verified": verified,
            "dns_results": results if checked else [],
            "dns_checked_at": created_at + timedelta(minutes=5) if checked else None,
            "created_at": created_at,
            "updated_at": created_at + timedelta(minutes=5) if checked else created_at,
        }


async def _insert(db: Database, rows: Iterator[dict[str, Any]]) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == INSERT_BATCH:
            async with db.transaction() as session:
                await session.execute(insert(SesSetup), batch)
            batch = []
    if batch:
        async with db.transaction() as session:
            await session.execute(insert(SesSetup), batch)


async def prepare(name: str, *, setups: int, seed: int = 1) -> Seeded:
    """Migrate the fresh database, mint an API key, seed the setups; ANALYZE at the end."""
    db = Database(create_engine(database_url(name)))
    try:
        await migrate(db.engine)
        _, secret = await create_key(
            db, workspace_id=WORKSPACE, permissions=[Permission.CHANNEL_VIEW], name="bench"
        )
        _, admin_secret = await create_key(
            db, workspace_id=WORKSPACE, permissions=list(Permission), name="bench-admin"
        )
        rng = random.Random(seed)
        now = datetime.now(UTC)
        await _insert(db, _setup_rows(WORKSPACE, setups, now=now, rng=rng))
        other_count = max(1, setups // 2)
        for other in OTHER_WORKSPACES:
            await _insert(db, _setup_rows(other, other_count, now=now, rng=rng))
        async with db.read() as connection:
            await connection.execute(text("ANALYZE"))
    finally:
        await db.dispose()
    return Seeded(
        workspace_id=WORKSPACE,
        api_key=secret,
        admin_key=admin_secret,
        setups=setups,
        other_setups=other_count * len(OTHER_WORKSPACES),
    )


def prepare_database(name: str, *, setups: int) -> Seeded:
    """Create and fill the database (the caller drops it, whatever happens)."""

    async def create_and_prepare() -> Seeded:
        await create_database(name)
        return await prepare(name, setups=setups)

    return asyncio.run(create_and_prepare())
