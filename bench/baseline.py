"""The baseline: the same list served by raw asyncpg and a bare Starlette route.

It does the work the service's list does, and nothing more: one query for the key's grant,
one keyset query for the page, the same columns, the same token format and the same JSON
bytes (the harness compares the two answers before it measures). What is left out is only
the framework: FastAPI's dependency injection and parameter validation, SQLAlchemy's
statement compilation and result processing.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from email_channels.pagination import Cursor, decode_token, encode_token
from email_channels.ses_setups.service import LIST_KIND

GRANT_QUERY = "SELECT workspace_id, permissions, revoked_at FROM api_keys WHERE key_hash = $1"
PAGE_COLUMNS = (
    "id, tenant_name, domain_identity, region, dns_verified, dns_checked_at, created_at, updated_at"
)
FIRST_PAGE_QUERY = (
    f"SELECT {PAGE_COLUMNS} FROM ses_setups"
    " WHERE workspace_id = $1 AND state IN ('active', 'deleting')"
    " ORDER BY created_at DESC, id DESC LIMIT $2"
)
NEXT_PAGE_QUERY = (
    f"SELECT {PAGE_COLUMNS} FROM ses_setups"
    " WHERE workspace_id = $1 AND state IN ('active', 'deleting')"
    " AND (created_at, id) < ($3, $4)"
    " ORDER BY created_at DESC, id DESC LIMIT $2"
)
VIEW_PERMISSION = "Channel.view"


def _fallback(value: Any) -> Any:
    # asyncpg's UUID type is not a uuid.UUID as far as orjson is concerned.
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _json(content: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(content, default=_fallback), status_code=status, media_type="application/json"
    )


def create_baseline_app(*, dsn: str, pool_size: int) -> Starlette:
    """The baseline ASGI app on a pool of `pool_size` asyncpg connections."""
    pools: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        pools["main"] = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
        try:
            yield
        finally:
            await pools["main"].close()

    async def healthz(_: Request) -> Response:
        return _json({"status": "ok"})

    async def list_setups(request: Request) -> Response:
        workspace_id = request.path_params["workspace_id"]
        authorization = request.headers.get("authorization", "")
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret:
            return _json({"status": 401}, status=401)
        pool = pools["main"]
        limit = int(request.query_params.get("limit", "20"))
        if not 1 <= limit <= 100:
            return _json({"status": 422}, status=422)
        grant = await pool.fetchrow(GRANT_QUERY, hashlib.sha256(secret.encode()).hexdigest())
        if grant is None or grant["revoked_at"] is not None:
            return _json({"status": 401}, status=401)
        if grant["workspace_id"] != workspace_id or VIEW_PERMISSION not in grant[
            "permissions"
        ].split(","):
            return _json({"status": 403}, status=403)
        token = request.query_params.get("continuation_token")
        after = decode_token(token, kind=LIST_KIND, workspace_id=workspace_id)
        if after is None:
            rows = await pool.fetch(FIRST_PAGE_QUERY, workspace_id, limit + 1)
        else:
            rows = await pool.fetch(
                NEXT_PAGE_QUERY, workspace_id, limit + 1, after.created_at, after.id
            )
        next_token = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_token = encode_token(
                Cursor(created_at=last["created_at"], id=last["id"]),
                kind=LIST_KIND,
                workspace_id=workspace_id,
            )
        items = [dict(row) for row in rows[:limit]]
        return _json({"items": items, "continuation_token": next_token})

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/v1/{workspace_id}/channels/ses-setup", list_setups),
        ],
        lifespan=lifespan,
    )
