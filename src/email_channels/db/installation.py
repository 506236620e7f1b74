"""The installation id: made once by a migration, the default tag of this deployment's SES
resources."""

from __future__ import annotations

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapped, mapped_column

from email_channels.db.base import Base
from email_channels.db.engine import Database


class Installation(Base):
    """One row: the random id the migration made for this database."""

    __tablename__ = "installation"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)


async def installation_id(connection: AsyncConnection) -> str:
    """This database's installation id (the migrations must have run)."""
    found = await connection.scalar(select(Installation.id).limit(1))
    if found is None:
        raise RuntimeError("the database has no installation id: run `email-channels migrate`")
    return str(found)


class DeploymentTag:
    """The tag of this deployment's SES resources: DEPLOYMENT_ID if set, else the
    installation id, so that two databases on one SES account never share one by default.

    Read from the database on first use (the app may start before its database is up).
    """

    def __init__(self, *, db: Database, configured: str | None) -> None:
        self._db = db
        self._value = configured or None

    async def value(self) -> str:
        """The tag (the first call may read the database)."""
        if self._value is None:
            async with self._db.read() as connection:
                self._value = await installation_id(connection)
        return self._value
