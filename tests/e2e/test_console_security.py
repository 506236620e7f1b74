"""The console's safety rules over plain HTTP: CSRF, cookies, headers, escaping, scope."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from email_channels.auth.permissions import Permission
from email_channels.console.flash import FLASH_COOKIE
from email_channels.console.session import SESSION_COOKIE, csrf_token_for
from tests.support.fixtures_api import Api

API = "/v1/ws1/channels/ses-setup"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@asynccontextmanager
async def browser_like(api: Api, *, https: bool = False) -> AsyncIterator[httpx.AsyncClient]:
    """A client that keeps cookies, as a browser does, on the app under test."""
    base_url = f"{'https' if https else 'http'}://testserver"
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        yield client


async def sign_in(client: httpx.AsyncClient, secret: str) -> httpx.Response:
    form = await client.get("/console")
    match = TOKEN.search(form.text)
    assert match, form.text
    return await client.post("/console/sign-in", data={"csrf_token": match[1], "api_key": secret})


def secret_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def setup_count(api: Api, headers: dict[str, str]) -> int:
    return len((await api.client.get(API, headers=headers)).json()["items"])


async def refused_then_shown(
    client: httpx.AsyncClient, path: str, data: dict[str, str], *, page: str
) -> str:
    """POST a form that is refused: a 303 to its page, which says why once, then never again."""
    refused = await client.post(path, data=data)
    assert refused.status_code == 303, (path, data, refused.text)
    assert refused.headers["location"] == page
    shown = await client.get(page)
    assert 'role="alert"' in shown.text, (path, shown.text)
    again = await client.get(page)
    assert FLASH_COOKIE not in client.cookies
    assert "did not come from this console session" not in again.text
    return shown.text


async def test_changing_forms_without_the_right_token_are_refused_and_change_nothing(
    api: Api,
) -> None:
    headers = await api.key()
    setup = await api.create_setup(headers, tenant_name="csrf-1", domain_identity="csrf.example")
    page = f"/console/setups/{setup['id']}"
    use_case = await api.client.post(
        "/v1/ws1/use-cases", headers=headers, json={"name": "csrf", "ses_setup_id": setup["id"]}
    )
    assert use_case.status_code == 201
    async with browser_like(api) as client:
        assert (await sign_in(client, secret_of(headers))).status_code == 303
        good = csrf_token_for(secret_of(headers))
        attempts = {
            "/console/setups": (
                {"tenant_name": "csrf-2", "domain_identity": "csrf2.example"},
                "/console/setups/new",
            ),
            f"{page}/verify": ({}, page),
            f"{page}/delete": ({}, page),
            f"{page}/use-cases": ({"name": "csrf-2"}, page),
            f"{page}/use-cases/{use_case.json()['id']}/delete": ({}, page),
            "/console/sign-out": ({}, "/console"),
        }
        for path, (fields, form_page) in attempts.items():
            for token in (None, "wrong", good[:-1]):
                data = fields if token is None else {**fields, "csrf_token": token}
                shown = await refused_then_shown(client, path, data, page=form_page)
                assert "did not come from this console session" in shown

        assert await setup_count(api, headers) == 1
        listed = await api.client.get("/v1/ws1/use-cases", headers=headers)
        assert [item["name"] for item in listed.json()["items"]] == ["csrf"]
        service = api.app.state.ses_setups
        stored = await service.get_stored(workspace_id="ws1", setup_id=uuid.UUID(setup["id"]))
        assert {r["reason"] for r in stored["dns_records"]} == {"Not checked yet"}
        still_signed_in = await client.get("/console")
        assert "Sign out" in still_signed_in.text

        # The right token works: the same requests go through.
        deleted = await client.post(
            f"{page}/use-cases/{use_case.json()['id']}/delete", data={"csrf_token": good}
        )
        assert deleted.status_code == 303
        deleted = await client.post(f"{page}/delete", data={"csrf_token": good})
        assert deleted.status_code == 303
        assert await setup_count(api, headers) == 0


async def test_sign_in_without_the_forms_own_token_is_refused(api: Api) -> None:
    headers = await api.key()
    async with browser_like(api) as client:
        refused = await client.post("/console/sign-in", data={"api_key": secret_of(headers)})
        assert refused.status_code == 303
        assert SESSION_COOKIE + "=" not in refused.headers.get("set-cookie", "")
        assert "The sign-in form expired" in (await client.get("/console")).text
        wrong = await client.post(
            "/console/sign-in", data={"api_key": secret_of(headers), "csrf_token": "x"}
        )
        assert wrong.status_code == 303
        assert SESSION_COOKIE not in client.cookies
        assert "The sign-in form expired" in (await client.get("/console")).text


async def test_session_cookie_is_http_only_same_site_strict_and_secure_over_https(
    api: Api,
) -> None:
    headers = await api.key()
    for https in (False, True):
        async with browser_like(api, https=https) as client:
            signed_in = await sign_in(client, secret_of(headers))
            assert signed_in.status_code == 303
            cookie = next(
                value
                for value in signed_in.headers.get_list("set-cookie")
                if value.startswith(SESSION_COOKIE + "=")
            )
            attributes = {part.strip().lower() for part in cookie.split(";")}
            assert {"httponly", "samesite=strict", "path=/console"} <= attributes
            assert ("secure" in attributes) is https

            signed_out = await client.post(
                "/console/sign-out", data={"csrf_token": csrf_token_for(secret_of(headers))}
            )
            assert signed_out.status_code == 303
            assert SESSION_COOKIE not in client.cookies
            assert "API key" in (await client.get("/console")).text


async def test_pages_forbid_inline_scripts_and_never_contain_the_key(api: Api) -> None:
    headers = await api.key()
    setup = await api.create_setup(headers, tenant_name="csp-1", domain_identity="csp.example")
    async with browser_like(api) as client:
        await sign_in(client, secret_of(headers))
        for path in ("/console", f"/console/setups/{setup['id']}", "/console/setups/new"):
            page = await client.get(path)
            assert page.status_code == 200, path
            policy = page.headers["content-security-policy"]
            assert "script-src 'self'" in policy
            assert "style-src 'self'" in policy
            assert "unsafe-inline" not in policy
            assert page.headers["cache-control"] == "no-store"
            assert secret_of(headers) not in page.text
            assert re.search(r"<script(?![^>]*\bsrc=)", page.text) is None, path
            assert " style=" not in page.text
            assert re.search(r"<[^>]+\son[a-z]+=", page.text) is None, path  # no handlers


async def test_verify_answers_only_the_records_partial_to_the_script(api: Api) -> None:
    headers = await api.key()
    setup = await api.create_setup(headers, tenant_name="part-1", domain_identity="part.example")
    async with browser_like(api) as client:
        await sign_in(client, secret_of(headers))
        fragment = await client.post(
            f"/console/setups/{setup['id']}/verify",
            data={"csrf_token": csrf_token_for(secret_of(headers))},
            headers={"X-Console-Fragment": "records"},
        )
        assert fragment.status_code == 200
        assert fragment.text.lstrip().startswith('<div id="dns-records"')
        assert "<html" not in fragment.text
        assert "Not checked yet" not in fragment.text  # a check ran

        plain = await client.post(
            f"/console/setups/{setup['id']}/verify",
            data={"csrf_token": csrf_token_for(secret_of(headers))},
        )
        assert plain.status_code == 303
        assert plain.headers["location"] == f"/console/setups/{setup['id']}"


async def test_sign_in_refuses_a_bad_key_and_redirects_only_within_the_console(api: Api) -> None:
    headers = await api.key()
    async with browser_like(api) as client:
        form = await client.get("/console")
        token = TOKEN.search(form.text)[1]  # type: ignore[index]
        bad = await client.post("/console/sign-in", data={"csrf_token": token, "api_key": "nope"})
        assert bad.status_code == 303
        shown = await client.get(bad.headers["location"])
        assert 'role="alert"' in shown.text
        assert "The API key is not valid." in shown.text
        assert "The API key is not valid." not in (await client.get("/console")).text
        for target, expected in (
            ("https://elsewhere.example/", "/console"),
            ("//elsewhere.example", "/console"),
            ("/console/setups/new", "/console/setups/new"),
        ):
            client.cookies.delete(SESSION_COOKIE)
            token = TOKEN.search((await client.get("/console")).text)[1]  # type: ignore[index]
            data = {"csrf_token": token, "api_key": secret_of(headers), "next": target}
            answer = await client.post("/console/sign-in", data=data)
            assert answer.status_code == 303
            assert answer.headers["location"] == expected


async def test_another_workspaces_setup_is_not_found(api: Api) -> None:
    owner = await api.key()
    setup = await api.create_setup(owner, tenant_name="iso-1", domain_identity="iso.example")
    stranger = await api.key("ws2")
    async with browser_like(api) as client:
        await sign_in(client, secret_of(stranger))
        for path in (f"/console/setups/{setup['id']}", f"/console/setups/{setup['id']}/zone"):
            page = await client.get(path)
            assert page.status_code == 404
            assert 'role="alert"' in page.text
        assert "iso.example" not in (await client.get("/console")).text
        assert (await client.get("/console/setups/not-a-uuid")).status_code == 404


async def test_what_a_key_may_not_do_is_not_offered(api: Api) -> None:
    create_only = await api.key(permissions=[Permission.CHANNEL_CREATE])
    async with browser_like(api) as client:
        await sign_in(client, secret_of(create_only))
        page = await client.get("/console")
        assert page.status_code == 403
        assert 'role="alert"' in page.text
        assert "Channel.view" in page.text
        assert "New SES setup" in page.text
        assert "Sign out" in page.text


def test_csrf_token_is_derived_from_the_key_alone() -> None:
    # Every process derives the same token for a key; another key gets another token.
    assert csrf_token_for("ec_one") == csrf_token_for("ec_one")
    assert csrf_token_for("ec_one") != csrf_token_for("ec_two")
    assert "ec_one" not in csrf_token_for("ec_one")
