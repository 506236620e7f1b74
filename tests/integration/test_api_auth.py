"""Every route answers 401 and 403 by the contract's rules."""

from __future__ import annotations

import uuid

import pytest

from email_channels.auth.permissions import Permission
from tests.support.fixtures_api import Api

SETUP = "00000000-0000-4000-8000-000000000001"
USE_CASE = "00000000-0000-4000-8000-000000000002"
ROUTES = [
    ("POST", "/v1/ws1/channels/ses-setup", Permission.CHANNEL_CREATE),
    ("GET", "/v1/ws1/channels/ses-setup", Permission.CHANNEL_VIEW),
    ("GET", f"/v1/ws1/channels/ses-setup/{SETUP}", Permission.CHANNEL_VIEW),
    ("POST", f"/v1/ws1/channels/ses-setup/{SETUP}/verify", Permission.CHANNEL_VIEW),
    ("DELETE", f"/v1/ws1/channels/ses-setup/{SETUP}", Permission.CHANNEL_DELETE),
    ("POST", "/v1/ws1/use-cases", Permission.USE_CASE_CREATE),
    ("GET", "/v1/ws1/use-cases", Permission.USE_CASE_VIEW),
    ("GET", f"/v1/ws1/use-cases/{USE_CASE}", Permission.USE_CASE_VIEW),
    ("DELETE", f"/v1/ws1/use-cases/{USE_CASE}", Permission.USE_CASE_DELETE),
]
BODIES = {
    "/v1/ws1/channels/ses-setup": {"tenant_name": "t1", "domain_identity": "auth.example.test"},
    "/v1/ws1/use-cases": {"name": "n", "ses_setup_id": SETUP},
}
ROUTE_IDS = [f"{method} {path}" for method, path, _ in ROUTES]


async def _call(api: Api, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict]:
    body = BODIES.get(path) if method == "POST" else None
    response = await api.client.request(method, path, json=body, headers=headers)
    assert response.headers["content-type"] == "application/problem+json"
    return response.status_code, response.json()


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer ec_not-a-key", "Bearer ", "Basic dXNlcjpwYXNz", "ec_no_scheme"],
    ids=["no-key", "unknown-key", "empty-bearer", "basic-scheme", "no-scheme"],
)
async def test_unauthenticated_requests_get_401(
    api: Api, method: str, path: str, permission: Permission, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await api.client.request(
        method, path, json=BODIES.get(path) if method == "POST" else None, headers=headers
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    problem = response.json()
    assert problem["status"] == 401
    assert {"type", "title", "detail"} <= problem.keys()


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES, ids=ROUTE_IDS)
async def test_revoked_key_gets_401(
    api: Api, method: str, path: str, permission: Permission
) -> None:
    status, problem = await _call(api, method, path, await api.revoked_key("ws1"))
    assert status == 401
    assert "revoked" in problem["detail"]


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES, ids=ROUTE_IDS)
async def test_key_without_the_permission_gets_403(
    api: Api, method: str, path: str, permission: Permission
) -> None:
    others = [p for p in Permission if p is not permission]
    status, problem = await _call(api, method, path, await api.key("ws1", others))
    assert status == 403
    assert permission.value in problem["detail"]


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES, ids=ROUTE_IDS)
async def test_key_of_another_workspace_gets_403(
    api: Api, method: str, path: str, permission: Permission
) -> None:
    status, problem = await _call(api, method, path, await api.key("ws2"))
    assert status == 403
    assert "another workspace" in problem["detail"]


async def test_key_with_only_the_permission_passes_auth(api: Api) -> None:
    headers = await api.key("ws1", [Permission.CHANNEL_VIEW])
    response = await api.client.get("/v1/ws1/channels/ses-setup", headers=headers)
    assert response.status_code == 200
    response = await api.client.get(f"/v1/ws1/channels/ses-setup/{uuid.uuid4()}", headers=headers)
    assert response.status_code == 404


BAD_WORKSPACES = ["%C3%A9", "has%20space", "x" * 65, "semi;colon", "nul%00"]


def _in_workspace(path: str, workspace: str) -> str:
    return path.replace("/v1/ws1/", f"/v1/{workspace}/", 1)


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("workspace", BAD_WORKSPACES)
async def test_malformed_workspace_without_a_valid_key_is_401_first(
    api: Api, method: str, path: str, permission: Permission, workspace: str
) -> None:
    bad_path = _in_workspace(path, workspace)
    for headers in ({}, {"Authorization": "Bearer ec_not-a-key"}, await api.revoked_key("ws1")):
        status, problem = await _call(api, method, bad_path, headers)
        assert status == 401, problem
        assert "errors" not in problem


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("workspace", BAD_WORKSPACES)
async def test_malformed_workspace_with_a_valid_key_is_422_before_403(
    api: Api, method: str, path: str, permission: Permission, workspace: str
) -> None:
    bad_path = _in_workspace(path, workspace)
    others = [p for p in Permission if p is not permission]
    for headers in (await api.key("ws1"), await api.key("ws1", others)):
        status, problem = await _call(api, method, bad_path, headers)
        assert status == 422, problem
        assert problem["errors"] == [
            {
                "field": "workspace_id",
                "message": "Must be 1-64 characters of letters A-Z and a-z, digits, _ and -.",
            }
        ]


async def test_the_workspace_id_pattern_stays_documented(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()
    for path, item in document["paths"].items():
        for operation in item.values():
            parameters = {p["name"]: p for p in operation.get("parameters", [])}
            if "{workspace_id}" not in path:
                continue
            schema = parameters["workspace_id"]["schema"]
            assert schema["type"] == "string"
            assert schema["pattern"] == "^[A-Za-z0-9_-]{1,64}$", path
            assert (schema["minLength"], schema["maxLength"]) == (1, 64), path
