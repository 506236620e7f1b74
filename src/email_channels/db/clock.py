"""The database's clock: leases and claims compare against it, never against a host's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from email_channels.db.base import UTCDateTime


class database_now(FunctionElement[datetime]):  # noqa: N801 (a SQL function reads as one)
    """The database server's current time, plus `offset` seconds (which may be negative)."""

    type = UTCDateTime()
    inherit_cache = True

    def __init__(self, offset: float = 0.0) -> None:
        super().__init__(literal(float(offset), Float()))


@compiles(database_now, "postgresql")
def _postgresql(element: database_now, compiler: Any, **kw: Any) -> str:
    # clock_timestamp(), not now(): a lease taken late in a transaction must not start early.
    offset = compiler.process(element.clauses, **kw)
    return f"(clock_timestamp() + make_interval(secs => {offset}))"


@compiles(database_now, "sqlite")
def _sqlite(element: database_now, compiler: Any, **kw: Any) -> str:
    # The text form SQLAlchemy stores datetimes in on SQLite ("YYYY-MM-DD HH:MM:SS.ffffff",
    # UTC), so that comparisons with stored values are comparisons of equal-width text.
    offset = compiler.process(element.clauses, **kw)
    return f"(strftime('%Y-%m-%d %H:%M:%f', 'now', printf('%+.3f seconds', {offset})) || '000')"
