"""Use cases: create, read, list, delete, and the reference that blocks a setup's delete."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.fixtures_api import Api

SETUPS = "/v1/ws1/channels/ses-setup"
USE_CASES = "/v1/ws1/use-cases"


async def _setup(api: Api, headers: dict[str, str], workspace: str = "ws1") -> dict[str, Any]:
    name = uuid.uuid4().hex[:10]
    return await api.create_setup(
        headers,
        workspace=workspace,
        tenant_name=f"t-{name}",
        domain_identity=f"d-{name}.example.test",
    )


async def test_use_case_lifecycle(api: Api) -> None:
    headers = await api.key()
    setup = await _setup(api, headers)

    created = await api.client.post(
        USE_CASES, json={"name": "Password resets", "ses_setup_id": setup["id"]}, headers=headers
    )

    assert created.status_code == 201, created.text
    use_case = created.json()
    assert set(use_case) == {"id", "name", "ses_setup_id", "created_at"}
    assert use_case["name"] == "Password resets"
    assert use_case["ses_setup_id"] == setup["id"]
    assert created.headers["location"] == f"{USE_CASES}/{use_case['id']}"
    fetched = await api.client.get(f"{USE_CASES}/{use_case['id']}", headers=headers)
    assert fetched.json() == use_case
    page = (await api.client.get(USE_CASES, headers=headers)).json()
    assert page == {"items": [use_case], "continuation_token": None}
    deleted = await api.client.delete(f"{USE_CASES}/{use_case['id']}", headers=headers)
    assert deleted.status_code == 204
    gone = await api.client.get(f"{USE_CASES}/{use_case['id']}", headers=headers)
    assert gone.status_code == 404
    again = await api.client.delete(f"{USE_CASES}/{use_case['id']}", headers=headers)
    assert again.status_code == 404


async def test_delete_refused_while_use_case_references_setup(api: Api, sandbox: Any) -> None:
    headers = await api.key()
    setup = await _setup(api, headers)
    use_case = (
        await api.client.post(
            USE_CASES, json={"name": "Receipts", "ses_setup_id": setup["id"]}, headers=headers
        )
    ).json()
    before = sandbox.state()

    refused = await api.client.delete(f"{SETUPS}/{setup['id']}", headers=headers)

    assert refused.status_code == 409
    assert "use case" in refused.json()["detail"]
    assert sandbox.state() == before
    assert (await api.client.get(f"{SETUPS}/{setup['id']}", headers=headers)).status_code == 200

    await api.client.delete(f"{USE_CASES}/{use_case['id']}", headers=headers)
    assert (await api.client.delete(f"{SETUPS}/{setup['id']}", headers=headers)).status_code == 204
    assert sandbox.state()["tenants"] == []


async def test_use_case_for_unknown_or_foreign_setup_is_422(api: Api) -> None:
    theirs = await _setup(api, await api.key("ws2"), workspace="ws2")
    headers = await api.key("ws1")
    for setup_id in (str(uuid.uuid4()), theirs["id"]):
        response = await api.client.post(
            USE_CASES, json={"name": "x", "ses_setup_id": setup_id}, headers=headers
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "ses_setup_id"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ses_setup_id": "00000000-0000-4000-8000-000000000001"}, "name"),
        ({"name": "", "ses_setup_id": "00000000-0000-4000-8000-000000000001"}, "name"),
        ({"name": "x" * 129, "ses_setup_id": "00000000-0000-4000-8000-000000000001"}, "name"),
        ({"name": "ok"}, "ses_setup_id"),
        ({"name": "ok", "ses_setup_id": "not-a-uuid"}, "ses_setup_id"),
        (
            {"name": "ok", "ses_setup_id": "00000000-0000-4000-8000-000000000001", "x": 1},
            "x",
        ),
    ],
)
async def test_use_case_rejects_each_invalid_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    response = await api.client.post(USE_CASES, json=body, headers=await api.key())
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.parametrize(
    "name",
    [
        "a\u0000b",
        "\u0000",
        "tab\there",
        "two\nlines",
        "cr\r",
        "esc\u001b[0m",
        "del\u007f",
        "c1\u0085",
    ],
)
async def test_use_case_name_with_control_characters_is_422(api: Api, name: str) -> None:
    headers = await api.key()
    setup = await _setup(api, headers)
    response = await api.client.post(
        USE_CASES, json={"name": name, "ses_setup_id": setup["id"]}, headers=headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["field"] == "name"
    assert "control character" in error["message"]
    assert (await api.client.get(USE_CASES, headers=headers)).json()["items"] == []


async def test_use_case_name_may_hold_any_printable_unicode(api: Api) -> None:
    headers = await api.key()
    setup = await _setup(api, headers)
    name = "Réinitialisation — 密码 ✉️ (zero\u200bwidth)"
    response = await api.client.post(
        USE_CASES, json={"name": name, "ses_setup_id": setup["id"]}, headers=headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == name


async def test_foreign_use_case_is_404(api: Api) -> None:
    theirs_headers = await api.key("ws2")
    setup = await _setup(api, theirs_headers, workspace="ws2")
    theirs = (
        await api.client.post(
            "/v1/ws2/use-cases",
            json={"name": "x", "ses_setup_id": setup["id"]},
            headers=theirs_headers,
        )
    ).json()
    headers = await api.key("ws1")
    for method in ("GET", "DELETE"):
        response = await api.client.request(method, f"{USE_CASES}/{theirs['id']}", headers=headers)
        assert response.status_code == 404
