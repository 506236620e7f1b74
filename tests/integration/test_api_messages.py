"""Error answers written for people: the media type, each field's rule, what blocks a delete."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from email_channels.field_messages import PATTERN_RULES
from tests.support.fixtures_api import Api

SETUP = "/v1/ws1/channels/ses-setup"
SOME_ID = "00000000-0000-4000-8000-000000000001"
# What a message for a person never shows: a regular expression, a validator's or a type's name.
MACHINE_WORDS = (
    "^",
    "$",
    "[",
    "{",
    "\\",
    "pattern",
    "regex",
    "dict",
    "string_type",
    "model_attributes",
    "Input should",
    "String should",
    "pydantic",
    "type=",
)


def assert_for_people(message: str) -> None:
    found = [word for word in MACHINE_WORDS if word in message]
    assert not found, f"{message!r} shows {found}"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
@pytest.mark.parametrize(
    "path",
    [SETUP, "/v1/ws1/use-cases", "/v1/ws1/webhooks", f"{SETUP}/{SOME_ID}/verify"],
)
async def test_body_not_declared_json_is_a_415_that_says_to_send_json(
    api: Api, path: str, content_type: str
) -> None:
    headers = {**await api.key(), "Content-Type": content_type}
    body = b'{"tenant_name": "t1", "domain_identity": "a.example.test"}'
    response = await api.client.post(path, content=body, headers=headers)
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 415
    assert "JSON" in problem["detail"]
    assert "Content-Type: application/json" in problem["detail"]


async def test_json_with_a_charset_or_a_json_suffix_is_accepted_as_json(api: Api) -> None:
    headers = await api.key()
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = await api.client.post(
            SETUP, content=b"{}", headers={**headers, "Content-Type": content_type}
        )
        assert response.status_code == 422, response.text  # read as JSON: fields missing
        assert {e["field"] for e in response.json()["errors"]} == {
            "tenant_name",
            "domain_identity",
        }


async def test_tenant_name_rule_is_said_in_words(api: Api) -> None:
    headers = await api.key()
    response = await api.client.post(
        SETUP,
        json={"tenant_name": "no spaces!", "domain_identity": "a.example.test"},
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "tenant_name",
            "message": "Must be letters, digits, hyphens and underscores, 1-64 characters.",
        }
    ]


BAD_INPUTS: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]] = [
    # (method, path, JSON body, extra headers)
    ("POST", SETUP, {"tenant_name": "bad name!", "domain_identity": "a.example.test"}, {}),
    ("POST", SETUP, {"tenant_name": "", "domain_identity": "a.example.test"}, {}),
    ("POST", SETUP, {"tenant_name": "x" * 65, "domain_identity": "a.example.test"}, {}),
    ("POST", SETUP, {"tenant_name": 5, "domain_identity": None}, {}),
    ("POST", SETUP, {"tenant_name": ["t"], "domain_identity": {"a": 1}}, {}),
    ("POST", SETUP, {"tenant_name": "t1", "domain_identity": ""}, {}),
    ("POST", SETUP, {"tenant_name": "t1", "domain_identity": "x" * 256}, {}),
    ("POST", SETUP, {"tenant_name": "t1", "domain_identity": "com"}, {}),
    ("POST", SETUP, {"tenant_name": "t1", "domain_identity": "1.2.3.4"}, {}),
    ("POST", SETUP, {"tenant_name": "t1", "domain_identity": "a..example.test"}, {}),
    ("POST", SETUP, {"tenant_name": "t1", "domain_identity": "a.example.test", "x": 1}, {}),
    ("POST", SETUP, {}, {}),
    (
        "POST",
        SETUP,
        {"tenant_name": "t1", "domain_identity": "a.example.test"},
        {"Idempotency-Key": "k" * 256},
    ),
    ("POST", f"{SETUP}/{SOME_ID}/verify", {"x": 1}, {}),
    ("POST", "/v1/ws1/use-cases", {"name": "", "ses_setup_id": "not-an-id"}, {}),
    ("POST", "/v1/ws1/use-cases", {"name": "x" * 129, "ses_setup_id": 5}, {}),
    ("POST", "/v1/ws1/use-cases", {"name": 5, "ses_setup_id": None}, {}),
    ("POST", "/v1/ws1/use-cases", {"name": "a\nb", "ses_setup_id": SOME_ID}, {}),
    ("POST", "/v1/ws1/use-cases", {"name": "ok", "ses_setup_id": SOME_ID}, {}),
    ("POST", "/v1/ws1/webhooks", {"url": "", "events": [], "description": "d" * 257}, {}),
    ("POST", "/v1/ws1/webhooks", {"url": 5, "events": "all", "description": 5}, {}),
    ("POST", "/v1/ws1/webhooks", {"url": "x" * 2049, "events": ["nope"]}, {}),
    ("POST", "/v1/ws1/webhooks", {"url": "http://127.0.0.1/hook"}, {}),
    ("GET", f"{SETUP}?limit=0", None, {}),
    ("GET", f"{SETUP}?limit=101", None, {}),
    ("GET", f"{SETUP}?limit=ten", None, {}),
    ("GET", f"{SETUP}?continuation_token=garbage", None, {}),
    ("GET", f"{SETUP}?continuation_token={'x' * 513}", None, {}),
    ("GET", "/v1/ws1/use-cases?limit=-1&continuation_token=%00", None, {}),
    ("GET", "/v1/ws1/webhooks?limit=1.5", None, {}),
    ("GET", f"{SETUP}/not-an-id", None, {}),
    ("GET", f"{SETUP}/{SOME_ID}/zone?format=xml", None, {}),
    ("DELETE", f"{SETUP}/12345", None, {}),
    ("GET", "/v1/ws1/use-cases/not-an-id", None, {}),
    ("DELETE", "/v1/ws1/use-cases/not-an-id", None, {}),
    ("GET", "/v1/ws1/webhooks/not-an-id", None, {}),
    ("GET", "/v1/ws1/webhooks/not-an-id/deliveries", None, {}),
    ("DELETE", "/v1/ws1/webhooks/not-an-id", None, {}),
    ("GET", "/v1/bad%20workspace!/channels/ses-setup", None, {}),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "extra"),
    BAD_INPUTS,
    ids=[f"{m} {p[:60]} {i}" for i, (m, p, _, _) in enumerate(BAD_INPUTS)],
)
async def test_every_422_field_message_is_written_in_words(
    api: Api, method: str, path: str, body: dict[str, Any] | None, extra: dict[str, str]
) -> None:
    headers = {**await api.key(), **extra}
    response = await api.client.request(method, path, json=body, headers=headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"], problem
    assert_for_people(problem["detail"])
    for error in problem["errors"]:
        assert error["message"], error
        assert_for_people(error["message"])


async def test_every_pattern_in_the_openapi_document_has_its_rule_in_words(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()
    patterns: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                patterns.add(node["pattern"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(document)
    assert patterns, "the document declares the tenant name's and workspace id's patterns"
    assert patterns <= set(PATTERN_RULES), patterns - set(PATTERN_RULES)


async def _setup_with_use_cases(api: Api, count: int) -> tuple[str, list[dict[str, Any]]]:
    headers = await api.key()
    suffix = uuid.uuid4().hex[:8]
    setup = await api.create_setup(
        headers, tenant_name=f"ref-{suffix}", domain_identity=f"ref-{suffix}.example.test"
    )
    use_cases = []
    for number in range(count):
        response = await api.client.post(
            "/v1/ws1/use-cases",
            json={"name": f"Use case {number:02d}", "ses_setup_id": setup["id"]},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        use_cases.append(response.json())
    # Listed oldest first (ties by id), as the refusal lists them.
    return setup["id"], sorted(use_cases, key=lambda u: (u["created_at"], u["id"]))


async def test_delete_refused_while_use_cases_reference_setup_lists_them(api: Api) -> None:
    setup_id, use_cases = await _setup_with_use_cases(api, 2)
    response = await api.client.delete(f"{SETUP}/{setup_id}", headers=await api.key())
    assert response.status_code == 409
    problem = response.json()
    assert problem["use_cases"] == [{"id": u["id"], "name": u["name"]} for u in use_cases]
    assert ", ".join(repr(u["name"]) for u in use_cases) in problem["detail"]
    assert "delete those first" in problem["detail"]
    # The setup is untouched: still readable.
    assert (await api.client.get(f"{SETUP}/{setup_id}", headers=await api.key())).status_code == 200


async def test_delete_refusal_lists_at_most_twenty_use_cases_and_names_the_first_few(
    api: Api,
) -> None:
    setup_id, use_cases = await _setup_with_use_cases(api, 22)
    response = await api.client.delete(f"{SETUP}/{setup_id}", headers=await api.key())
    assert response.status_code == 409
    problem = response.json()
    assert problem["use_cases"] == [{"id": u["id"], "name": u["name"]} for u in use_cases[:20]]
    named = ", ".join(repr(u["name"]) for u in use_cases[:3])
    assert f"({named} and others)" in problem["detail"]
    assert use_cases[3]["name"] not in problem["detail"]
