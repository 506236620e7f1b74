"""Keyset pagination: opaque continuation tokens over (created_at, id), newest first."""

from __future__ import annotations

import base64
import functools
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeAlias

import orjson
from fastapi import Query
from sqlalchemy import Row, Select, bindparam, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import InstrumentedAttribute

from email_channels.db.engine import Database
from email_channels.errors import FieldError, InvalidInput

# A result row of any width (SQLAlchemy types rows by their columns).
AnyRow: TypeAlias = Row[*tuple[Any, ...]]

Limit = Annotated[int, Query(ge=1, le=100, description="Page size, 1-100.")]
ContinuationToken = Annotated[
    str | None,
    Query(max_length=512, description="The `continuation_token` of the previous page."),
]


@dataclass(frozen=True, slots=True)
class Cursor:
    """The position after the last row of a page."""

    created_at: datetime
    id: uuid.UUID


@functools.lru_cache(maxsize=4096)  # a list page needs it twice; a digest is 1-2 us each
def _scope(kind: str, workspace_id: str) -> str:
    # A short digest ties a token to its list and workspace without revealing either.
    return hashlib.sha256(f"{kind}\0{workspace_id}".encode()).hexdigest()[:16]


def encode_token(cursor: Cursor, *, kind: str, workspace_id: str) -> str:
    """The opaque token that continues after `cursor`."""
    payload = orjson.dumps(
        {
            "s": _scope(kind, workspace_id),
            "t": cursor.created_at.astimezone(UTC).isoformat(),
            "i": str(cursor.id),
        }
    )
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_token(token: str | None, *, kind: str, workspace_id: str) -> Cursor | None:
    """The cursor of a token; a malformed or foreign token is a 422."""
    if token is None:
        return None
    cursor = _read_cursor(token, scope=_scope(kind, workspace_id))
    if cursor is None:
        raise InvalidInput(
            "The continuation token is not valid for this list.",
            errors=[
                FieldError(
                    field="continuation_token",
                    message="Malformed or foreign token: pass the token of the previous page.",
                )
            ],
        )
    return cursor


def _read_cursor(token: str, *, scope: str) -> Cursor | None:
    """The cursor a token holds, or None when anything about it is off.

    The scope digest is no secret, so every field is checked as untrusted input.
    """
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:  # binascii.Error and orjson.JSONDecodeError included
        return None
    if not isinstance(payload, dict) or payload.get("s") != scope:
        return None
    created_at, row_id = payload.get("t"), payload.get("i")
    if not isinstance(created_at, str) or not isinstance(row_id, str):
        return None
    try:
        moment = datetime.fromisoformat(created_at)
        cursor_id = uuid.UUID(row_id)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    try:
        # An offset can push a time near year 1 or 9999 outside what UTC can represent.
        return Cursor(created_at=moment.astimezone(UTC), id=cursor_id)
    except OverflowError:
        return None


def page_json(
    rows: Sequence[AnyRow], *, limit: int, kind: str, workspace_id: str
) -> dict[str, Any]:
    """A page of `limit` rows (fetched with one extra to tell whether more follow)."""
    return records_page_json(
        [row._mapping for row in rows], limit=limit, kind=kind, workspace_id=workspace_id
    )


def records_page_json(
    records: Sequence[Any], *, limit: int, kind: str, workspace_id: str
) -> dict[str, Any]:
    """A page of `limit` mappings (asyncpg's records, SQLAlchemy rows' `_mapping`), fetched
    with one extra to tell whether more follow."""
    token = None
    if len(records) > limit:
        last = records[limit - 1]
        token = encode_token(
            Cursor(created_at=last["created_at"], id=last["id"]),
            kind=kind,
            workspace_id=workspace_id,
        )
    return {"items": [dict(record) for record in records[:limit]], "continuation_token": token}


async def read_page(
    db: Database,
    *,
    kind: str,
    workspace_id: str,
    limit: int,
    continuation_token: str | None,
    query: Callable[[AsyncConnection, Cursor | None], Awaitable[Sequence[AnyRow]]],
) -> dict[str, Any]:
    """Decode the token, run the keyset `query` for `limit + 1` rows, answer the page."""
    after = decode_token(continuation_token, kind=kind, workspace_id=workspace_id)
    async with db.read() as connection:
        rows = await query(connection, after)
    return page_json(rows, limit=limit, kind=kind, workspace_id=workspace_id)


@dataclass(frozen=True, slots=True)
class KeysetQuery:
    """A list query as two statements built once: the first page, and the pages after a cursor.

    The comparison is on the pair (created_at, id), so rows created in the same microsecond
    keep an order, and the index (workspace_id, created_at, id) serves any depth (no OFFSET).
    Built at import with bound parameters, so a request only binds values.
    """

    first: Select[*tuple[Any, ...]]
    after: Select[*tuple[Any, ...]]

    async def page(
        self, connection: AsyncConnection, *, after: Cursor | None, limit: int, **params: Any
    ) -> Sequence[AnyRow]:
        """Up to `limit + 1` rows after `after` (one more, to tell whether more follow)."""
        params["limit"] = limit + 1
        if after is None:
            return (await connection.execute(self.first, params)).all()
        params["after_created_at"], params["after_id"] = after.created_at, after.id
        return (await connection.execute(self.after, params)).all()


def keyset_query(
    query: Select[*tuple[Any, ...]],
    *,
    created_at: InstrumentedAttribute[datetime],
    id_column: InstrumentedAttribute[uuid.UUID],
) -> KeysetQuery:
    """The keyset statements of `query`, newest first."""
    ordered = query.order_by(created_at.desc(), id_column.desc()).limit(bindparam("limit"))
    cursor = tuple_(
        bindparam("after_created_at", type_=created_at.type),
        bindparam("after_id", type_=id_column.type),
    )
    return KeysetQuery(first=ordered, after=ordered.where(tuple_(created_at, id_column) < cursor))
