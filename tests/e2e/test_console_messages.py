"""The console shows the API's messages for people: a field's rule in words, never a regex."""

from __future__ import annotations

import html
import re

import httpx

from email_channels.console.session import csrf_token_for
from tests.support.fixtures_api import Api

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
TENANT_RULE = "Must be letters, digits, hyphens and underscores, 1-64 characters."


async def test_new_setup_form_says_the_tenant_name_rule_in_words(api: Api) -> None:
    headers = await api.key()
    secret = headers["Authorization"].removeprefix("Bearer ")
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", follow_redirects=True
    ) as client:
        form = await client.get("/console")
        match = TOKEN.search(form.text)
        assert match, form.text
        signed_in = await client.post(
            "/console/sign-in", data={"csrf_token": match[1], "api_key": secret}
        )
        assert signed_in.status_code == 200, signed_in.text
        answer = await client.post(
            "/console/setups",
            data={
                "csrf_token": csrf_token_for(secret),
                "tenant_name": "no spaces!",
                "domain_identity": "console-words.example.test",
            },
        )
    page = html.unescape(answer.text)
    assert TENANT_RULE in page, page
    assert "[A-Za-z0-9_-]" not in page
    assert "String should" not in page
