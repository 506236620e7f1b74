"""The console's forms over plain HTTP: 303 after every POST, flashes, use cases, the texts."""

from __future__ import annotations

import html
import re

import httpx

from email_channels.auth.permissions import Permission
from email_channels.console.flash import FLASH_COOKIE, Flash, set_flash
from email_channels.console.session import SIGN_IN_COOKIE, csrf_token_for
from tests.e2e.test_console_security import browser_like, secret_of, sign_in
from tests.support.fixtures_api import Api

VIEW = [Permission.CHANNEL_VIEW, Permission.USE_CASE_VIEW]


def text_of(page: httpx.Response) -> str:
    """The page's text with its markup and entities resolved (quotes, apostrophes)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page.text))


def forged_flash(path: str, *, secret: str, error: str) -> str:
    """The cookie value `set_flash` would write for `path`, signed with `secret`."""
    from starlette.requests import Request
    from starlette.responses import Response

    scope = {"type": "http", "method": "GET", "scheme": "http", "path": path, "headers": []}
    request = Request({**scope, "server": ("testserver", 80), "query_string": b""})
    response = Response()
    set_flash(response, request, Flash(path=path, error=error), secret=secret)
    cookie = response.headers["set-cookie"]
    return cookie.split(";", 1)[0].split("=", 1)[1]


async def test_a_refused_create_returns_to_the_form_as_typed_once(api: Api) -> None:
    headers = await api.key()
    secret = secret_of(headers)
    async with browser_like(api) as client:
        await sign_in(client, secret)
        typed = {"tenant_name": "not valid!", "domain_identity": "com", "csrf_token": ""}
        typed["csrf_token"] = csrf_token_for(secret)
        posted = await client.post("/console/setups", data=typed)
        assert posted.status_code == 303
        assert posted.headers["location"] == "/console/setups/new"
        form = await client.get("/console/setups/new")
        assert form.status_code == 200
        assert 'value="not valid!"' in form.text
        assert 'value="com"' in form.text
        assert form.text.count('class="field-error"') == 2
        api_answer = await api.client.post(
            "/v1/ws1/channels/ses-setup",
            headers=headers,
            json={"tenant_name": "not valid!", "domain_identity": "com"},
        )
        for problem in api_answer.json()["errors"]:
            assert problem["message"] in text_of(form)  # the API's own words
        reloaded = await client.get("/console/setups/new")
        assert "field-error" not in reloaded.text
        assert 'value="com"' not in reloaded.text


async def test_a_flash_signed_with_another_key_or_for_another_page_is_not_shown(
    api: Api,
) -> None:
    headers = await api.key()
    secret = secret_of(headers)
    async with browser_like(api) as client:
        await sign_in(client, secret)
        for path, key in (("/console", "ec_someone_else"), ("/console/setups/new", secret)):
            cookie = forged_flash(path, secret=key, error="Send your key to evil.example")
            client.cookies.set(FLASH_COOKIE, cookie, path="/console")
            page = await client.get("/console")
            assert "evil.example" not in page.text
        genuine = forged_flash("/console", secret=secret, error="A genuine message")
        client.cookies.set(FLASH_COOKIE, genuine, path="/console")
        assert "A genuine message" in (await client.get("/console")).text


async def test_use_cases_are_listed_added_and_deleted_with_the_apis_permissions(
    api: Api,
) -> None:
    admin = await api.key()
    setup = await api.create_setup(admin, tenant_name="uc-1", domain_identity="uc.example")
    page = f"/console/setups/{setup['id']}"
    async with browser_like(api) as client:
        await sign_in(client, secret_of(admin))
        token = csrf_token_for(secret_of(admin))
        added = await client.post(
            f"{page}/use-cases", data={"csrf_token": token, "name": "Password resets"}
        )
        assert (added.status_code, added.headers["location"]) == (303, page)
        shown = await client.get(page)
        assert "The use case “Password resets” was added." in shown.text
        assert 'aria-label="Delete use case Password resets"' in shown.text
        assert "Add use case" in shown.text
        # The same messages as the API's for a name it refuses, next to the field.
        too_long = "x" * 129
        refused = await client.post(f"{page}/use-cases", data={"csrf_token": token, "name": ""})
        assert refused.status_code == 303
        form = await client.get(page)
        api_answer = await api.client.post(
            "/v1/ws1/use-cases", headers=admin, json={"name": "", "ses_setup_id": setup["id"]}
        )
        assert api_answer.json()["errors"][0]["message"] in text_of(form)
        assert 'id="use_case_name-error" role="alert"' in form.text
        await client.post(f"{page}/use-cases", data={"csrf_token": token, "name": too_long})
        assert f'value="{too_long}"' in (await client.get(page)).text

    viewer = await api.key(permissions=[Permission.CHANNEL_VIEW, Permission.USE_CASE_VIEW])
    blind = await api.key(permissions=[Permission.CHANNEL_VIEW])
    async with browser_like(api) as client:
        await sign_in(client, secret_of(viewer))
        shown = await client.get(page)
        assert "Password resets" in shown.text
        assert "Add use case" not in shown.text
        assert "Delete use case" not in shown.text
        assert "Your key can view this setup but not delete it." in shown.text
        listing = text_of(await client.get("/console"))
        assert "Your key can view setups but not create them." in listing
    async with browser_like(api) as client:
        await sign_in(client, secret_of(blind))
        shown = await client.get(page)
        assert "Password resets" not in shown.text
        assert "Your key cannot view use cases." in shown.text


async def test_a_refused_delete_names_the_use_cases_even_to_a_key_that_cannot_list_them(
    api: Api,
) -> None:
    admin = await api.key()
    setup = await api.create_setup(admin, tenant_name="uc-2", domain_identity="uc2.example")
    body = {"name": "Invoices", "ses_setup_id": setup["id"]}
    assert (await api.client.post("/v1/ws1/use-cases", headers=admin, json=body)).is_success
    deleter = await api.key(permissions=[Permission.CHANNEL_VIEW, Permission.CHANNEL_DELETE])
    page = f"/console/setups/{setup['id']}"
    async with browser_like(api) as client:
        await sign_in(client, secret_of(deleter))
        token = csrf_token_for(secret_of(deleter))
        refused = await client.post(f"{page}/delete", data={"csrf_token": token})
        assert (refused.status_code, refused.headers["location"]) == (303, page)
        shown = await client.get(page)
        alert = re.search(r'<div class="alert" role="alert">(.*?)</div>', shown.text, re.S)
        assert alert is not None, shown.text
        api_answer = await api.client.delete(
            f"/v1/ws1/channels/ses-setup/{setup['id']}", headers=admin
        )
        assert api_answer.status_code == 409
        assert api_answer.json()["detail"] in html.unescape(alert[1])  # the API's words
        assert "Invoices" in alert[1]
        assert "Your key cannot view use cases." in shown.text
        reloaded = await client.get(page)
        assert 'role="alert"' not in reloaded.text  # shown once; the setup is still there
        assert "uc2.example" in reloaded.text


async def test_the_sign_in_page_speaks_to_the_customer_not_the_operator(api: Api) -> None:
    async with browser_like(api) as client:
        page = await client.get("/console")
        assert SIGN_IN_COOKIE in client.cookies
        words = text_of(page)
        assert "keys create" not in words
        assert "<code>" not in page.text  # no command to run
        assert "Ask them if you have none." in words
        assert "administrator" in words


async def test_a_form_without_a_session_or_a_page_still_answers_with_a_redirect(
    api: Api,
) -> None:
    headers = await api.key()
    setup = await api.create_setup(headers, tenant_name="uc-3", domain_identity="uc3.example")
    page = f"/console/setups/{setup['id']}"
    async with browser_like(api) as client:
        signed_out = await client.post(f"{page}/delete", data={"csrf_token": "x"})
        assert (signed_out.status_code, signed_out.headers["location"]) == (303, page)
        asks = await client.get(page)
        assert 'name="next" value="/console/setups/' in asks.text  # back here after sign-in
        still = await api.client.get(f"/v1/ws1/channels/ses-setup/{setup['id']}", headers=headers)
        assert still.status_code == 200

        await sign_in(client, secret_of(headers))
        token = csrf_token_for(secret_of(headers))
        nowhere = await client.post("/console/setups/not-a-uuid/delete", data={"csrf_token": token})
        assert (nowhere.status_code, nowhere.headers["location"]) == (303, "/console")
        assert "There is no such page in the console." in (await client.get("/console")).text
