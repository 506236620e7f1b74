"""Every error is problem+json, FastAPI's own 404, 405 and 422 included."""

from __future__ import annotations

import httpx
import pytest

from tests.support.fixtures_api import Api


async def test_unknown_route_is_a_problem_404(api: Api) -> None:
    response = await api.client.get("/v2/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "urn:email-channels:problem:not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "Not Found",
    }


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/ws1/channels/ses-setup", "GET, POST"),
        ("PATCH", "/v1/ws1/channels/ses-setup/00000000-0000-4000-8000-000000000001", "DELETE, GET"),
        ("GET", "/v1/ws1/channels/ses-setup/00000000-0000-4000-8000-000000000001/verify", "POST"),
        ("OPTIONS", "/v1/ws1/use-cases", "GET, POST"),
        ("POST", "/healthz", "GET"),
    ],
)
async def test_wrong_method_is_a_problem_405_listing_every_allowed_method(
    api: Api, method: str, path: str, allowed: str
) -> None:
    response = await api.client.request(method, path)
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["allow"] == allowed
    assert response.json()["status"] == 405


async def test_undecodable_body_is_a_422_not_a_400(api: Api) -> None:
    headers = {**await api.key(), "Content-Type": "application/json"}
    response = await api.client.post(
        "/v1/ws1/channels/ses-setup", content=b"\xff\xfe\x00", headers=headers
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "body", "message": "Send a JSON object encoded in UTF-8."}
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"tenant_name":', "Expecting value at line 1, column 16 (character 15)"),
        (b'{"tenant_name": "t1",}', "at line 1, column 22 (character 21)"),
        (
            b'{\n  "tenant_name": "t1"\n  "domain_identity": "x.example.test"\n}',
            "Expecting ',' delimiter at line 3, column 3 (character 26)",
        ),
    ],
    ids=["truncated", "trailing-comma", "missing-comma"],
)
async def test_invalid_json_names_the_body_and_where_it_breaks(
    api: Api, body: bytes, message: str
) -> None:
    headers = {**await api.key(), "Content-Type": "application/json"}
    for path in ("/v1/ws1/channels/ses-setup", "/v1/ws1/use-cases"):
        response = await api.client.post(path, content=body, headers=headers)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        [error] = response.json()["errors"]
        assert error["field"] == "body"
        assert message in error["message"], error["message"]
        assert error["message"].startswith("Not valid JSON")


async def test_healthz(api: Api) -> None:
    response = await api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_openapi_document_covers_the_contract(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    operations = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert operations == {
        ("POST", "/v1/{workspace_id}/channels/ses-setup"),
        ("GET", "/v1/{workspace_id}/channels/ses-setup"),
        ("GET", "/v1/{workspace_id}/channels/ses-setup/{setup_id}"),
        ("POST", "/v1/{workspace_id}/channels/ses-setup/{setup_id}/verify"),
        ("DELETE", "/v1/{workspace_id}/channels/ses-setup/{setup_id}"),
        ("GET", "/v1/{workspace_id}/channels/ses-setup/{setup_id}/zone"),
        ("PATCH", "/v1/{workspace_id}/channels/ses-setup/{setup_id}"),
        ("POST", "/v1/{workspace_id}/channels/ses-setup/{setup_id}/pause"),
        ("POST", "/v1/{workspace_id}/channels/ses-setup/{setup_id}/resume"),
        ("POST", "/v1/{workspace_id}/use-cases"),
        ("GET", "/v1/{workspace_id}/use-cases"),
        ("GET", "/v1/{workspace_id}/use-cases/{use_case_id}"),
        ("DELETE", "/v1/{workspace_id}/use-cases/{use_case_id}"),
        ("POST", "/v1/{workspace_id}/webhooks"),
        ("GET", "/v1/{workspace_id}/webhooks"),
        ("GET", "/v1/{workspace_id}/webhooks/{webhook_id}"),
        ("DELETE", "/v1/{workspace_id}/webhooks/{webhook_id}"),
        ("GET", "/v1/{workspace_id}/webhooks/{webhook_id}/deliveries"),
        ("GET", "/healthz"),
    }
    create = document["paths"]["/v1/{workspace_id}/channels/ses-setup"]["post"]
    assert set(create["responses"]) == {
        "201",
        "401",
        "403",
        "409",
        "413",
        "415",
        "422",
        "429",
        "502",
        "504",
    }
    problem = create["responses"]["422"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"}
    assert "Problem" in document["components"]["schemas"]
    detail = document["components"]["schemas"]["SesSetupDetail"]
    assert set(detail["required"]) >= {"id", "dns_records", "dns_verified", "dns_checked_at"}


async def test_every_answer_is_checked_for_upstream_internals(api: Api) -> None:
    [check] = api.client.event_hooks["response"]
    request = httpx.Request("POST", "http://testserver/v1/ws1/channels/ses-setup")
    leaking = {"detail": "Amazon SES failed: arn:aws:ses:us-east-1:123456789012:tenant/x"}
    with pytest.raises(pytest.fail.Exception, match="123456789012"):
        await check(httpx.Response(502, json=leaking, request=request))
    with pytest.raises(pytest.fail.Exception, match="endpoint"):
        await check(httpx.Response(502, text=api.settings.ses_endpoint_url, request=request))
    await check(httpx.Response(502, json={"detail": "Amazon SES failed."}, request=request))
