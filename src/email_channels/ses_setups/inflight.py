"""In-flight SES deletes: names a maybe-applied delete could still remove, reserved a while.

A delete that timed out (or met a 5xx or a reset after sending) may land later, for as long
as SES holds the request. Fencing by tags protects every delete that reads tags first; it
cannot recall a request already sent. So until INFLIGHT_HORIZON seconds after such a call
was sent, its domain or tenant name is reserved, even after the setup row is gone, and a
create of it is a 409 with `Retry-After`. Times are the database's clock.

A create checks the reservations after its row is in: a reservation is written while the
row that holds the name still exists, so a create that got the name found it written.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from email_channels.db.clock import database_now
from email_channels.db.driver import DriverPool
from email_channels.errors import Conflict
from email_channels.ses_setups.models import InflightDelete

DOMAIN, TENANT_NAME = "domain", "tenant"
_WORDS = {DOMAIN: "domain", TENANT_NAME: "tenant name"}


@dataclass(frozen=True, slots=True)
class Reserved:
    """One reserved name and the seconds its reservation has left."""

    kind: str
    name: str
    seconds_left: float


class DeleteInFlight(Conflict):
    """A create of a name whose earlier delete may still be in flight at Amazon SES."""

    def __init__(self, reserved: Reserved) -> None:
        self.retry_after = max(1, math.ceil(reserved.seconds_left))
        super().__init__(
            f"A delete of the {_WORDS.get(reserved.kind, reserved.kind)} {reserved.name!r} "
            "may still be in flight at Amazon SES; it stays reserved until that delete can no "
            f"longer land. Retry in {self.retry_after} seconds."
        )

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


async def reserve(
    session: AsyncSession, *, names: Iterable[tuple[str, str]], seconds: float
) -> None:
    """Reserve each (kind, name) until `seconds` from now (never shortening a reservation)."""
    # Reservations are rare (failed deletes only): the expired ones go here, not in a job.
    await session.execute(delete(InflightDelete).where(InflightDelete.expires_at < database_now()))
    dialect = (await session.connection()).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for kind, name in sorted(set(names)):
        statement = insert(InflightDelete).values(
            kind=kind, name=name, expires_at=database_now(seconds)
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[InflightDelete.kind, InflightDelete.name],
                set_={"expires_at": statement.excluded.expires_at},
                where=InflightDelete.expires_at < statement.excluded.expires_at,
            )
        )


# `reserved` in one statement on the driver's pool (PostgreSQL): a create asks it every time
# and finds nothing nearly always; through SQLAlchemy's compile and result machinery it cost
# 7% of a create's CPU (bench/README.md, S3). The database's clock, as `database_now`.
_RESERVED_SQL = (
    "SELECT kind, name, EXTRACT(EPOCH FROM expires_at - clock_timestamp())::float8"
    " FROM inflight_deletes"
    " WHERE ((kind = $1 AND name = $2) OR (kind = $3 AND name = $4))"
    " AND expires_at > clock_timestamp()"
)


async def reserved_driver(driver: DriverPool, *, domain: str, tenant_name: str) -> Reserved | None:
    """`reserved`, in one round trip of the driver."""
    rows = await driver.fetch(_RESERVED_SQL, DOMAIN, domain, TENANT_NAME, tenant_name)
    found = [Reserved(kind, name, float(left)) for kind, name, left in rows]
    return max(found, key=lambda entry: entry.seconds_left, default=None)


async def reserved(
    connection: AsyncConnection, *, domain: str, tenant_name: str
) -> Reserved | None:
    """The reservation of the domain or the tenant name with the most time left, if any."""
    rows = (
        await connection.execute(
            select(
                InflightDelete.kind, InflightDelete.name, InflightDelete.expires_at, database_now()
            ).where(
                or_(
                    and_(InflightDelete.kind == DOMAIN, InflightDelete.name == domain),
                    and_(InflightDelete.kind == TENANT_NAME, InflightDelete.name == tenant_name),
                ),
                InflightDelete.expires_at > database_now(),
            )
        )
    ).all()
    found = [
        Reserved(kind, name, (expires - now).total_seconds()) for kind, name, expires, now in rows
    ]
    return max(found, key=lambda entry: entry.seconds_left, default=None)
