"""Keyset pagination of both lists."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import event

from email_channels.pagination import _scope
from tests.support.fixtures_api import Api

URL = "/v1/ws1/channels/ses-setup"


async def _create_setups(
    api: Api, headers: dict[str, str], count: int, workspace: str = "ws1"
) -> list[str]:
    ids = []
    for _ in range(count):
        name = uuid.uuid4().hex[:10]
        setup = await api.create_setup(
            headers,
            workspace=workspace,
            tenant_name=f"t-{name}",
            domain_identity=f"d-{name}.example.test",
        )
        ids.append(setup["id"])
    return ids


async def test_57_setups_in_pages_of_10(api: Api) -> None:
    headers = await api.key()
    created = await _create_setups(api, headers, 57)
    await _create_setups(api, await api.key("ws2"), 2, "ws2")  # another workspace: never listed

    seen: list[str] = []
    pages = 0
    token = None
    while True:
        params: dict[str, str | int] = {"limit": 10}
        if token:
            params["continuation_token"] = token
        response = await api.client.get(URL, params=params, headers=headers)
        assert response.status_code == 200
        page = response.json()
        pages += 1
        seen += [item["id"] for item in page["items"]]
        token = page["continuation_token"]
        if token is None:
            assert len(page["items"]) == 7
            break
        assert len(page["items"]) == 10
    assert pages == 6
    assert len(set(seen)) == 57
    assert seen == list(reversed(created))  # newest first


async def test_a_row_created_while_paging_is_neither_repeated_nor_skipping_others(
    api: Api,
) -> None:
    headers = await api.key()
    created = await _create_setups(api, headers, 5)
    first = (await api.client.get(URL, params={"limit": 2}, headers=headers)).json()
    await _create_setups(api, headers, 1)
    seen = [item["id"] for item in first["items"]]
    token = first["continuation_token"]
    while token:
        page = (
            await api.client.get(
                URL, params={"limit": 2, "continuation_token": token}, headers=headers
            )
        ).json()
        seen += [item["id"] for item in page["items"]]
        token = page["continuation_token"]
    assert seen == list(reversed(created))


async def test_list_items_have_the_list_shape(api: Api) -> None:
    headers = await api.key()
    await _create_setups(api, headers, 1)
    item = (await api.client.get(URL, headers=headers)).json()["items"][0]
    assert set(item) == {
        "id",
        "tenant_name",
        "domain_identity",
        "region",
        "dns_verified",
        "dns_checked_at",
        "created_at",
        "updated_at",
    }


def _token(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


@pytest.mark.parametrize("path", [URL, "/v1/ws1/use-cases"])
@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "%%%",
        _token(b"{}"),
        _token(b"[1,2]"),
        _token(b'{"s": "x", "t": "2026-01-01T00:00:00+00:00", "i": "nope"}'),
    ],
)
async def test_malformed_token_is_422(api: Api, path: str, token: str) -> None:
    response = await api.client.get(
        path, params={"continuation_token": token}, headers=await api.key()
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "continuation_token"


async def test_foreign_token_is_422(api: Api) -> None:
    other = await api.key("ws2")
    await _create_setups(api, other, 3, "ws2")
    page = (
        await api.client.get("/v1/ws2/channels/ses-setup", params={"limit": 1}, headers=other)
    ).json()
    token = page["continuation_token"]
    assert token
    mine = await api.key("ws1")
    response = await api.client.get(URL, params={"continuation_token": token}, headers=mine)
    assert response.status_code == 422
    # a setups token is not a use cases token either
    response = await api.client.get(
        "/v1/ws2/use-cases", params={"continuation_token": token}, headers=other
    )
    assert response.status_code == 422


@pytest.mark.parametrize("path", [URL, "/v1/ws1/use-cases"])
@pytest.mark.parametrize(
    ("created_at", "cursor_id"),
    [
        ("0001-01-01T00:00:00+14:00", "00000000-0000-4000-8000-000000000001"),
        ("9999-12-31T23:59:59-14:00", "00000000-0000-4000-8000-000000000001"),
        ("2026-01-01T00:00:00+00:00", 5),
        ("2026-01-01T00:00:00+00:00", ["x"]),
        (1767225600, "00000000-0000-4000-8000-000000000001"),
    ],
)
async def test_crafted_token_with_the_right_scope_is_422(
    api: Api, path: str, created_at: object, cursor_id: object
) -> None:
    # The scope digest is no secret: anyone can build a token that passes the scope check.
    kind = "ses-setups" if path == URL else "use-cases"
    payload = {"s": _scope(kind, "ws1"), "t": created_at, "i": cursor_id}
    token = _token(orjson.dumps(payload))
    response = await api.client.get(
        path, params={"continuation_token": token}, headers=await api.key()
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "continuation_token"


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5"])
async def test_limit_out_of_range_is_422(api: Api, limit: str) -> None:
    response = await api.client.get(URL, params={"limit": limit}, headers=await api.key())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"


async def test_a_list_costs_two_statements_the_key_and_the_page(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await api.key()
    await _create_setups(api, headers, 3)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    database = api.app.state.database
    if database.driver is not None:  # PostgreSQL: the hot statements go to the driver's pool
        for name in ("fetch", "fetchrow"):
            original = getattr(database.driver, name)

            async def recorded(sql: str, *args: Any, _original: Any = original) -> Any:
                statements.append(sql)
                return await _original(sql, *args)

            monkeypatch.setattr(database.driver, name, recorded)
    if database.grants is not None:  # a cold cache: the key is looked up too
        database.grants.set_live(database.grants.live)
    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = await api.client.get(URL, params={"limit": 2}, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert response.status_code == 200
    assert len(statements) == 2, statements
    assert "api_keys" in statements[0]
    if engine.dialect.name == "postgresql":  # SQLite's LIMIT always carries an OFFSET 0
        assert "OFFSET" not in statements[1].upper()
    assert "COUNT(" not in statements[1].upper()
    assert "dns_results" not in statements[1]  # only the columns a list item shows
