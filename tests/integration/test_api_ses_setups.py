"""SES setups over HTTP: shapes, conflicts, validation, not found, delete."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from tests.support.fixtures_api import Api

URL = "/v1/ws1/channels/ses-setup"


def _unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _body(**overrides: Any) -> dict[str, Any]:
    body = {"tenant_name": _unique(), "domain_identity": f"{_unique('d')}.example.test"}
    body.update(overrides)
    return body


async def test_create_answers_the_detail_with_the_seven_records(api: Api, sandbox: Any) -> None:
    headers = await api.key()
    body = _body(domain_identity="  Mail.Shop-Example.TEST. ")
    response = await api.client.post(URL, json=body, headers=headers)

    assert response.status_code == 201, response.text
    detail = response.json()
    assert response.headers["location"] == f"{URL}/{detail['id']}"
    assert uuid.UUID(detail["id"]).version == 4
    assert detail["tenant_name"] == body["tenant_name"]
    assert detail["domain_identity"] == "mail.shop-example.test"
    assert detail["region"] == "us-east-1"
    assert detail["dns_verified"] is False
    assert detail["dns_checked_at"] is None
    assert detail["dns_zone"] is None
    created = datetime.fromisoformat(detail["created_at"])
    assert created.utcoffset() is not None
    assert detail["updated_at"] == detail["created_at"]

    records = detail["dns_records"]
    assert [r["purpose"] for r in records] == ["dkim"] * 3 + [
        "mail_from_mx",
        "spf",
        "inbound_mx",
        "dmarc",
    ]
    identity = next(
        i for i in sandbox.state()["identities"] if i["EmailIdentity"] == "mail.shop-example.test"
    )
    for token, record in zip(identity["DkimTokens"], records[:3], strict=True):
        assert record["type"] == "CNAME"
        assert record["address"] == f"{token}._domainkey.mail.shop-example.test"
        assert record["record"] == f"{token}.dkim.amazonses.com"
    d = "mail.shop-example.test"
    assert records[3:] == [
        _pending("MX", f"bounce.{d}", "10 feedback-smtp.us-east-1.amazonses.com", "mail_from_mx"),
        _pending("TXT", f"bounce.{d}", "v=spf1 include:amazonses.com ~all", "spf"),
        _pending("MX", d, "10 inbound-smtp.us-east-1.amazonaws.com", "inbound_mx"),
        _pending("TXT", f"_dmarc.{d}", "v=DMARC1; p=none;", "dmarc"),
    ]
    for record in records[:3]:
        assert record["status"] == "unknown"
        assert record["reason"] == "Not checked yet"


def _pending(rtype: str, address: str, record: str, purpose: str) -> dict[str, Any]:
    return {
        "address": address,
        "record": record,
        "type": rtype,
        "verified": False,
        "purpose": purpose,
        "status": "unknown",
        "found": [],
        "reason": "Not checked yet",
        # Section 11: no zone is known before a check found it.
        "host": None,
        "nameservers": [],
        "found_at": None,
        "managed": False,
    }


async def test_create_provisions_tenant_identity_mail_from_and_association(
    api: Api, sandbox: Any
) -> None:
    body = _body()
    await api.create_setup(await api.key(), **body)

    state = sandbox.state()
    tenant = next(t for t in state["tenants"] if t["TenantName"] == body["tenant_name"])
    identity = next(i for i in state["identities"] if i["EmailIdentity"] == body["domain_identity"])
    assert len(identity["DkimTokens"]) == 3
    assert identity["MailFromDomain"] == f"bounce.{body['domain_identity']}"
    assert {
        "TenantName": tenant["TenantName"],
        "ResourceArn": f"arn:aws:ses:us-east-1:000000000000:identity/{body['domain_identity']}",
    } in state["associations"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"tenant_name": "same-tenant"}, {"tenant_name": "same-tenant"}),
        ({"domain_identity": "dup.example.test"}, {"domain_identity": "DUP.Example.Test"}),
        ({"domain_identity": "dup.example.test"}, {"domain_identity": "dup.example.test."}),
        (
            {"domain_identity": "xn--bcher-kva.example.test"},
            {"domain_identity": "bücher.example.test"},
        ),
    ],
    ids=["same-tenant", "domain-case", "domain-trailing-dot", "domain-u-label"],
)
async def test_create_conflicts_with_an_existing_setup(
    api: Api, sandbox: Any, first: dict[str, str], second: dict[str, str]
) -> None:
    headers = await api.key()
    await api.create_setup(headers, **_body(**first))
    before = sandbox.state()

    response = await api.client.post(URL, json=_body(**second), headers=headers)

    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert sandbox.state() == before  # nothing was created for the refused request


async def test_tenant_name_is_unique_across_workspaces(api: Api) -> None:
    await api.create_setup(await api.key("ws1"), **_body(tenant_name="shared-name"))
    response = await api.client.post(
        "/v1/ws2/channels/ses-setup",
        json=_body(tenant_name="shared-name"),
        headers=await api.key("ws2"),
    )
    assert response.status_code == 409
    assert "tenant name" in response.json()["detail"]


INVALID_BODIES = [
    ({"tenant_name": None}, "tenant_name"),
    ({"tenant_name": ""}, "tenant_name"),
    ({"tenant_name": "x" * 65}, "tenant_name"),
    ({"tenant_name": "has space"}, "tenant_name"),
    ({"tenant_name": "dots.not.allowed"}, "tenant_name"),
    ({"tenant_name": 42}, "tenant_name"),
    ({"domain_identity": ""}, "domain_identity"),
    ({"domain_identity": "x" * 256}, "domain_identity"),
    ({"domain_identity": "localhost"}, "domain_identity"),
    ({"domain_identity": "com"}, "domain_identity"),
    ({"domain_identity": "co.uk"}, "domain_identity"),
    ({"domain_identity": "192.0.2.1"}, "domain_identity"),
    ({"domain_identity": "*.example.test"}, "domain_identity"),
    ({"domain_identity": "bad_label.example.test"}, "domain_identity"),
    ({"domain_identity": "-lead.example.test"}, "domain_identity"),
    ({"domain_identity": ["a.example.test"]}, "domain_identity"),
    ({"surprise": "field"}, "surprise"),
]


@pytest.mark.parametrize(("change", "field"), INVALID_BODIES)
async def test_create_rejects_each_invalid_field(
    api: Api, sandbox: Any, change: dict[str, Any], field: str
) -> None:
    body = _body(**change)
    body = {k: v for k, v in body.items() if v is not None}
    response = await api.client.post(URL, json=body, headers=await api.key())

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["status"] == 422
    assert [e["field"] for e in problem["errors"]] == [field]
    assert problem["errors"][0]["message"]
    assert not problem["errors"][0]["message"].startswith("Value error")
    assert sandbox.state()["tenants"] == []


def _domain_of_length(length: int) -> str:
    """A unique, valid domain under example.test of exactly `length` characters."""
    head = f"{_unique('d')}{'a' * 63}"[:63]
    name = f"{head}.{'b' * 63}.{'c' * 63}.{'d' * (length - 205)}.example.test"
    assert len(name) == length
    return name


async def test_create_refuses_a_domain_too_long_for_its_dkim_names(api: Api, sandbox: Any) -> None:
    body = _body(domain_identity=_domain_of_length(210))
    response = await api.client.post(URL, json=body, headers=await api.key())

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "domain_identity"
    assert "the limit is 209" in error["message"]
    assert "._domainkey." in error["message"]
    assert sandbox.state()["tenants"] == []


async def test_create_accepts_a_domain_of_209_characters(api: Api) -> None:
    domain = _domain_of_length(209)
    setup = await api.create_setup(await api.key(), **_body(domain_identity=f"{domain.upper()}."))
    assert setup["domain_identity"] == domain
    assert max(len(record["address"]) for record in setup["dns_records"]) <= 253


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"[]", b'"text"', b"null"], ids=["empty", "broken", "list", "string", "null"]
)
async def test_create_rejects_a_body_that_is_not_an_object(api: Api, raw: bytes) -> None:
    headers = {**await api.key(), "Content-Type": "application/json"}
    response = await api.client.post(URL, content=raw, headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_get_and_delete_of_unknown_or_foreign_setup_are_404(api: Api) -> None:
    theirs = await api.create_setup(await api.key("ws2"), workspace="ws2", **_body())
    headers = await api.key("ws1")
    for setup_id in (str(uuid.uuid4()), theirs["id"]):
        for method, path in (
            ("GET", f"{URL}/{setup_id}"),
            ("POST", f"{URL}/{setup_id}/verify"),
            ("DELETE", f"{URL}/{setup_id}"),
        ):
            response = await api.client.request(method, path, headers=headers)
            assert response.status_code == 404, (method, path)
            assert response.json()["status"] == 404


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "1234", "00000000-0000-0000-0000"])
async def test_malformed_setup_id_is_422(api: Api, bad_id: str) -> None:
    response = await api.client.get(f"{URL}/{bad_id}", headers=await api.key())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "setup_id"


@pytest.mark.parametrize("workspace", ["has space", "x" * 65, "semi;colon"])
async def test_malformed_workspace_id_is_422(api: Api, workspace: str) -> None:
    response = await api.client.get(f"/v1/{workspace}/channels/ses-setup", headers=await api.key())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "workspace_id"


async def test_delete_tears_down_ses_and_forgets_the_setup(api: Api, sandbox: Any) -> None:
    headers = await api.key()
    kept = await api.create_setup(headers, **_body())
    doomed = await api.create_setup(headers, **_body())

    response = await api.client.delete(f"{URL}/{doomed['id']}", headers=headers)

    assert response.status_code == 204
    assert response.content == b""
    state = sandbox.state()
    assert [t["TenantName"] for t in state["tenants"]] == [kept["tenant_name"]]
    assert [i["EmailIdentity"] for i in state["identities"]] == [kept["domain_identity"]]
    assert len(state["associations"]) == 1
    assert (await api.client.get(f"{URL}/{doomed['id']}", headers=headers)).status_code == 404
    again = await api.client.delete(f"{URL}/{doomed['id']}", headers=headers)
    assert again.status_code == 404


async def test_names_are_free_again_after_delete(api: Api) -> None:
    headers = await api.key()
    body = _body()
    first = await api.create_setup(headers, **body)
    assert (await api.client.delete(f"{URL}/{first['id']}", headers=headers)).status_code == 204
    second = await api.create_setup(headers, **body)
    assert second["id"] != first["id"]


@pytest.mark.parametrize(
    ("raw", "status"),
    [(b"", 200), (b"{}", 200), (b'{"surprise": 1}', 422), (b"{", 422), (b"[]", 422)],
)
async def test_verify_takes_no_body_or_an_empty_object(api: Api, raw: bytes, status: int) -> None:
    headers = await api.key()
    setup = await api.create_setup(headers, **_body())
    response = await api.client.post(
        f"{URL}/{setup['id']}/verify",
        content=raw,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == status, response.text
